//! Any signed note that parses encodes back to exactly the same bytes and
//! parses again to the same note; its signature block parses on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_note::signed_note::parse_signature_lines;
use sigtrail_note::Note;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let text = note.to_text();
        assert_eq!(text.as_bytes(), data);
        assert_eq!(Note::parse(text.as_bytes()).as_ref(), Ok(&note));
        let block = &text[note.text().len() + 1..];
        assert_eq!(
            parse_signature_lines(block.as_bytes()).as_deref(),
            Ok(note.signatures())
        );
    }
});
