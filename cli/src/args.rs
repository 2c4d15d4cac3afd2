//! The command line, as clap types: each field's doc comment is its help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// sigtrail: a transparency log for software signing events.
///
/// Sign artifacts, log the signing events, verify bundles offline with only
/// the log's and witnesses' keys, and audit a whole log.
#[derive(Debug, Parser)]
#[command(name = "sigtrail", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an Ed25519 signing key and print its verifier key.
    #[command(
        after_help = "Example:\n  sigtrail keygen --name release.example.com --out release.key"
    )]
    Keygen(KeygenArgs),
    /// Sign files offline, writing FILE.sigtrail-entry beside each.
    #[command(after_help = "Example:\n  sigtrail sign --key release.key dist/app-1.4.2.tar.gz")]
    Sign(SignArgs),
    /// Log signing events and write FILE.tlog-proof bundles.
    #[command(
        after_help = "Examples:\n  sigtrail submit --log http://127.0.0.1:8080 --key release.key dist/*.tar.gz\n  sigtrail submit --log http://127.0.0.1:8080 --entry dist/app.tar.gz.sigtrail-entry"
    )]
    Submit(SubmitArgs),
    /// Verify files against their bundles, offline.
    ///
    /// Checks, for each FILE: the bundle parses, the entry's signature, the
    /// artifact digest, the checkpoint's log signature and origin, the
    /// witness quorum, and the inclusion proof. Exit 0 when all verify, 1
    /// when any fails (with the failed check), 2 when it could not run.
    #[command(
        after_help = "Examples:\n  sigtrail verify --log-key 'localhost/sigtrail+1a036e1a+Afp2…' dist/app.tar.gz\n  sigtrail verify --policy trust.policy --bundle app.tlog-proof app.tar.gz"
    )]
    Verify(VerifyArgs),
    /// Fetch the log's checkpoint, verify it, and print it.
    #[command(
        after_help = "Example:\n  sigtrail checkpoint --log http://127.0.0.1:8080 --log-key log.vkey"
    )]
    Checkpoint(CheckpointArgs),
    /// Re-verify the whole log from its tiles, resuming from a state file.
    ///
    /// Checks every entry's signature, every level 0 tile against the
    /// entries, the root recomputed from the leaves, and consistency with
    /// the checkpoint of the previous audit saved in the state file.
    #[command(
        after_help = "Example:\n  sigtrail audit --log http://127.0.0.1:8080 --log-key log.vkey --state audit.json"
    )]
    Audit(AuditArgs),
    /// Follow a log and alert on signings with your keys that you did not expect.
    ///
    /// Verifies every checkpoint (log signature, witness policy, consistency
    /// with the last one seen) and every entry. Alerts are JSON lines on
    /// stdout, kinds: unexpected, impersonation, invalid-entry, fork. A fork
    /// writes evidence and stops for good. With --once: exit 0 when nothing
    /// alerted, 1 when something did, 2 when it could not run.
    #[command(
        after_help = "Example:\n  sigtrail monitor --log http://127.0.0.1:8080 --log-key log.vkey --watch release.vkey --expect SHA256SUMS --state monitor.json --once"
    )]
    Monitor(MonitorArgs),
    /// Print the entry at an index.
    #[command(after_help = "Example:\n  sigtrail get --log http://127.0.0.1:8080 42")]
    Get(GetArgs),
    /// Find entries by signer key, subject digest or name.
    #[command(
        after_help = "Example:\n  sigtrail search --log http://127.0.0.1:8080 --name pkg:cargo/example@1.4.2"
    )]
    Search(SearchArgs),
}

