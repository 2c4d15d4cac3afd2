//! Vectors from independent implementations and the C2SP specs (see
//! `SOURCE.md` beside this file), reproduced byte for byte.

mod common;

use common::doc_vectors;
use sigtrail_merkle::leaf_hash;
use sigtrail_note::checkpoint::parse_signed_checkpoint;
use sigtrail_note::signed_note::parse_signature_lines;
use sigtrail_note::{cosignature, Algorithm, Checkpoint, Error, Note, SignerKey, VerifierKey};

// golang.org/x/mod sumdb/note package documentation and note_test.go.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const NEUMANN_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                            then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// The go.sum database: its published key, and a checkpoint it signed.
const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_CHECKPOINT: &str = "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n— sum.golang.org Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n";

fn keys(vkeys: &[&str]) -> Vec<VerifierKey> {
    vkeys.iter().map(|k| k.parse().unwrap()).collect()
}

#[test]
fn golang_signer_key_reproduces_the_golang_signed_note() {
    let signer: SignerKey = PETER_SKEY.parse().unwrap();
    assert_eq!(signer.to_text(), PETER_SKEY);
    assert_eq!(signer.verifier_key().to_string(), PETER_VKEY);
    assert_eq!(signer.key_id(), 0xc74f20a3);
    let note = Note::sign(NEUMANN_TEXT, &[&signer]).unwrap();
    assert_eq!(note.to_text(), format!("{NEUMANN_TEXT}\n{PETER_SIG}"));
}

#[test]
fn golang_doubly_signed_note_verifies_with_go_open_semantics() {
    let message = format!("{NEUMANN_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(message.as_bytes()).unwrap();
    assert_eq!(note.text(), NEUMANN_TEXT);
    assert_eq!(note.to_text(), message);

    // One key known: the other signature is ignored.
    let peter = keys(&[PETER_VKEY]);
    assert_eq!(note.verify(&peter).unwrap(), vec![&peter[0]]);
    // Both known: both verify, in signature order.
    let both = keys(&[ENOCH_VKEY, PETER_VKEY]);
    assert_eq!(note.verify(&both).unwrap(), vec![&both[1], &both[0]]);
    // None known.
    assert_eq!(note.verify(&[]), Err(Error::NoVerifiedSignature));
    // A key listed twice is not ambiguous; two keys with one name and ID are.
    let twice = keys(&[PETER_VKEY, PETER_VKEY]);
    assert_eq!(note.verify(&twice).unwrap(), vec![&twice[0]]);
}

#[test]
fn golang_corrupted_signature_is_rejected() {
    let corrupted = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let note = Note::parse(format!("{NEUMANN_TEXT}\n{corrupted}").as_bytes()).unwrap();
    let err = note.verify(&keys(&[PETER_VKEY])).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature {
            name: "PeterNeumann".to_owned(),
            key_id: 0xc74f20a3
        }
    );
    assert!(err.is_evidence());
}

