//! Property tests: `parse(to_text(x)) == x` for every format, signatures
//! verify, and any single byte change to a signed entry is rejected.

use proptest::prelude::*;
use sigtrail_merkle::{Hash, TreeHead};
use sigtrail_note::utc_time::{format_utc, parse_utc, MAX_UTC_TIME};
use sigtrail_note::{
    cosignature, AddCheckpoint, Algorithm, Checkpoint, Note, Signature, SignedEntry, SignerKey,
    SigningEvent, TlogProof, VerifierKey,
};

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![Just(Algorithm::Ed25519), Just(Algorithm::CosignatureV1)]
}

/// Key names: no space, no plus, some non-ASCII.
fn key_name() -> impl Strategy<Value = String> {
    "[!-*,-~éλ名]{1,24}"
}

fn signer_key(algorithm: Algorithm) -> impl Strategy<Value = SignerKey> {
    (key_name(), any::<[u8; 32]>())
        .prop_map(move |(name, seed)| SignerKey::from_seed(&name, algorithm, &seed).unwrap())
}

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

/// A line of note text: anything but control characters.
fn text_line(min: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\x00-\\x1f]{{{min},40}}")).unwrap()
}

fn signature() -> impl Strategy<Value = Signature> {
    (
        key_name(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 1..80),
    )
        .prop_map(|(name, key_id, bytes)| Signature {
            name,
            key_id,
            bytes,
        })
}

fn note() -> impl Strategy<Value = Note> {
    (
        proptest::collection::vec(text_line(0), 1..6),
        proptest::collection::vec(signature(), 1..6),
    )
        .prop_map(|(lines, signatures)| {
            let mut text = lines.join("\n") + "\n\n";
            for signature in &signatures {
                text.push_str(&signature.to_line());
            }
            Note::parse(text.as_bytes()).unwrap()
        })
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        text_line(1),
        any::<u64>(),
        hash(),
        proptest::collection::vec(text_line(1), 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            head: TreeHead { size, root },
            extensions,
        })
}

fn signed_checkpoint() -> impl Strategy<Value = Vec<u8>> {
    (checkpoint(), signer_key(Algorithm::Ed25519)).prop_map(|(checkpoint, key)| {
        Note::sign(&checkpoint.to_text(), &[&key])
            .unwrap()
            .to_text()
            .into_bytes()
    })
}

/// Artifact names: printable, no surrounding space.
fn artifact_name() -> impl Strategy<Value = String> {
    "[!-~é名]([ -~é名]{0,60}[!-~é名])?"
}

fn signed_entry() -> impl Strategy<Value = SignedEntry> {
    (
        any::<[u8; 32]>(),
        artifact_name(),
        signer_key(Algorithm::Ed25519),
        0..=MAX_UTC_TIME,
    )
        .prop_map(|(subject, name, signer, time)| {
            let event = SigningEvent {
                subject,
                name,
                key: signer.verifier_key().clone(),
                time,
            };
            event.sign(&signer).unwrap()
        })
}

proptest! {
    #[test]
    fn verifier_keys_round_trip(key in algorithm().prop_flat_map(signer_key)) {
        let vkey = key.verifier_key();
        prop_assert_eq!(&vkey.to_string().parse::<VerifierKey>().unwrap(), vkey);
    }

    #[test]
    fn signer_keys_round_trip(key in algorithm().prop_flat_map(signer_key)) {
        let text = key.to_text();
        let parsed: SignerKey = text.parse().unwrap();
        prop_assert_eq!(&parsed, &key);
        prop_assert_eq!(parsed.to_text(), text);
    }

    #[test]
    fn notes_round_trip(note in note()) {
        let text = note.to_text();
        prop_assert_eq!(&Note::parse(text.as_bytes()).unwrap(), &note);
    }

    #[test]
    fn signed_notes_verify(
        lines in proptest::collection::vec(text_line(0), 1..4),
        keys in proptest::collection::vec(signer_key(Algorithm::Ed25519), 1..4),
    ) {
        let text = lines.join("\n") + "\n";
        let signers: Vec<&SignerKey> = keys.iter().collect();
        let note = Note::sign(&text, &signers).unwrap();
        let trusted: Vec<VerifierKey> = keys.iter().map(|k| k.verifier_key().clone()).collect();
        let verified = note.verify(&trusted).unwrap();
        prop_assert!(!verified.is_empty());
        prop_assert_eq!(Note::parse(note.to_text().as_bytes()).unwrap(), note);
    }

    #[test]
    fn checkpoints_round_trip(checkpoint in checkpoint()) {
        prop_assert_eq!(Checkpoint::parse(&checkpoint.to_text()).unwrap(), checkpoint);
    }

    #[test]
    fn cosignatures_verify(
        checkpoint in checkpoint(),
        cosigner in signer_key(Algorithm::CosignatureV1),
        timestamp in 0..=cosignature::MAX_TIMESTAMP,
    ) {
        let text = checkpoint.to_text();
        let signature = cosignature::sign(&text, &cosigner, timestamp).unwrap();
        prop_assert_eq!(
            cosignature::verify(&text, cosigner.verifier_key(), &signature),
            Ok(timestamp)
        );
    }

    #[test]
    fn add_checkpoint_requests_round_trip(
        old_size in any::<u64>(),
        proof in proptest::collection::vec(hash(), 0..=63),
        checkpoint in signed_checkpoint(),
    ) {
        let request = AddCheckpoint { old_size, proof, checkpoint };
        prop_assert_eq!(AddCheckpoint::parse(&request.to_text()).unwrap(), request);
    }

    #[test]
    fn tlog_proofs_round_trip(
        extra in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        index in any::<u64>(),
        proof in proptest::collection::vec(hash(), 0..=64),
        checkpoint in signed_checkpoint(),
    ) {
        let tlog_proof = TlogProof { extra, index, proof, checkpoint };
        prop_assert_eq!(TlogProof::parse(&tlog_proof.to_text()).unwrap(), tlog_proof);
    }

    #[test]
    fn entries_round_trip(entry in signed_entry()) {
        let parsed = SignedEntry::parse(entry.as_bytes()).unwrap();
        prop_assert_eq!(&parsed, &entry);
        let text = parsed.event().to_text().unwrap();
        prop_assert_eq!(&SigningEvent::parse(&text).unwrap(), entry.event());
    }

    #[test]
    fn any_byte_change_to_an_entry_is_rejected(
        entry in signed_entry(),
        position in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let mut bytes = entry.as_bytes().to_vec();
        let i = position.index(bytes.len());
        bytes[i] ^= flip;
        prop_assert!(SignedEntry::parse(&bytes).is_err(), "byte {} ^ {:#x} accepted", i, flip);
    }

    #[test]
    fn utc_times_round_trip(seconds in 0..=MAX_UTC_TIME) {
        prop_assert_eq!(parse_utc(&format_utc(seconds).unwrap()), Ok(seconds));
    }
}
