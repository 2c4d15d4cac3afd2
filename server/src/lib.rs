//! The sigtrail log server.
//!
//! `main.rs` parses a [`config::Cli`] and calls [`run`]; tests build the
//! same pieces with [`open_store`], [`Log::start`] and [`Log::serve`].

pub mod api;
pub mod config;
pub mod identity;
pub mod metrics;
pub mod sequencer;
pub mod store;
pub mod tiles;
pub mod witnesses;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use axum::Router;
use sigtrail_merkle::{empty_root, TreeHead};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{AppState, Limits};
use crate::config::{Cli, Command, InitArgs, ServeArgs};
use crate::identity::LogIdentity;
use crate::metrics::Metrics;
use crate::sequencer::{Sequencer, SequencerConfig};
use crate::store::{PostgresStore, SqliteStore, Store, StoreError};
use crate::witnesses::Witnesses;

/// Opens the store a URL names: `postgres://…` or `sqlite://…`.
///
/// # Errors
///
/// An unknown scheme, or a store that cannot be opened or migrated.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> =
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Arc::new(
                PostgresStore::open(url)
                    .await
                    .context("opening PostgreSQL")?,
            )
        } else if url.starts_with("sqlite:") {
            Arc::new(SqliteStore::open(url).await.context("opening SQLite")?)
        } else {
            bail!("unknown database URL {url:?}: use postgres://… or sqlite://…");
        };
    Ok(store)
}

/// Creates a log in a store that holds none.
///
/// # Errors
///
/// When the store already holds a log, or cannot be written.
pub async fn init_log(store: &dyn Store, identity: &LogIdentity) -> anyhow::Result<()> {
    if let Some(meta) = store.meta().await? {
        bail!(
            "this store already holds the log {:?} (key {}); refusing to touch it",
            meta.origin,
            meta.vkey
        );
    }
    let checkpoint = identity.sign_checkpoint(TreeHead {
        size: 0,
        root: empty_root(),
    })?;
    store.init(&identity.meta(), &checkpoint).await?;
    Ok(())
}

/// Checks that a store holds the log of this identity, with advice for a
/// person when it does not.
///
/// # Errors
///
/// When the store holds no log, or another log (origin or key differ).
pub async fn check_log(store: &dyn Store, identity: &LogIdentity) -> anyhow::Result<()> {
    match store::open_log(store, &identity.meta()).await {
        Err(StoreError::NotInitialized) => {
            bail!("this store holds no log yet: create one with `sigtrail-server init`")
        }
        Err(error @ StoreError::WrongLog { .. }) => {
            bail!("refusing to serve: {error}; check --database-url and --key-file")
        }
        other => Ok(other?),
    }
}

/// A log ready to serve: its store, identity and settings.
pub struct Log {
    /// The log's store.
    pub store: Arc<dyn Store>,
    /// The log's origin and key.
    pub identity: Arc<LogIdentity>,
    /// Sequencer settings.
    pub sequencer: SequencerConfig,
    /// Request limits.
    pub limits: Limits,
    /// The witnesses that cosign checkpoints, and their quorum.
    pub witnesses: Arc<Witnesses>,
}

impl Log {
    /// Serves the log on `listener` until `shutdown` completes, then
    /// finishes the requests and the batch in flight.
    ///
    /// # Errors
    ///
    /// When the tree cannot be loaded or the listener fails.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (app, sequencing) = self.start().await?;
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")?;
        // Every handle is gone with the router: the sequencer drains its pool and stops.
        sequencing.await.context("the sequencer task failed")?;
        Ok(())
    }
}

impl Log {
    /// Loads the tree, starts the sequencer task, and returns the HTTP
    /// application with that task. The sequencer stops once the router and
    /// every clone of it are dropped and its pool is drained.
    ///
    /// # Errors
    ///
    /// When the tree cannot be loaded from the store.
    pub async fn start(self) -> anyhow::Result<(Router, JoinHandle<()>)> {
        let metrics = Arc::new(Metrics::default());
        let (sequencer, handle, reader) = Sequencer::load(
            self.store.clone(),
            self.identity.clone(),
            self.sequencer,
            self.witnesses.clone(),
            metrics.clone(),
        )
        .await
        .context("loading the tree")?;
        let sequencing = tokio::spawn(sequencer.run());
        let app = api::router(AppState {
            sequencer: handle,
            reader,
            store: self.store,
            identity: self.identity,
            metrics,
            limits: self.limits,
            witnesses: self.witnesses,
        });
        Ok((app, sequencing))
    }
}

