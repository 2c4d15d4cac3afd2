//! `limits`: this machine's ceilings, measured in the same run as the load.

use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::Serialize;
use sigtrail_merkle::{leaf_hash, node_hash};
use sigtrail_note::ed25519::verify_ed25519;
use sigtrail_note::{Algorithm, SignedEntry, SignerKey, SigningEvent};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::stats::{per_second, rate, Table};
use crate::Error;

/// Settings of a limits run.
#[derive(Debug, Clone)]
pub struct LimitsSettings {
    /// Time spent on each measurement.
    pub window: Duration,
    /// PostgreSQL server to create the scratch database on; `None` skips
    /// the database measurement.
    pub database_url: Option<String>,
    /// Rows per `INSERT … SELECT * FROM UNNEST` statement.
    pub batch: usize,
}

/// This machine's ceilings.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsReport {
    /// Cores the measurements ran on.
    pub cores: usize,
    /// Strict Ed25519 verifications/s on one core (`verify_ed25519`).
    pub ed25519_one_core: f64,
    /// Strict Ed25519 verifications/s on all cores.
    pub ed25519_all_cores: f64,
    /// Whole entries parsed and verified/s on one core (`SignedEntry::parse`).
    pub entries_one_core: f64,
    /// Whole entries parsed and verified/s on all cores.
    pub entries_all_cores: f64,
    /// SHA-256 Merkle node hashes/s on one core (`node_hash`).
    pub node_hashes_one_core: f64,
    /// Rows/s bulk-inserted into PostgreSQL, one committed statement per batch.
    pub postgres_rows: Option<f64>,
    /// Whether PostgreSQL had `fsync` on.
    pub postgres_fsync: Option<bool>,
    /// The lower of entries verified on all cores and PostgreSQL rows:
    /// verified durable appends/s cannot exceed it.
    pub appends_ceiling: f64,
}

impl LimitsReport {
    /// The summary table.
    pub fn table(&self) -> Table {
        let mut table = Table::default();
        table
            .row("cores", self.cores)
            .row(
                "Ed25519 strict verifications, one core",
                per_second(self.ed25519_one_core),
            )
            .row(
                "Ed25519 strict verifications, all cores",
                per_second(self.ed25519_all_cores),
            )
            .row(
                "entries parsed and verified, one core",
                per_second(self.entries_one_core),
            )
            .row(
                "entries parsed and verified, all cores",
                per_second(self.entries_all_cores),
            )
            .row(
                "SHA-256 node hashes, one core",
                per_second(self.node_hashes_one_core),
            );
        match (self.postgres_rows, self.postgres_fsync) {
            (Some(rows), Some(fsync)) => table.row(
                format!(
                    "PostgreSQL bulk-insert rows (fsync {})",
                    if fsync { "on" } else { "off" }
                ),
                per_second(rows),
            ),
            _ => table.row("PostgreSQL bulk-insert rows", "not measured"),
        };
        table.row(
            "ceiling: verified durable appends",
            per_second(self.appends_ceiling),
        );
        table
    }
}

/// Measures every ceiling, one after the other.
///
/// # Errors
///
/// When signing the sample fails or PostgreSQL refuses the scratch database.
pub async fn run(settings: &LimitsSettings) -> Result<LimitsReport, Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signer = SignerKey::from_seed("limits.sigtrail.example", Algorithm::Ed25519, &[7; 32])?;
    let entry = SigningEvent {
        subject: leaf_hash(b"limits").0,
        name: "pkg:generic/limits@1.0.0".to_owned(),
        key: signer.verifier_key().clone(),
        time: 1_764_064_800,
    }
    .sign(&signer)?;
    let message = entry.as_bytes();
    let signature = signer.sign(message);
    let public = *signer.verifier_key().public_key();
    let window = settings.window;
    let verify = move || {
        let ok = verify_ed25519(&public, message, &signature).is_ok();
        std::hint::black_box(ok);
    };
    let parse = || {
        std::hint::black_box(SignedEntry::parse(entry.as_bytes()).is_ok());
    };
    eprintln!("Ed25519 verification…");
    let ed25519_one_core = rate(window, &mut { verify });
    let ed25519_all_cores = on_all_cores(cores, window, &verify);
    eprintln!("entry parsing and verification…");
    let entries_one_core = rate(window, &mut { parse });
    let entries_all_cores = on_all_cores(cores, window, &parse);
    eprintln!("SHA-256 node hashes…");
    let (left, right) = (leaf_hash(b"left"), leaf_hash(b"right"));
    let node_hashes_one_core = rate(window, &mut || {
        std::hint::black_box(node_hash(&left, &right));
    });
    let (postgres_rows, postgres_fsync) = match &settings.database_url {
        Some(url) => {
            eprintln!("PostgreSQL bulk inserts of {} rows…", settings.batch);
            let (rows, fsync) = insert_rate(url, settings.batch, window).await?;
            (Some(rows), Some(fsync))
        }
        None => (None, None),
    };
    let appends_ceiling =
        postgres_rows.map_or(entries_all_cores, |rows| rows.min(entries_all_cores));
    Ok(LimitsReport {
        cores,
        ed25519_one_core,
        ed25519_all_cores,
        entries_one_core,
        entries_all_cores,
        node_hashes_one_core,
        postgres_rows,
        postgres_fsync,
        appends_ceiling,
    })
}

