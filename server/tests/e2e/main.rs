//! End-to-end tests: the real `sigtrail-server` and `sigtrail-witness`
//! binaries on loopback ports, real HTTP, SQLite and PostgreSQL, and
//! `kill -9` in the middle of load.

mod topology;
mod witnesses;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sigtrail_merkle::{verify_consistency, verify_inclusion, Hash, TileHashReader, TreeHead};
use sigtrail_note::{SignedEntry, SignerKey, TlogProof, VerifierKey};
use sigtrail_server::store::testing::TestDatabase;
use sigtrail_server::testing::{entry, signer, verify_bundle, verify_checkpoint};

const BIN: &str = env!("CARGO_BIN_EXE_sigtrail-server");

/// The zero-configuration default: no flags.
const NO_ARGS: &[&str] = &[];

/// A server process, killed when dropped.
struct Server {
    /// The process, when this test started it; killed on drop.
    child: Option<Child>,
    url: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Server {
    let port = free_port();
    let child = Command::new(BIN)
        .args(args)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--batch-interval",
            "5ms",
        ])
        .current_dir(dir)
        .env("SIGTRAIL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start sigtrail-server");
    Server::attach(Some(child), format!("http://127.0.0.1:{port}")).await
}

/// Runs the binary to completion and returns (success, stdout + stderr).
fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

impl Server {
    /// Waits until the server at `url` answers `/healthz`.
    async fn attach(child: Option<Child>, url: String) -> Server {
        let server = Server {
            child,
            url,
            client: reqwest::Client::new(),
        };
        for _ in 0..600 {
            if let Ok(r) = server
                .client
                .get(format!("{}/healthz", server.url))
                .send()
                .await
            {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sigtrail-server did not answer {}/healthz", server.url);
    }

    /// The process id of the server this test started.
    fn pid(&self) -> String {
        self.child
            .as_ref()
            .expect("a server this test started")
            .id()
            .to_string()
    }

    /// Stops the server with SIGTERM and checks it exits cleanly.
    fn stop(self) {
        let pid = self.pid();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid}");
        self.stop_waited();
    }

    /// Waits for a server that was sent SIGTERM and checks it exited 0.
    fn stop_waited(mut self) {
        let status = self
            .child
            .as_mut()
            .expect("a server this test started")
            .wait()
            .unwrap();
        assert!(
            status.success(),
            "sigtrail-server exited with {status} after SIGTERM"
        );
    }

    async fn submit(&self, entry: &SignedEntry) -> reqwest::Result<(u16, Value)> {
        let text = String::from_utf8(entry.as_bytes().to_vec()).unwrap();
        let response = self
            .client
            .post(format!("{}/api/v1/entries", self.url))
            .json(&json!({ "entry": text }))
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await?))
    }

    async fn get(&self, path: &str) -> Vec<u8> {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.bytes().await.unwrap().to_vec()
    }

    async fn get_json(&self, path: &str) -> Value {
        serde_json::from_slice(&self.get(path).await).unwrap()
    }

    async fn head(&self, log_key: &VerifierKey) -> TreeHead {
        verify_checkpoint(&self.get("/checkpoint").await, log_key)
    }

    /// Checks the whole log over HTTP, the way a monitor would: the root
    /// from the served tiles, every entry from the bundles, and consistency
    /// with every checkpoint seen before.
    async fn audit(&self, log_key: &VerifierKey, seen: &[TreeHead]) -> TreeHead {
        let head = self.head(log_key).await;
        let mut tiles = HashMap::new();
        for id in sigtrail_merkle::new_tiles(0, head.size) {
            tiles.insert(id, self.get(&format!("/{}", id.path())).await);
        }
        let root =
            sigtrail_merkle::tree_root(head.size, &TileHashReader::new(head.size, &tiles)).unwrap();
        assert_eq!(root, head.root, "root from the served tiles");
        let mut leaves = Vec::new();
        for bundle in 0..head.size.div_ceil(256) {
            let width = (head.size - bundle * 256).min(256);
            let id = sigtrail_merkle::BundleId {
                index: bundle,
                width: width as u16,
            };
            let data = self.get(&format!("/{}", id.path())).await;
            for e in sigtrail_merkle::decode_entry_bundle(&data).unwrap() {
                leaves.push(
                    SignedEntry::parse(e)
                        .expect("every logged entry verifies")
                        .leaf_hash(),
                );
            }
        }
        assert_eq!(
            sigtrail_merkle::root_of(&leaves),
            head.root,
            "root from the entry bundles"
        );
        for old in seen.iter().filter(|old| old.size > 0) {
            let body = self
                .get_json(&format!(
                    "/api/v1/proof/consistency?old={}&new={}",
                    old.size, head.size
                ))
                .await;
            verify_consistency(old, &head, &hashes(&body["proof"]))
                .expect("every checkpoint seen is consistent with the head");
        }
        head
    }
}

