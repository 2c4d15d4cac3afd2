use sigtrail_merkle::{empty_root, TreeHead};
use sigtrail_note::{cosignature, Algorithm, Checkpoint, Note, SignerKey};

use super::*;

fn key(name: &str, algorithm: Algorithm, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, algorithm, &[seed; 32]).unwrap()
}

fn log() -> SignerKey {
    key("log.example", Algorithm::Ed25519, 1)
}

fn witness(i: u8) -> SignerKey {
    key(&format!("w{i}.example"), Algorithm::CosignatureV1, 10 + i)
}

/// A checkpoint of `origin` signed by `log` and cosigned by `witnesses`.
fn checkpoint(signer: &SignerKey, origin: &str, witnesses: &[SignerKey]) -> Vec<u8> {
    let checkpoint = Checkpoint {
        origin: origin.to_owned(),
        head: TreeHead {
            size: 0,
            root: empty_root(),
        },
        extensions: Vec::new(),
    };
    let mut note = Note::sign(&checkpoint.to_text(), &[signer]).unwrap();
    for w in witnesses {
        note.add_signature(cosignature::sign(note.text(), w, 1_795_600_800).unwrap())
            .unwrap();
    }
    note.to_text().into_bytes()
}

fn problem(text: &str) -> (usize, PolicyProblem) {
    match Policy::parse(text.as_bytes()).unwrap_err() {
        Error::Policy { line, problem } => (line, problem),
        other => panic!("not a policy error: {other}"),
    }
}

fn vk(k: &SignerKey) -> String {
    k.verifier_key().to_string()
}

/// The spec's example: 2 of X1..X3 and any of Y1..Y3.
fn example_policy() -> String {
    let w: Vec<String> = (0..6).map(|i| vk(&witness(i))).collect();
    format!(
        "# example\nlog {}  https://log.example/\n\n\twitness X1 {}\nwitness X2 {}\nwitness X3 {} https://x3.example/\n\
         group X-witnesses 2 X1 X2 X3\nwitness Y1 {}\nwitness Y2 {}\nwitness Y3 {}\n\
         group Y-witnesses any Y1 Y2 Y3\ngroup X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n",
        vk(&log()), w[0], w[1], w[2], w[3], w[4], w[5]
    )
}

#[test]
fn parses_the_spec_example() {
    let policy = Policy::parse(example_policy().as_bytes()).unwrap();
    assert_eq!(policy.logs().len(), 1);
    assert_eq!(policy.witnesses().len(), 6);
    assert_eq!(policy.groups.len(), 3);
    assert_eq!(policy.quorum, Some(Node::Group(2)));
}

#[test]
fn quorum_of_nested_groups() {
    let policy = Policy::parse(example_policy().as_bytes()).unwrap();
    let cases: &[(&[u8], bool)] = &[
        (&[0, 1, 3], true),
        (&[0, 2, 5], true),
        (&[0, 1], false),
        (&[0, 3, 4, 5], false),
        (&[], false),
        (&[0, 1, 2, 3, 4, 5], true),
    ];
    for (cosigners, ok) in cases {
        let ws: Vec<SignerKey> = cosigners.iter().map(|&i| witness(i)).collect();
        let result = policy.verify_checkpoint(&checkpoint(&log(), "log.example", &ws));
        assert_eq!(result.is_ok(), *ok, "cosigners {cosigners:?}: {result:?}");
        if !ok {
            assert!(matches!(
                result,
                Err(Error::QuorumNotMet { witnesses: 6, .. })
            ));
        }
    }
}

#[test]
fn quorum_none_needs_only_the_log() {
    let policy = Policy::parse(format!("log {}\nquorum none\n", vk(&log())).as_bytes()).unwrap();
    assert!(policy
        .verify_checkpoint(&checkpoint(&log(), "log.example", &[]))
        .is_ok());
}

#[test]
fn single_witness_quorum() {
    let text = format!(
        "log {}\nwitness a {}\nquorum a\n",
        vk(&log()),
        vk(&witness(0))
    );
    let policy = Policy::parse(text.as_bytes()).unwrap();
    assert!(policy
        .verify_checkpoint(&checkpoint(&log(), "log.example", &[witness(0)]))
        .is_ok());
    assert!(matches!(
        policy.verify_checkpoint(&checkpoint(&log(), "log.example", &[witness(1)])),
        Err(Error::QuorumNotMet {
            cosigned: 0,
            witnesses: 1
        })
    ));
}

