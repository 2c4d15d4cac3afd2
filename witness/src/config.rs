//! Command line and environment configuration of `sigtrail-witness`, and
//! the logs it cosigns (`--log` and the TOML file).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use sigtrail_note::{Algorithm, VerifierKey};

use crate::witness::Logs;
use crate::Error;

/// sigtrail's witness: a C2SP tlog-witness that cosigns checkpoints of
/// transparency logs (any C2SP log, not only sigtrail) after checking that
/// each one is consistent with the last one it cosigned, and keeps the
/// evidence when a log shows two histories.
///
/// It serves POST /add-checkpoint (c2sp.org/tlog-witness), GET
/// /<sha256(origin) in hex>/checkpoint (the latest cosigned checkpoint of a
/// log), GET /forks (fork evidence, JSON) and GET /metrics (Prometheus).
///
/// Every flag can also be set with an environment variable
/// (SIGTRAIL_WITNESS_…).
#[derive(Debug, Parser)]
#[command(name = "sigtrail-witness", version, max_term_width = 100)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
#[command(after_help = "Examples:\n  \
    sigtrail-witness keygen --name witness.example.com/w1 --out witness.key\n  \
    sigtrail-witness --key-file witness.key \\\n      \
    --log \"log.example.com/sigtrail log.example.com/sigtrail+1a2b3c4d+AQ…\"\n  \
    sigtrail-witness --key-file /etc/sigtrail/witness.key --config /etc/sigtrail/witness.toml \\\n      \
    --database-url postgres://postgres@127.0.0.1/witness --listen 0.0.0.0:8081\n\n\
    The --config file lists logs, each with one or more keys:\n  \
    [[log]]\n  \
    origin = \"log.example.com/sigtrail\"\n  \
    vkeys = [\"log.example.com/sigtrail+1a2b3c4d+AQ…\"]")]
pub struct Cli {
    /// What to do; serving is the default.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// How to serve.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a witness key (cosignature/v1, Ed25519), write it with mode 0600
    /// and print its verifier key. Refuses to overwrite a file.
    Keygen(KeygenArgs),
}

/// Arguments of `sigtrail-witness keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The witness's name, a schema-less URL such as witness.example.com/w1.
    #[arg(long, env = "SIGTRAIL_WITNESS_NAME")]
    pub name: String,
    /// Where to write the private key.
    #[arg(long, env = "SIGTRAIL_WITNESS_KEY_FILE")]
    pub out: PathBuf,
}

/// Arguments for serving.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The witness's private key file, made by `sigtrail-witness keygen`.
    #[arg(long, env = "SIGTRAIL_WITNESS_KEY_FILE", required = true)]
    pub key_file: Option<PathBuf>,
    /// A log to cosign, `<origin> <vkey>` (repeatable; a second key for the
    /// same origin adds a trusted key). The environment variable holds one.
    #[arg(long = "log", env = "SIGTRAIL_WITNESS_LOG", value_name = "ORIGIN VKEY")]
    pub logs: Vec<String>,
    /// A TOML file listing logs to cosign, as `[[log]]` tables with `origin`
    /// and `vkeys`; adds to --log.
    #[arg(long, env = "SIGTRAIL_WITNESS_CONFIG")]
    pub config: Option<PathBuf>,
    /// The witness's store: sqlite://PATH or postgres://…
    #[arg(
        long,
        env = "SIGTRAIL_WITNESS_DATABASE_URL",
        default_value = "sqlite://sigtrail-witness.db"
    )]
    pub database_url: String,
    /// Address to listen on.
    #[arg(
        long,
        env = "SIGTRAIL_WITNESS_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    pub listen: SocketAddr,
}

/// The `--config` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    log: Vec<LogEntry>,
}

/// One `[[log]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogEntry {
    origin: String,
    vkeys: Vec<String>,
}

