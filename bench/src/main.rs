//! `sigtrail-bench`: see `sigtrail-bench --help`.

use clap::Parser;
use sigtrail_bench::cli::{run, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sigtrail-bench: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