fn hashes(value: &Value) -> Vec<Hash> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect()
}

/// What submitters were told: entries acknowledged with their bundles.
#[derive(Default)]
struct Acks {
    entries: Vec<(SignedEntry, u64)>,
    heads: Vec<TreeHead>,
}

type SharedAcks = Arc<Mutex<Acks>>;

/// Submits `per_task` distinct entries from each of `tasks` concurrent
/// submitters, stopping early if the server goes away; every answer is
/// verified and recorded in `acks`.
async fn load(
    server: &Server,
    signer: &SignerKey,
    first: u64,
    tasks: u64,
    per_task: u64,
    log_key: &VerifierKey,
    acks: &SharedAcks,
) {
    let workers = (0..tasks).map(|task| async move {
        let start = first + task * 1_000_000;
        let mut n = start;
        while n < start + per_task {
            let entry = entry(signer, n);
            let Ok((status, body)) = server.submit(&entry).await else {
                return;
            };
            if status == 503 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
            n += 1;
            assert!(status == 201 || status == 200, "{status}: {body}");
            let (index, head) =
                verify_bundle(body["proof"].as_str().unwrap().as_bytes(), &entry, log_key);
            let mut acks = acks.lock().unwrap();
            acks.entries.push((entry, index));
            acks.heads.push(head);
        }
    });
    futures::future::join_all(workers).await;
}

/// [`load`] into a fresh record.
async fn load_all(
    server: &Server,
    signer: &SignerKey,
    first: u64,
    tasks: u64,
    per_task: u64,
    log_key: &VerifierKey,
) -> Acks {
    let acks = SharedAcks::default();
    load(server, signer, first, tasks, per_task, log_key, &acks).await;
    Arc::try_unwrap(acks).ok().unwrap().into_inner().unwrap()
}

/// Every acknowledged entry is at its index, and no index holds two.
async fn assert_acknowledged_present(server: &Server, acks: &Acks) {
    let mut at: HashMap<u64, Hash> = HashMap::new();
    for (entry, index) in &acks.entries {
        if let Some(previous) = at.insert(*index, entry.leaf_hash()) {
            assert_eq!(
                previous,
                entry.leaf_hash(),
                "two different entries acknowledged at index {index}"
            );
        }
        let body = server.get_json(&format!("/api/v1/entries/{index}")).await;
        assert_eq!(
            body["leaf_hash"],
            entry.leaf_hash().to_string(),
            "acknowledged entry {index} is in the log"
        );
    }
}

fn read_vkey(dir: &Path) -> VerifierKey {
    std::fs::read_to_string(dir.join("sigtrail-data/log.vkey"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn sqlite_zero_config_serves_verifies_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), NO_ARGS).await;
    let log_key = read_vkey(dir.path());
    let signer = signer("release.example.com", 3);
    let acks = load_all(&server, &signer, 0, 8, 40, &log_key).await;
    assert_eq!(acks.entries.len(), 320);
    let head = server.audit(&log_key, &acks.heads).await;
    assert_eq!(head.size, acks.entries.len() as u64);
    assert_acknowledged_present(&server, &acks).await;

    // A graceful stop and a plain restart serve the same log.
    server.stop();
    let server = start(dir.path(), NO_ARGS).await;
    assert_eq!(server.head(&log_key).await, head);
    let (status, body) = server.submit(&entry(&signer, 99_999_999)).await.unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["index"], head.size);
    let proof = TlogProof::parse(body["proof"].as_str().unwrap().as_bytes()).unwrap();
    let new_head = verify_checkpoint(&proof.checkpoint, &log_key);
    verify_inclusion(
        &entry(&signer, 99_999_999).leaf_hash(),
        head.size,
        &new_head,
        &proof.proof,
    )
    .unwrap();
    server.audit(&log_key, &[head]).await;
}

async fn postgres_log(dir: &Path, database: &TestDatabase) -> (Vec<String>, VerifierKey) {
    let url = database.url().to_owned();
    let (ok, out) = run(
        dir,
        &[
            "init",
            "--database-url",
            &url,
            "--origin",
            "e2e.example/log",
            "--key-file",
            "log.key",
        ],
    );
    assert!(ok, "init failed: {out}");
    let vkey = out
        .lines()
        .find_map(|l| l.strip_prefix("verifier key: "))
        .expect("init prints the vkey");
    let args = vec![
        "--database-url".to_owned(),
        url,
        "--key-file".to_owned(),
        "log.key".to_owned(),
    ];
    (args, vkey.parse().unwrap())
}

