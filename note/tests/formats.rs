//! Each C2SP format against its spec examples, and every class of malformed
//! input rejected with its own error.

mod common;

use common::test_key;
use sigtrail_merkle::{empty_root, leaf_hash, Hash, TreeHead};
use sigtrail_note::signed_note::{parse_signature_lines, MAX_NOTE_SIZE, MAX_SIGNATURES};
use sigtrail_note::witness_request::{format_tree_size, parse_tree_size, TREE_SIZE_CONTENT_TYPE};
use sigtrail_note::{
    cosignature, AddCheckpoint, Algorithm, Checkpoint, Error, ErrorKind, Note, Signature,
    SignerKey, TlogProof, VerifierKey,
};

const SPEC_CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SPEC_LOG_SIGNATURE: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

fn log_key() -> SignerKey {
    test_key("example.com/behind-the-sofa", Algorithm::Ed25519, 1)
}

fn signed_checkpoint(text: &str) -> String {
    Note::sign(text, &[&log_key()]).unwrap().to_text()
}

#[test]
fn spec_checkpoint_parses_and_round_trips() {
    let checkpoint = Checkpoint::parse(SPEC_CHECKPOINT).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.head.size, 20_852_163);
    assert_eq!(
        checkpoint.head.root.to_string(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert_eq!(checkpoint.to_text(), SPEC_CHECKPOINT);
    let with_extensions = format!("{SPEC_CHECKPOINT}ext one\next two\n");
    let checkpoint = Checkpoint::parse(&with_extensions).unwrap();
    assert_eq!(checkpoint.extensions, ["ext one", "ext two"]);
    assert_eq!(checkpoint.to_text(), with_extensions);
}

#[test]
fn non_canonical_checkpoints_are_rejected() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let size = |s: &str| Checkpoint::parse(&format!("origin\n{s}\n{root}\n"));
    for bad in [
        "020852163",
        "+20852163",
        "-1",
        "",
        " 1",
        "1 ",
        "0x10",
        "18446744073709551616",
    ] {
        let want = if bad.is_empty() {
            Error::EmptyLine {
                what: "checkpoint",
                line: 2,
            }
        } else {
            Error::BadNumber { what: "tree size" }
        };
        assert_eq!(size(bad), Err(want), "{bad:?}");
    }
    assert_eq!(size("0").unwrap().head.size, 0);
    let hash = |h: &str| Checkpoint::parse(&format!("origin\n1\n{h}\n"));
    assert_eq!(
        hash("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J="),
        Err(Error::BadBase64 { what: "root hash" })
    );
    assert_eq!(
        hash("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I"),
        Err(Error::BadBase64 { what: "root hash" })
    );
    assert_eq!(
        hash("AAAA"),
        Err(Error::WrongLength {
            what: "root hash",
            got: 3,
            want: 32
        })
    );
    assert_eq!(
        Checkpoint::parse("origin\n1\n"),
        Err(Error::WrongLineCount {
            what: "checkpoint",
            got: 2,
            want: 3
        })
    );
    assert_eq!(
        Checkpoint::parse(&format!("\n1\n{root}\n")),
        Err(Error::EmptyLine {
            what: "checkpoint",
            line: 1
        })
    );
    assert_eq!(
        Checkpoint::parse(&format!("origin\n1\n{root}\n\next\n")),
        Err(Error::EmptyLine {
            what: "checkpoint",
            line: 4
        })
    );
    assert_eq!(
        Checkpoint::parse(&format!("origin\n1\n{root}")),
        Err(Error::MissingFinalNewline { what: "checkpoint" })
    );
    assert_eq!(
        Checkpoint::parse(&format!("ori\tgin\n1\n{root}\n")),
        Err(Error::ControlCharacter { offset: 3, code: 9 })
    );
}

