//! Handler tests (tower `oneshot`): every status code of
//! `c2sp.org/tlog-witness` add-checkpoint, the monitoring path, fork
//! evidence and metrics.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{body, sqlite_store, witness, witness_key, TestLog, NOW};
use sigtrail_merkle::{empty_root, Hash, TreeHead};
use sigtrail_note::signed_note::parse_signature_lines;
use sigtrail_note::witness_request::MAX_ADD_CHECKPOINT_SIZE;
use sigtrail_note::{cosignature, Note};
use sigtrail_witness::{api::router, origin_hash};
use tower::ServiceExt as _;

/// The logs of the tests: `a` (16 leaves), `twin`, which shares only the
/// first 6 leaves of `a` and is signed by the same key, and `b`, another
/// log the witness also cosigns.
struct Logs {
    a: TestLog,
    twin: TestLog,
    b: TestLog,
}

fn logs() -> Logs {
    let mut a = TestLog::new("a.example/log", 6);
    let mut twin = a.clone();
    a.grow(10, "leaf");
    twin.grow(10, "twin");
    Logs {
        a,
        twin,
        b: TestLog::new("b.example/log", 8),
    }
}

/// A router over a fresh witness that has cosigned `a` at size 8.
async fn app(logs: &Logs, dir: &tempfile::TempDir) -> Router {
    let app = router(witness(&[&logs.a, &logs.b], sqlite_store(dir).await));
    let (status, _, _) = post(&app, logs.a.request(0, 8)).await;
    assert_eq!(status, StatusCode::OK);
    app
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, String, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

async fn post(app: &Router, body: Vec<u8>) -> (StatusCode, String, String) {
    let request = Request::post("/add-checkpoint")
        .body(Body::from(body))
        .unwrap();
    send(app, request).await
}

async fn get(app: &Router, path: &str) -> (StatusCode, String, String) {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

/// A checkpoint of `log` at `size` whose signature line is the log's
/// signature of another root: right key name and ID, bad signature.
fn bad_signature(log: &TestLog, size: u64) -> Vec<u8> {
    let good = log.checkpoint(size);
    let other = log.sign_head(TreeHead {
        size,
        root: Hash([9; 32]),
    });
    let text_end = good.find("\n\n").unwrap() + 2;
    let sig_start = other.find("\n\n").unwrap() + 2;
    let forged = format!("{}{}", &good[..text_end], &other[sig_start..]);
    body(8, log.proof(8, size), &forged)
}

#[tokio::test]
async fn add_checkpoint_status_codes() {
    let logs = logs();
    let Logs { a, twin, b } = &logs;
    let stranger = TestLog::new("unknown.example/log", 8);
    let mut impostor = a.clone();
    impostor.key = sigtrail_note::SignerKey::from_seed(
        a.origin(),
        sigtrail_note::Algorithm::Ed25519,
        &[3; 32],
    )
    .unwrap();
    let mut tampered = a.proof(8, 12);
    tampered[0].0[0] ^= 1;
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("growth", a.request(8, 12), StatusCode::OK),
        ("same checkpoint again", a.request(8, 8), StatusCode::OK),
        (
            "first checkpoint of another log",
            b.request(0, 8),
            StatusCode::OK,
        ),
        ("empty tree of another log", b.request(0, 0), StatusCode::OK),
        (
            "malformed body",
            b"old 8\n".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "body over the size limit",
            vec![b'a'; MAX_ADD_CHECKPOINT_SIZE + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "old size with a leading zero",
            body_with_old("08", a, 12),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unsigned text",
            body(8, vec![], "a.example/log\n12\nAAAA\n"),
            StatusCode::BAD_REQUEST,
        ),
        ("unknown log", stranger.request(0, 8), StatusCode::NOT_FOUND),
        (
            "signed by another key",
            impostor.request(8, 12),
            StatusCode::FORBIDDEN,
        ),
        (
            "bad signature from the log's key",
            bad_signature(a, 12),
            StatusCode::FORBIDDEN,
        ),
        (
            "old size beyond the checkpoint",
            body(13, vec![], &a.checkpoint(12)),
            StatusCode::BAD_REQUEST,
        ),
        ("stale old size", a.request(4, 12), StatusCode::CONFLICT),
        (
            "old size ahead of the witness",
            a.request(10, 12),
            StatusCode::CONFLICT,
        ),
        (
            "old size 0 for a cosigned log",
            a.request(0, 12),
            StatusCode::CONFLICT,
        ),
        (
            "tampered proof",
            body(8, tampered, &a.checkpoint(12)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "missing proof",
            body(8, vec![], &a.checkpoint(12)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "proof on the same size",
            body(8, a.proof(4, 8), &a.checkpoint(8)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "proof from a forked tree",
            body(8, twin.proof(8, 12), &twin.checkpoint(12)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "same size, other root",
            twin.request(8, 8),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "proof from the empty tree",
            body(0, a.proof(4, 8), &b.checkpoint(8)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "empty tree with another root",
            body(
                0,
                vec![],
                &b.sign_head(TreeHead {
                    size: 0,
                    root: Hash([1; 32]),
                }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (name, request, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let app = app(&logs, &dir).await;
        let (status, content_type, text) = post(&app, request).await;
        assert_eq!(status, want, "{name}: {text}");
        match status {
            StatusCode::CONFLICT => {
                assert_eq!(content_type, "text/x.tlog.size", "{name}");
                assert_eq!(text, "8\n", "{name}");
            }
            StatusCode::OK => assert!(text.starts_with("— witness.example/w1 "), "{name}"),
            _ => assert!(!text.is_empty(), "{name}"),
        }
    }
    assert_eq!(b.head(0).root, empty_root());
}

fn body_with_old(old: &str, log: &TestLog, size: u64) -> Vec<u8> {
    let mut text = body(8, log.proof(8, size), &log.checkpoint(size));
    text.splice(4..5, old.bytes());
    text
}

#[tokio::test]
async fn cosignature_verifies_with_the_injected_time() {
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&logs, &dir).await;
    let (status, content_type, text) = post(&app, logs.a.request(8, 16)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"));
    let signatures = parse_signature_lines(text.as_bytes()).unwrap();
    assert_eq!(signatures.len(), 1);
    let checkpoint = logs.a.checkpoint(16);
    let note = Note::parse(checkpoint.as_bytes()).unwrap();
    let key = witness_key().verifier_key().clone();
    assert_eq!(
        cosignature::verify(note.text(), &key, &signatures[0]),
        Ok(NOW)
    );
    // A cosignature of another checkpoint does not verify.
    let other = Note::parse(logs.a.checkpoint(12).as_bytes()).unwrap();
    assert!(cosignature::verify(other.text(), &key, &signatures[0]).is_err());
}

#[tokio::test]
async fn monitors_get_the_latest_cosigned_checkpoint() {
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&logs, &dir).await;
    let b_path = format!("/{}/checkpoint", origin_hash(logs.b.origin()));
    assert_eq!(get(&app, &b_path).await.0, StatusCode::NOT_FOUND);
    let unknown = format!("/{}/checkpoint", origin_hash("unknown.example/log"));
    assert_eq!(get(&app, &unknown).await.0, StatusCode::NOT_FOUND);

    // The log's request carries a signature from a key the witness does
    // not know: it is ignored, and not served.
    let stranger = sigtrail_note::SignerKey::from_seed(
        "stranger.example",
        sigtrail_note::Algorithm::Ed25519,
        &[4; 32],
    )
    .unwrap();
    let mut signed = Note::parse(logs.a.checkpoint(13).as_bytes()).unwrap();
    let extra = Note::sign(signed.text(), &[&stranger]).unwrap();
    signed.add_signature(extra.signatures()[0].clone()).unwrap();
    let request = body(8, logs.a.proof(8, 13), &signed.to_text());
    assert_eq!(post(&app, request).await.0, StatusCode::OK);
    let a_path = format!("/{}/checkpoint", origin_hash(logs.a.origin()));
    let (status, _, text) = get(&app, &a_path).await;
    assert_eq!(status, StatusCode::OK);
    let note = Note::parse(text.as_bytes()).unwrap();
    assert_eq!(
        note.text(),
        Note::parse(logs.a.checkpoint(13).as_bytes())
            .unwrap()
            .text()
    );
    let keys = [logs.a.vkey(), witness_key().verifier_key().clone()];
    assert_eq!(note.verify(&keys).unwrap().len(), 2);
    assert_eq!(note.signatures().len(), 2);
    // A rejected checkpoint changes nothing.
    assert_eq!(
        post(&app, logs.twin.request(13, 13)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(get(&app, &a_path).await.2, text);
}

#[tokio::test]
async fn forks_are_kept_exposed_and_still_refused() {
    let logs = logs();
    let Logs { a, twin, .. } = &logs;
    let dir = tempfile::tempdir().unwrap();
    let app = app(&logs, &dir).await;
    let (_, _, forks) = get(&app, "/forks").await;
    assert_eq!(forks, "[]");

    // A stale request that shows another root at the cosigned size is
    // refused with 409, and is evidence all the same.
    assert_eq!(post(&app, twin.request(3, 8)).await.0, StatusCode::CONFLICT);
    let (_, _, forks) = get(&app, "/forks").await;
    assert!(forks.contains("same-size-different-root"), "{forks}");
    assert_eq!(
        post(&app, twin.request(8, 8)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad_proof = body(8, twin.proof(8, 12), &twin.checkpoint(12));
    assert_eq!(
        post(&app, bad_proof.clone()).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Repeats for the same head add no record.
    assert_eq!(
        post(&app, twin.request(8, 8)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A proof of the wrong length proves nothing: no record.
    let missing = body(8, vec![], &a.checkpoint(12));
    assert_eq!(
        post(&app, missing).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (status, content_type, text) = get(&app, "/forks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let forks: serde_json::Value = serde_json::from_str(&text).unwrap();
    let forks = forks.as_array().unwrap();
    assert_eq!(forks.len(), 2, "{text}");
    assert_eq!(forks[0]["kind"], "same-size-different-root");
    assert_eq!(forks[0]["origin"], "a.example/log");
    assert_eq!(forks[0]["observed_at"], NOW);
    assert_eq!(forks[0]["old_size"], 3);
    assert_eq!(forks[0]["conflicting"], twin.checkpoint(8));
    assert_eq!(forks[0]["conflicting_head"]["size"], 8);
    assert_eq!(
        forks[0]["conflicting_head"]["root"],
        twin.head(8).root.to_string()
    );
    let stale_proof: Vec<String> = twin.proof(3, 8).iter().map(Hash::to_string).collect();
    assert_eq!(forks[0]["proof"], serde_json::json!(stale_proof));
    let cosigned = Note::parse(forks[0]["cosigned"].as_str().unwrap().as_bytes()).unwrap();
    let keys = [a.vkey(), witness_key().verifier_key().clone()];
    assert_eq!(cosigned.verify(&keys).unwrap().len(), 2);
    assert!(cosigned.text().contains(&a.head(8).root.to_string()));
    assert_eq!(forks[1]["kind"], "failed-consistency-proof");
    let proof: Vec<String> = twin.proof(8, 12).iter().map(Hash::to_string).collect();
    assert_eq!(forks[1]["proof"], serde_json::json!(proof));

    let (status, _, metrics) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("sigtrail_witness_fork_evidence{origin=\"a.example/log\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sigtrail_witness_tree_size{origin=\"a.example/log\"} 8"),
        "{metrics}"
    );
    assert!(
        metrics.contains("sigtrail_witness_add_checkpoint_requests_total{status=\"422\"} 4"),
        "{metrics}"
    );

    // The real history goes on; the twin stays refused.
    assert_eq!(post(&app, a.request(8, 12)).await.0, StatusCode::OK);
    assert_eq!(
        post(&app, twin.request(12, 14)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post(&app, twin.request(12, 12)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
