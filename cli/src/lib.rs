//! The `sigtrail` command line: sign artifacts, log their signing events,
//! verify bundles offline, and audit a log.
//!
//! Exit codes: 0 success, 1 a verification failed ([`VerificationFailed`]),
//! 2 the command could not run.

mod args;
mod audit;
mod files;
mod keys;
mod query;
mod sign;
mod submit;
mod trust;
mod verify;

use std::fmt;

pub use args::{Cli, Command};

/// Exit code when every check passed.
pub const EXIT_OK: u8 = 0;
/// Exit code when a verification failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the command could not run.
pub const EXIT_ERROR: u8 = 2;

/// A verification failed; the reason was printed or is the message.
#[derive(Debug)]
pub struct VerificationFailed(pub String);

impl fmt::Display for VerificationFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VerificationFailed {}

/// Runs a parsed command line.
///
/// # Errors
///
/// [`VerificationFailed`] when a check failed; any other error when the
/// command could not run.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen(a) => keys::keygen(&a),
        Command::Sign(a) => sign::sign(&a),
        Command::Submit(a) => submit::submit(&a).await,
        Command::Verify(a) => verify::verify(&a).await,
        Command::Checkpoint(a) => query::checkpoint(&a).await,
        Command::Audit(a) => audit::audit(&a).await,
        Command::Get(a) => query::get(&a).await,
        Command::Search(a) => query::search(&a).await,
    }
}

/// The exit code for the outcome of [`run`].
pub fn exit_code(result: &anyhow::Result<()>) -> u8 {
    match result {
        Ok(()) => EXIT_OK,
        Err(e) if e.downcast_ref::<VerificationFailed>().is_some() => EXIT_FAILED,
        Err(_) => EXIT_ERROR,
    }
}

/// Turns a client error into [`VerificationFailed`] when it is the outcome
/// of a check (evidence, or input that does not verify), and leaves network,
/// server and file errors as they are.
fn classify(error: sigtrail_client::Error) -> anyhow::Error {
    use sigtrail_client::{Error, ErrorKind};
    match (&error, error.kind()) {
        (_, ErrorKind::Transient)
        | (Error::Status { .. } | Error::Json { .. } | Error::Response { .. }, _)
        | (Error::BadUrl(_) | Error::StateFile(_) | Error::SaveState(_), _) => {
            anyhow::Error::new(error)
        }
        _ => anyhow::Error::new(VerificationFailed(error.to_string())),
    }
}
