//! Handler tests: the real router over a memory store, driven with `oneshot`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use sigtrail_merkle::{verify_consistency, Hash, TilePath, TreeHead};
use sigtrail_note::{SignedEntry, VerifierKey};
use tower::ServiceExt as _;

use super::{ApiError, Limits};
use crate::identity::LogIdentity;
use crate::sequencer::{SequencerConfig, SubmitError};
use crate::store::MemoryStore;
use crate::testing::{assert_log_consistent, entry, signer, verify_bundle, verify_checkpoint};
use crate::witnesses::Witnesses;
use crate::{init_log, Log};

const MAX_BODY: usize = 8192;

struct TestApp {
    router: Router,
    store: Arc<MemoryStore>,
    log_key: VerifierKey,
}

impl TestApp {
    async fn new() -> TestApp {
        let store = Arc::new(MemoryStore::new());
        let identity = LogIdentity::new(signer("test.example/log", 1)).unwrap();
        let log_key = identity.vkey().clone();
        init_log(store.as_ref(), &identity).await.unwrap();
        let log = Log {
            store: store.clone(),
            identity: Arc::new(identity),
            sequencer: SequencerConfig {
                pool_size: 1024,
                max_batch: 256,
                batch_interval: Duration::from_millis(1),
                cache_tiles: 64,
            },
            witnesses: Arc::new(Witnesses::new(Vec::new(), 0, Duration::from_secs(1))),
            limits: Limits {
                max_body_bytes: MAX_BODY,
                request_timeout: Duration::from_secs(10),
            },
        };
        let (router, _sequencer) = log.start().await.unwrap();
        TestApp {
            router,
            store,
            log_key,
        }
    }

    async fn request(
        &self,
        method: Method,
        uri: &str,
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        self.request(Method::GET, uri, Vec::new()).await
    }

