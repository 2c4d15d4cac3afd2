//! The sigtrail entry against the vectors of `docs/spec/entry.md`.

mod common;

use common::{doc_vectors, test_key};
use sigtrail_note::entry::{SignedEntry, SigningEvent, MAX_ENTRY_SIZE};
use sigtrail_note::{Algorithm, Error, ErrorKind, Note, Signature, SignerKey, VerifierKey};

const SPEC: &str = include_str!("../../docs/spec/entry.md");

fn vector(name: &str) -> String {
    let mut vectors = doc_vectors(SPEC, name);
    assert_eq!(vectors.len(), 1, "one {name} vector");
    vectors.remove(0)
}

fn signer() -> SignerKey {
    vector("signer-key").trim_end().parse().unwrap()
}

fn example_event() -> SigningEvent {
    let mut subject = [0u8; 32];
    // SHA-256("test")
    for (i, byte) in subject.iter_mut().enumerate() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    SigningEvent {
        subject,
        name: "pkg:cargo/example@1.4.2".to_owned(),
        key: signer().verifier_key().clone(),
        time: 1_795_600_800,
    }
}

#[test]
fn signing_the_example_event_reproduces_the_spec_bytes() {
    let entry = example_event().sign(&signer()).unwrap();
    assert_eq!(
        String::from_utf8(entry.as_bytes().to_vec()).unwrap(),
        vector("entry")
    );
    assert_eq!(
        entry.leaf_hash().to_string(),
        vector("leaf-hash").trim_end()
    );
}

#[test]
fn the_spec_entry_parses_and_verifies() {
    let bytes = vector("entry");
    let entry = SignedEntry::parse(bytes.as_bytes()).unwrap();
    assert_eq!(entry.event(), &example_event());
    assert_eq!(entry.as_bytes(), bytes.as_bytes());
    assert_eq!(entry.clone().into_bytes(), bytes.into_bytes());
}

#[test]
fn the_spec_rejected_texts_fail_with_their_errors() {
    let rejected = doc_vectors(SPEC, "rejected");
    let expected = [
        Error::UnexpectedLine {
            what: "entry",
            line: 3,
            want: "name ",
        },
        Error::WrongLineCount {
            what: "entry",
            got: 6,
            want: 5,
        },
        Error::WrongLineCount {
            what: "entry",
            got: 6,
            want: 5,
        },
        Error::BadHex {
            what: "subject digest",
        },
        Error::InvalidDate {
            year: 2026,
            month: 2,
            day: 30,
        },
        Error::InvalidTimeOfDay {
            hour: 24,
            minute: 0,
            second: 0,
        },
        Error::WrongKeyType {
            got: Algorithm::CosignatureV1,
            want: Algorithm::Ed25519,
        },
        Error::BadArtifactName,
    ];
    assert_eq!(rejected.len(), expected.len());
    for (block, want) in rejected.iter().zip(expected) {
        let (label, text) = block.split_once('\n').unwrap();
        assert_eq!(SigningEvent::parse(text), Err(want), "{label}");
    }
}

fn entry_text_with(line: usize, value: &str) -> String {
    let text = example_event().to_text().unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[line] = value;
    lines.join("\n") + "\n"
}

#[test]
fn malformed_entry_lines_are_rejected() {
    let parse = |line, value: &str| SigningEvent::parse(&entry_text_with(line, value));
    assert_eq!(
        parse(0, "sigtrail/v2/signing-event"),
        Err(Error::UnexpectedLine {
            what: "entry",
            line: 1,
            want: "sigtrail/v1/signing-event"
        })
    );
    assert_eq!(parse(1, "subject sha512:00"), Err(Error::BadSubject));
    assert_eq!(
        parse(1, "subject sha256:9f86"),
        Err(Error::WrongLength {
            what: "subject digest",
            got: 2,
            want: 32
        })
    );
    assert_eq!(
        parse(1, "subject  sha256:9f86"),
        Err(Error::BadSubject),
        "double space"
    );
    assert_eq!(
        parse(4, "time 2026-11-25T10:00:00"),
        Err(Error::BadTimeSyntax)
    );
    assert_eq!(
        parse(4, "time 2026-11-25 10:00:00Z"),
        Err(Error::BadTimeSyntax)
    );
    assert_eq!(
        parse(
            3,
            "key release.example.com+ebe0e161+AUbfaLLdUiJyaLF1WpyTICKzFfmrvEBVeGbQlONpsiJA="
        ),
        Err(Error::BadBase64 {
            what: "verifier key"
        })
    );
    assert_eq!(
        parse(
            3,
            "key other.example.com+ebe0e161+AUbfaLLdUiJyaLF1WpyTICKzFfmrvEBVeGbQlONpsiJA"
        ),
        Err(Error::KeyIdMismatch {
            name: "other.example.com".to_owned(),
            got: 0xebe0e161,
            want: sigtrail_note::key_id(
                "other.example.com",
                Algorithm::Ed25519,
                signer().verifier_key().public_key()
            ),
        })
    );
    let text = example_event().to_text().unwrap();
    assert_eq!(
        SigningEvent::parse(text.trim_end()),
        Err(Error::MissingFinalNewline { what: "entry" })
    );
    assert_eq!(
        SigningEvent::parse(&text.replace('\n', "\r\n")),
        Err(Error::ControlCharacter {
            offset: 25,
            code: 13
        })
    );
}

