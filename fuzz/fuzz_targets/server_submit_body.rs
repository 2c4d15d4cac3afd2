//! Any submission body the server accepts carries an entry that, wrapped
//! again in a fresh body, is accepted as the same entry; and no body makes
//! the parser panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_server::api::parse_submission;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = parse_submission(data) {
        let text = std::str::from_utf8(entry.as_bytes()).expect("an entry is UTF-8");
        let body = serde_json::json!({ "entry": text }).to_string();
        let again = parse_submission(body.as_bytes()).expect("a re-wrapped entry is accepted");
        assert_eq!(again.as_bytes(), entry.as_bytes());
        assert_eq!(again.leaf_hash(), entry.leaf_hash());
    }
});
