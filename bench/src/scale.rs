//! `scale`: grows a log through the real submit path and measures it at
//! each step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::{Connection, PgConnection};

use crate::load::{drive, presign, Load, Target};
use crate::memory::{resident_memory, MIB};
use crate::stats::Latency;
use crate::Error;

/// Entries signed and held in memory at once while growing the log.
const CHUNK: u64 = 100_000;

/// Where the log keeps its data, for bytes per entry.
#[derive(Debug, Clone)]
pub enum Disk {
    /// Not measured.
    Unknown,
    /// Everything under this file or directory (SQLite, a data volume).
    Path(PathBuf),
    /// `pg_database_size` of the database at this URL.
    Postgres(String),
}

/// Settings of a scale run.
#[derive(Debug, Clone)]
pub struct ScaleSettings {
    /// Base URL of the log.
    pub log: String,
    /// Tree sizes to grow to, increasing.
    pub steps: Vec<u64>,
    /// Concurrent submitters.
    pub concurrency: usize,
    /// Verify every n-th bundle (1: all).
    pub verify_every: usize,
    /// Time spent measuring inclusion proofs at each step.
    pub probe: Duration,
    /// The server process, for its resident memory.
    pub server_pid: Option<u32>,
    /// Where the log keeps its data.
    pub disk: Disk,
}

/// The figures at one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Tree size reached.
    pub size: u64,
    /// Acknowledged submissions/s while growing to this size.
    pub submit_per_second: f64,
    /// 99th percentile submit latency while growing.
    pub submit_p99_ms: f64,
    /// Failed submissions while growing.
    pub errors: u64,
    /// Inclusion proofs/s at this size (one reader).
    pub proof_per_second: f64,
    /// 99th percentile inclusion proof latency at this size.
    pub proof_p99_ms: f64,
    /// Resident memory of the server, if its pid was given.
    pub rss_bytes: Option<u64>,
    /// Bytes the log keeps on disk, if its location was given.
    pub disk_bytes: Option<u64>,
    /// `disk_bytes / size`.
    pub bytes_per_entry: Option<f64>,
}

/// The figures of a scale run.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleReport {
    /// One report per step reached.
    pub steps: Vec<StepReport>,
}

impl ScaleReport {
    /// The summary table, one line per step.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:>10}  {:>10}  {:>10}  {:>6}  {:>10}  {:>10}  {:>10}  {:>9}\n",
            "size", "submit/s", "p99 ms", "errors", "proofs/s", "proof p99", "RSS MiB", "B/entry"
        );
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
        for s in &self.steps {
            out.push_str(&format!(
                "{:>10}  {:>10.0}  {:>10.1}  {:>6}  {:>10.0}  {:>10.2}  {:>10}  {:>9}\n",
                s.size,
                s.submit_per_second,
                s.submit_p99_ms,
                s.errors,
                s.proof_per_second,
                s.proof_p99_ms,
                or_dash(s.rss_bytes.map(|b| format!("{:.1}", b as f64 / MIB))),
                or_dash(s.bytes_per_entry.map(|b| format!("{b:.0}"))),
            ));
        }
        out
    }
}

/// Grows the log to each step in turn and measures it there. Steps the log
/// has already reached are skipped.
///
/// # Errors
///
/// When the log cannot be reached, or the memory or disk figures cannot be read.
pub async fn run(settings: &ScaleSettings) -> Result<ScaleReport, Error> {
    let target = Target::open(&settings.log, settings.concurrency).await?;
    let mut steps = Vec::new();
    for &step in &settings.steps {
        let size = target.size().await?;
        if step <= size {
            eprintln!("step {step}: the log already holds {size} entries, skipped");
            continue;
        }
        eprintln!("step {step}: growing the log from {size}…");
        steps.push(grow(&target, settings, size, step).await?);
    }
    Ok(ScaleReport { steps })
}

async fn grow(
    target: &Target,
    settings: &ScaleSettings,
    mut size: u64,
    step: u64,
) -> Result<StepReport, Error> {
    let (mut latencies, mut errors, mut acknowledged, mut elapsed) =
        (Vec::new(), 0, 0, Duration::ZERO);
    while size < step {
        let entries = Arc::new(presign((step - size).min(CHUNK) as usize)?);
        let load = Load {
            concurrency: settings.concurrency,
            duration: None,
            verify_every: settings.verify_every,
            server_pid: settings.server_pid,
        };
        let outcome = drive(target, entries, load).await?;
        acknowledged += outcome.acknowledged();
        errors += outcome.error_total();
        elapsed += outcome.elapsed;
        latencies.extend(outcome.latencies);
        let now = target.size().await?;
        if now <= size {
            return Err(Error::NoProgress { step, size: now });
        }
        size = now;
    }
    eprintln!("step {step}: inclusion proofs for {:?}…", settings.probe);
    let probe = crate::read::measure(
        target,
        crate::read::Window {
            concurrency: 1,
            duration: settings.probe,
            server_pid: None,
        },
        Arc::new(move |p| {
            format!(
                "/api/v1/proof/inclusion?index={}&size={size}",
                p.below(size)
            )
        }),
    )
    .await?;
    let disk_bytes = match &settings.disk {
        Disk::Unknown => None,
        Disk::Path(path) => Some(disk_usage(path)?),
        Disk::Postgres(url) => Some(database_size(url).await?),
    };
    Ok(StepReport {
        size,
        submit_per_second: acknowledged as f64 / elapsed.as_secs_f64().max(1e-9),
        submit_p99_ms: Latency::of(&mut latencies).p99_ms,
        errors,
        proof_per_second: probe.per_second,
        proof_p99_ms: probe.p99_ms,
        rss_bytes: settings.server_pid.map(resident_memory).transpose()?,
        disk_bytes,
        bytes_per_entry: disk_bytes.map(|b| b as f64 / size as f64),
    })
}

/// Bytes in `path`: the file's size, or the sum over a directory tree.
///
/// # Errors
///
/// When a file or directory cannot be read.
pub fn disk_usage(path: &Path) -> Result<u64, Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(meta.len());
    }
    let mut total = 0;
    for entry in std::fs::read_dir(path).map_err(io)? {
        total += disk_usage(&entry.map_err(io)?.path())?;
    }
    Ok(total)
}

async fn database_size(url: &str) -> Result<u64, Error> {
    let mut conn = PgConnection::connect(url).await?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(bytes.unsigned_abs())
}