/// Arguments of `keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Key name, usually a domain you control (it appears in signatures).
    #[arg(long)]
    pub name: String,
    /// Where to write the private key (created with mode 0600; never overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Private key file written by `sigtrail keygen`.
    #[arg(long)]
    pub key: PathBuf,
    /// Artifact name to record (default: the file name); only with one FILE.
    #[arg(long)]
    pub name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Files to sign.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Arguments of `submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Private key file: sign FILEs now, then submit.
    #[arg(long, conflicts_with = "entry", required_unless_present = "entry")]
    pub key: Option<PathBuf>,
    /// Artifact name to record (default: the file name); only with one FILE.
    #[arg(long, requires = "key")]
    pub name: Option<String>,
    /// Entry files written by `sigtrail sign`, submitted as they are.
    #[arg(long, num_args = 1.., conflicts_with = "files")]
    pub entry: Vec<PathBuf>,
    /// Submissions in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Files to sign and submit.
    pub files: Vec<PathBuf>,
}

/// The keys a verifier trusts: one log key and a k of n witness quorum, or
/// a C2SP tlog-policy file.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The log's verifier key, or a file holding it.
    #[arg(long, required_unless_present = "policy")]
    pub log_key: Option<String>,
    /// A witness's cosignature/v1 verifier key, or a file holding it (repeatable).
    #[arg(long, conflicts_with = "policy")]
    pub witness: Vec<String>,
    /// Cosignatures needed from the witnesses (default: all of them).
    #[arg(long, conflicts_with = "policy")]
    pub quorum: Option<usize>,
    /// A C2SP tlog-policy file instead of --log-key, --witness and --quorum.
    #[arg(long, conflicts_with = "log_key")]
    pub policy: Option<PathBuf>,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Trusted keys.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// The bundle to check (default: FILE.tlog-proof); only with one FILE.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Also check online that the bundle's checkpoint is consistent with
    /// the log's current one.
    #[arg(long)]
    pub log: Option<String>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
    /// Files to verify.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Arguments of `checkpoint`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Trusted keys.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Trusted keys.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// State file: the last audited checkpoint and progress (created if missing).
    #[arg(long)]
    pub state: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `monitor`.
#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Trusted keys.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// A verifier key to watch, or a file holding it (repeatable).
    #[arg(long, required_unless_present = "watch_file")]
    pub watch: Vec<String>,
    /// A file of verifier keys to watch, one per line (`#` comments).
    #[arg(long)]
    pub watch_file: Option<PathBuf>,
    /// The artifacts meant to be signed, in `sha256sum` output format.
    #[arg(long)]
    pub expect: Option<PathBuf>,
    /// An allowed artifact name glob, `*` and `?` (repeatable).
    #[arg(long)]
    pub allow_name: Vec<String>,
    /// An allowed signing window, START/END as YYYY-MM-DDTHH:MM:SSZ (repeatable).
    #[arg(long)]
    pub allow_window: Vec<String>,
    /// State file: position, last checkpoint, expected signings seen (created if missing).
    #[arg(long)]
    pub state: PathBuf,
    /// Catch up once and exit instead of polling.
    #[arg(long)]
    pub once: bool,
    /// Pause between polls: a number with ms, s, m or h.
    #[arg(long, default_value = "5s", value_parser = parse_interval)]
    pub interval: std::time::Duration,
    /// POST each alert as JSON to this URL (retried with backoff).
    #[arg(long)]
    pub webhook: Option<String>,
    /// Run this shell command for each alert, the alert JSON on its stdin.
    #[arg(long)]
    pub exec: Option<String>,
    /// Where fork evidence files are written.
    #[arg(long, default_value = ".")]
    pub evidence_dir: PathBuf,
}

/// Parses `500ms`, `5s`, `2m`, `1h`.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: want a number then ms, s, m or h"))?;
    let millis = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    match number.checked_mul(millis) {
        Some(ms) if ms > 0 => Ok(std::time::Duration::from_millis(ms)),
        _ => Err(format!("{text:?}: out of range")),
    }
}

/// Arguments of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Leaf index.
    pub index: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `search`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("criteria").required(true).multiple(true))]
pub struct SearchArgs {
    /// Base URL of the log.
    #[arg(long, env = "SIGTRAIL_LOG_URL")]
    pub log: String,
    /// Signer's verifier key.
    #[arg(long, group = "criteria")]
    pub key: Option<String>,
    /// Artifact digest, sha256:<hex>.
    #[arg(long, group = "criteria")]
    pub subject: Option<String>,
    /// Exact artifact name.
    #[arg(long, group = "criteria")]
    pub name: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_interval;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "5", "s", "0s", "5d", "-1s", "99999999999999999999h"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
