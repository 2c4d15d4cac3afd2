//! Each subcommand of `sigtrail-bench` at tiny sizes against an in-process
//! `sigtrail-server` on a loopback port, checking the fields of the JSON it
//! ends with. No timing is asserted: whether the log is back on target after
//! `overload` drops its load depends on this machine's disk, so the test
//! checks only that the report says when, or that it did not happen. One
//! load generator runs at a time, so that the figures of one test are not
//! another test's load.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sigtrail_server::sequencer::SequencerConfig;
use sigtrail_server::store::testing::TestDatabase;
use sigtrail_server::store::SqliteStore;
use sigtrail_server::testing::{signer, TestLog};
use tokio::sync::Mutex;

/// A log on SQLite in `dir` with a pool of `pool_size` submissions, served
/// on a loopback port until the test ends.
async fn serve_with_pool(dir: &Path, pool_size: usize) -> String {
    let path = dir.join("log.db");
    let store = Arc::new(
        SqliteStore::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("open SQLite"),
    );
    TestLog::new(store, signer("bench.example/log", 1))
        .sequencer(SequencerConfig {
            pool_size,
            max_batch: 1024,
            batch_interval: Duration::from_millis(5),
            cache_tiles: 64,
        })
        .serve()
        .await
}

/// A log on SQLite in `dir`, served on a loopback port until the test ends.
async fn serve(dir: &Path) -> String {
    serve_with_pool(dir, 4096).await
}

/// Taken by each run of the load generator (see the module's note).
static ONE_LOAD_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// Runs the binary with `args` and returns its last line of stdout as JSON.
async fn bench(args: &[&str]) -> Value {
    let _turn = ONE_LOAD_AT_A_TIME.lock().await;
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sigtrail-bench"))
            .args(&args)
            .output()
            .expect("run sigtrail-bench")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().last().expect("a last line")).expect("JSON last line")
}