/// The logs named by `--log` values and the text of a `--config` file.
///
/// # Errors
///
/// [`Error::BadLogSpec`] for a value that is not `<origin> <vkey>` or an
/// empty origin, [`Error::ConfigFile`] for a file that is not valid TOML of
/// the expected shape (unknown keys included), [`Error::NoLogKey`],
/// [`Error::BadLogKey`], [`Error::NotALogKey`], [`Error::DuplicateLogKey`],
/// and [`Error::NoLogs`] when there is no log at all.
pub fn parse_logs(flags: &[String], file: Option<&str>) -> Result<Logs, Error> {
    let mut entries = Vec::new();
    for value in flags {
        let (origin, vkey) = value.rsplit_once(' ').ok_or_else(|| Error::BadLogSpec {
            value: value.clone(),
        })?;
        entries.push(LogEntry {
            origin: origin.to_owned(),
            vkeys: vec![vkey.to_owned()],
        });
    }
    if let Some(text) = file {
        let file: ConfigFile = toml::from_str(text).map_err(Error::ConfigFile)?;
        entries.extend(file.log);
    }
    let mut logs = Logs::new();
    for entry in entries {
        add_log(&mut logs, entry)?;
    }
    if logs.is_empty() {
        return Err(Error::NoLogs);
    }
    Ok(logs)
}

fn add_log(logs: &mut Logs, entry: LogEntry) -> Result<(), Error> {
    let LogEntry { origin, vkeys } = entry;
    if origin.is_empty() || origin.contains(['\n', '\r']) {
        return Err(Error::BadLogSpec { value: origin });
    }
    if vkeys.is_empty() {
        return Err(Error::NoLogKey { origin });
    }
    let keys = logs.entry(origin.clone()).or_default();
    for vkey in vkeys {
        let key: VerifierKey = match vkey.parse() {
            Ok(key) => key,
            Err(source) => {
                return Err(Error::BadLogKey {
                    origin,
                    vkey,
                    source,
                })
            }
        };
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(Error::NotALogKey { origin, vkey });
        }
        if keys.contains(&key) {
            return Err(Error::DuplicateLogKey { origin, vkey });
        }
        keys.push(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use sigtrail_note::SignerKey;

    fn vkey(name: &str, algorithm: Algorithm) -> String {
        SignerKey::from_seed(name, algorithm, &[7; 32])
            .unwrap()
            .verifier_key()
            .to_string()
    }

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn logs_from_flags_and_file_merge() {
        let a = vkey("a.example/log", Algorithm::Ed25519);
        let b = vkey("b.example/log", Algorithm::Ed25519);
        let a2 = SignerKey::from_seed("a.example/log", Algorithm::Ed25519, &[8; 32])
            .unwrap()
            .verifier_key()
            .to_string();
        let file = format!("[[log]]\norigin = \"b.example/log\"\nvkeys = [\"{b}\"]\n");
        let logs = parse_logs(
            &[format!("a.example/log {a}"), format!("a.example/log {a2}")],
            Some(&file),
        )
        .unwrap();
        assert_eq!(logs.len(), 2);
        assert_eq!(logs["a.example/log"].len(), 2);
        assert_eq!(logs["b.example/log"][0].to_string(), b);
    }

    #[test]
    fn bad_logs_are_rejected() {
        let good = vkey("a.example/log", Algorithm::Ed25519);
        let cosigner = vkey("w.example/w1", Algorithm::CosignatureV1);
        let flag = |value: String| parse_logs(&[value], None).unwrap_err();
        assert!(matches!(flag(good.clone()), Error::BadLogSpec { .. }));
        assert!(matches!(flag(format!(" {good}")), Error::BadLogSpec { .. }));
        assert!(matches!(
            flag("a.example/log nokey".into()),
            Error::BadLogKey { .. }
        ));
        assert!(matches!(
            flag(format!("w.example/w1 {cosigner}")),
            Error::NotALogKey { .. }
        ));
        let twice = [
            format!("a.example/log {good}"),
            format!("a.example/log {good}"),
        ];
        assert!(matches!(
            parse_logs(&twice, None),
            Err(Error::DuplicateLogKey { .. })
        ));
        assert!(matches!(parse_logs(&[], None), Err(Error::NoLogs)));
        assert!(matches!(parse_logs(&[], Some("")), Err(Error::NoLogs)));
    }

    #[test]
    fn config_file_rejects_unknown_keys_and_missing_keys() {
        let unknown = "[[log]]\norigin = \"a\"\nvkeys = []\nbastion = \"x\"\n";
        assert!(matches!(
            parse_logs(&[], Some(unknown)),
            Err(Error::ConfigFile(_))
        ));
        let top = "listen = \"127.0.0.1:1\"\n";
        assert!(matches!(
            parse_logs(&[], Some(top)),
            Err(Error::ConfigFile(_))
        ));
        let empty = "[[log]]\norigin = \"a\"\nvkeys = []\n";
        assert!(matches!(
            parse_logs(&[], Some(empty)),
            Err(Error::NoLogKey { .. })
        ));
    }
}
