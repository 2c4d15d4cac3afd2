use sigtrail_note::{Algorithm, SignerKey, SigningEvent};

use super::*;

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, Algorithm::Ed25519, &[seed; 32]).unwrap()
}

const T: u64 = 1_795_600_800; // 2026-11-25T10:00:00Z

fn entry(signer: &SignerKey, artifact: &[u8], name: &str, time: u64) -> Vec<u8> {
    SigningEvent {
        subject: crate::artifact_digest(artifact),
        name: name.to_owned(),
        key: signer.verifier_key().clone(),
        time,
    }
    .sign(signer)
    .unwrap()
    .into_bytes()
}

fn manifest_line(artifact: &[u8], name: &str) -> String {
    let hex: String = crate::artifact_digest(artifact)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}  {name}\n")
}

#[test]
fn manifest_parses_sha256sum_output() {
    let text = format!(
        "{}\n{}{}",
        manifest_line(b"a", "a.tar.gz"),
        manifest_line(b"b", "b.tar.gz"),
        manifest_line(b"a", "copy of a")
    )
    // `sha256sum -b` marks binary mode with `*`.
    .replace("  b.tar.gz", " *b.tar.gz");
    let m = parse_manifest(&text).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(
        m[&crate::artifact_digest(b"a")],
        vec!["a.tar.gz".to_owned(), "copy of a".to_owned()]
    );
    assert_eq!(
        m[&crate::artifact_digest(b"b")],
        vec!["b.tar.gz".to_owned()]
    );
}

#[test]
fn manifest_rejects_malformed_lines_with_their_number() {
    let good = manifest_line(b"a", "a");
    for (bad, line) in [
        (format!("{good}zz{}  x\n", "0".repeat(62)), 2),
        (format!("{}  x\n", "0".repeat(63)), 1),
        (format!("{good}{} x\n", "0".repeat(64)), 2),
        (format!("{}  \n", "0".repeat(64)), 1),
        ("é".repeat(40), 1),
    ] {
        let err = parse_manifest(&bad).unwrap_err();
        assert!(
            matches!(err, Error::Manifest { line: l } if l == line),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn globs() {
    assert!(glob_match("pkg:cargo/example@*", "pkg:cargo/example@1.4.2"));
    assert!(!glob_match("pkg:cargo/example@*", "pkg:cargo/other@1.4.2"));
    assert!(glob_match("*.tar.gz", "app-1.0.tar.gz"));
    assert!(!glob_match("*.tar.gz", "app-1.0.tar.gz.sig"));
    assert!(glob_match("a?c", "abc"));
    assert!(!glob_match("a?c", "ac"));
    assert!(glob_match("*", ""));
    assert!(glob_match("a*b*c", "aXXbYYbc"));
    assert!(!glob_match("a*b*c", "aXXbYYb"));
    assert!(glob_match("exact", "exact"));
    assert!(!glob_match("exact", "exact2"));
    assert!(glob_match("é*", "été"));
}

#[test]
fn windows() {
    let (start, end) = parse_window("2026-11-25T09:00:00Z/2026-11-25T11:00:00Z").unwrap();
    assert_eq!(end - start, 7200);
    assert!((start..=end).contains(&T));
    for bad in [
        "2026-11-25T09:00:00Z",
        "2026-11-25T11:00:00Z/2026-11-25T09:00:00Z",
        "2026-11-25 09:00:00/2026-11-25T11:00:00Z",
        "2026-11-25T09:00:00+01:00/2026-11-25T11:00:00Z",
    ] {
        assert!(
            matches!(parse_window(bad), Err(Error::Window(w)) if w == bad),
            "{bad}"
        );
    }
}

fn watch(owner: &SignerKey, expect: Expectations) -> Watch {
    Watch {
        keys: vec![owner.verifier_key().clone()],
        expect,
    }
}

#[test]
fn classify_expected_unexpected_impersonation_invalid_ignored() {
    let owner = key("release.example", 1);
    let thief = key("release.example", 2);
    let stranger = key("other.example", 3);
    let expect = Expectations {
        manifest: Some(parse_manifest(&manifest_line(b"v1", "v1.tar.gz")).unwrap()),
        names: vec!["pkg:*".to_owned()],
        windows: vec![parse_window("2026-11-25T09:00:00Z/2026-11-25T11:00:00Z").unwrap()],
    };
    let w = watch(&owner, expect);
    let seen = w.classify(4, &entry(&owner, b"v1", "pkg:v1", T));
    assert!(
        matches!(&seen, Verdict::Seen(s) if s.index == 4 && s.name == "pkg:v1"),
        "{seen:?}"
    );
    for (bytes, why) in [
        (
            entry(&owner, b"v2", "pkg:v2", T),
            "not in the expectations manifest",
        ),
        (
            entry(&owner, b"v1", "v1", T),
            "matches no allowed name glob",
        ),
        (
            entry(&owner, b"v1", "pkg:v1", T + 7200),
            "outside every allowed window",
        ),
    ] {
        let Verdict::Alert(a) = w.classify(5, &bytes) else {
            panic!("no alert for {why}")
        };
        assert_eq!(a.kind, AlertKind::Unexpected);
        assert!(a.reason.contains(why), "{}", a.reason);
        assert_eq!(a.key, Some(owner.verifier_key().to_string()));
        assert_eq!(a.index, Some(5));
    }
    let Verdict::Alert(a) = w.classify(6, &entry(&thief, b"v1", "pkg:v1", T)) else {
        panic!("impersonation not flagged")
    };
    assert_eq!(a.kind, AlertKind::Impersonation);
    assert_eq!(a.time.as_deref(), Some("2026-11-25T10:00:00Z"));
    assert_eq!(
        w.classify(7, &entry(&stranger, b"v1", "pkg:v1", T)),
        Verdict::Ignored
    );
    let mut broken = entry(&owner, b"v1", "pkg:v1", T);
    let last = broken.len() - 3;
    broken[last] ^= 1;
    let Verdict::Alert(a) = w.classify(8, &broken) else {
        panic!("invalid entry not flagged")
    };
    assert_eq!(a.kind, AlertKind::InvalidEntry);
    assert_eq!(a.index, Some(8));
}

#[test]
fn without_expectations_every_signing_alerts() {
    let owner = key("release.example", 1);
    let w = watch(&owner, Expectations::default());
    let Verdict::Alert(a) = w.classify(0, &entry(&owner, b"x", "x", T)) else {
        panic!("no alert")
    };
    assert_eq!(a.kind, AlertKind::Unexpected);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["kind"], "unexpected");
    assert_eq!(
        json["subject"],
        crate::artifact_digest(b"x")
            .iter()
            .fold("sha256:".to_owned(), |s, b| s + &format!("{b:02x}"))
    );
    assert!(json.get("evidence").is_none());
}

#[test]
fn command_hook_gets_the_alert_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alert.json");
    let alert = ForkEvidence {
        old_checkpoint: "a".into(),
        new_checkpoint: "b".into(),
        proof: vec![],
        error: "roots differ".into(),
    }
    .alert(Some("fork.json".into()));
    run_command(&format!("cat > '{}'", out.display()), &alert).unwrap();
    let got: Alert = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(got, alert);
    assert!(matches!(
        run_command("exit 3", &alert),
        Err(Error::HookFailed { code: Some(3) })
    ));
}