#[test]
fn note_limits() {
    let key = log_key();
    let text = "text\n";
    let mut note = Note::sign(text, &[&key]).unwrap();
    let line = note.signatures()[0].to_line();
    for count in [16, MAX_SIGNATURES] {
        let message = format!("{text}\n{}", line.repeat(count));
        let parsed = Note::parse(message.as_bytes()).unwrap();
        assert_eq!(parsed.signatures().len(), count);
        assert_eq!(
            parsed.verify(&[key.verifier_key().clone()]).unwrap().len(),
            1
        );
    }
    let message = format!("{text}\n{}", line.repeat(MAX_SIGNATURES + 1));
    assert_eq!(
        Note::parse(message.as_bytes()),
        Err(Error::TooManySignatures {
            got: MAX_SIGNATURES + 1,
            max: MAX_SIGNATURES
        })
    );
    let huge = format!("{}\n\n{line}", "a".repeat(MAX_NOTE_SIZE));
    assert_eq!(
        Note::parse(huge.as_bytes()),
        Err(Error::TooLarge {
            what: "signed note",
            got: huge.len(),
            max: MAX_NOTE_SIZE
        })
    );
    for i in 1..MAX_SIGNATURES {
        let signer = test_key(&format!("w{i}"), Algorithm::Ed25519, 2);
        note.add_signature(Signature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            bytes: signer.sign(text.as_bytes()).to_vec(),
        })
        .unwrap();
    }
    let before = note.clone();
    let extra = test_key("one-too-many", Algorithm::Ed25519, 2);
    let signature = Signature {
        name: extra.name().to_owned(),
        key_id: extra.key_id(),
        bytes: vec![1],
    };
    assert_eq!(
        note.add_signature(signature),
        Err(Error::TooManySignatures {
            got: MAX_SIGNATURES + 1,
            max: MAX_SIGNATURES
        })
    );
    assert_eq!(note, before);
}

#[test]
fn malformed_signature_lines() {
    let text = "text\n\n";
    let parse = |sig: &str| Note::parse(format!("{text}{sig}\n").as_bytes());
    assert_eq!(
        parse("- name AAAAAAA="),
        Err(Error::MalformedSignatureLine { line: 1 })
    );
    assert_eq!(
        parse("—name AAAAAAA="),
        Err(Error::MalformedSignatureLine { line: 1 })
    );
    assert_eq!(
        parse("— nameonly"),
        Err(Error::MalformedSignatureLine { line: 1 })
    );
    assert_eq!(
        parse("— na+me AAAAAAA="),
        Err(Error::BadKeyName {
            name: "na+me".to_owned()
        })
    );
    assert_eq!(
        parse("—  AAAAAAA="),
        Err(Error::BadKeyName {
            name: String::new()
        })
    );
    assert_eq!(
        parse("— name\u{a0}x AAAAAAA="),
        Err(Error::BadKeyName {
            name: "name\u{a0}x".to_owned()
        })
    );
    assert_eq!(
        parse("— name AAAAAAA"),
        Err(Error::BadBase64 { what: "signature" })
    );
    assert_eq!(
        parse("— name AAAAAAB="),
        Err(Error::BadBase64 { what: "signature" })
    );
    assert_eq!(
        parse("— name AAAAAA=="),
        Err(Error::SignatureTooShort { got: 4, min: 5 })
    );
    assert_eq!(
        parse("— name AAAAAAA= "),
        Err(Error::BadBase64 { what: "signature" })
    );
    assert_eq!(parse("— name AAAAAAA=").unwrap().signatures()[0].bytes, [0]);
}

#[test]
fn sign_rejects_bad_texts_and_keys() {
    let key = log_key();
    assert_eq!(
        Note::sign("no newline", &[&key]),
        Err(Error::MissingFinalNewline { what: "note text" })
    );
    assert_eq!(
        Note::sign("a\rb\n", &[&key]),
        Err(Error::ControlCharacter {
            offset: 1,
            code: 13
        })
    );
    assert_eq!(Note::sign("text\n", &[]), Err(Error::NoSignatures));
    let cosigner = test_key("w", Algorithm::CosignatureV1, 1);
    assert_eq!(
        Note::sign("text\n", &[&cosigner]),
        Err(Error::WrongKeyType {
            got: Algorithm::CosignatureV1,
            want: Algorithm::Ed25519
        })
    );
    // A key given twice signs once; a text may contain blank lines.
    let note = Note::sign("a\n\nb\n\n", &[&key, &key]).unwrap();
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(Note::parse(note.to_text().as_bytes()).unwrap(), note);
}

