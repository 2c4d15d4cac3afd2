//! The `sigtrail` command line: sign artifacts, log their signing events,
//! verify bundles offline, audit a log, and monitor it for signings with your keys.
//!
//! Exit codes: 0 success, 1 a verification failed ([`VerificationFailed`]),
//! 2 the command could not run.

mod args;
mod audit;
mod files;
mod keys;
mod monitor;
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
        Command::Monitor(a) => monitor::monitor(&a).await,
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn every_command_has_help_with_an_example() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut count = 0;
        for sub in cli.get_subcommands() {
            let help = sub
                .get_after_help()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(help.starts_with("Example"), "{}: {help:?}", sub.get_name());
            assert!(sub.get_about().is_some(), "{}", sub.get_name());
            count += 1;
        }
        assert_eq!(count, 9);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code(&Ok(())), EXIT_OK);
        let failed: anyhow::Result<()> = Err(VerificationFailed("x".into()).into());
        assert_eq!(exit_code(&failed), EXIT_FAILED);
        assert_eq!(exit_code(&Err(anyhow::anyhow!("io"))), EXIT_ERROR);
    }

    #[test]
    fn checks_fail_verification_and_transport_errors_do_not() {
        use sigtrail_client::Error;
        let failed = |e: Error| classify(e).downcast_ref::<VerificationFailed>().is_some();
        assert!(failed(Error::QuorumNotMet {
            cosigned: 0,
            witnesses: 1
        }));
        assert!(failed(Error::Rollback { old: 2, new: 1 }));
        assert!(failed(Error::MissingEntry));
        assert!(!failed(Error::Overloaded { retry_after: 1 }));
        assert!(!failed(Error::Status {
            url: "u".into(),
            status: 404,
            message: String::new()
        }));
        assert!(!failed(Error::BadUrl("ftp://x".into())));
    }
}
