//! Any signed entry that parses (and so verifies) is its own canonical
//! encoding; any entry text that parses encodes back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_note::{Note, SignedEntry, SigningEvent};

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = SignedEntry::parse(data) {
        assert_eq!(entry.as_bytes(), data);
        let note = Note::parse(data).expect("a parsed entry is a note");
        assert_eq!(entry.event().to_text().as_deref(), Ok(note.text()));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(event) = SigningEvent::parse(text) {
            assert_eq!(event.to_text().as_deref(), Ok(text));
        }
    }
});