fn number(report: &Value, field: &str) -> f64 {
    report[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_acknowledges_verified_bundles() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = serve(dir.path()).await;
    // The test process serves the log: it is the server whose CPU is read.
    let pid = std::process::id().to_string();
    let args = [
        "submit",
        "--log",
        &url,
        "--concurrency",
        "4",
        "--duration",
        "20s",
        "--entries",
        "60",
        "--server-pid",
        &pid,
        "--json",
    ];
    let report = bench(&args).await;
    assert_eq!(number(&report, "acknowledged"), 60.0);
    let cpu = &report["cpu"];
    for field in ["load_us_per_ack", "server_us_per_ack", "other_us_per_ack"] {
        assert!(number(cpu, field) >= 0.0, "{field}: {report}");
    }
    assert!(
        number(cpu, "busy_cores") <= number(cpu, "cores"),
        "{report}"
    );
    assert_eq!(
        number(cpu, "cores"),
        std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
    );
    assert_eq!(number(&report, "verified"), 60.0);
    assert_eq!(number(&report, "errors"), 0.0);
    assert_eq!(report["exhausted"], Value::Bool(true));
    assert_eq!(number(&report, "size_before"), 0.0);
    assert_eq!(number(&report, "size_after"), 60.0);
    assert!(number(&report, "per_second") > 0.0);
    assert!(number(&report, "p50_ms") <= number(&report, "p99_ms"));
    assert!(number(&report, "p99_ms") <= number(&report, "max_ms"));

    // A rerun signs with another key: nothing is a duplicate.
    let again = bench(&[
        "submit",
        "--log",
        &url,
        "--concurrency",
        "2",
        "--entries",
        "10",
        "--verify-every",
        "3",
        "--json",
    ])
    .await;
    assert_eq!(number(&again, "acknowledged"), 10.0);
    assert_eq!(number(&again, "verified"), 4.0);
    assert_eq!(number(&again, "size_after"), 70.0);
    assert!(again["cpu"]["server_us_per_ack"].is_null(), "{again}");
}

#[test]
fn submit_needs_a_plain_http_log() {
    let output = Command::new(env!("CARGO_BIN_EXE_sigtrail-bench"))
        .args(["submit", "--log", "https://127.0.0.1:1", "--entries", "1"])
        .output()
        .expect("run sigtrail-bench");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("https://127.0.0.1:1 is not a plain http://host:port URL"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_measures_proofs_tiles_and_bundles() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = serve(dir.path()).await;
    let empty = Command::new(env!("CARGO_BIN_EXE_sigtrail-bench"))
        .args(["read", "--log", &url])
        .output()
        .expect("run sigtrail-bench");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("at least 1"));

    bench(&[
        "submit",
        "--log",
        &url,
        "--concurrency",
        "16",
        "--duration",
        "60s",
        "--entries",
        "300",
        "--json",
    ])
    .await;
    let pid = std::process::id().to_string();
    let report = bench(&[
        "read",
        "--log",
        &url,
        "--concurrency",
        "2",
        "--duration",
        "200ms",
        "--server-pid",
        &pid,
        "--json",
    ])
    .await;
    assert_eq!(number(&report, "size"), 300.0);
    assert_eq!(report["tiles_full"], Value::Bool(true));
    for kind in ["inclusion", "consistency", "tiles", "bundles"] {
        assert!(number(&report[kind], "ok") > 0.0, "{kind}: {report}");
        assert_eq!(number(&report[kind], "errors"), 0.0, "{kind}: {report}");
        assert!(number(&report[kind], "p99_ms") > 0.0, "{kind}: {report}");
        assert!(
            number(&report[kind], "per_server_core") > 0.0,
            "{kind}: {report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_reports_each_step() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = serve(dir.path()).await;
    let pid = std::process::id().to_string();
    let data = dir.path().to_str().expect("utf-8 path");
    let args = [
        "scale",
        "--log",
        &url,
        "--steps",
        "20,50",
        "--concurrency",
        "4",
        "--probe",
        "100ms",
        "--server-pid",
        &pid,
        "--data-path",
        data,
        "--json",
    ];
    let report = bench(&args).await;
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 2);
    for (step, size) in steps.iter().zip([20.0, 50.0]) {
        assert_eq!(number(step, "size"), size);
        assert_eq!(number(step, "errors"), 0.0);
        assert!(number(step, "submit_per_second") > 0.0);
        assert!(number(step, "proof_per_second") > 0.0);
        assert!(number(step, "rss_bytes") > 0.0);
        assert!(number(step, "bytes_per_entry") > 0.0);
    }

    // Steps already reached are skipped.
    let again = bench(&["scale", "--log", &url, "--steps", "50", "--json"]).await;
    assert_eq!(again["steps"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_without_database() {
    let report = bench(&["limits", "--window", "20ms", "--no-database", "--json"]).await;
    for field in [
        "ed25519_one_core",
        "ed25519_all_cores",
        "entries_one_core",
        "entries_all_cores",
        "node_hashes_one_core",
    ] {
        assert!(number(&report, field) > 0.0, "{field}: {report}");
    }
    assert_eq!(report["postgres_rows"], Value::Null);
    assert_eq!(
        number(&report, "appends_ceiling"),
        number(&report, "entries_all_cores")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_with_postgres() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let args = [
        "limits",
        "--window",
        "50ms",
        "--batch",
        "64",
        "--database-url",
        database.url(),
        "--json",
    ];
    let report = bench(&args).await;
    let rows = number(&report, "postgres_rows");
    assert!(rows > 0.0);
    assert!(report["postgres_fsync"].is_boolean());
    assert_eq!(
        number(&report, "appends_ceiling"),
        rows.min(number(&report, "entries_all_cores"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sees_only_503_with_retry_after_and_reports_recovery() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = serve_with_pool(dir.path(), 8).await;
    let pid = std::process::id().to_string();
    let args = [
        "overload",
        "--log",
        &url,
        "--rate",
        "2000",
        "--duration",
        "2s",
        "--recovery-rate",
        "50",
        "--recovery",
        "3s",
        "--verify-every",
        "4",
        "--server-pid",
        &pid,
        "--json",
    ];
    let report = bench(&args).await;
    assert_eq!(number(&report, "rate"), 2000.0);
    assert_eq!(number(&report, "recovery_rate"), 50.0);
    for phase in ["overload", "recovery"] {
        let p = &report[phase];
        for field in [
            "sent",
            "not_sent",
            "acknowledged",
            "per_second",
            "verified",
            "rejected_503",
            "errors",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "max_rss_mib",
        ] {
            number(p, field);
        }
        assert!(p["errors_by_kind"].is_object(), "{phase}: {report}");
        assert!(number(p, "max_rss_mib") > 0.0, "{phase}: {report}");
    }
    let overload = &report["overload"];
    assert_eq!(
        number(overload, "sent") + number(overload, "not_sent"),
        4000.0
    );
    assert!(number(overload, "rejected_503") > 0.0, "{report}");
    assert_eq!(
        report["only_503_retry_after"],
        Value::Bool(true),
        "{report}"
    );
    let recovery = &report["recovery"];
    assert!(number(recovery, "acknowledged") > 0.0, "{report}");
    assert!(number(recovery, "verified") > 0.0, "{report}");
    // A second of the 3 s recovery phase, or null if a stall of the disk
    // kept a second of it off target.
    let recovered = &report["recovered_after_s"];
    assert!(
        recovered.is_null() || recovered.as_u64().is_some_and(|s| s < 3),
        "{report}"
    );
    number(&report, "not_sent");
    assert!(number(&report, "rss_end_mib") > 0.0);
    let acknowledged = number(overload, "acknowledged") + number(recovery, "acknowledged");
    assert_eq!(
        number(&report, "size_after") - number(&report, "size_before"),
        acknowledged
    );
    let timeline = report["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 5, "{report}");
    let sent: f64 = timeline.iter().map(|s| number(s, "sent")).sum();
    assert_eq!(sent, number(overload, "sent") + number(recovery, "sent"));
}

#[test]
fn help_names_every_subcommand() {
    let output = Command::new(env!("CARGO_BIN_EXE_sigtrail-bench"))
        .arg("--help")
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["limits", "submit", "read", "scale", "overload", "Examples:"] {
        assert!(help.contains(word), "{word} missing from {help}");
    }
}
