//! End-to-end: `sigtrail monitor`, the real binary, against real log
//! servers on loopback ports (in-process, memory stores).

use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde_json::Value;
use sigtrail_server::testing::{runtime, signer, spawn_memory_log};

mod common;
use common::{sigtrail, Run, BIN};

const ORIGIN: &str = "monitor.test/log";

/// Starts a log with the key from `seed` over a fresh memory store, in a
/// thread of its own; two logs with the same seed are a fork of each other.
fn start_log(seed: u8) -> (String, String) {
    spawn_memory_log(signer(ORIGIN, seed), Vec::new(), 0)
}

/// A webhook receiver counting the alerts POSTed to it.
fn start_webhook() -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |axum::Json(alert): axum::Json<Value>| async move {
                    assert!(alert["kind"].is_string());
                    counter.fetch_add(1, Ordering::SeqCst);
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (format!("http://{}/hook", rx.recv().unwrap()), count)
}

impl Run {
    fn alerts(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn keygen(dir: &Path, name: &str, out: &str) -> String {
    let run = sigtrail(dir, &["keygen", "--name", name, "--out", out]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout.trim().to_owned()
}

/// Signs and logs `file` (written with `content`) with `key`.
fn submit(dir: &Path, url: &str, key: &str, file: &str, content: &str) {
    fs::write(dir.join(file), content).unwrap();
    let run = sigtrail(dir, &["submit", "--log", url, "--key", key, file]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn sha256sum_line(dir: &Path, file: &str) -> String {
    let digest = sigtrail_client::artifact_digest(&fs::read(dir.join(file)).unwrap());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}  {file}\n")
}

/// The `monitor --once` command line for `url`, watching `release.vkey`.
fn monitor_args<'a>(url: &'a str, log_key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "monitor",
        "--log",
        url,
        "--log-key",
        log_key,
        "--watch",
        "release.vkey",
        "--expect",
        "SHA256SUMS",
        "--state",
        "monitor.json",
        "--evidence-dir",
        "evidence",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn monitor_alerts_resumes_polls_and_stops_on_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (url, log_key) = start_log(7);
    let (hook, posted) = start_webhook();
    let vkey = keygen(dir, "release.example.com", "release.key");
    fs::write(dir.join("release.vkey"), &vkey).unwrap();
    keygen(dir, "release.example.com", "thief.key");
    keygen(dir, "other.example.com", "other.key");

    // Planned releases are expected; someone else's signings are ignored.
    fs::write(dir.join("app-1.0.tar.gz"), "app 1.0\n").unwrap();
    fs::write(dir.join("app-1.1.tar.gz"), "app 1.1\n").unwrap();
    let manifest = sha256sum_line(dir, "app-1.0.tar.gz") + &sha256sum_line(dir, "app-1.1.tar.gz");
    fs::write(dir.join("SHA256SUMS"), manifest).unwrap();
    submit(dir, &url, "release.key", "app-1.0.tar.gz", "app 1.0\n");
    submit(dir, &url, "other.key", "other.bin", "other\n");
    let once = monitor_args(&url, &log_key, &["--once", "--webhook", &hook]);
    let run = sigtrail(dir, &once);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
    let state: Value =
        serde_json::from_slice(&fs::read(dir.join("monitor.json")).unwrap()).unwrap();
    assert_eq!(state["seen"][0]["name"], "app-1.0.tar.gz");
    assert_eq!(state["log"]["size"], 2);

    // An unplanned signing alerts once, on stdout and at the webhook.
    submit(dir, &url, "release.key", "backdoor.tar.gz", "evil\n");
    let run = sigtrail(dir, &once);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 1, "{}", run.stdout);
    assert_eq!(alerts[0]["kind"], "unexpected");
    assert_eq!(alerts[0]["name"], "backdoor.tar.gz");
    assert_eq!(alerts[0]["index"], 2);
    assert_eq!(alerts[0]["key"], vkey.as_str());
    assert!(alerts[0]["reason"]
        .as_str()
        .unwrap()
        .contains("not in the expectations manifest"));
    assert_eq!(posted.load(Ordering::SeqCst), 1);

    // A restart resumes from the state file without alerting again.
    let run = sigtrail(dir, &once);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);

    // Another key under the watched name is impersonation.
    submit(dir, &url, "thief.key", "app-1.1.tar.gz", "app 1.1\n");
    let run = sigtrail(dir, &once);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 1, "{}", run.stdout);
    assert_eq!(alerts[0]["kind"], "impersonation");
    assert_eq!(alerts[0]["index"], 3);
    assert_eq!(posted.load(Ordering::SeqCst), 2);

    polling(dir, &url, &log_key);
    fork(dir, &url, &log_key);
}

/// A polling monitor reports an unexpected signing within one interval.
fn polling(dir: &Path, url: &str, log_key: &str) {
    let mut child = Command::new(BIN)
        .args(monitor_args(url, log_key, &["--interval", "300ms"]))
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The planned 1.1 release alerts nothing; the surprise does.
    submit(dir, url, "release.key", "app-1.1.tar.gz", "app 1.1\n");
    submit(dir, url, "release.key", "surprise.bin", "surprise\n");
    let line = rx.recv_timeout(Duration::from_secs(10));
    child.kill().unwrap();
    child.wait().unwrap();
    let alert: Value = serde_json::from_str(&line.expect("an alert within the interval")).unwrap();
    assert_eq!(alert["kind"], "unexpected");
    assert_eq!(alert["name"], "surprise.bin");
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
}

/// A second log with the same key and origin but other entries is a fork:
/// the monitor raises the alarm, writes the evidence, and never advances.
fn fork(dir: &Path, first: &str, log_key: &str) {
    let (forked, forked_key) = start_log(7);
    assert_eq!(forked_key, log_key);
    for i in 0..8 {
        submit(
            dir,
            &forked,
            "other.key",
            &format!("fork{i}.bin"),
            &format!("fork {i}\n"),
        );
    }
    let before = fs::read(dir.join("monitor.json")).unwrap();
    let run = sigtrail(dir, &monitor_args(&forked, log_key, &["--once"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let alerts = run.alerts();
    assert_eq!(alerts.len(), 1, "{}", run.stdout);
    assert_eq!(alerts[0]["kind"], "fork");
    let evidence: Value = serde_json::from_slice(
        &fs::read(dir.join("evidence/sigtrail-fork-evidence.json")).unwrap(),
    )
    .unwrap();
    let old = evidence["old_checkpoint"].as_str().unwrap();
    let new = evidence["new_checkpoint"].as_str().unwrap();
    assert!(old.starts_with(ORIGIN) && new.starts_with(ORIGIN));
    assert!(new.contains("\n8\n") && old != new, "{old}{new}");
    assert!(!evidence["consistency_proof"].as_array().unwrap().is_empty());
    let state: Value =
        serde_json::from_slice(&fs::read(dir.join("monitor.json")).unwrap()).unwrap();
    let before: Value = serde_json::from_slice(&before).unwrap();
    assert_eq!(
        state["log"], before["log"],
        "the monitor advanced past a fork"
    );
    // A later run still refuses, even against the first log.
    let run = sigtrail(dir, &monitor_args(first, log_key, &["--once"]));
    assert_eq!(run.code, 1);
    assert_eq!(run.alerts()[0]["kind"], "fork");
}
