//! Command line and environment configuration of `sigtrail-server`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::witnesses::WitnessConfig;

/// sigtrail's log server: an append-only transparency log of software
/// signing events, serving C2SP tlog-tiles, proofs and a JSON API.
///
/// With no flags it keeps a SQLite log under ./sigtrail-data/ and listens on
/// 127.0.0.1:8080, creating the log (origin and key) on first start.
/// Elsewhere, create a log once with `sigtrail-server init`, then serve it
/// with --database-url and --key-file.
///
/// Every flag can also be set with an environment variable (SIGTRAIL_…).
#[derive(Debug, Parser)]
#[command(name = "sigtrail-server", version, max_term_width = 100)]
#[command(after_help = "Examples:\n  \
    sigtrail-server\n  \
    sigtrail-server init --database-url postgres://postgres@127.0.0.1/sigtrail \\\n      \
    --origin log.example.com/sigtrail --key-file /etc/sigtrail/log.key\n  \
    sigtrail-server --database-url postgres://postgres@127.0.0.1/sigtrail \\\n      \
    --key-file /etc/sigtrail/log.key --listen 0.0.0.0:8080 \\\n      \
    --witness 'witness1.example+1a2b3c4d+BAbc… https://witness1.example' --quorum 1")]
pub struct Cli {
    /// What to do; serving the log is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty log in a store that holds none, and print its
    /// verifier key. Refuses a store that already holds a log.
    Init(InitArgs),
}

/// Arguments of `sigtrail-server init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The store to create the log in: postgres://… or sqlite://…
    #[arg(long, env = "SIGTRAIL_DATABASE_URL")]
    pub database_url: String,
    /// The log's origin (checkpoint first line and key name), a schema-less
    /// URL such as log.example.com/sigtrail.
    #[arg(long, env = "SIGTRAIL_ORIGIN")]
    pub origin: String,
    /// The log's signer key file: read if it exists (its name must be the
    /// origin), otherwise created with mode 0600.
    #[arg(long, env = "SIGTRAIL_KEY_FILE")]
    pub key_file: PathBuf,
}

/// Arguments for serving a log.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The store of the log: postgres://… or sqlite://… [default: SQLite in
    /// --data-dir, creating the log on first start]
    #[arg(long, env = "SIGTRAIL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The log's signer key file (PRIVATE+KEY+…). Required with
    /// --database-url.
    #[arg(long, env = "SIGTRAIL_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Where the zero-configuration default keeps its database and key.
    #[arg(long, env = "SIGTRAIL_DATA_DIR", default_value = "sigtrail-data")]
    pub data_dir: PathBuf,
    /// Origin of a log created by the zero-configuration default.
    #[arg(long, env = "SIGTRAIL_ORIGIN", default_value = "localhost/sigtrail")]
    pub origin: String,
    /// Address to listen on.
    #[arg(long, env = "SIGTRAIL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How long the first submission of a batch waits for more.
    #[arg(long, env = "SIGTRAIL_BATCH_INTERVAL", default_value = "50ms", value_parser = humantime::parse_duration)]
    pub batch_interval: Duration,
    /// Most entries integrated in one batch.
    #[arg(long, env = "SIGTRAIL_MAX_BATCH", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_batch: u32,
    /// Most submissions being verified or waiting for a batch; beyond it
    /// the server answers 503 with Retry-After. The default is about half
    /// a second of work at the rate a two-core machine sustains, so a
    /// submission that gets in is answered well within a second.
    #[arg(long, env = "SIGTRAIL_POOL_SIZE", default_value_t = 8192, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: u32,
    /// Largest request body, in bytes.
    #[arg(long, env = "SIGTRAIL_MAX_BODY_BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(1024..))]
    pub max_body_bytes: u32,
    /// Longest a request may take before it is answered 408.
    #[arg(long, env = "SIGTRAIL_REQUEST_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
    /// A witness to send every new checkpoint to, as "VKEY URL": its
    /// cosignature/v1 verifier key and the base URL of its tlog-witness
    /// API. Repeat for each witness.
    #[arg(long = "witness", env = "SIGTRAIL_WITNESSES", value_delimiter = ';')]
    pub witnesses: Vec<WitnessConfig>,
    /// How many witnesses must cosign a checkpoint before submitters get
    /// their bundles [default: every witness]
    #[arg(long, env = "SIGTRAIL_QUORUM")]
    pub quorum: Option<usize>,
    /// How long to wait for each witness.
    #[arg(long, env = "SIGTRAIL_WITNESS_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub witness_timeout: Duration,
    /// Full tiles kept in memory (16 KiB each, with their inner nodes); full
    /// entry bundles are kept up to as many bytes again.
    #[arg(long, env = "SIGTRAIL_CACHE_TILES", default_value_t = 4096)]
    pub cache_tiles: usize,
}