#[test]
fn artifact_names_follow_the_rules() {
    let check = |name: &str| {
        let mut event = example_event();
        event.name = name.to_owned();
        event.to_text().map(|_| ())
    };
    for good in ["a", "my tool 1.0", "ünïcødé/名前", &"x".repeat(256)] {
        assert_eq!(check(good), Ok(()), "{good:?}");
    }
    for bad in [
        "",
        " a",
        "a ",
        "a\tb",
        "a\u{7f}b",
        "a\u{85}b",
        "a\u{a0}b",
        "a\u{2028}b",
        "a\u{202e}b",
        "a\u{2066}b",
        &"x".repeat(257),
    ] {
        assert_eq!(check(bad), Err(Error::BadArtifactName), "{bad:?}");
    }
}

#[test]
fn signature_by_another_key_is_evidence() {
    let event = example_event();
    let other = test_key("release.example.com", Algorithm::Ed25519, 7);
    let err = event.sign(&other).unwrap_err();
    assert!(matches!(err, Error::SignerMismatch { .. }));
    // The same text signed by another key, assembled by hand.
    let forged = Note::sign(&event.to_text().unwrap(), &[&other]).unwrap();
    let err = SignedEntry::parse(forged.to_text().as_bytes()).unwrap_err();
    assert_eq!(
        err,
        Error::SignerMismatch {
            want_name: "release.example.com".to_owned(),
            want_key_id: 0xebe0e161,
            got_name: "release.example.com".to_owned(),
            got_key_id: other.key_id(),
        }
    );
    assert!(err.is_evidence());
}

#[test]
fn signature_that_does_not_verify_is_evidence() {
    let entry = vector("entry");
    let tampered = entry.replace("1.4.2", "1.4.3");
    let err = SignedEntry::parse(tampered.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature {
            name: "release.example.com".to_owned(),
            key_id: 0xebe0e161
        }
    );
    assert_eq!(err.kind(), ErrorKind::Evidence);
}

#[test]
fn exactly_one_signature_is_accepted() {
    let signer = signer();
    let text = example_event().to_text().unwrap();
    let mut note = Note::sign(&text, &[&signer]).unwrap();
    let witness = test_key("witness.example", Algorithm::Ed25519, 9);
    note.add_signature(Signature {
        name: witness.name().to_owned(),
        key_id: witness.key_id(),
        bytes: witness.sign(text.as_bytes()).to_vec(),
    })
    .unwrap();
    assert_eq!(
        SignedEntry::parse(note.to_text().as_bytes()),
        Err(Error::WrongSignatureCount { got: 2, want: 1 })
    );
    assert_eq!(
        SignedEntry::parse(text.as_bytes()),
        Err(Error::MissingBlankLine)
    );
}

#[test]
fn oversized_entries_are_rejected() {
    let long_name = "k".repeat(MAX_ENTRY_SIZE);
    let signer = test_key(&long_name, Algorithm::Ed25519, 3);
    let event = SigningEvent {
        key: signer.verifier_key().clone(),
        ..example_event()
    };
    assert!(matches!(
        event.sign(&signer),
        Err(Error::TooLarge {
            what: "entry",
            max: MAX_ENTRY_SIZE,
            ..
        })
    ));
}

#[test]
fn cosignature_keys_cannot_sign_entries() {
    let cosigner = test_key("release.example.com", Algorithm::CosignatureV1, 5);
    let event = SigningEvent {
        key: cosigner.verifier_key().clone(),
        ..example_event()
    };
    assert_eq!(
        event.sign(&cosigner),
        Err(Error::WrongKeyType {
            got: Algorithm::CosignatureV1,
            want: Algorithm::Ed25519
        })
    );
}

#[test]
fn times_outside_the_format_cannot_be_signed() {
    let event = SigningEvent {
        time: 253_402_300_800,
        ..example_event()
    };
    assert_eq!(
        event.sign(&signer()),
        Err(Error::TimeOutOfRange {
            got: 253_402_300_800,
            max: 253_402_300_799
        })
    );
}

#[test]
fn verifier_key_in_entry_is_the_full_key() {
    let entry = SignedEntry::parse(vector("entry").as_bytes()).unwrap();
    let key: VerifierKey =
        "release.example.com+ebe0e161+AUbfaLLdUiJyaLF1WpyTICKzFfmrvEBVeGbQlONpsiJA"
            .parse()
            .unwrap();
    assert_eq!(entry.event().key, key);
}

#[test]
fn subjects_round_trip_through_their_text() {
    let digest = example_event().subject;
    let text = sigtrail_note::subject_text(&digest);
    assert_eq!(text, example_event().subject_text());
    assert_eq!(sigtrail_note::parse_subject(&text), Ok(digest));
    assert_eq!(
        sigtrail_note::parse_subject(&text.to_uppercase()),
        Err(Error::BadSubject)
    );
    assert_eq!(
        sigtrail_note::parse_subject(&format!("sha256:{}", text[7..].to_uppercase())),
        Err(Error::BadHex {
            what: "subject digest"
        })
    );
    assert!(matches!(
        sigtrail_note::parse_subject(&text[..text.len() - 2]),
        Err(Error::WrongLength { .. })
    ));
}
