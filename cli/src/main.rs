//! `sigtrail`: see `sigtrail --help`.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = sigtrail_cli::Cli::parse();
    let result = sigtrail_cli::run(cli).await;
    match &result {
        Err(e)
            if e.downcast_ref::<sigtrail_cli::VerificationFailed>()
                .is_some() =>
        {
            eprintln!("sigtrail: verification failed: {e}");
        }
        Err(e) => eprintln!("sigtrail: error: {e:#}"),
        Ok(()) => {}
    }
    ExitCode::from(sigtrail_cli::exit_code(&result))
}
