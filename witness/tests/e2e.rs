//! The real `sigtrail-witness` binary on a loopback port, driven over HTTP:
//! keygen, cosigning a growing log, refusing a fork and showing the
//! evidence, keeping its state across a restart, refusing bad settings.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use common::{body, TestLog};
use sigtrail_note::signed_note::parse_signature_lines;
use sigtrail_note::{cosignature, Note, VerifierKey};
use sigtrail_server::store::testing::TestDatabase;
use sigtrail_witness::origin_hash;

const BINARY: &str = env!("CARGO_BIN_EXE_sigtrail-witness");

fn run(args: &[&str]) -> Output {
    Command::new(BINARY).args(args).output().unwrap()
}

/// A running witness, killed when dropped.
struct Daemon {
    child: Child,
    url: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the witness on port 0 and reads the address it listens on from
/// its log; the rest of its log goes to this test's stderr.
fn start(key: &Path, database_url: &str, log: &TestLog) -> Daemon {
    let mut child = Command::new(BINARY)
        .arg("--key-file")
        .arg(key)
        .arg("--database-url")
        .arg(database_url)
        .args(["--listen", "127.0.0.1:0"])
        .arg("--log")
        .arg(format!("{} {}", log.origin(), log.vkey()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("witness exited").unwrap();
        eprintln!("{line}");
        if let Some((_, addr)) = line.split_once("listening on ") {
            break addr.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| eprintln!("{l}")));
    Daemon {
        child,
        url: format!("http://{addr}"),
    }
}

async fn add(daemon: &Daemon, body: Vec<u8>) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/add-checkpoint", daemon.url))
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn get(daemon: &Daemon, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", daemon.url)).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Checks that `answer` is a cosignature of the checkpoint of `log` at
/// `size` under `witness`.
fn assert_cosigned(answer: &str, log: &TestLog, size: u64, witness: &VerifierKey) {
    let signatures = parse_signature_lines(answer.as_bytes()).unwrap();
    let note = Note::parse(log.checkpoint(size).as_bytes()).unwrap();
    let timestamp = cosignature::verify(note.text(), witness, &signatures[0]).unwrap();
    assert!(timestamp > 1_700_000_000);
}

#[tokio::test]
async fn witness_binary_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("witness.db").display());
    cosigns_refuses_forks_and_restarts(&dir, &db).await;
}

#[tokio::test]
async fn witness_binary_on_postgres() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    cosigns_refuses_forks_and_restarts(&dir, database.url()).await;
}

async fn cosigns_refuses_forks_and_restarts(dir: &tempfile::TempDir, db: &str) {
    let key = dir.path().join("witness.key");
    let key_arg = key.to_str().unwrap();

    // keygen: prints the vkey, mode 0600, never overwrites.
    let made = run(&["keygen", "--name", "witness.example/e2e", "--out", key_arg]);
    assert!(made.status.success());
    let vkey: VerifierKey = String::from_utf8(made.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(vkey.name(), "witness.example/e2e");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = run(&["keygen", "--name", "witness.example/e2e", "--out", key_arg]);
    assert!(!again.status.success());

    let mut log = TestLog::new("log.example/e2e", 6);
    let mut twin = log.clone();
    log.grow(10, "leaf");
    twin.grow(10, "twin");
    let daemon = start(&key, db, &log);

    // A growing log is cosigned.
    let (status, answer) = add(&daemon, log.request(0, 4)).await;
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&answer, &log, 4, &vkey);
    let (status, answer) = add(&daemon, log.request(4, 8)).await;
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&answer, &log, 8, &vkey);

    // A fork is refused and its evidence shown.
    assert_eq!(add(&daemon, twin.request(8, 8)).await.0, 422);
    let (status, forks) = get(&daemon, "/forks").await;
    assert_eq!(status, 200);
    let forks: serde_json::Value = serde_json::from_str(&forks).unwrap();
    assert_eq!(forks[0]["kind"], "same-size-different-root");
    assert_eq!(forks[0]["conflicting"], twin.checkpoint(8));
    let (_, metrics) = get(&daemon, "/metrics").await;
    assert!(metrics.contains("sigtrail_witness_fork_evidence{origin=\"log.example/e2e\"} 1"));

    // Monitors get the cosigned checkpoint.
    let path = format!("/{}/checkpoint", origin_hash(log.origin()));
    let (status, checkpoint) = get(&daemon, &path).await;
    assert_eq!(status, 200);
    let note = Note::parse(checkpoint.as_bytes()).unwrap();
    assert_eq!(note.verify(&[log.vkey(), vkey.clone()]).unwrap().len(), 2);
    assert!(note.text().starts_with("log.example/e2e\n8\n"));

    // After a restart it remembers the head and the evidence.
    drop(daemon);
    let daemon = start(&key, db, &log);
    assert_eq!(
        add(&daemon, log.request(0, 12)).await,
        (409, "8\n".to_owned())
    );
    assert_eq!(add(&daemon, twin.request(8, 12)).await.0, 422);
    let (status, answer) = add(&daemon, log.request(8, 12)).await;
    assert_eq!(status, 200, "{answer}");
    assert_cosigned(&answer, &log, 12, &vkey);
    assert_eq!(get(&daemon, &path).await.1.lines().nth(1), Some("12"));
    let (_, forks) = get(&daemon, "/forks").await;
    let forks: serde_json::Value = serde_json::from_str(&forks).unwrap();
    assert_eq!(forks.as_array().unwrap().len(), 2);
}