/// Runs the command line.
///
/// # Errors
///
/// Any failure to set up or serve, with its context.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Init(args)) => init_command(args).await,
        None => serve_command(cli.serve).await,
    }
}

async fn init_command(args: InitArgs) -> anyhow::Result<()> {
    let identity = if args.key_file.exists() {
        let identity = LogIdentity::read(&args.key_file)?;
        if identity.origin() != args.origin {
            bail!(
                "the key file {} is for {:?}, not for the origin {:?}",
                args.key_file.display(),
                identity.origin(),
                args.origin
            );
        }
        identity
    } else {
        LogIdentity::create(&args.origin, &args.key_file)?
    };
    let store = open_store(&args.database_url).await?;
    init_log(store.as_ref(), &identity).await?;
    println!("created the log {}", identity.origin());
    println!("verifier key: {}", identity.vkey());
    Ok(())
}

async fn serve_command(args: ServeArgs) -> anyhow::Result<()> {
    let (store, identity) = match (&args.database_url, &args.key_file) {
        (Some(url), Some(key_file)) => {
            let identity = LogIdentity::read(key_file)?;
            let store = open_store(url).await?;
            check_log(store.as_ref(), &identity).await?;
            (store, identity)
        }
        (None, None) => zero_config(&args.data_dir, &args.origin).await?,
        (Some(_), None) => bail!("--database-url needs --key-file, the log's signer key"),
        (None, Some(_)) => bail!("--key-file needs --database-url, the log's store"),
    };
    let witnesses = witness_set(&args)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(origin = identity.origin(), vkey = %identity.vkey(), addr = %listener.local_addr()?, "serving");
    let log = Log {
        store,
        identity: Arc::new(identity),
        sequencer: SequencerConfig {
            pool_size: args.pool_size as usize,
            max_batch: args.max_batch as usize,
            batch_interval: args.batch_interval,
            cache_tiles: args.cache_tiles,
        },
        limits: Limits {
            max_body_bytes: args.max_body_bytes as usize,
            request_timeout: args.request_timeout,
        },
        witnesses: Arc::new(witnesses),
    };
    log.serve(listener, shutdown_signal()).await
}

/// The witness set of the flags, with its quorum checked.
fn witness_set(args: &ServeArgs) -> anyhow::Result<Witnesses> {
    let count = args.witnesses.len();
    let quorum = args.quorum.unwrap_or(count);
    if quorum > count {
        bail!("--quorum {quorum} needs at least {quorum} witnesses, but {count} are configured");
    }
    Ok(Witnesses::new(
        args.witnesses.clone(),
        quorum,
        args.witness_timeout,
    ))
}

/// The default with no flags: a SQLite log in `data_dir`, created (key and
/// all) on first start.
async fn zero_config(
    data_dir: &Path,
    origin: &str,
) -> anyhow::Result<(Arc<dyn Store>, LogIdentity)> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let key_file = data_dir.join("log.key");
    let url = format!("sqlite://{}", data_dir.join("log.db").display());
    let store = open_store(&url).await?;
    if store.meta().await?.is_some() {
        let identity = LogIdentity::read(&key_file)?;
        check_log(store.as_ref(), &identity).await?;
        return Ok((store, identity));
    }
    let identity = if key_file.exists() {
        LogIdentity::read(&key_file)?
    } else {
        LogIdentity::create(origin, &key_file)?
    };
    init_log(store.as_ref(), &identity).await?;
    std::fs::write(data_dir.join("log.vkey"), format!("{}\n", identity.vkey()))
        .with_context(|| format!("writing {}", data_dir.join("log.vkey").display()))?;
    println!("created a new log in {}", data_dir.display());
    println!("origin:       {}", identity.origin());
    println!("verifier key: {}", identity.vkey());
    Ok((store, identity))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests and the batch in flight");
}