    async fn get_json(&self, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.get(uri).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn submit_body(&self, body: Vec<u8>) -> (StatusCode, Value) {
        let (status, _, body) = self.request(Method::POST, "/api/v1/entries", body).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn submit(&self, entry: &SignedEntry) -> (StatusCode, Value) {
        let text = String::from_utf8(entry.as_bytes().to_vec()).unwrap();
        self.submit_body(json!({ "entry": text }).to_string().into_bytes())
            .await
    }

    async fn head(&self) -> TreeHead {
        let (status, _, body) = self.get("/checkpoint").await;
        assert_eq!(status, StatusCode::OK);
        verify_checkpoint(&body, &self.log_key)
    }

    /// Submits `count` entries concurrently, checks each bundle.
    async fn fill(&self, count: u64) {
        let signer = signer("release.example.com", 7);
        let submissions = (0..count).map(|n| {
            let entry = entry(&signer, n);
            async move {
                let (status, body) = self.submit(&entry).await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                verify_bundle(
                    body["proof"].as_str().unwrap().as_bytes(),
                    &entry,
                    &self.log_key,
                )
            }
        });
        futures::future::join_all(submissions).await;
    }
}

#[tokio::test]
async fn submit_answers_201_with_a_verifying_bundle_then_200_for_a_duplicate() {
    let app = TestApp::new().await;
    let signer = signer("release.example.com", 7);
    let first = entry(&signer, 1);
    let (status, body) = app.submit(&first).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["index"], 0);
    let (index, head) = verify_bundle(
        body["proof"].as_str().unwrap().as_bytes(),
        &first,
        &app.log_key,
    );
    assert_eq!((index, head.size), (0, 1));

    let (status, body) = app.submit(&first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["index"], 0);
    verify_bundle(
        body["proof"].as_str().unwrap().as_bytes(),
        &first,
        &app.log_key,
    );
    assert_eq!(app.head().await.size, 1, "a duplicate adds no leaf");
    assert_log_consistent(app.store.as_ref(), &app.log_key).await;
}

#[tokio::test]
async fn concurrent_submissions_share_batches_and_all_verify() {
    let app = TestApp::new().await;
    app.fill(300).await;
    let head = app.head().await;
    assert_eq!(head.size, 300);
    assert_eq!(
        assert_log_consistent(app.store.as_ref(), &app.log_key).await,
        head
    );
    let (status, _, body) = app.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8(body).unwrap();
    assert!(metrics.contains("sigtrail_tree_size 300"), "{metrics}");
    assert!(
        metrics.contains("sigtrail_submissions_total{outcome=\"new\"} 300"),
        "{metrics}"
    );
}

/// Every kind of bad submission gets its 4xx and changes nothing.
#[tokio::test]
async fn bad_submissions_are_rejected_and_change_nothing() {
    let app = TestApp::new().await;
    app.fill(3).await;
    let before = app.head().await;
    let signer_a = signer("release.example.com", 7);
    let signer_b = signer("release.example.com", 8);
    let good = String::from_utf8(entry(&signer_a, 99).as_bytes().to_vec()).unwrap();
    let by_b = String::from_utf8(entry(&signer_b, 99).as_bytes().to_vec()).unwrap();
    // The statement of signer A with the signature line of signer B.
    let (a_text, _) = good.rsplit_once("\n\n").unwrap();
    let (_, b_sig) = by_b.rsplit_once("\n\n").unwrap();
    let wrong_key = format!("{a_text}\n\n{b_sig}");
    let mut bad_sig = good.clone().into_bytes();
    let at = bad_sig.len() - 10;
    bad_sig[at] = if bad_sig[at] == b'A' { b'B' } else { b'A' };
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            b"{\"entry\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "not an object",
            b"[1,2]".to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "unknown field",
            json!({"entry": good, "x": 1}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "unknown field",
        ),
        (
            "body over the limit",
            json!({"entry": "a".repeat(MAX_BODY)})
                .to_string()
                .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
        (
            "non-canonical entry",
            json!({"entry": good.replacen("\nname ", "\nname  ", 1)})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
        (
            "bad signature",
            json!({"entry": String::from_utf8(bad_sig).unwrap()})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
        (
            "key does not match the key line",
            json!({"entry": wrong_key}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
        (
            "oversized entry",
            json!({"entry": good.replacen("\nname ", &format!("\nname {}", "n".repeat(4000)), 1)})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
        (
            "control character",
            json!({"entry": good.replacen("\nname ", "\nname \u{7}", 1)})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
        (
            "empty entry",
            json!({"entry": ""}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "entry is not valid",
        ),
    ];
    for (what, body, want, message) in cases {
        let (status, answer) = app.submit_body(body).await;
        assert_eq!(status, want, "{what}: {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.contains(message),
            "{what}: {error:?} should say {message:?}"
        );
    }
    assert_eq!(
        app.head().await,
        before,
        "rejected submissions change nothing"
    );
    assert_log_consistent(app.store.as_ref(), &app.log_key).await;
}

#[tokio::test]
async fn proofs_by_index_and_hash_verify_and_bad_requests_get_4xx() {
    let app = TestApp::new().await;
    app.fill(20).await;
    let head = app.head().await;
    let signer = signer("release.example.com", 7);
    let leaf = entry(&signer, 5).leaf_hash();
    let (status, by_hash) = app
        .get_json(&format!(
            "/api/v1/proof/inclusion?hash={}&size=20",
            urlencode(&leaf.to_string())
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_hash}");
    let index = by_hash["index"].as_u64().unwrap();
    let (status, by_index) = app
        .get_json(&format!("/api/v1/proof/inclusion?index={index}&size=20"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_hash, by_index);
    let proof = hashes(&by_index["proof"]);
    sigtrail_merkle::verify_inclusion(&leaf, index, &head, &proof).unwrap();

    // Consistency from every earlier tree size.
    for old in [1, 7, 19, 20] {
        let (status, body) = app
            .get_json(&format!("/api/v1/proof/consistency?old={old}&new=20"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let old_head = TreeHead {
            size: old,
            root: root_at(&app, old).await,
        };
        verify_consistency(&old_head, &head, &hashes(&body["proof"])).unwrap();
    }

    let bad = [
        ("/api/v1/proof/inclusion?index=20&size=20", StatusCode::BAD_REQUEST, "not below tree size"),
        ("/api/v1/proof/inclusion?index=0&size=21", StatusCode::BAD_REQUEST, "beyond the log"),
        ("/api/v1/proof/inclusion?index=0", StatusCode::BAD_REQUEST, "bad query"),
        ("/api/v1/proof/inclusion?index=x&size=1", StatusCode::BAD_REQUEST, "bad query"),
        ("/api/v1/proof/inclusion?index=0&hash=AAAA&size=1", StatusCode::BAD_REQUEST, "exactly one"),
        ("/api/v1/proof/inclusion?hash=AAAA&size=1", StatusCode::BAD_REQUEST, "hash"),
        ("/api/v1/proof/inclusion?hash=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=&size=1", StatusCode::BAD_REQUEST, "write each '+' of the hash as %2B"),
        ("/api/v1/proof/inclusion?hash=47DEQpj8HBSa%2B%2FTImW%2B5JCeuQeRkm5NMpJWZG3hSuFU%3D&size=1", StatusCode::NOT_FOUND, "no entry"),
        ("/api/v1/proof/consistency?old=5&new=4", StatusCode::BAD_REQUEST, "larger than"),
        ("/api/v1/proof/consistency?old=0&new=4", StatusCode::BAD_REQUEST, "at least 1"),
        ("/api/v1/proof/consistency?old=5&new=21", StatusCode::BAD_REQUEST, "beyond the log"),
        ("/api/v1/entries/20", StatusCode::NOT_FOUND, "does not exist"),
        ("/api/v1/entries/abc", StatusCode::BAD_REQUEST, "entry index \"abc\" is not a number"),
        ("/api/v1/entries/-1", StatusCode::BAD_REQUEST, "entry index \"-1\" is not a number"),
        ("/api/v1/entries?key=zz", StatusCode::BAD_REQUEST, "key \"zz\" is not a verifier key"),
        ("/api/v1/entries?key=a.example+1234abcd+AQ", StatusCode::BAD_REQUEST, "write each '+' of the key as %2B"),
        ("/api/v1/entries?limit=5", StatusCode::BAD_REQUEST, "at least one"),
        ("/api/v1/entries?subject=sha512%3A00", StatusCode::BAD_REQUEST, "sha256:"),
        ("/api/v1/entries?subject=sha256%3Aabc", StatusCode::BAD_REQUEST, "subject digest"),
        ("/nope", StatusCode::NOT_FOUND, "no such route"),
    ];
    for (uri, want, message) in bad {
        let (status, body) = app.get_json(uri).await;
        assert_eq!(status, want, "{uri}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(message),
            "{uri}: {body}"
        );
    }
}

/// The root of the tree of `size` leaves, from the leaf hashes the entry
/// route reports.
async fn root_at(app: &TestApp, size: u64) -> Hash {
    let mut leaves = Vec::new();
    for index in 0..size {
        let (_, body) = app.get_json(&format!("/api/v1/entries/{index}")).await;
        leaves.push(body["leaf_hash"].as_str().unwrap().parse().unwrap());
    }
    sigtrail_merkle::root_of(&leaves)
}

fn hashes(value: &Value) -> Vec<Hash> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().parse().unwrap())
        .collect()
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

#[tokio::test]
async fn tiles_are_byte_exact_and_tile_paths_are_checked() {
    let app = TestApp::new().await;
    app.fill(300).await;
    let head = app.head().await;
    // Rebuild the root from the served tiles alone.
    let mut tiles = std::collections::HashMap::new();
    for id in sigtrail_merkle::new_tiles(0, head.size) {
        let (status, headers, body) = app.get(&format!("/{}", id.path())).await;
        assert_eq!(status, StatusCode::OK, "{}", id.path());
        assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
        let immutable = headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable");
        assert_eq!(immutable, id.is_full(), "{}", id.path());
        tiles.insert(id, body);
    }
    let reader = sigtrail_merkle::TileHashReader::new(head.size, &tiles);
    assert_eq!(
        sigtrail_merkle::tree_root(head.size, &reader).unwrap(),
        head.root
    );
    // Entry bundles hold the entries in order.
    let (status, _, full) = app.get("/tile/entries/000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sigtrail_merkle::decode_entry_bundle(&full).unwrap().len(),
        256
    );
    let (status, _, partial) = app.get("/tile/entries/001.p/44").await;
    assert_eq!(status, StatusCode::OK);
    let entries = sigtrail_merkle::decode_entry_bundle(&partial).unwrap();
    assert_eq!(entries.len(), 44);
    let (_, last) = app.get_json("/api/v1/entries/299").await;
    assert_eq!(last["entry"].as_str().unwrap().as_bytes(), entries[43]);
    // A narrower partial is a prefix of the wider one.
    let (_, _, narrow) = app.get("/tile/0/001.p/3").await;
    assert_eq!(
        narrow,
        tiles[&sigtrail_merkle::TileId {
            level: 0,
            index: 1,
            width: 44
        }][..96]
    );

    let missing = [
        "/tile/0/001",       // not full yet
        "/tile/0/001.p/45",  // wider than the tree
        "/tile/0/002.p/1",   // beyond the tree
        "/tile/2/000.p/1",   // level beyond the tree
        "/tile/entries/001", // not full yet
        "/tile/0/1",         // not three digits
        "/tile/0/x000/000",  // non-canonical
        "/tile/0/000.p/256", // width out of range
        "/tile/64/000",      // level out of range
        "/tile/entries/000.p/0",
    ];
    for uri in missing {
        let (status, _, body) = app.get(uri).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{uri}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert!(matches!(
        TilePath::parse("tile/0/000"),
        Ok(TilePath::Hashes(_))
    ));
}

#[tokio::test]
async fn entries_are_served_decoded_and_searchable() {
    let app = TestApp::new().await;
    app.fill(12).await;
    let signer = signer("release.example.com", 7);
    let (status, body) = app.get_json("/api/v1/entries/3").await;
    assert_eq!(status, StatusCode::OK);
    let entry: SignedEntry =
        SignedEntry::parse(body["entry"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(body["leaf_hash"], entry.leaf_hash().to_string());
    assert_eq!(body["key"], signer.verifier_key().to_string());
    assert!(body["time"].as_str().unwrap().ends_with('Z'));

    let key = urlencode(&signer.verifier_key().to_string());
    let mut seen = Vec::new();
    let mut uri = format!("/api/v1/entries?key={key}&limit=5");
    loop {
        let (status, page) = app.get_json(&uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["index"].as_u64().unwrap()),
        );
        match page["next"].as_u64() {
            Some(next) => uri = format!("/api/v1/entries?key={key}&limit=5&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..12).collect::<Vec<_>>());
    let (_, by_name) = app
        .get_json(&format!(
            "/api/v1/entries?name={}",
            urlencode(&body["name"].as_str().unwrap().replace(':', "%3A"))
        ))
        .await;
    assert_eq!(by_name["entries"].as_array().unwrap().len(), 1);
    assert_eq!(by_name["entries"][0]["index"], 3);
    let (_, by_subject) = app
        .get_json(&format!(
            "/api/v1/entries?subject={}",
            body["subject"].as_str().unwrap().replace(':', "%3A")
        ))
        .await;
    assert_eq!(by_subject["entries"][0]["index"], 3);
    let (_, none) = app.get_json("/api/v1/entries?name=nothing").await;
    assert_eq!(none["entries"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn log_info_healthz_and_checkpoint_headers() {
    let app = TestApp::new().await;
    let (status, info) = app.get_json("/api/v1/log").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["origin"], "test.example/log");
    assert_eq!(info["vkey"], app.log_key.to_string());
    let (status, _, body) = app.get("/healthz").await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"ok\n".as_slice())
    );
    let (_, headers, _) = app.get("/checkpoint").await;
    assert_eq!(headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}

/// Pins the status code of every error the API can answer.
#[test]
fn error_statuses() {
    let note_error = sigtrail_note::SignedEntry::parse(b"").unwrap_err();
    let json_error = serde_json::from_slice::<Value>(b"{").unwrap_err();
    let table = [
        (ApiError::BadJson(json_error), 400),
        (ApiError::BodyTooLarge { limit: 1 }, 413),
        (ApiError::InvalidEntry(note_error), 400),
        (ApiError::BadQuery("x".into()), 400),
        (ApiError::IndexOutOfRange { index: 1, size: 1 }, 400),
        (
            ApiError::SizeBeyondTree {
                size: 2,
                current: 1,
            },
            400,
        ),
        (ApiError::SizeOrder { old: 2, new: 1 }, 400),
        (ApiError::NotFound("x".into()), 404),
        (ApiError::Submit(SubmitError::PoolFull), 503),
        (ApiError::Submit(SubmitError::Unavailable), 503),
        (ApiError::Submit(SubmitError::ShuttingDown), 503),
        (ApiError::Submit(SubmitError::NotWitnessed), 503),
        (ApiError::Internal(anyhow::anyhow!("x")), 500),
    ];
    for (error, status) in table {
        assert_eq!(error.status().as_u16(), status, "{error:?}");
    }
}

#[tokio::test]
async fn overload_answers_503_with_retry_after() {
    use axum::response::IntoResponse as _;
    let response = ApiError::Submit(SubmitError::PoolFull).into_response();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
}

mod parsers {
    //! Property tests of the routes' parsers: whatever the path, query or
    //! body, the answer is a success or a 4xx with a JSON error, never 5xx.

    use proptest::prelude::*;

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn assert_handled(status: StatusCode, body: &[u8], what: &str) {
        assert!(!status.is_server_error(), "{what}: {status}");
        if !status.is_success() {
            let error: Value =
                serde_json::from_slice(body).unwrap_or_else(|_| panic!("{what}: not JSON"));
            assert!(error["error"].is_string(), "{what}: {error}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn tile_paths(path in "(entries/|[0-9]{1,3}/)?(x[0-9]{3}/){0,2}[0-9x]{0,4}(\\.p/[0-9]{0,4})?") {
            let rt = runtime();
            rt.block_on(async {
                let app = TestApp::new().await;
                app.fill(3).await;
                let uri = format!("/tile/{path}");
                let (status, _, body) = app.get(&uri).await;
                if status.is_success() {
                    let parsed = TilePath::parse(&format!("tile/{path}")).expect("a served path parses");
                    assert_eq!(format!("tile/{path}"), parsed.path(), "served paths are canonical");
                }
                assert_handled(status, &body, &uri);
            });
        }

        #[test]
        fn proof_queries(query in "((index|hash|size|old|new|x)=[0-9a-zA-Z%+/=-]{0,24}&?){0,4}") {
            let rt = runtime();
            rt.block_on(async {
                let app = TestApp::new().await;
                app.fill(3).await;
                for route in ["/api/v1/proof/inclusion", "/api/v1/proof/consistency", "/api/v1/entries"] {
                    let uri = format!("{route}?{query}");
                    let (status, _, body) = app.get(&uri).await;
                    assert_handled(status, &body, &uri);
                }
            });
        }

        #[test]
        fn submission_bodies(body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            "\\{\"entry\": \"[ -~\\n]{0,200}\"\\}".prop_map(String::into_bytes),
        ]) {
            let rt = runtime();
            rt.block_on(async {
                let app = TestApp::new().await;
                let (status, _, answer) = app.request(Method::POST, "/api/v1/entries", body.clone()).await;
                assert_eq!(status.as_u16() / 100, 4, "{}", String::from_utf8_lossy(&body));
                assert_handled(status, &answer, "submission");
                assert_eq!(app.head().await.size, 0, "a rejected body changes nothing");
            });
        }
    }
}
