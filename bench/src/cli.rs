//! The command line of `sigtrail-bench`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::limits::LimitsSettings;
use crate::overload::OverloadSettings;
use crate::read::ReadSettings;
use crate::scale::{Disk, ScaleSettings};
use crate::submit::SubmitSettings;
use crate::Error;

/// Measures a sigtrail log and the machine it runs on.
///
/// Progress goes to stderr, a summary table to stdout; with --json the last
/// line of stdout is one JSON object with the figures.
#[derive(Debug, Parser)]
#[command(name = "sigtrail-bench", version, after_help = EXAMPLES)]
pub struct Cli {
    /// What to measure.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  sigtrail-bench limits --database-url postgres://postgres@127.0.0.1:5432/test
  sigtrail-bench submit --log http://127.0.0.1:8080 --concurrency 256 --duration 10s --json
  sigtrail-bench read --log http://127.0.0.1:8080 --duration 2s
  sigtrail-bench scale --log http://127.0.0.1:8080 --steps 1000,100000 --server-pid 4242 \\
      --database-url postgres://postgres@127.0.0.1:5432/sigtrail
  sigtrail-bench overload --log http://127.0.0.1:8080 --rate 10000 --duration 10s \\
      --recovery-rate 2500 --recovery 10s --target-p99 1s --server-pid 4242 --json";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// This machine's ceilings: Ed25519 and entry verification (one core and
    /// all cores), SHA-256 node hashes, PostgreSQL bulk inserts with the
    /// server's fsync setting, and the ceiling they set for verified durable
    /// appends.
    Limits(LimitsArgs),
    /// Acknowledged submissions/s: pre-signed distinct entries sent by
    /// concurrent submitters over keep-alive connections; a submission
    /// counts once answered 201 with a bundle that verifies.
    Submit(SubmitArgs),
    /// Inclusion proofs, consistency proofs, tiles and entry bundles served
    /// per second, each with its p99 latency.
    Read(ReadArgs),
    /// Grows a log through the submit path and measures it at each step:
    /// submit throughput, proof latency, server memory, bytes per entry.
    Scale(ScaleArgs),
    /// Offers submissions open-loop at --rate (above what the log sustains)
    /// for --duration, then at --recovery-rate for --recovery: counts 201s
    /// (bundles verified), 503s with and without Retry-After and other
    /// failures per phase and per second, the server's peak memory, and
    /// how many seconds into recovery the p99 of 201s is back at
    /// --target-p99 with no refusal.
    Overload(OverloadArgs),
}

/// Options of `limits`.
#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// Time spent on each measurement.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// PostgreSQL server on which a scratch database is created and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    pub database_url: String,
    /// Skip the PostgreSQL measurement.
    #[arg(long)]
    pub no_database: bool,
    /// Rows per INSERT … SELECT * FROM UNNEST statement.
    #[arg(long, default_value_t = 4096)]
    pub batch: usize,
    /// End with one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Base URL of the log, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub log: String,
    /// Concurrent submitters.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Length of the timed window.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Entries signed before the window (default: 20,000 per second of
    /// window plus one per submitter); the run ends early if all are sent.
    #[arg(long)]
    pub entries: Option<usize>,
    /// Verify the bundle of every n-th submission with sigtrail-client, after
    /// the window (1: every bundle).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_every: u64,
    /// Pid of the server process, to report its CPU time per acknowledged
    /// submission beside the load generator's.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// End with one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Base URL of the log (it must hold at least one entry).
    #[arg(long)]
    pub log: String,
    /// Concurrent readers.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Time spent on each of the four kinds of request.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Pid of the server process, to report what one core of server CPU
    /// serves of each kind.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// End with one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `scale`.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Base URL of the log.
    #[arg(long)]
    pub log: String,
    /// Tree sizes to grow the log to, increasing.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,100000,1000000,5000000"
    )]
    pub steps: Vec<u64>,
    /// Concurrent submitters.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Verify the bundle of every n-th submission (1: every bundle).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_every: u64,
    /// Time spent measuring inclusion proofs at each step.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub probe: Duration,
    /// Pid of the server process, for its resident memory (VmRSS).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The log's data file or directory, for bytes per entry on disk.
    #[arg(long, conflicts_with = "database_url")]
    pub data_path: Option<PathBuf>,
    /// The log's PostgreSQL database, for bytes per entry (pg_database_size).
    #[arg(long)]
    pub database_url: Option<String>,
    /// End with one line of JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `overload`.
