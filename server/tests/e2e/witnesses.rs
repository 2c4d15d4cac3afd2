//! Witnesses: real `sigtrail-witness` processes cosign the log.

use super::*;

/// A witness process, killed when dropped.
struct WitnessProcess {
    child: Child,
    url: String,
    vkey: VerifierKey,
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WitnessProcess {
    fn flag(&self) -> String {
        format!("{} {}", self.vkey, self.url)
    }
}

/// The witness binary, built beside the server by `cargo test --workspace`.
fn witness_binary() -> std::path::PathBuf {
    let path = Path::new(BIN).with_file_name("sigtrail-witness");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, which builds it",
        path.display()
    );
    path
}

async fn start_witness(dir: &Path, name: &str, log_key: &VerifierKey) -> WitnessProcess {
    let key_file = dir.join(format!("{name}.key"));
    let keygen = Command::new(witness_binary())
        .args(["keygen", "--name", &format!("{name}.example"), "--out"])
        .arg(&key_file)
        .output()
        .unwrap();
    assert!(
        keygen.status.success(),
        "{}",
        String::from_utf8_lossy(&keygen.stderr)
    );
    let vkey: VerifierKey = String::from_utf8(keygen.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let port = free_port();
    let child = Command::new(witness_binary())
        .arg("--key-file")
        .arg(&key_file)
        .args(["--log", &format!("{} {log_key}", log_key.name())])
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("SIGTRAIL_WITNESS_LOG_LEVEL", "warn")
        .spawn()
        .unwrap();
    let witness = WitnessProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
        vkey,
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("{}/metrics", witness.url)).send().await {
            if response.status().is_success() {
                return witness;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sigtrail-witness {name} did not start");
}

/// How many of `witnesses` validly cosigned this signed checkpoint.
fn cosignatures(checkpoint: &[u8], witnesses: &[&WitnessProcess]) -> usize {
    let note = sigtrail_note::Note::parse(checkpoint).unwrap();
    witnesses
        .iter()
        .filter(|w| {
            note.signatures()
                .iter()
                .any(|s| sigtrail_note::cosignature::verify(note.text(), &w.vkey, s).is_ok())
        })
        .count()
}

fn server_args_with_witnesses(
    base: &[String],
    witnesses: &[&WitnessProcess],
    quorum: usize,
) -> Vec<String> {
    let mut args = base.to_vec();
    for witness in witnesses {
        args.extend(["--witness".to_owned(), witness.flag()]);
    }
    args.extend(["--quorum".to_owned(), quorum.to_string()]);
    args
}

/// Three witnesses, quorum 2: every bundle carries at least two valid
/// cosignatures, and the log says who its witnesses are.
#[tokio::test]
async fn bundles_carry_a_quorum_of_witness_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    drop(start(dir.path(), NO_ARGS).await);
    let log_key = read_vkey(dir.path());
    let w1 = start_witness(dir.path(), "w1", &log_key).await;
    let w2 = start_witness(dir.path(), "w2", &log_key).await;
    let w3 = start_witness(dir.path(), "w3", &log_key).await;
    let all = [&w1, &w2, &w3];
    let args = server_args_with_witnesses(&[], &all, 2);
    let server = start(dir.path(), &args).await;
    let info = server.get_json("/api/v1/log").await;
    assert_eq!(info["quorum"], 2);
    assert_eq!(info["witnesses"].as_array().unwrap().len(), 3);

    let acks = load_all(
        &server,
        &signer("release.example.com", 9),
        0,
        4,
        10,
        &log_key,
    )
    .await;
    assert_eq!(acks.entries.len(), 40);
    let bundle = server
        .submit(&entry(&signer("release.example.com", 9), 7_777))
        .await
        .unwrap()
        .1;
    let proof = TlogProof::parse(bundle["proof"].as_str().unwrap().as_bytes()).unwrap();
    assert!(
        cosignatures(&proof.checkpoint, &all) >= 2,
        "a bundle's checkpoint has a quorum of cosignatures"
    );
    assert!(
        cosignatures(&server.get("/checkpoint").await, &all) >= 2,
        "the served checkpoint too"
    );
    server.audit(&log_key, &acks.heads).await;
}

/// Two different heads of one size, shown to different witnesses, can
/// never both reach a quorum of 2 of 3: the witness in both quorums refuses
/// the second head with 422.
#[tokio::test]
async fn a_split_view_never_reaches_two_quorums() {
    let dir = tempfile::tempdir().unwrap();
    let log = signer("split.example/log", 11);
    let log_key = log.verifier_key().clone();
    let (w1, w2, w3) = (
        start_witness(dir.path(), "w1", &log_key).await,
        start_witness(dir.path(), "w2", &log_key).await,
        start_witness(dir.path(), "w3", &log_key).await,
    );
    let head = |seed: u8| {
        let leaves: Vec<Hash> = (0..5u8)
            .map(|i| sigtrail_merkle::leaf_hash(&[seed, i]))
            .collect();
        let body = sigtrail_note::Checkpoint {
            origin: log_key.name().to_owned(),
            head: TreeHead {
                size: 5,
                root: sigtrail_merkle::root_of(&leaves),
            },
            extensions: Vec::new(),
        };
        sigtrail_note::Note::sign(&body.to_text(), &[&log])
            .unwrap()
            .to_text()
            .into_bytes()
    };
    let client = reqwest::Client::new();
    let add = |witness: &WitnessProcess, checkpoint: Vec<u8>, old: u64| {
        let request = sigtrail_note::AddCheckpoint {
            old_size: old,
            proof: Vec::new(),
            checkpoint,
        };
        client
            .post(format!("{}/add-checkpoint", witness.url))
            .body(request.to_text())
            .send()
    };
    let (a, b) = (head(1), head(2));
    for witness in [&w1, &w2] {
        assert_eq!(add(witness, a.clone(), 0).await.unwrap().status(), 200);
    }
    assert_eq!(add(&w3, b.clone(), 0).await.unwrap().status(), 200);
    // w2 holds head A at size 5: head B at size 5 is a different root.
    assert_eq!(add(&w2, b.clone(), 0).await.unwrap().status(), 409);
    assert_eq!(add(&w2, b.clone(), 5).await.unwrap().status(), 422);
    assert_eq!(add(&w3, a.clone(), 5).await.unwrap().status(), 422);
    let forks: Value = client
        .get(format!("{}/forks", w2.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        forks.as_array().is_some_and(|f| !f.is_empty()),
        "w2 keeps the evidence: {forks}"
    );
}

/// A log restored from a backup and then grown differently is a fork: the
/// witnesses refuse its new heads (422) and keep the evidence, no
/// checkpoint of the forked history reaches the quorum, and submitters are
/// told their entries are not witnessed.
#[tokio::test]
async fn witnesses_catch_a_log_rolled_back_from_a_snapshot() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (base, log_key) = postgres_log(dir.path(), &database).await;
    let w1 = start_witness(dir.path(), "w1", &log_key).await;
    let w2 = start_witness(dir.path(), "w2", &log_key).await;
    let w3 = start_witness(dir.path(), "w3", &log_key).await;
    let all = [&w1, &w2, &w3];
    let with_witnesses = |url: &str| {
        let mut args = base.clone();
        args[1] = url.to_owned();
        server_args_with_witnesses(&args, &all, 2)
    };
    let signer = signer("release.example.com", 12);

    // 1. Twenty cosigned entries, then a snapshot of the database.
    let args = with_witnesses(database.url());
    let server = start(dir.path(), &args).await;
    let first = load_all(&server, &signer, 0, 4, 5, &log_key).await;
    server.stop();
    let snapshot = database.snapshot().await;

    // 2. Twenty more, cosigned at size 40.
    let server = start(dir.path(), &args).await;
    let second = load_all(&server, &signer, 1_000, 4, 5, &log_key).await;
    let witnessed = server.head(&log_key).await;
    assert_eq!(witnessed.size, 40);
    assert!(cosignatures(&server.get("/checkpoint").await, &all) >= 2);
    server.stop();
    assert_eq!(first.entries.len() + second.entries.len(), 40);

    // 3. The snapshot served again, grown past 40 with other entries.
    let forked_args = with_witnesses(snapshot.url());
    let forked = start(dir.path(), &forked_args).await;
    let mut refused = 0;
    for n in 0..30 {
        let (status, body) = forked.submit(&entry(&signer, 2_000 + n)).await.unwrap();
        assert!(status == 503 || status == 201, "{status}: {body}");
        if status == 503 {
            assert!(
                body["error"].as_str().unwrap().contains("witnesses"),
                "{body}"
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "the forked log's entries are not witnessed");
    let fork_head = forked.head(&log_key).await;
    assert!(fork_head.size > witnessed.size);
    assert!(
        cosignatures(&forked.get("/checkpoint").await, &all) < 2,
        "no forked checkpoint reaches quorum"
    );
    for witness in all {
        let forks: Value = reqwest::get(format!("{}/forks", witness.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            forks.as_array().is_some_and(|f| !f.is_empty()),
            "{} keeps fork evidence: {forks}",
            witness.url
        );
    }
}
