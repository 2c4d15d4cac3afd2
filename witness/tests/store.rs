//! The store contract and the compare-and-swap under concurrent conflicting
//! requests, on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use common::{sqlite_store, witness, TestLog, NOW};
use sigtrail_merkle::{Hash, TreeHead};
use sigtrail_server::store::testing::TestDatabase;
use sigtrail_witness::{Cosigned, Error, ForkEvidence, ForkKind, Store};

fn cosigned(size: u64, byte: u8) -> Cosigned {
    Cosigned {
        origin: "a.example/log".to_owned(),
        head: TreeHead {
            size,
            root: Hash([byte; 32]),
        },
        checkpoint: format!("checkpoint {size} {byte}\n"),
    }
}

/// What every backend must do.
async fn contract(store: Store) {
    assert_eq!(store.latest("a.example/log").await.unwrap(), None);
    let first = cosigned(4, 1);
    assert!(store.compare_and_swap(None, &first).await.unwrap());
    assert!(!store.compare_and_swap(None, &cosigned(5, 2)).await.unwrap());
    assert_eq!(
        store.latest("a.example/log").await.unwrap(),
        Some(first.clone())
    );

    // The swap needs the exact stored head: size and root.
    let wrong_root = TreeHead {
        size: 4,
        root: Hash([7; 32]),
    };
    assert!(!store
        .compare_and_swap(Some(&wrong_root), &cosigned(9, 3))
        .await
        .unwrap());
    let wrong_size = TreeHead {
        size: 3,
        root: first.head.root,
    };
    assert!(!store
        .compare_and_swap(Some(&wrong_size), &cosigned(9, 3))
        .await
        .unwrap());
    let next = cosigned(9, 3);
    assert!(store
        .compare_and_swap(Some(&first.head), &next)
        .await
        .unwrap());
    assert!(!store
        .compare_and_swap(Some(&first.head), &cosigned(10, 4))
        .await
        .unwrap());
    assert_eq!(
        store.latest("a.example/log").await.unwrap(),
        Some(next.clone())
    );
    assert_eq!(store.latest("b.example/log").await.unwrap(), None);

    let fork = ForkEvidence {
        origin: "a.example/log".to_owned(),
        kind: ForkKind::FailedConsistencyProof,
        observed_at: NOW,
        cosigned: next.checkpoint.clone(),
        conflicting: "conflicting\n".to_owned(),
        conflicting_head: TreeHead {
            size: 12,
            root: Hash([5; 32]),
        },
        old_size: 9,
        proof: vec![Hash([6; 32]), Hash([8; 32])],
    };
    assert!(store.record_fork(&fork).await.unwrap());
    assert!(!store.record_fork(&fork).await.unwrap());
    let same_size = ForkEvidence {
        origin: "b.example/log".to_owned(),
        kind: ForkKind::SameSizeDifferentRoot,
        proof: Vec::new(),
        ..fork.clone()
    };
    assert!(store.record_fork(&same_size).await.unwrap());
    assert_eq!(store.forks().await.unwrap(), vec![fork, same_size]);

    let summary = store.summary().await.unwrap();
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (
            summary[0].origin.as_str(),
            summary[0].tree_size,
            summary[0].forks
        ),
        ("a.example/log", 9, 1)
    );
    assert_eq!(
        (
            summary[1].origin.as_str(),
            summary[1].tree_size,
            summary[1].forks
        ),
        ("b.example/log", 0, 1)
    );

    let huge = cosigned(u64::MAX, 1);
    assert!(matches!(
        store.compare_and_swap(Some(&next.head), &huge).await,
        Err(Error::OutOfRange { value: u64::MAX })
    ));
    store.close().await;
}

#[tokio::test]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract(sqlite_store(&dir).await).await;
}

#[tokio::test]
async fn postgres_store_keeps_the_contract() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    contract(Store::open(database.url()).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite_store(&dir).await;
    assert!(store.compare_and_swap(None, &cosigned(4, 1)).await.unwrap());
    store.close().await;
    let store = sqlite_store(&dir).await;
    assert_eq!(
        store.latest("a.example/log").await.unwrap(),
        Some(cosigned(4, 1))
    );
}

/// Fires every request `old -> new` (8 <= old < new <= 16) of two histories
/// that agree up to size 8, all at once, at a witness that cosigned size 8.
/// Whatever the interleaving, every cosigned checkpoint must come from one
/// history, the stored head must be the largest of them, and fork evidence
/// may only name the other history.
async fn concurrent_forks_cosign_one_history(store: Store) {
    let mut a = TestLog::new("a.example/log", 8);
    let mut b = a.clone();
    a.grow(8, "a");
    b.grow(8, "b");
    let witness = Arc::new(witness(&[&a], store));
    witness.add_checkpoint(&a.request(0, 8)).await.unwrap();

    let mut tasks = Vec::new();
    for old in 8..16 {
        for new in old + 1..=16 {
            for (name, log) in [("a", &a), ("b", &b)] {
                let witness = witness.clone();
                let body = log.request(old, new);
                let head = log.head(new);
                tasks.push(tokio::spawn(async move {
                    let result = witness.add_checkpoint(&body).await;
                    (name, head, result)
                }));
            }
        }
    }
    let mut cosigned = Vec::new();
    for task in tasks {
        let (name, head, result) = task.await.unwrap();
        match result {
            Ok(_) => cosigned.push((name, head)),
            // A stale old size, or a proof from the other history.
            Err(Error::Conflict { .. } | Error::Inconsistent { .. }) => {}
            Err(error) => panic!("unexpected rejection: {error}"),
        }
    }
    assert!(!cosigned.is_empty());
    let winner = cosigned[0].0;
    assert!(
        cosigned.iter().all(|(name, _)| *name == winner),
        "two histories cosigned: {cosigned:?}"
    );
    let largest = cosigned.iter().map(|(_, head)| head.size).max().unwrap();
    let log = if winner == "a" { &a } else { &b };
    let latest = witness.store().latest(a.origin()).await.unwrap().unwrap();
    assert_eq!(latest.head, log.head(largest));
    let loser = if winner == "a" { &b } else { &a };
    for fork in witness.store().forks().await.unwrap() {
        assert_eq!(
            fork.conflicting_head,
            loser.head(fork.conflicting_head.size)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_forks_cosign_one_history() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_forks_cosign_one_history(sqlite_store(&dir).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_forks_cosign_one_history() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    concurrent_forks_cosign_one_history(Store::open(database.url()).await.unwrap()).await;
}
