//! Load generator and limit measurements for sigtrail logs.
//!
//! Five measurements, each a subcommand of the `sigtrail-bench` binary:
//! [`limits`] (this machine's ceilings), [`submit`] (acknowledged
//! submissions per second), [`read`] (proofs, tiles and bundles per second),
//! [`scale`] (how the figures move as a log grows) and [`overload`] (how a
//! log refuses more than it sustains, and recovers). Each prints progress
//! to stderr, a summary table to stdout and, with `--json`, a last line of
//! JSON.

pub mod cli;
pub mod cpu;
pub mod limits;
pub mod load;
pub mod memory;
pub mod overload;
pub mod read;
pub mod scale;
pub mod stats;
pub mod submit;

/// Everything that can stop a measurement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An HTTP request failed below the HTTP layer.
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The log answered a request the measurement needs with an error status.
    #[error("{url} answered status {status}")]
    Status {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The load speaks plain HTTP/1.1 to the log.
    #[error(
        "{base} is not a plain http://host:port URL: sigtrail-bench speaks plain HTTP/1.1 to a log"
    )]
    NotPlainHttp {
        /// The log's base URL.
        base: String,
    },
    /// A submitter could not connect to the log.
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        /// `host:port` of the log.
        authority: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The log's answer or key could not be used.
    #[error("the log's answer is not usable: {0}")]
    Client(#[from] sigtrail_client::Error),
    /// Signing a benchmark entry or parsing a key failed.
    #[error("signing: {0}")]
    Note(#[from] sigtrail_note::Error),
    /// PostgreSQL refused a statement or a connection.
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading process or disk figures failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A `/proc` file does not have the fields a CPU reading needs.
    #[error("{path} does not have the CPU time fields")]
    Proc {
        /// The file.
        path: String,
    },
    /// `/proc/<pid>/status` has no `VmRSS` line.
    #[error("no VmRSS line in /proc/{pid}/status")]
    NoRss {
        /// The process id.
        pid: u32,
    },
    /// The log is too small for the measurement.
    #[error("the log holds {size} entries; this measurement needs at least {need}")]
    LogTooSmall {
        /// The log's tree size.
        size: u64,
        /// The size needed.
        need: u64,
    },
    /// A round of submissions did not grow the log.
    #[error("the log did not grow past {size} entries on its way to {step}")]
    NoProgress {
        /// The step being grown to.
        step: u64,
        /// The tree size after the round.
        size: u64,
    },
    /// A worker task panicked or was cancelled.
    #[error("a load task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Writing the JSON report failed.
    #[error("encoding the JSON report: {0}")]
    Json(#[from] serde_json::Error),
}