#[derive(Debug, Args)]
pub struct OverloadArgs {
    /// Base URL of the log.
    #[arg(long)]
    pub log: String,
    /// Submissions per second offered in the overload phase, on a fixed
    /// schedule whatever the answers (e.g. twice what `submit` measured).
    #[arg(long, value_parser = positive_rate)]
    pub rate: f64,
    /// Length of the overload phase.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Submissions per second offered in the recovery phase (default: a
    /// quarter of --rate).
    #[arg(long, value_parser = positive_rate)]
    pub recovery_rate: Option<f64>,
    /// Length of the recovery phase.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub recovery: Duration,
    /// The p99 latency of 201 answers, per second, that counts as recovered.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub target_p99: Duration,
    /// Requests outstanding at most: a request due while this many are
    /// outstanding is not sent, and counted as not sent.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_in_flight: u64,
    /// Pid of the server process: its VmRSS is read every 100 ms.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Verify the bundle of every n-th 201 answer, after the run (1: every
    /// bundle).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub verify_every: u64,
    /// End with one line of JSON.
    #[arg(long)]
    pub json: bool,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of requests per second"
        )),
    }
}

/// Runs a parsed command line, printing progress, the table and the JSON.
///
/// # Errors
///
/// Whatever stopped the measurement.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Limits(a) => {
            let settings = LimitsSettings {
                window: a.window,
                database_url: (!a.no_database).then_some(a.database_url),
                batch: a.batch.max(1),
            };
            let report = crate::limits::run(&settings).await?;
            finish(&report.table().render(), &report, a.json)
        }
        Command::Submit(a) => {
            let settings = SubmitSettings {
                log: a.log,
                concurrency: a.concurrency.max(1),
                duration: a.duration,
                entries: a
                    .entries
                    .unwrap_or((a.duration.as_secs_f64() * 20_000.0) as usize + a.concurrency),
                verify_every: a.verify_every as usize,
                server_pid: a.server_pid,
            };
            let report = crate::submit::run(&settings).await?;
            finish(&report.table().render(), &report, a.json)
        }
        Command::Read(a) => {
            let settings = ReadSettings {
                log: a.log,
                concurrency: a.concurrency.max(1),
                duration: a.duration,
                server_pid: a.server_pid,
            };
            let report = crate::read::run(&settings).await?;
            finish(&report.table().render(), &report, a.json)
        }
        Command::Scale(a) => {
            let disk = match (a.data_path, a.database_url) {
                (Some(path), _) => Disk::Path(path),
                (None, Some(url)) => Disk::Postgres(url),
                (None, None) => Disk::Unknown,
            };
            let settings = ScaleSettings {
                log: a.log,
                steps: a.steps,
                concurrency: a.concurrency.max(1),
                verify_every: a.verify_every as usize,
                probe: a.probe,
                server_pid: a.server_pid,
                disk,
            };
            let report = crate::scale::run(&settings).await?;
            finish(&report.table(), &report, a.json)
        }
        Command::Overload(a) => {
            let settings = OverloadSettings {
                log: a.log,
                rate: a.rate,
                duration: a.duration,
                recovery_rate: a.recovery_rate.unwrap_or(a.rate / 4.0),
                recovery: a.recovery,
                target_p99: a.target_p99,
                max_in_flight: a.max_in_flight as usize,
                server_pid: a.server_pid,
                verify_every: a.verify_every as usize,
            };
            let report = crate::overload::run(&settings).await?;
            finish(&report.render(), &report, a.json)
        }
    }
}

fn finish(table: &str, report: &impl Serialize, json: bool) -> Result<(), Error> {
    println!();
    print!("{table}");
    if json {
        println!("{}", serde_json::to_string(report)?);
    }
    Ok(())
}
