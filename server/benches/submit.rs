//! Submit benchmark: verified submissions per second and submit latency
//! against a real server on loopback, next to this machine's single-core
//! Ed25519 verification rate, measured in the same run.
//!
//! ```text
//! cargo bench -p sigtrail-server --bench submit -- [--concurrency 256] [--duration 10] [--sqlite]
//! ```
//!
//! The store is a fresh PostgreSQL database (`SIGTRAIL_TEST_DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`), or SQLite in a
//! temporary directory with `--sqlite`. Entries are signed before the timed
//! window; every 64th bundle is verified by the client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sigtrail_note::ed25519::verify_ed25519;
use sigtrail_note::SignedEntry;
use sigtrail_server::api::Limits;
use sigtrail_server::identity::LogIdentity;
use sigtrail_server::sequencer::SequencerConfig;
use sigtrail_server::store::testing::TestDatabase;
use sigtrail_server::store::{PostgresStore, SqliteStore, Store};
use sigtrail_server::testing::{entry, signer, verify_bundle};
use sigtrail_server::witnesses::Witnesses;
use sigtrail_server::{init_log, Log};

struct Options {
    concurrency: usize,
    duration: Duration,
    sqlite: bool,
}

fn options() -> Options {
    let mut options = Options {
        concurrency: 256,
        duration: Duration::from_secs(10),
        sqlite: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .and_then(|v| v.parse::<u64>().ok())
                .expect("a number after the flag")
        };
        match arg.as_str() {
            "--concurrency" => options.concurrency = value() as usize,
            "--duration" => options.duration = Duration::from_secs(value()),
            "--sqlite" => options.sqlite = true,
            _ => {} // cargo bench passes --bench
        }
    }
    options
}

/// Single-core rates: raw Ed25519 strict verifications, and whole entries
/// parsed and verified the way the server does it.
fn verification_rates(sample: &SignedEntry) -> (f64, f64) {
    let key = signer("release.example.com", 9);
    let message = b"sigtrail benchmark message";
    let signature = key.sign(message);
    let public = *key.verifier_key().public_key();
    let rate = |work: &dyn Fn()| {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(1) {
            for _ in 0..100 {
                work();
            }
            n += 100;
        }
        n as f64 / start.elapsed().as_secs_f64()
    };
    let raw = rate(&|| verify_ed25519(&public, message, &signature).expect("verifies"));
    let entries = rate(&|| {
        SignedEntry::parse(sample.as_bytes()).expect("verifies");
    });
    (raw, entries)
}