#[test]
fn golang_malformed_messages_are_rejected() {
    let cases = [
        (NEUMANN_TEXT.to_owned(), Error::MissingBlankLine),
        (format!("{NEUMANN_TEXT}\n"), Error::NoSignatures),
        (
            format!("{NEUMANN_TEXT}\n{}", PETER_SIG.trim_end()),
            Error::MissingFinalNewline {
                what: "signature block",
            },
        ),
        (
            format!("\x01{NEUMANN_TEXT}\n{PETER_SIG}"),
            Error::ControlCharacter { offset: 0, code: 1 },
        ),
        (
            format!("{NEUMANN_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            Error::BadBase64 { what: "signature" },
        ),
        (
            format!("{NEUMANN_TEXT}\n— Peter+Neumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            Error::BadKeyName {
                name: "Peter+Neumann".to_owned(),
            },
        ),
        (
            format!("{NEUMANN_TEXT}\n{PETER_SIG}Unexpected line.\n"),
            Error::MalformedSignatureLine { line: 2 },
        ),
    ];
    for (message, want) in cases {
        assert_eq!(Note::parse(message.as_bytes()), Err(want), "{message:?}");
    }
    let mut invalid_utf8 = format!("{NEUMANN_TEXT}\n{PETER_SIG}").into_bytes();
    invalid_utf8.insert(0, 0xff);
    assert_eq!(
        Note::parse(&invalid_utf8),
        Err(Error::InvalidUtf8 { offset: 0 })
    );
}

#[test]
fn golang_verifier_key_manglings_are_rejected() {
    assert!(PETER_VKEY.parse::<VerifierKey>().is_ok());
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                assert!(part.parse::<VerifierKey>().is_err(), "{part:?}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(mangled.parse::<VerifierKey>().is_err(), "{mangled:?}");
    }
    // Wrong key length (non-canonical base64 besides, which Go accepts) and
    // unknown algorithm, each with a matching key ID.
    assert_eq!(
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            .parse::<VerifierKey>(),
        Err(Error::BadBase64 {
            what: "verifier key"
        })
    );
    assert_eq!(
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWAA=="
            .parse::<VerifierKey>(),
        Err(Error::WrongLength {
            what: "verifier key",
            got: 34,
            want: 33
        })
    );
    assert_eq!(
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".parse::<VerifierKey>(),
        Err(Error::UnknownAlgorithm { algorithm: 0x65 })
    );
}

#[test]
fn golang_signer_key_manglings_are_rejected() {
    let bytes = PETER_SKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if (i, j) != (0, bytes.len()) {
                let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                assert!(part.parse::<SignerKey>().is_err(), "{part:?}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[i] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(mangled.parse::<SignerKey>().is_err(), "{mangled:?}");
    }
}

#[test]
fn c2sp_signed_note_example_verifies() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let message = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let key: VerifierKey = vkey.parse().unwrap();
    assert_eq!(key.to_string(), vkey);
    let note = Note::parse(message.as_bytes()).unwrap();
    assert_eq!(note.verify(std::slice::from_ref(&key)).unwrap(), vec![&key]);
    assert_eq!(note.to_text(), message);
}

#[test]
fn sumdb_checkpoint_verifies_with_the_published_key() {
    let key: VerifierKey = SUMDB_VKEY.parse().unwrap();
    assert_eq!(key.to_string(), SUMDB_VKEY);
    assert_eq!(key.name(), "sum.golang.org");
    let (note, checkpoint) = parse_signed_checkpoint(SUMDB_CHECKPOINT.as_bytes()).unwrap();
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.head.size, 15_368_405);
    assert!(checkpoint.extensions.is_empty());
    assert_eq!(note.verify(std::slice::from_ref(&key)).unwrap(), vec![&key]);
    assert_eq!(note.to_text(), SUMDB_CHECKPOINT);
    let forked = SUMDB_CHECKPOINT.replace("15368405", "15368406");
    assert!(Note::parse(forked.as_bytes())
        .unwrap()
        .verify(&[key])
        .unwrap_err()
        .is_evidence());
}

