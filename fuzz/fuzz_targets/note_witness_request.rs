//! Any add-checkpoint body or tree size body that parses encodes back to
//! exactly the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_note::witness_request::{format_tree_size, parse_tree_size};
use sigtrail_note::AddCheckpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AddCheckpoint::parse(data) {
        let body = request.to_text();
        assert_eq!(body, data);
        assert_eq!(AddCheckpoint::parse(&body).as_ref(), Ok(&request));
        assert!(request.signed_checkpoint().is_ok());
    }
    if let Ok(size) = parse_tree_size(data) {
        assert_eq!(format_tree_size(size).as_bytes(), data);
    }
});
