//! End-to-end: the real `sigtrail` binary against real log servers on
//! loopback ports (in-process, memory stores).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sigtrail_note::{cosignature, Algorithm, Note, SignerKey, TlogProof};
use sigtrail_server::testing::{runtime, signer, spawn_memory_log};

mod common;
use common::sigtrail;
use sigtrail_server::witnesses::WitnessConfig;
use sigtrail_witness::api::router;
use sigtrail_witness::config::parse_logs;
use sigtrail_witness::{system_clock, Store as WitnessStore, Witness};

/// Files submitted in one `submit` run.
const FILES: usize = 1000;

/// Starts a log on a loopback port in a thread of its own, asking
/// `witnesses` (`quorum` of them) to cosign; returns its URL and verifier
/// key. The server lives as long as the test process.
fn start_log(
    origin: &str,
    seed: u8,
    witnesses: Vec<WitnessConfig>,
    quorum: usize,
) -> (String, String) {
    spawn_memory_log(signer(origin, seed), witnesses, quorum)
}

/// Starts a `sigtrail-witness` for the log `origin` with key `log_vkey`, in
/// a thread of its own; returns its configuration for the log.
fn start_witness(dir: &Path, key: SignerKey, origin: &str, log_vkey: &str) -> WitnessConfig {
    let vkey = key.verifier_key().clone();
    let logs = parse_logs(&[format!("{origin} {log_vkey}")], None).unwrap();
    let db = format!("sqlite://{}/{}.db", dir.display(), key.key_id());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let store = WitnessStore::open(&db).await.unwrap();
            let witness = Witness::new(key, logs, store, system_clock()).unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router(witness)).await.unwrap();
        });
    });
    WitnessConfig {
        vkey,
        url: format!("http://{}", rx.recv().unwrap()),
    }
}

/// Runs `verify` and asserts exit 1 with `reason` on the file's line.
fn assert_fails(dir: &Path, args: &[&str], reason: &str) {
    let run = sigtrail(dir, args);
    assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("FAILED"))
        .unwrap_or_else(|| panic!("{args:?}: no FAILED line in {}{}", run.stdout, run.stderr));
    assert!(
        line.contains(reason),
        "{args:?}: {line:?} does not name {reason:?}"
    );
}

/// Rewrites a bundle: parse, change, write to `name`.
fn tampered(dir: &Path, bundle: &Path, name: &str, change: impl FnOnce(&mut TlogProof)) -> String {
    let mut proof = TlogProof::parse(&fs::read(bundle).unwrap()).unwrap();
    change(&mut proof);
    fs::write(dir.join(name), proof.to_text()).unwrap();
    name.to_owned()
}

