#![doc = include_str!("../README.md")]

pub mod api;
pub mod config;
mod error;
pub mod evidence;
pub mod metrics;
pub mod store;
pub mod witness;

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use sigtrail_note::{Algorithm, SignerKey};

pub use error::Error;
pub use evidence::{ForkEvidence, ForkKind};
pub use store::{Cosigned, Store};
pub use witness::{origin_hash, system_clock, Clock, Logs, Witness};

use config::{Cli, Command, KeygenArgs, ServeArgs};

/// Runs the command line: `keygen`, or serving.
///
/// # Errors
///
/// Whatever stops it, with context.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Keygen(args)) => {
            let vkey = keygen(&args)?;
            println!("{vkey}");
            Ok(())
        }
        None => serve(cli.serve).await,
    }
}

/// Makes a `cosignature/v1` key named `args.name`, writes it to `args.out`
/// (mode 0600, never over an existing file) and returns its verifier key.
///
/// # Errors
///
/// A bad name, or a file that exists or cannot be written.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<String> {
    let key = SignerKey::generate(&args.name, Algorithm::CosignatureV1, &mut rand_core::OsRng)
        .context("making the key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    writeln!(file, "{}", key.to_text())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(key.verifier_key().to_string())
}

/// Reads a witness key file written by [`keygen`].
///
/// # Errors
///
/// An unreadable file, or one that holds no `cosignature/v1` signer key.
pub fn read_key(path: &Path) -> anyhow::Result<SignerKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    let key: SignerKey = text
        .trim_end()
        .parse()
        .map_err(Error::BadWitnessKey)
        .with_context(|| format!("key file {}", path.display()))?;
    Ok(key)
}

/// Validates the configuration, opens the store, then listens and serves
/// until SIGINT or SIGTERM.
///
/// # Errors
///
/// Any invalid setting, an unreachable store, an address it cannot bind.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let key_file = args.key_file.context("--key-file is required")?;
    let key = read_key(&key_file)?;
    let file = match &args.config {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let logs = config::parse_logs(&args.logs, file.as_deref())?;
    let store = Store::open(&args.database_url)
        .await
        .context("opening the database")?;
    let witness = Witness::new(key, logs, store.clone(), system_clock())?;
    tracing::info!(vkey = %witness.verifier_key(), "witness key");
    for (origin, keys) in witness.logs() {
        tracing::info!(origin, keys = keys.len(), "cosigning log");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!("listening on {}", listener.local_addr()?);
    axum::serve(listener, api::router(witness))
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")?;
    store.close().await;
    Ok(())
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
