//! The docker-compose topology (PostgreSQL, the log, three witnesses, an
//! auditor) started as plain processes: the same `deploy/*.sh` scripts with
//! the same `deploy/sigtrail.env` settings, the binaries on `PATH`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

/// A script's process, killed when dropped (the scripts `exec` their binary).
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// `deploy/sigtrail.env`, the settings docker-compose.yml also reads.
fn settings() -> HashMap<String, String> {
    std::fs::read_to_string(deploy_dir().join("sigtrail.env"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("KEY=VALUE");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn script(name: &str, env: &[(&str, String)], settings: &HashMap<String, String>) -> Process {
    let bin_dir = Path::new(BIN).parent().unwrap().to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let child = Command::new(deploy_dir().join(name))
        .envs(settings)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PATH", path)
        .env("SIGTRAIL_LOG", "warn")
        .env("SIGTRAIL_WITNESS_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start deploy/{name}: {e}"));
    Process(child)
}

#[tokio::test]
async fn the_compose_topology_runs_as_plain_processes() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let settings = settings();
    let quorum: usize = settings["SIGTRAIL_QUORUM"].parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let (keys_env, data_env) = (keys.display().to_string(), data.display().to_string());

    // The three witnesses and the log, as docker-compose.yml starts them.
    let names = ["w1", "w2", "w3"];
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let witnesses = names
        .iter()
        .zip(&ports)
        .map(|(name, port)| format!("{name}=http://127.0.0.1:{port}"))
        .collect::<Vec<_>>()
        .join(" ");
    let _witnesses: Vec<Process> = names
        .iter()
        .zip(&ports)
        .map(|(name, port)| {
            let env = [
                ("NAME", name.to_string()),
                ("KEYS", keys_env.clone()),
                ("DATA", data_env.clone()),
                ("LISTEN", format!("127.0.0.1:{port}")),
            ];
            script("witness.sh", &env, &settings)
        })
        .collect();
    let log_port = free_port();
    let _log = script(
        "log.sh",
        &[
            ("SIGTRAIL_DATABASE_URL", database.url().to_owned()),
            ("KEYS", keys_env.clone()),
            ("WITNESSES", witnesses.clone()),
            ("LISTEN", format!("127.0.0.1:{log_port}")),
        ],
        &settings,
    );
    let log = Server::attach(None, format!("http://127.0.0.1:{log_port}")).await;
    let log_key: VerifierKey = std::fs::read_to_string(keys.join("log.vkey"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(log_key.name(), settings["SIGTRAIL_ORIGIN"]);
    let witness_keys: Vec<VerifierKey> = names
        .iter()
        .map(|name| {
            std::fs::read_to_string(keys.join(format!("{name}.vkey")))
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        })
        .collect();

    // Entries get bundles cosigned by the quorum.
    let acks = load_all(&log, &signer("release.example.com", 13), 0, 4, 5, &log_key).await;
    assert_eq!(acks.entries.len(), 20);
    let checkpoint = log.get("/checkpoint").await;
    let note = sigtrail_note::Note::parse(&checkpoint).unwrap();
    let cosigned = witness_keys
        .iter()
        .filter(|key| {
            note.signatures()
                .iter()
                .any(|s| sigtrail_note::cosignature::verify(note.text(), key, s).is_ok())
        })
        .count();
    assert!(
        cosigned >= quorum,
        "{cosigned} cosignatures, quorum {quorum}"
    );

    // The auditor verifies the log and records where it got to.
    let _auditor = script(
        "auditor.sh",
        &[
            ("LOG_URL", log.url.clone()),
            ("KEYS", keys_env),
            ("WITNESSES", witnesses),
            ("DATA", data_env),
            ("INTERVAL", "1".to_owned()),
        ],
        &settings,
    );
    let state = data.join("audit.state");
    for _ in 0..600 {
        if state.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the auditor wrote no state in 60 s");
}
