//! Any checkpoint text that parses encodes back to exactly the same text,
//! and so does any signed checkpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_note::checkpoint::parse_signed_checkpoint;
use sigtrail_note::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(checkpoint) = Checkpoint::parse(text) {
            assert_eq!(checkpoint.to_text(), text);
        }
    }
    if let Ok((note, checkpoint)) = parse_signed_checkpoint(data) {
        assert_eq!(note.to_text().as_bytes(), data);
        assert_eq!(checkpoint.to_text(), note.text());
    }
});