#[test]
fn rejects_bad_lines() {
    let l = vk(&log());
    let w0 = vk(&witness(0));
    let w1 = vk(&witness(1));
    let cases = [
        (format!("log {l}\n"), 0, "QuorumCount(0)"),
        (
            format!("log {l}\nquorum none\nquorum none\n"),
            0,
            "QuorumCount(2)",
        ),
        (format!("logs {l}\nquorum none\n"), 1, "UnknownKeyword"),
        ("log\nquorum none\n".to_owned(), 1, "WrongItemCount"),
        (
            format!("log {l} u extra\nquorum none\n"),
            1,
            "WrongItemCount",
        ),
        (
            format!("log {l}\nlog {l}\nquorum none\n"),
            2,
            "DuplicateKey",
        ),
        (format!("log {w0}\nquorum none\n"), 1, "Key"),
        (format!("witness a {l}\nquorum none\n"), 1, "Key"),
        ("witness a not-a-key\nquorum none\n".to_owned(), 1, "Key"),
        (
            format!("witness a {w0}\nwitness b {w0}\nquorum none\n"),
            2,
            "DuplicateKey",
        ),
        (
            format!("witness a {w0}\nwitness a {w1}\nquorum none\n"),
            2,
            "DuplicateName",
        ),
        (
            format!("witness none {w0}\nquorum none\n"),
            1,
            "DuplicateName",
        ),
        ("quorum a\n".to_owned(), 1, "UnknownName"),
        (format!("quorum a\nwitness a {w0}\n"), 1, "UnknownName"),
        (
            format!("witness a {w0}\ngroup g any a a\nquorum g\n"),
            2,
            "BadMember",
        ),
        (
            format!("witness a {w0}\ngroup g any none\nquorum g\n"),
            2,
            "BadMember",
        ),
        (
            format!("witness a {w0}\ngroup g 2 a\nquorum g\n"),
            2,
            "BadThreshold",
        ),
        (
            format!("witness a {w0}\ngroup g 0 a\nquorum g\n"),
            2,
            "BadThreshold",
        ),
        (
            format!("witness a {w0}\ngroup g 01 a\nquorum g\n"),
            2,
            "BadThreshold",
        ),
        (
            format!("witness a {w0}\ngroup g -1 a\nquorum g\n"),
            2,
            "BadThreshold",
        ),
        (
            format!("witness a {w0}\ngroup g any\nquorum g\n"),
            2,
            "WrongItemCount",
        ),
        (
            format!("witness a {w0}\ngroup g any b\nquorum g\n"),
            2,
            "UnknownName",
        ),
        (
            format!("witness a {w0}\ngroup a any a\nquorum a\n"),
            2,
            "DuplicateName",
        ),
        (format!("log {l}\r\nquorum none\n"), 1, "ControlCharacter"),
        ("quorum none\n\x00\n".to_owned(), 2, "ControlCharacter"),
        ("quorum none extra\n".to_owned(), 1, "WrongItemCount"),
    ];
    for (text, want_line, want) in cases {
        let (line, got) = problem(&text);
        assert_eq!(line, want_line, "{text:?}: {got}");
        assert!(format!("{got:?}").starts_with(want), "{text:?}: {got:?}");
    }
}

#[test]
fn comments_blank_lines_and_non_ascii_names() {
    let text = format!(
        "  # comment\n\n \t \nwitness \u{212a} {}\nwitness K {}\ngroup g all K \u{212a}\nquorum g",
        vk(&witness(0)),
        vk(&witness(1))
    );
    let policy = Policy::parse(text.as_bytes()).unwrap();
    assert_eq!(policy.witnesses().len(), 2);
    assert_eq!(policy.groups[0].threshold, 2);
}

#[test]
fn checkpoint_checks() {
    let policy = Policy::k_of_n(
        log().verifier_key().clone(),
        vec![witness(0).verifier_key().clone()],
        1,
    )
    .unwrap();
    let other_log = key("log.example", Algorithm::Ed25519, 2);
    assert!(matches!(
        policy.verify_checkpoint(&checkpoint(&other_log, "log.example", &[witness(0)])),
        Err(Error::Checkpoint(_))
    ));
    assert!(matches!(
        policy.verify_checkpoint(&checkpoint(&log(), "other.example", &[witness(0)])),
        Err(Error::UnknownLog { .. })
    ));
    assert!(matches!(
        policy.verify_checkpoint(b"garbage"),
        Err(Error::Checkpoint(_))
    ));
    // A cosignature from the trusted witness over another checkpoint.
    let good = checkpoint(&log(), "log.example", &[witness(0)]);
    let text = String::from_utf8(good).unwrap();
    let forged = text.replacen("\n0\n", "\n1\n", 1);
    let err = policy.verify_checkpoint(forged.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Checkpoint(_)), "{err}");
    assert!(err.is_evidence());
}

#[test]
fn bad_cosignature_is_evidence() {
    let policy = Policy::k_of_n(
        log().verifier_key().clone(),
        vec![witness(0).verifier_key().clone()],
        1,
    )
    .unwrap();
    let checkpoint_text = Checkpoint {
        origin: "log.example".to_owned(),
        head: TreeHead {
            size: 0,
            root: empty_root(),
        },
        extensions: Vec::new(),
    }
    .to_text();
    let mut note = Note::sign(&checkpoint_text, &[&log()]).unwrap();
    let other_text = checkpoint_text.replacen("\n0\n", "\n1\n", 1);
    let cosig = cosignature::sign(&other_text, &witness(0), 7).unwrap();
    note.add_signature(cosig).unwrap();
    let err = policy
        .verify_checkpoint(note.to_text().as_bytes())
        .unwrap_err();
    assert!(matches!(err, Error::Cosignature { .. }), "{err}");
    assert!(err.is_evidence());
}

#[test]
fn k_of_n_checks_keys_and_k() {
    let w = vec![witness(0).verifier_key().clone()];
    assert!(matches!(
        Policy::k_of_n(log().verifier_key().clone(), w.clone(), 2),
        Err(Error::QuorumTooLarge { k: 2, n: 1 })
    ));
    assert!(matches!(
        Policy::k_of_n(witness(1).verifier_key().clone(), w.clone(), 1),
        Err(Error::TrustedKey(_))
    ));
    assert!(matches!(
        Policy::k_of_n(
            log().verifier_key().clone(),
            vec![log().verifier_key().clone()],
            1
        ),
        Err(Error::TrustedKey(_))
    ));
}