#[test]
fn key_names_with_space_or_plus_are_rejected() {
    let vkey = log_key().verifier_key().to_string();
    let rest = vkey.split_once('+').unwrap().1;
    for name in [
        "example.com/behind the sofa",
        "example.com/behind\u{3000}sofa",
        "",
    ] {
        assert_eq!(
            format!("{name}+{rest}").parse::<VerifierKey>(),
            Err(Error::BadKeyName {
                name: name.to_owned()
            })
        );
        assert_eq!(
            SignerKey::from_seed(name, Algorithm::Ed25519, &[1; 32]),
            Err(Error::BadKeyName {
                name: name.to_owned()
            })
        );
    }
    // A plus ends the name: what follows is not a key ID.
    assert_eq!(
        format!("example.com+log+{rest}").parse::<VerifierKey>(),
        Err(Error::WrongLength {
            what: "key id",
            got: 1,
            want: 4
        })
    );
    assert_eq!(
        SignerKey::from_seed("a+b", Algorithm::Ed25519, &[1; 32]),
        Err(Error::BadKeyName {
            name: "a+b".to_owned()
        })
    );
}

#[test]
fn cosignatures_sign_and_verify() {
    let cosigner = test_key("witness.example/w1", Algorithm::CosignatureV1, 4);
    let key = cosigner.verifier_key().clone();
    let signature = cosignature::sign(SPEC_CHECKPOINT, &cosigner, 1_700_000_000).unwrap();
    assert_eq!(signature.bytes.len(), cosignature::COSIGNATURE_SIZE);
    assert_eq!(
        cosignature::verify(SPEC_CHECKPOINT, &key, &signature),
        Ok(1_700_000_000)
    );
    // The timestamp is signed.
    let mut shifted = signature.clone();
    shifted.bytes[7] ^= 1;
    let err = cosignature::verify(SPEC_CHECKPOINT, &key, &shifted).unwrap_err();
    assert!(err.is_evidence());
    // So is every line of the checkpoint, extensions included.
    let extended = format!("{SPEC_CHECKPOINT}extension\n");
    let signature = cosignature::sign(&extended, &cosigner, 1).unwrap();
    let altered = format!("{SPEC_CHECKPOINT}extensioN\n");
    assert!(cosignature::verify(&altered, &key, &signature)
        .unwrap_err()
        .is_evidence());
    // A log signature and a cosignature on one note: both verify.
    let mut note = Note::parse(signed_checkpoint(SPEC_CHECKPOINT).as_bytes()).unwrap();
    note.add_signature(cosignature::sign(SPEC_CHECKPOINT, &cosigner, 5).unwrap())
        .unwrap();
    let keys = [log_key().verifier_key().clone(), key.clone()];
    assert_eq!(note.verify(&keys).unwrap(), vec![&keys[0], &keys[1]]);
}

#[test]
fn cosignature_misuse_is_rejected() {
    let cosigner = test_key("witness.example/w1", Algorithm::CosignatureV1, 4);
    let plain = log_key();
    assert_eq!(
        cosignature::sign(SPEC_CHECKPOINT, &plain, 1),
        Err(Error::WrongKeyType {
            got: Algorithm::Ed25519,
            want: Algorithm::CosignatureV1
        })
    );
    assert_eq!(
        cosignature::sign(SPEC_CHECKPOINT, &cosigner, 1 << 63),
        Err(Error::TimestampOutOfRange {
            got: 1 << 63,
            max: (1 << 63) - 1
        })
    );
    assert_eq!(
        cosignature::sign("not a checkpoint\n", &cosigner, 1),
        Err(Error::WrongLineCount {
            what: "checkpoint",
            got: 1,
            want: 3
        })
    );
    let signature = cosignature::sign(SPEC_CHECKPOINT, &cosigner, 1).unwrap();
    let other = test_key("witness.example/w2", Algorithm::CosignatureV1, 4);
    assert!(matches!(
        cosignature::verify(SPEC_CHECKPOINT, other.verifier_key(), &signature),
        Err(Error::SignerMismatch { .. })
    ));
    let mut late = signature.clone();
    late.bytes[0] = 0x80;
    assert_eq!(
        cosignature::verify(SPEC_CHECKPOINT, cosigner.verifier_key(), &late),
        Err(Error::TimestampOutOfRange {
            got: (0x80 << 56) | 1,
            max: (1 << 63) - 1
        })
    );
    let mut short = signature;
    short.bytes.pop();
    assert_eq!(
        cosignature::verify(SPEC_CHECKPOINT, cosigner.verifier_key(), &short),
        Err(Error::InvalidSignature {
            name: "witness.example/w1".to_owned(),
            key_id: cosigner.key_id()
        })
    );
    // The same key as a note signer does not verify a cosignature: the key
    // IDs differ by type.
    let as_ed25519 = VerifierKey::new(
        cosigner.name(),
        Algorithm::Ed25519,
        *cosigner.verifier_key().public_key(),
    )
    .unwrap();
    assert_ne!(as_ed25519.key_id(), cosigner.key_id());
}

