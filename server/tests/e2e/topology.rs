//! The docker-compose topology (PostgreSQL, the log, three witnesses, a
//! monitor) started as plain processes: the same `deploy/*.sh` scripts with
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
        .stdout(Stdio::piped())
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

    // The monitor, watching the release key with nothing expected, alerts
    // on every one of its signings.
    let release = signer("release.example.com", 13);
    let watch_file = dir.path().join("watch.vkeys");
    std::fs::write(
        &watch_file,
        format!("# release key\n{}\n", release.verifier_key()),
    )
    .unwrap();
    let mut monitor = script(
        "monitor.sh",
        &[
            ("LOG_URL", log.url.clone()),
            ("KEYS", keys_env),
            ("WITNESSES", witnesses),
            ("WATCH_FILE", watch_file.display().to_string()),
            ("DATA", data_env),
            ("INTERVAL", "200ms".to_owned()),
        ],
        &settings,
    );
    let stdout = monitor.0.stdout.take().unwrap();
    let (lines, alerts) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut unexpected = std::collections::BTreeSet::new();
    while unexpected.len() < acks.entries.len() {
        let line = alerts
            .recv_timeout(Duration::from_secs(60))
            .expect("the monitor alerts on every unexpected signing");
        let alert: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(alert["kind"], "unexpected", "{alert}");
        assert_eq!(alert["key"], release.verifier_key().to_string(), "{alert}");
        unexpected.insert(alert["index"].as_u64().unwrap());
    }
    assert_eq!(unexpected.len(), 20);
}
