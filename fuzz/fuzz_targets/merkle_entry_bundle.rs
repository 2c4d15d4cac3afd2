//! Any entry bundle that decodes encodes back to exactly the same bytes, and
//! encoding its entries again decodes to the same entries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_merkle::{decode_entry_bundle, encode_entry_bundle};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = decode_entry_bundle(data) {
        let encoded = encode_entry_bundle(entries.iter().copied()).expect("decoded entries fit");
        assert_eq!(encoded, data);
    }
    // Split the input into entries at 0xff bytes and round-trip them.
    let entries: Vec<&[u8]> = data.split(|&b| b == 0xff).collect();
    match encode_entry_bundle(entries.iter().copied()) {
        Ok(bundle) => assert_eq!(decode_entry_bundle(&bundle), Ok(entries)),
        Err(_) => assert!(entries.iter().any(|e| e.len() > usize::from(u16::MAX))),
    }
});