#[test]
fn spec_add_checkpoint_body() {
    // The tlog-witness example, with the log signatures made verifiable.
    let proof = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n";
    let checkpoint = format!("{SPEC_CHECKPOINT}\n{SPEC_LOG_SIGNATURE}— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n");
    let body = format!("old 20852014\n{proof}\n{checkpoint}");
    let request = AddCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(request.old_size, 20_852_014);
    assert_eq!(request.proof.len(), 4);
    assert_eq!(
        request.proof[3].to_string(),
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0="
    );
    assert_eq!(request.checkpoint, checkpoint.as_bytes());
    assert_eq!(request.to_text(), body.as_bytes());
    let (note, parsed) = request.signed_checkpoint().unwrap();
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(parsed.head.size, 20_852_163);
}

#[test]
fn malformed_add_checkpoint_bodies() {
    let checkpoint = signed_checkpoint(SPEC_CHECKPOINT);
    let hash = leaf_hash(b"x").to_string();
    let parse = |header: &str| AddCheckpoint::parse(format!("{header}\n{checkpoint}").as_bytes());
    assert!(parse("old 0\n").unwrap().proof.is_empty());
    assert_eq!(
        parse("old 01\n"),
        Err(Error::BadNumber { what: "old size" })
    );
    assert_eq!(
        parse("size 1\n"),
        Err(Error::UnexpectedLine {
            what: "add-checkpoint request",
            line: 1,
            want: "old "
        })
    );
    assert_eq!(
        parse(&format!("old 1\n{}\n", &hash[..43])),
        Err(Error::BadBase64 {
            what: "consistency proof hash"
        })
    );
    assert_eq!(
        parse(&format!("old 1\n{}", format!("{hash}\n").repeat(64))),
        Err(Error::TooManyProofHashes { got: 64, max: 63 })
    );
    assert_eq!(
        parse(&format!("old 1\n{}", format!("{hash}\n").repeat(63)))
            .unwrap()
            .proof
            .len(),
        63
    );
    assert_eq!(
        AddCheckpoint::parse(b"old 1\n"),
        Err(Error::MissingBlankLine)
    );
    assert_eq!(
        AddCheckpoint::parse(format!("old 1\n\n{SPEC_CHECKPOINT}").as_bytes()),
        Err(Error::MissingBlankLine)
    );
    // The note must be a checkpoint.
    let other = Note::sign("hello\n", &[&log_key()]).unwrap().to_text();
    assert!(matches!(
        AddCheckpoint::parse(format!("old 1\n\n{other}").as_bytes()),
        Err(Error::WrongLineCount { .. })
    ));
}

#[test]
fn tree_size_bodies() {
    assert_eq!(TREE_SIZE_CONTENT_TYPE, "text/x.tlog.size");
    assert_eq!(format_tree_size(20_852_014), "20852014\n");
    assert_eq!(parse_tree_size(b"20852014\n"), Ok(20_852_014));
    assert_eq!(parse_tree_size(b"0\n"), Ok(0));
    assert_eq!(
        parse_tree_size(b"20852014"),
        Err(Error::MissingFinalNewline {
            what: "tree size body"
        })
    );
    assert_eq!(
        parse_tree_size(b"007\n"),
        Err(Error::BadNumber { what: "tree size" })
    );
    assert_eq!(
        parse_tree_size(b"1\n2\n"),
        Err(Error::WrongLineCount {
            what: "tree size body",
            got: 2,
            want: 1
        })
    );
}

