//! Any tlog proof that parses encodes back to exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_note::TlogProof;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        let text = proof.to_text();
        assert_eq!(text, data);
        assert_eq!(TlogProof::parse(&text).as_ref(), Ok(&proof));
        assert!(proof.signed_checkpoint().is_ok());
    }
});