#[tokio::test]
async fn postgres_init_serve_and_refusals() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (args, log_key) = postgres_log(dir.path(), &database).await;

    // init refuses a store that already holds a log.
    let (ok, out) = run(
        dir.path(),
        &[
            "init",
            "--database-url",
            database.url(),
            "--origin",
            "e2e.example/log",
            "--key-file",
            "other.key",
        ],
    );
    assert!(!ok && out.contains("already holds the log"), "{out}");
    // serving with another key is refused.
    let (ok, out) = run(
        dir.path(),
        &["--database-url", database.url(), "--key-file", "other.key"],
    );
    assert!(!ok && out.contains("refusing to serve"), "{out}");
    // Half a configuration is refused with what is missing.
    let (ok, out) = run(dir.path(), &["--database-url", database.url()]);
    assert!(!ok && out.contains("needs --key-file"), "{out}");

    let server = start(dir.path(), &args).await;
    let signer = signer("release.example.com", 4);
    let acks = load_all(&server, &signer, 0, 16, 20, &log_key).await;
    assert_eq!(acks.entries.len(), 320);
    assert_eq!(
        server.audit(&log_key, &acks.heads).await.size,
        acks.entries.len() as u64
    );
    assert_acknowledged_present(&server, &acks).await;
}

/// Three rounds of: start, load from 8 submitters, `kill -9` once at least
/// 40 entries of the round are acknowledged. Then every acknowledged entry
/// must be in the log, and every checkpoint served consistent with it.
async fn kill_during_load<S: AsRef<std::ffi::OsStr>>(
    dir: &Path,
    args: &[S],
    log_key: &VerifierKey,
) {
    let signer = signer("release.example.com", 5);
    let acks = SharedAcks::default();
    for round in 0..3u64 {
        let server = start(dir, args).await;
        let pid = server.pid();
        let enough = acks.lock().unwrap().entries.len() + 40;
        let killer = async {
            while acks.lock().unwrap().entries.len() < enough {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
            assert!(killed.success(), "kill -9 {pid}");
        };
        // Far more than fits before the kill: the load ends with the server.
        let load = load(
            &server,
            &signer,
            round * 10_000_000,
            8,
            100_000,
            log_key,
            &acks,
        );
        tokio::join!(load, killer);
    }
    let server = start(dir, args).await;
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    server.audit(log_key, &acks.heads).await;
    assert_acknowledged_present(&server, &acks).await;
}

#[tokio::test]
async fn sqlite_kill_9_during_load_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    drop(start(dir.path(), NO_ARGS).await);
    let log_key = read_vkey(dir.path());
    kill_during_load(dir.path(), NO_ARGS, &log_key).await;
}

#[tokio::test]
async fn postgres_kill_9_during_load_loses_no_acknowledged_entry() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (args, log_key) = postgres_log(dir.path(), &database).await;
    kill_during_load(dir.path(), &args, &log_key).await;
}

/// Two server processes on one PostgreSQL log: the compare-and-swap lets
/// only one integrate each size, so they never fork it.
#[tokio::test]
async fn two_servers_on_one_postgres_log_never_fork_it() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (args, log_key) = postgres_log(dir.path(), &database).await;
    let a = start(dir.path(), &args).await;
    let b = start(dir.path(), &args).await;
    let signer = signer("release.example.com", 6);
    let (from_a, from_b) = tokio::join!(
        load_all(&a, &signer, 0, 4, 50, &log_key),
        load_all(&b, &signer, 50_000_000, 4, 50, &log_key)
    );
    assert_eq!((from_a.entries.len(), from_b.entries.len()), (200, 200));
    drop((a, b));
    let checker = start(dir.path(), &args).await;
    let mut all = from_a;
    all.entries.extend(from_b.entries);
    all.heads.extend(from_b.heads);
    let head = checker.audit(&log_key, &all.heads).await;
    assert_eq!(
        head.size,
        all.entries.len() as u64,
        "every acknowledged entry once, nothing else"
    );
    assert_acknowledged_present(&checker, &all).await;
}

/// SIGTERM under load: the server stops taking connections, answers what it
/// accepted, commits the batch in flight, and exits 0; nothing acknowledged
/// is lost.
#[tokio::test]
async fn sigterm_under_load_finishes_the_batch_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), NO_ARGS).await;
    let log_key = read_vkey(dir.path());
    let signer = signer("release.example.com", 8);
    let acks = SharedAcks::default();
    let pid = server.pid();
    let terminator = async {
        while acks.lock().unwrap().entries.len() < 40 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
    };
    tokio::join!(
        load(&server, &signer, 0, 8, 100_000, &log_key, &acks),
        terminator
    );
    server.stop_waited();
    let server = start(dir.path(), NO_ARGS).await;
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    server.audit(&log_key, &acks.heads).await;
    assert_acknowledged_present(&server, &acks).await;
}