async fn open_store(
    sqlite: bool,
) -> (
    Arc<dyn Store>,
    Option<TestDatabase>,
    Option<tempfile::TempDir>,
    &'static str,
) {
    if !sqlite {
        if let Some(database) = TestDatabase::create().await {
            let store = PostgresStore::open(database.url())
                .await
                .expect("open PostgreSQL");
            return (Arc::new(store), Some(database), None, "PostgreSQL");
        }
        eprintln!("PostgreSQL unreachable: measuring SQLite instead");
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(dir.path().join("log.db").to_str().expect("utf-8 path"))
        .await
        .expect("open SQLite");
    (Arc::new(store), None, Some(dir), "SQLite")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let options = options();
    if let Ok(filter) = std::env::var("SIGTRAIL_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let artifact_signer = signer("release.example.com", 7);
    let (raw_rate, entry_rate) = verification_rates(&entry(&artifact_signer, 0));

    // 1. A fresh log on a real store, served on a loopback port.
    let (store, _database, _dir, backend) = open_store(options.sqlite).await;
    let identity = LogIdentity::new(signer("bench.example/log", 1)).expect("log key");
    let log_key = identity.vkey().clone();
    init_log(store.as_ref(), &identity).await.expect("init");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/v1/entries",
        listener.local_addr().expect("address")
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let log = Log {
        store,
        identity: Arc::new(identity),
        sequencer: SequencerConfig {
            pool_size: 65536,
            max_batch: 4096,
            batch_interval: Duration::from_millis(20),
            cache_tiles: 4096,
        },
        witnesses: Arc::new(Witnesses::new(Vec::new(), 0, Duration::from_secs(1))),
        limits: Limits {
            max_body_bytes: 16384,
            request_timeout: Duration::from_secs(30),
        },
    };
    let server = tokio::spawn(log.serve(listener, async {
        let _ = stopped.await;
    }));

    // 2. Sign the entries and their request bodies outside the timed window.
    let budget = (entry_rate * options.duration.as_secs_f64() * 2.0) as usize + options.concurrency;
    eprintln!("signing {budget} entries…");
    let entries: Arc<Vec<(SignedEntry, String)>> = Arc::new(
        (0..budget as u64)
            .map(|n| {
                let e = entry(&artifact_signer, n);
                let body = serde_json::json!({ "entry": String::from_utf8_lossy(e.as_bytes()) })
                    .to_string();
                (e, body)
            })
            .collect(),
    );

    // 3. `concurrency` submitters over keep-alive connections for `duration`.
    eprintln!(
        "submitting from {} concurrent clients for {:?} to {backend}…",
        options.concurrency, options.duration
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .build()
        .expect("client");
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(std::collections::BTreeMap::<String, u64>::new()));
    let started = Instant::now();
    let deadline = started + options.duration;
    let workers: Vec<_> = (0..options.concurrency)
        .map(|_| {
            let (client, url, entries, next) =
                (client.clone(), url.clone(), entries.clone(), next.clone());
            let (latencies, errors, log_key) = (latencies.clone(), errors.clone(), log_key.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((entry, body)) = entries.get(i) else {
                        break;
                    };
                    let sent = Instant::now();
                    let outcome = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    let response = match outcome {
                        Ok(r) => r,
                        Err(e) => {
                            *errors
                                .lock()
                                .unwrap()
                                .entry(format!("transport: {e}"))
                                .or_default() += 1;
                            continue;
                        }
                    };
                    let status = response.status().as_u16();
                    let answer: serde_json::Value = response.json().await.unwrap_or_default();
                    if status != 201 {
                        *errors
                            .lock()
                            .unwrap()
                            .entry(status.to_string())
                            .or_default() += 1;
                        continue;
                    }
                    mine.push(sent.elapsed());
                    if i % 64 == 0 {
                        verify_bundle(
                            answer["proof"].as_str().unwrap_or_default().as_bytes(),
                            entry,
                            &log_key,
                        );
                    }
                }
                latencies.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    server.await.expect("server task").expect("server");

    // 4. The figures.
    let mut latencies = Arc::try_unwrap(latencies)
        .expect("workers done")
        .into_inner()
        .unwrap();
    latencies.sort();
    let acknowledged = latencies.len();
    let rate = acknowledged as f64 / elapsed.as_secs_f64();
    println!();
    println!(
        "sigtrail submit benchmark: {backend}, {} concurrent submitters, {:.1} s",
        options.concurrency,
        elapsed.as_secs_f64()
    );
    println!(
        "{:<44} {:>12}",
        "single-core Ed25519 strict verifications/s",
        format!("{raw_rate:.0}")
    );
    println!(
        "{:<44} {:>12}",
        "single-core entries parsed and verified/s",
        format!("{entry_rate:.0}")
    );
    println!("{:<44} {:>12}", "acknowledged submissions", acknowledged);
    println!(
        "{:<44} {:>12}",
        "acknowledged submissions/s",
        format!("{rate:.0}")
    );
    println!(
        "{:<44} {:>12}",
        "  ratio to single-core entry verification",
        format!("{:.2}", rate / entry_rate)
    );
    println!(
        "{:<44} {:>12}",
        "latency p50 (ms)",
        format!("{:.1}", percentile(&latencies, 0.50))
    );
    println!(
        "{:<44} {:>12}",
        "latency p99 (ms)",
        format!("{:.1}", percentile(&latencies, 0.99))
    );
    println!(
        "{:<44} {:>12}",
        "latency max (ms)",
        format!("{:.1}", percentile(&latencies, 1.0))
    );
    let errors = errors.lock().unwrap();
    if errors.is_empty() {
        println!("{:<44} {:>12}", "errors", 0);
    }
    for (kind, count) in errors.iter() {
        println!("{:<44} {:>12}", format!("errors {kind}"), count);
    }
}