#[test]
fn witness_response_body_is_signature_lines() {
    let cosigner = test_key("witness.example/w1", Algorithm::CosignatureV1, 4);
    let signature = cosignature::sign(SPEC_CHECKPOINT, &cosigner, 1_700_000_000).unwrap();
    let body = signature.to_line();
    assert_eq!(parse_signature_lines(body.as_bytes()), Ok(vec![signature]));
    assert_eq!(parse_signature_lines(b""), Err(Error::NoSignatures));
}

#[test]
fn spec_tlog_proof_layout() {
    // The tlog-proof example, with the elided signatures made real.
    let extra = "YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ";
    let hashes = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\nB95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\nEKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\nRoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\nAHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n";
    let checkpoint = signed_checkpoint(
        "example.com/fancylog\n109482\nsFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n",
    );
    let text =
        format!("c2sp.org/tlog-proof@v1\nextra {extra}\nindex 73894\n{hashes}\n{checkpoint}");
    let proof = TlogProof::parse(text.as_bytes()).unwrap();
    assert_eq!(proof.extra.as_deref().map(<[u8]>::len), Some(39));
    assert_eq!(proof.index, 73_894);
    assert_eq!(proof.proof.len(), 5);
    assert_eq!(proof.checkpoint, checkpoint.as_bytes());
    assert_eq!(proof.to_text(), text.as_bytes());
    assert_eq!(proof.signed_checkpoint().unwrap().1.head.size, 109_482);
    // Without extra data, and with an empty proof.
    let bare = format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{checkpoint}");
    let proof = TlogProof::parse(bare.as_bytes()).unwrap();
    assert_eq!((proof.extra, proof.index, proof.proof.len()), (None, 0, 0));
}

#[test]
fn malformed_tlog_proofs() {
    let checkpoint = signed_checkpoint(SPEC_CHECKPOINT);
    let parse = |header: &str| TlogProof::parse(format!("{header}\n{checkpoint}").as_bytes());
    let unexpected = |line, want| {
        Err(Error::UnexpectedLine {
            what: "tlog-proof",
            line,
            want,
        })
    };
    assert_eq!(
        parse("c2sp.org/tlog-proof@v2\nindex 0\n"),
        unexpected(1, "c2sp.org/tlog-proof@v1")
    );
    assert_eq!(parse("c2sp.org/tlog-proof@v1\n"), unexpected(2, "index "));
    assert_eq!(
        parse("c2sp.org/tlog-proof@v1\nextra AA==\n"),
        unexpected(3, "index ")
    );
    assert_eq!(
        parse("c2sp.org/tlog-proof@v1\nextra AA==\nextra AA==\nindex 0\n"),
        unexpected(3, "index ")
    );
    assert_eq!(
        parse("c2sp.org/tlog-proof@v1\nindex 0\nextra AA==\n"),
        Err(Error::BadBase64 {
            what: "inclusion proof hash"
        })
    );
    assert_eq!(
        parse("c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n"),
        Err(Error::BadBase64 { what: "extra data" })
    );
    assert_eq!(
        parse("c2sp.org/tlog-proof@v1\nindex -5\n"),
        Err(Error::BadNumber { what: "leaf index" })
    );
    let hash = format!("{}\n", empty_root());
    assert_eq!(
        parse(&format!(
            "c2sp.org/tlog-proof@v1\nindex 0\n{}",
            hash.repeat(65)
        )),
        Err(Error::TooManyProofHashes { got: 65, max: 64 })
    );
    let empty_extra = parse("c2sp.org/tlog-proof@v1\nextra \nindex 0\n").unwrap();
    assert_eq!(empty_extra.extra, Some(Vec::new()));
}

#[test]
fn error_kinds() {
    assert_eq!(Error::NoVerifiedSignature.kind(), ErrorKind::Untrusted);
    assert_eq!(Error::BadEd25519Signature.kind(), ErrorKind::Evidence);
    assert_eq!(Error::MissingBlankLine.kind(), ErrorKind::Malformed);
    assert!(!Error::NoVerifiedSignature.is_evidence());
    let head = TreeHead {
        size: 1,
        root: Hash::default(),
    };
    let checkpoint = Checkpoint {
        origin: "o".to_owned(),
        head,
        extensions: Vec::new(),
    };
    assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint));
}