/// The summed rate of `work` run on `cores` threads at once.
fn on_all_cores(cores: usize, window: Duration, work: &(dyn Fn() + Sync)) -> f64 {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|_| scope.spawn(|| rate(window, &mut || work())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0.0)).sum()
    })
}

/// Rows/s inserted into a scratch copy of the server's `entries` table in
/// a database created for the run and dropped after it, counting only the
/// time spent in the statements (building the rows is not timed); and
/// whether fsync is on.
async fn insert_rate(url: &str, batch: usize, window: Duration) -> Result<(f64, bool), Error> {
    let admin = PgConnectOptions::from_str(url)?;
    let name = format!(
        "sigtrail_bench_{:08x}",
        rand_core::RngCore::next_u32(&mut rand_core::OsRng)
    );
    let mut conn = admin.connect().await?;
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let measured = insert_into(admin.clone().database(&name), batch, window).await;
    let dropped = conn
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await;
    conn.close().await?;
    let measured = measured?;
    dropped?;
    Ok(measured)
}

async fn insert_into(
    options: PgConnectOptions,
    batch: usize,
    window: Duration,
) -> Result<(f64, bool), Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&pool).await?;
    pool.execute(
        "CREATE TABLE scratch (idx BIGINT PRIMARY KEY, leaf_hash BYTEA NOT NULL, signer_id INTEGER NOT NULL, \
         subject BYTEA NOT NULL, name TEXT NOT NULL); \
         CREATE INDEX scratch_leaf_hash ON scratch USING hash (leaf_hash); \
         CREATE INDEX scratch_signer ON scratch (signer_id, idx); \
         CREATE INDEX scratch_subject ON scratch USING hash (subject); \
         CREATE INDEX scratch_name ON scratch (name, idx)",
    )
    .await?;
    let (mut rows, mut busy) = (0u64, Duration::ZERO);
    while busy < window {
        let first = rows as i64;
        let idx: Vec<i64> = (first..first + batch as i64).collect();
        let hashes: Vec<Vec<u8>> = idx
            .iter()
            .map(|i| leaf_hash(&i.to_be_bytes()).0.to_vec())
            .collect();
        let subjects: Vec<Vec<u8>> = idx
            .iter()
            .map(|i| leaf_hash(&(!i).to_be_bytes()).0.to_vec())
            .collect();
        let names: Vec<String> = idx
            .iter()
            .map(|i| format!("pkg:generic/limits@1.0.{i}"))
            .collect();
        let started = Instant::now();
        sqlx::query(
            "INSERT INTO scratch SELECT * FROM UNNEST($1::BIGINT[], $2::BYTEA[], $3::INTEGER[], $4::BYTEA[], $5::TEXT[])",
        )
        .bind(&idx)
        .bind(&hashes)
        .bind(vec![1i32; batch])
        .bind(&subjects)
        .bind(&names)
        .execute(&pool)
        .await?;
        busy += started.elapsed();
        rows += batch as u64;
    }
    pool.close().await;
    Ok((rows as f64 / busy.as_secs_f64(), fsync == "on"))
}