#[test]
fn bad_settings_fail_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    let key_arg = key.to_str().unwrap();
    assert!(run(&["keygen", "--name", "w.example/w", "--out", key_arg])
        .status
        .success());
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let log = TestLog::new("log.example/e2e", 1);
    let good_log = format!("{} {}", log.origin(), log.vkey());

    let no_log = run(&["--key-file", key_arg, "--database-url", &db]);
    assert!(!no_log.status.success());
    assert!(String::from_utf8_lossy(&no_log.stderr).contains("no log to witness"));

    let bad_log = run(&[
        "--key-file",
        key_arg,
        "--database-url",
        &db,
        "--log",
        "nokey",
    ]);
    assert!(String::from_utf8_lossy(&bad_log.stderr).contains("is not \"<origin> <vkey>\""));

    let missing_key = dir.path().join("missing.key");
    let args = ["--database-url", &db, "--log", &good_log, "--key-file"];
    let no_key = Command::new(BINARY)
        .args(args)
        .arg(&missing_key)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("reading key file"));

    let config = dir.path().join("witness.toml");
    std::fs::write(&config, "[[log]]\norigin = \"a\"\nvkeys = []\nextra = 1\n").unwrap();
    let bad_config = Command::new(BINARY)
        .args(["--key-file", key_arg, "--database-url", &db, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains("unknown field `extra`"));

    // None of them created the database: validation comes first.
    assert!(!dir.path().join("w.db").exists());

    let help = run(&["--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("Examples:") && help.contains("SIGTRAIL_WITNESS_LOG"));
}

#[tokio::test]
async fn config_file_and_environment_configure_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.key");
    assert!(run(&[
        "keygen",
        "--name",
        "w.example/w",
        "--out",
        key.to_str().unwrap()
    ])
    .status
    .success());
    let log = TestLog::new("log.example/toml", 3);
    let config = dir.path().join("witness.toml");
    let toml = format!(
        "[[log]]\norigin = \"{}\"\nvkeys = [\"{}\"]\n",
        log.origin(),
        log.vkey()
    );
    std::fs::write(&config, toml).unwrap();
    // Every setting from the environment this time.
    let mut child = Command::new(BINARY)
        .env("SIGTRAIL_WITNESS_KEY_FILE", &key)
        .env("SIGTRAIL_WITNESS_CONFIG", &config)
        .env(
            "SIGTRAIL_WITNESS_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("w.db").display()),
        )
        .env("SIGTRAIL_WITNESS_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines
        .find_map(|line| Some(line.ok()?.split_once("listening on ")?.1.trim().to_owned()))
        .expect("witness exited");
    let daemon = Daemon {
        child,
        url: format!("http://{addr}"),
    };
    assert_eq!(add(&daemon, log.request(0, 3)).await.0, 200);
    assert_eq!(add(&daemon, body(0, vec![], "x\n")).await.0, 400);
}