#[test]
fn golang_tlog_tree_text() {
    // sumdb/tlog note_test.go: FormatTree and ParseTree.
    let text = "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let checkpoint = Checkpoint::parse(text).unwrap();
    assert_eq!(checkpoint.head.size, 123_456_789_012);
    assert_eq!(checkpoint.head.root, leaf_hash(b"hello world"));
    assert_eq!(checkpoint.to_text(), text);
    assert_eq!(
        Checkpoint::parse(
            "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        ),
        Err(Error::BadNumber { what: "tree size" })
    );
    assert_eq!(
        Checkpoint::parse("go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n"),
        Err(Error::BadBase64 { what: "root hash" })
    );
}

#[test]
fn transparency_dev_verifier_keys() {
    // note/note_cosigv1_test.go and note/note_verifier_test.go.
    let ed25519: VerifierKey = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
        .parse()
        .unwrap();
    assert_eq!(ed25519.algorithm(), Algorithm::Ed25519);
    let cosigner: VerifierKey =
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
            .parse()
            .unwrap();
    assert_eq!(cosigner.algorithm(), Algorithm::CosignatureV1);
    let ecdsa = "rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
    assert_eq!(
        ecdsa.parse::<VerifierKey>(),
        Err(Error::UnknownAlgorithm { algorithm: 0x02 })
    );
    assert_eq!(
        "rekor.sigstore.dev+12345678+AwEB".parse::<VerifierKey>(),
        Err(Error::UnknownAlgorithm { algorithm: 0x03 })
    );
    assert_eq!(
        "bananas.sigstore.dev+12344556".parse::<VerifierKey>(),
        Err(Error::MalformedVerifierKey)
    );
    assert_eq!(
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!".parse::<VerifierKey>(),
        Err(Error::BadBase64 {
            what: "verifier key"
        })
    );
}

#[test]
fn ecdsa_signed_checkpoint_parses_and_its_signature_is_ignored() {
    // A Rekor checkpoint signed with ECDSA (type 0x02), from
    // transparency-dev/formats note/note_verifier_test.go.
    let text = "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n— rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n";
    let (note, checkpoint) = parse_signed_checkpoint(text.as_bytes()).unwrap();
    assert_eq!(checkpoint.origin, "Rekor");
    assert_eq!(note.signatures()[0].key_id, 0xc0d23d6a);
    assert_eq!(
        note.verify(&keys(&[SUMDB_VKEY])),
        Err(Error::NoVerifiedSignature)
    );
}

#[test]
fn transparency_dev_cosignature_timestamp() {
    let line = "— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==\n";
    let signature = &parse_signature_lines(line.as_bytes()).unwrap()[0];
    assert_eq!(cosignature::timestamp(signature), Ok(1_727_964_367));
    // An Ed25519 note signature is not a cosignature.
    let plain = "— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=\n";
    let signature = &parse_signature_lines(plain.as_bytes()).unwrap()[0];
    assert_eq!(
        cosignature::timestamp(signature),
        Err(Error::WrongLength {
            what: "cosignature",
            got: 64,
            want: 72
        })
    );
}

const C2SP_CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn c2sp_cosigned_message_layout() {
    // tlog-cosignature, "Ed25519 signed message".
    let expected = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(
        cosignature::message(C2SP_CHECKPOINT, 1_679_315_147),
        expected.as_bytes()
    );
    // The example cosignature carries that timestamp after its key ID.
    let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let signature = &parse_signature_lines(line.as_bytes()).unwrap()[0];
    assert_eq!(signature.key_id, 0x8d66cf3f);
    assert_eq!(cosignature::timestamp(signature), Ok(1_679_315_147));
}

#[test]
fn independent_cosignature_vector() {
    // Produced by docs/spec/vectors.py with Python's cryptography package.
    let doc = include_str!("../../docs/spec/note-formats.md");
    let [skey, vkey, line] = ["cosigner-key", "cosigner-vkey", "cosignature"]
        .map(|name| doc_vectors(doc, name).remove(0));
    let signer: SignerKey = skey.trim_end().parse().unwrap();
    let key: VerifierKey = vkey.trim_end().parse().unwrap();
    assert_eq!(signer.verifier_key(), &key);
    let signature = cosignature::sign(C2SP_CHECKPOINT, &signer, 1_679_315_147).unwrap();
    assert_eq!(signature.to_line(), line);
    assert_eq!(
        cosignature::verify(C2SP_CHECKPOINT, &key, &signature),
        Ok(1_679_315_147)
    );
    let cosigned = format!("{C2SP_CHECKPOINT}\n{line}");
    let note = Note::parse(cosigned.as_bytes()).unwrap();
    assert_eq!(note.verify(std::slice::from_ref(&key)).unwrap(), vec![&key]);
}