fn keygen(dir: &Path) -> String {
    let run = sigtrail(
        dir,
        &[
            "keygen",
            "--name",
            "release.example.com",
            "--out",
            "release.key",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mode = fs::metadata(dir.join("release.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let again = sigtrail(dir, &["keygen", "--name", "x", "--out", "release.key"]);
    assert_eq!(again.code, 2, "keygen must refuse to overwrite");
    run.stdout.trim().to_owned()
}

fn submit_all(dir: &Path, url: &str) -> Vec<String> {
    let files: Vec<String> = (0..FILES).map(|i| format!("f{i:04}.bin")).collect();
    for (i, f) in files.iter().enumerate() {
        fs::write(dir.join(f), format!("artifact {i}\n")).unwrap();
    }
    let start = Instant::now();
    let mut args = vec!["submit", "--log", url, "--key", "release.key", "--json"];
    args.extend(files.iter().map(String::as_str));
    let run = sigtrail(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), FILES);
    eprintln!("submitted {FILES} files in {:?}", start.elapsed());
    files
}

#[test]
fn keygen_submit_verify_tamper_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (url, log_key) = start_log("test.example/log", 1, Vec::new(), 0);
    let signer_vkey = keygen(dir);
    assert!(signer_vkey.starts_with("release.example.com+"));
    let files = submit_all(dir, &url);

    // Everything verifies offline.
    let mut args = vec!["verify", "--log-key", log_key.as_str()];
    args.extend(files.iter().map(String::as_str));
    let run = sigtrail(dir, &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.contains(": verified: "))
            .count(),
        FILES
    );

    // Sign offline, submit the entry, verify online too: the log grew.
    fs::write(dir.join("late.bin"), b"late\n").unwrap();
    assert_eq!(
        sigtrail(dir, &["sign", "--key", "release.key", "late.bin"]).code,
        0
    );
    let run = sigtrail(
        dir,
        &[
            "submit",
            "--log",
            &url,
            "--entry",
            "late.bin.sigtrail-entry",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = sigtrail(
        dir,
        &[
            "verify",
            "--log",
            &url,
            "--log-key",
            &log_key,
            "late.bin",
            "f0000.bin",
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);

    tamper_cases(dir, &log_key, &url);
    witness_cases(dir, &log_key);
    audit(dir, &url, &log_key);
}

fn tamper_cases(dir: &Path, log_key: &str, url: &str) {
    let verify = |file: &str, bundle: &str, reason: &str| {
        assert_fails(
            dir,
            &["verify", "--log-key", log_key, "--bundle", bundle, file],
            reason,
        );
    };
    // An entry from the middle of the log: its inclusion proof has hashes
    // to tamper with (the first entry may have been committed alone, in a
    // tree of one, where the proof is empty).
    let b0 = dir.join("f0500.bin.tlog-proof");
    // The artifact.
    fs::write(dir.join("changed.bin"), b"artifact 500 changed\n").unwrap();
    verify("changed.bin", "f0500.bin.tlog-proof", "artifact digest");
    // Each bundle field.
    let name = tampered(dir, &b0, "extra.proof", |p| {
        let entry = p.extra.as_mut().unwrap();
        let at = entry.len() / 3;
        entry[at] ^= 1;
    });
    verify("f0500.bin", &name, "entry signature");
    let name = tampered(dir, &b0, "noextra.proof", |p| p.extra = None);
    verify("f0500.bin", &name, "bundle");
    let name = tampered(dir, &b0, "index.proof", |p| p.index += 1);
    verify("f0500.bin", &name, "inclusion proof");
    let name = tampered(dir, &b0, "hash.proof", |p| p.proof[0].0[0] ^= 1);
    verify("f0500.bin", &name, "inclusion proof");
    let name = tampered(dir, &b0, "root.proof", |p| {
        let text = String::from_utf8(p.checkpoint.clone()).unwrap();
        let mut lines: Vec<&str> = text.split('\n').collect();
        let root = lines[2].replacen(|c: char| c.is_ascii_alphabetic(), "A", 1);
        let root = if root == lines[2] {
            lines[2].replacen('A', "B", 1)
        } else {
            root
        };
        lines[2] = &root;
        p.checkpoint = lines.join("\n").into_bytes();
    });
    verify("f0500.bin", &name, "checkpoint signature");
    // A proof for another size: the latest checkpoint with an old proof.
    let latest = TlogProof::parse(&fs::read(dir.join("late.bin.tlog-proof")).unwrap()).unwrap();
    let name = tampered(dir, &b0, "size.proof", |p| {
        p.checkpoint = latest.checkpoint.clone()
    });
    verify("f0500.bin", &name, "inclusion proof");
    // A checkpoint signed by another key of the same name.
    let other = SignerKey::from_seed("test.example/log", Algorithm::Ed25519, &[7; 32]).unwrap();
    let other_vkey = other.verifier_key().to_string();
    assert_fails(
        dir,
        &["verify", "--log-key", &other_vkey, "f0500.bin"],
        "checkpoint signature",
    );
    // A truncated key file.
    fs::write(dir.join("log.vkey"), &log_key[..log_key.len() - 5]).unwrap();
    let run = sigtrail(dir, &["verify", "--log-key", "log.vkey", "f0500.bin"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("trusted keys"), "{}", run.stderr);
    // A key file that does not exist: could not run.
    let run = sigtrail(dir, &["verify", "--log-key", "missing.vkey", "f0500.bin"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // A bundle from another log.
    let (other_url, _) = start_log("other.example/log", 2, Vec::new(), 0);
    fs::write(dir.join("elsewhere.bin"), b"elsewhere\n").unwrap();
    let run = sigtrail(
        dir,
        &[
            "submit",
            "--log",
            &other_url,
            "--key",
            "release.key",
            "elsewhere.bin",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_fails(
        dir,
        &["verify", "--log-key", log_key, "elsewhere.bin"],
        "not a trusted log",
    );
    // Could not run: a missing bundle, an unreachable log.
    assert_eq!(
        sigtrail(dir, &["verify", "--log-key", log_key, "release.key"]).code,
        2
    );
    let run = sigtrail(
        dir,
        &[
            "verify",
            "--log",
            "http://127.0.0.1:1",
            "--log-key",
            log_key,
            "f0000.bin",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(sigtrail(dir, &["get", "--log", url, "0"]).code, 0);
}

/// Cosigns the checkpoint of a bundle with `witnesses`, writing `name`.
fn cosigned(dir: &Path, bundle: &Path, name: &str, witnesses: &[&SignerKey]) -> String {
    tampered(dir, bundle, name, |p| {
        let mut note = Note::parse(&p.checkpoint).unwrap();
        for w in witnesses {
            note.add_signature(cosignature::sign(note.text(), w, 1_795_600_800).unwrap())
                .unwrap();
        }
        p.checkpoint = note.to_text().into_bytes();
    })
}

fn witness_cases(dir: &Path, log_key: &str) {
    let w1 = SignerKey::from_seed("w1.example", Algorithm::CosignatureV1, &[11; 32]).unwrap();
    let w2 = SignerKey::from_seed("w2.example", Algorithm::CosignatureV1, &[12; 32]).unwrap();
    let (v1, v2) = (w1.verifier_key().to_string(), w2.verifier_key().to_string());
    let b0 = dir.join("f0000.bin.tlog-proof");
    let one = cosigned(dir, &b0, "w1.proof", &[&w1]);
    let both = cosigned(dir, &b0, "w12.proof", &[&w1, &w2]);
    let base = [
        "verify",
        "--log-key",
        log_key,
        "--witness",
        &v1,
        "--witness",
        &v2,
    ];
    let with = |quorum: &str, bundle: &str| {
        let mut args = base.to_vec();
        args.extend(["--quorum", quorum, "--bundle", bundle, "f0000.bin"]);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run_with =
        |args: Vec<String>| sigtrail(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run_with(with("2", &both)).code, 0);
    assert_eq!(run_with(with("1", &one)).code, 0);
    // Too few cosignatures.
    let args = with("2", &one);
    assert_fails(
        dir,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        "witness quorum",
    );
    // Cosigned only by a witness the verifier does not know.
    assert_fails(
        dir,
        &[
            "verify",
            "--log-key",
            log_key,
            "--witness",
            &v2,
            "--bundle",
            &one,
            "f0000.bin",
        ],
        "witness quorum",
    );
    // The same through a tlog-policy file.
    let policy =
        format!("log {log_key}\nwitness a {v1}\nwitness b {v2}\ngroup g 2 a b\nquorum g\n");
    fs::write(dir.join("trust.policy"), policy).unwrap();
    let ok = sigtrail(
        dir,
        &[
            "verify",
            "--policy",
            "trust.policy",
            "--bundle",
            &both,
            "f0000.bin",
        ],
    );
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert_fails(
        dir,
        &[
            "verify",
            "--policy",
            "trust.policy",
            "--bundle",
            &one,
            "f0000.bin",
        ],
        "witness quorum",
    );
}

fn audit(dir: &Path, url: &str, log_key: &str) {
    let state: PathBuf = dir.join("audit.json");
    let state = state.to_str().unwrap();
    let args = [
        "audit",
        "--log",
        url,
        "--log-key",
        log_key,
        "--state",
        state,
        "--json",
    ];
    let first = sigtrail(dir, &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let report: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(report["size"], (FILES + 1) as u64);
    assert_eq!(report["entries_checked"], (FILES + 1) as u64);
    // Resume: one more entry, only it is checked, and consistency holds.
    fs::write(dir.join("later.bin"), b"later\n").unwrap();
    assert_eq!(
        sigtrail(
            dir,
            &["submit", "--log", url, "--key", "release.key", "later.bin"]
        )
        .code,
        0
    );
    let second = sigtrail(dir, &args);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let report: serde_json::Value = serde_json::from_str(&second.stdout).unwrap();
    assert_eq!(report["previous_size"], (FILES + 1) as u64);
    assert_eq!(report["size"], (FILES + 2) as u64);
    assert_eq!(report["entries_checked"], 1);
    // A state from another history is caught.
    let mut saved: serde_json::Value = serde_json::from_slice(&fs::read(state).unwrap()).unwrap();
    saved["range"][0] = serde_json::Value::String(sigtrail_merkle::leaf_hash(b"fork").to_string());
    saved["size"] = saved["size"].as_u64().unwrap().into();
    fs::write(state, serde_json::to_vec(&saved).unwrap()).unwrap();
    fs::write(dir.join("fork.bin"), b"fork\n").unwrap();
    assert_eq!(
        sigtrail(
            dir,
            &["submit", "--log", url, "--key", "release.key", "fork.bin"]
        )
        .code,
        0
    );
    let third = sigtrail(dir, &args);
    assert_eq!(third.code, 1, "{}{}", third.stdout, third.stderr);
    assert!(third.stderr.contains("root"), "{}", third.stderr);
}

#[test]
fn witnessed_log() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let origin = "witnessed.example/log";
    let log_vkey = signer(origin, 3).verifier_key().to_string();
    let keys: Vec<SignerKey> = (0..3)
        .map(|i| {
            SignerKey::from_seed(
                &format!("w{i}.example"),
                Algorithm::CosignatureV1,
                &[20 + i; 32],
            )
            .unwrap()
        })
        .collect();
    let vkeys: Vec<String> = keys.iter().map(|k| k.verifier_key().to_string()).collect();
    let witnesses = keys
        .into_iter()
        .map(|k| start_witness(dir, k, origin, &log_vkey))
        .collect();
    let (url, log_key) = start_log(origin, 3, witnesses, 2);
    assert_eq!(log_key, log_vkey);
    keygen(dir);
    let files: Vec<String> = (0..20).map(|i| format!("w{i}.bin")).collect();
    for f in &files {
        fs::write(dir.join(f), f.as_bytes()).unwrap();
    }
    let mut args = vec!["submit", "--log", url.as_str(), "--key", "release.key"];
    args.extend(files.iter().map(String::as_str));
    let run = sigtrail(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The log waited for 2 of 3 cosignatures: a verifier asking 2 of 3 passes.
    let mut args = vec!["verify", "--log-key", log_key.as_str(), "--quorum", "2"];
    for v in &vkeys {
        args.extend(["--witness", v.as_str()]);
    }
    args.extend(files.iter().map(String::as_str));
    let run = sigtrail(dir, &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // A policy needing a witness the log never asked fails on quorum.
    let policy = format!(
        "log {log_key}\nwitness a {}\nwitness b {}\ngroup g all a b\nquorum g\n",
        vkeys[0],
        SignerKey::from_seed("w9.example", Algorithm::CosignatureV1, &[29; 32])
            .unwrap()
            .verifier_key()
    );
    fs::write(dir.join("strict.policy"), policy).unwrap();
    assert_fails(
        dir,
        &["verify", "--policy", "strict.policy", "w0.bin"],
        "witness quorum",
    );
    // Checkpoint and audit under the witness quorum.
    let mut args = vec![
        "checkpoint",
        "--log",
        url.as_str(),
        "--log-key",
        log_key.as_str(),
        "--quorum",
        "2",
    ];
    for v in &vkeys {
        args.extend(["--witness", v.as_str()]);
    }
    assert_eq!(sigtrail(dir, &args).code, 0);
    args[0] = "audit";
    args.extend(["--state", "audit.json"]);
    let run = sigtrail(dir, &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("audited tree size 20"),
        "{}",
        run.stdout
    );
}
