//! The client against a real log server on a loopback port.

use std::sync::Arc;
use std::time::Duration;

use sigtrail_client::{
    audit, verify_bundle, verify_consistency, verify_inclusion, AuditState, Client, Error, Policy,
    SearchQuery,
};
use sigtrail_merkle::{decode_entry_bundle, tile_hashes, BundleId, TileId};
use sigtrail_server::sequencer::SequencerConfig;
use sigtrail_server::store::MemoryStore;
use sigtrail_server::testing::{entry, signer, TestLog};

/// Serves a fresh log with a pool of `pool_size`; returns its URL and policy.
async fn start(pool_size: usize) -> (String, Policy) {
    let key = signer("test.example/log", 1);
    let policy = Policy::k_of_n(key.verifier_key().clone(), Vec::new(), 0).unwrap();
    let url = TestLog::new(Arc::new(MemoryStore::new()), key)
        .sequencer(SequencerConfig {
            pool_size,
            max_batch: 64,
            batch_interval: Duration::from_millis(2),
            cache_tiles: 16,
        })
        .serve()
        .await;
    (url, policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route() {
    let (url, policy) = start(1024).await;
    let client = Client::new(&url).unwrap();
    let key = signer("release.example", 5);
    let mut heads = Vec::new();
    for n in 0..300 {
        let e = entry(&key, n);
        let submitted = client.submit(&e).await.unwrap();
        assert_eq!(submitted.index, n);
        assert!(submitted.new);
        let v = verify_bundle(&policy, submitted.proof.as_bytes(), &e.event().subject).unwrap();
        heads.push(v.checkpoint.head);
    }
    let again = client.submit(&entry(&key, 7)).await.unwrap();
    assert!(!again.new);
    assert_eq!(again.index, 7);

    let head = policy
        .verify_checkpoint(&client.checkpoint().await.unwrap())
        .unwrap()
        .head;
    assert_eq!(head.size, 300);
    let info = client.log_info().await.unwrap();
    assert_eq!((info.origin.as_str(), info.size), ("test.example/log", 300));

    let got = client.entry(42).await.unwrap();
    assert_eq!(got.entry.as_bytes(), entry(&key, 42).as_bytes());
    let proof = client.inclusion_proof(42, 300).await.unwrap();
    verify_inclusion(&entry(&key, 42).leaf_hash(), 42, &head, &proof).unwrap();
    let old = heads[99];
    let proof = client.consistency_proof(old.size, 300).await.unwrap();
    verify_consistency(&old, &head, &proof).unwrap();

    let page = client
        .search(&SearchQuery {
            key: Some(key.verifier_key().to_string()),
            limit: Some(250),
            ..SearchQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.entries.len(), 250);
    assert_eq!(page.next, Some(249));
    let err = client.search(&SearchQuery::default()).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 400, .. }), "{err}");
    let err = client.entry(300).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert!(!err.is_transient());

    // Tiles: the partial tile is a prefix of the full one.
    let full = client
        .tile(TileId {
            level: 0,
            index: 0,
            width: 256,
        })
        .await
        .unwrap();
    let part = client
        .tile(TileId {
            level: 0,
            index: 0,
            width: 5,
        })
        .await
        .unwrap();
    assert_eq!(part, full[..5 * 32]);
    assert_eq!(tile_hashes(&full).unwrap()[42], entry(&key, 42).leaf_hash());
    let bundle = client
        .entry_bundle(BundleId {
            index: 1,
            width: 44,
        })
        .await
        .unwrap();
    let entries = decode_entry_bundle(&bundle).unwrap();
    assert_eq!(entries[0], entry(&key, 256).as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_retried() {
    let (url, policy) = start(1).await;
    let client = Arc::new(Client::new(&url).unwrap());
    let key = signer("release.example", 6);
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let client = client.clone();
            let e = entry(&key, n);
            tokio::spawn(async move { (client.submit_with_retry(&e, 30).await, e) })
        })
        .collect();
    for task in tasks {
        let (submitted, e) = task.await.unwrap();
        let submitted = submitted.unwrap();
        verify_bundle(&policy, submitted.proof.as_bytes(), &e.event().subject).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_resumes_and_catches_rollback() {
    let (url, policy) = start(1024).await;
    let client = Client::new(&url).unwrap();
    let key = signer("release.example", 7);
    for n in 0..260 {
        client.submit(&entry(&key, n)).await.unwrap();
    }
    let mut state = AuditState::default();
    let mut saves = 0;
    let report = audit(
        &client,
        &policy,
        &mut state,
        |_, _| {},
        |_| {
            saves += 1;
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!((report.size, report.entries_checked), (260, 260));
    assert_eq!(saves, 3, "two bundles, then the checkpoint");
    client.submit(&entry(&key, 999)).await.unwrap();
    let report = audit(&client, &policy, &mut state, |_, _| {}, |_| Ok(()))
        .await
        .unwrap();
    assert_eq!(
        (report.previous_size, report.size, report.entries_checked),
        (260, 261, 1)
    );
    // A state claiming more leaves than the log has: the log rolled back.
    state.size = 1000;
    let err = audit(&client, &policy, &mut state, |_, _| {}, |_| Ok(()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Rollback {
                old: 1000,
                new: 261
            }
        ),
        "{err}"
    );
    assert!(err.is_evidence());
}

#[test]
fn bad_url_and_unreachable_log() {
    assert!(matches!(Client::new("ftp://x"), Err(Error::BadUrl(_))));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime
        .block_on(Client::new("http://127.0.0.1:1").unwrap().checkpoint())
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}
