//! The sequencer driven by hand with `step()`, over a memory store with
//! injected faults; the whole log is checked after every scenario.

use std::sync::Arc;
use std::time::Duration;

use sigtrail_note::{SignedEntry, VerifierKey};
use tokio::sync::oneshot;

use super::{LoadError, Logged, Sequencer, SequencerConfig, SequencerHandle, SubmitError};
use crate::identity::LogIdentity;
use crate::init_log;
use crate::metrics::Metrics;
use crate::store::{Fault, MemoryStore, Store};
use crate::testing::{assert_log_consistent, entry, signer, verify_bundle};
use crate::witnesses::Witnesses;

type Answer = oneshot::Receiver<Result<Logged, SubmitError>>;

const CONFIG: SequencerConfig = SequencerConfig {
    pool_size: 64,
    max_batch: 16,
    batch_interval: Duration::from_millis(1),
    cache_tiles: 16,
};

struct Rig {
    store: Arc<MemoryStore>,
    sequencer: Sequencer,
    handle: SequencerHandle,
    log_key: VerifierKey,
}

fn no_witnesses() -> Arc<Witnesses> {
    Arc::new(Witnesses::new(Vec::new(), 0, Duration::from_secs(1)))
}

fn log_identity() -> Arc<LogIdentity> {
    Arc::new(LogIdentity::new(signer("test.example/log", 1)).unwrap())
}

async fn rig_on(store: Arc<MemoryStore>, config: SequencerConfig) -> Rig {
    let identity = log_identity();
    if store.meta().await.unwrap().is_none() {
        init_log(store.as_ref(), &identity).await.unwrap();
    }
    let log_key = identity.vkey().clone();
    let (sequencer, handle, _reader) = Sequencer::load(
        store.clone(),
        identity,
        config,
        no_witnesses(),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap();
    Rig {
        store,
        sequencer,
        handle,
        log_key,
    }
}

async fn rig() -> Rig {
    rig_on(Arc::new(MemoryStore::new()), CONFIG).await
}

fn entries(from: u64, count: u64) -> Vec<SignedEntry> {
    let signer = signer("release.example.com", 7);
    (from..from + count).map(|n| entry(&signer, n)).collect()
}

impl Rig {
    fn submit_all(&self, entries: &[SignedEntry]) -> Vec<Answer> {
        entries
            .iter()
            .map(|e| self.handle.submit(e.clone()).unwrap())
            .collect()
    }

    /// Checks every answer verifies and returns the indexes.
    async fn expect_logged(&self, entries: &[SignedEntry], answers: Vec<Answer>) -> Vec<u64> {
        let mut indexes = Vec::new();
        for (entry, answer) in entries.iter().zip(answers) {
            let logged = answer
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("not logged: {e}"));
            let (index, _) = verify_bundle(&logged.bundle, entry, &self.log_key);
            assert_eq!(index, logged.index);
            indexes.push(index);
        }
        indexes
    }

    /// Checks every bundle verifies and returns each index and whether the
    /// submission added the entry.
    async fn outcomes(&self, entries: &[SignedEntry], answers: Vec<Answer>) -> Vec<(u64, bool)> {
        let mut outcomes = Vec::new();
        for (entry, answer) in entries.iter().zip(answers) {
            let logged = answer.await.unwrap().unwrap();
            verify_bundle(&logged.bundle, entry, &self.log_key);
            outcomes.push((logged.index, logged.new));
        }
        outcomes
    }
}

#[tokio::test]
async fn step_integrates_what_is_queued_and_answers_with_bundles() {
    let mut rig = rig().await;
    assert_eq!(
        rig.sequencer.step().await,
        0,
        "nothing queued, nothing done"
    );
    let batch = entries(0, 10);
    let answers = rig.submit_all(&batch);
    assert_eq!(rig.sequencer.step().await, 10);
    assert_eq!(
        rig.expect_logged(&batch, answers).await,
        (0..10).collect::<Vec<_>>()
    );
    let head = assert_log_consistent(rig.store.as_ref(), &rig.log_key).await;
    assert_eq!(head.size, 10);
}

#[tokio::test]
async fn a_batch_is_capped_at_max_batch() {
    let mut rig = rig().await;
    let batch = entries(0, 40);
    let answers = rig.submit_all(&batch);
    assert_eq!(rig.sequencer.step().await, 16);
    assert_eq!(rig.sequencer.step().await, 16);
    assert_eq!(rig.sequencer.step().await, 8);
    rig.expect_logged(&batch, answers).await;
    assert_eq!(
        assert_log_consistent(rig.store.as_ref(), &rig.log_key)
            .await
            .size,
        40
    );
}

#[tokio::test]
async fn duplicates_get_the_existing_index_within_a_batch_and_across_batches() {
    let mut rig = rig().await;
    let batch = entries(0, 3);
    let answers = rig.submit_all(&batch);
    rig.sequencer.step().await;
    rig.expect_logged(&batch, answers).await;

    let again = vec![
        batch[1].clone(),
        entries(3, 1)[0].clone(),
        entries(3, 1)[0].clone(),
    ];
    let answers = rig.submit_all(&again);
    rig.sequencer.step().await;
    assert_eq!(
        rig.outcomes(&again, answers).await,
        vec![(1, false), (3, true), (3, true)]
    );
    assert_eq!(
        assert_log_consistent(rig.store.as_ref(), &rig.log_key)
            .await
            .size,
        4
    );

    // New entries only, so the sequencer stops looking leaf hashes up;
    // an entry resubmitted after that is still found.
    for from in [4, 7] {
        let new = entries(from, 2);
        let answers = rig.submit_all(&new);
        rig.sequencer.step().await;
        assert_eq!(rig.expect_logged(&new, answers).await, vec![from, from + 1]);
        let again = [
            batch[0].clone(),
            new[1].clone(),
            entries(from + 2, 1)[0].clone(),
        ];
        let answers = rig.submit_all(&again);
        rig.sequencer.step().await;
        assert_eq!(
            rig.outcomes(&again, answers).await,
            vec![(0, false), (from + 1, false), (from + 2, true)]
        );
    }
    assert_eq!(
        assert_log_consistent(rig.store.as_ref(), &rig.log_key)
            .await
            .size,
        10
    );
}

#[tokio::test]
async fn a_full_pool_refuses_at_once() {
    let rig = rig_on(
        Arc::new(MemoryStore::new()),
        SequencerConfig {
            pool_size: 2,
            ..CONFIG
        },
    )
    .await;
    let batch = entries(0, 3);
    assert!(rig.handle.submit(batch[0].clone()).is_ok());
    assert!(rig.handle.submit(batch[1].clone()).is_ok());
    assert_eq!(
        rig.handle.submit(batch[2].clone()).unwrap_err(),
        SubmitError::PoolFull
    );
}

/// A failure before or after each write, then a whole-log check. Faults
/// queue up: the first hits the commit, the second the retry after reload.
#[tokio::test]
async fn store_faults_never_lose_an_acknowledged_entry() {
    use Fault::{AfterWrite, BeforeWrite};
    // (faults, are the answers bundles?, is the batch logged afterwards?)
    let table: [(&[Fault], bool, bool); 5] = [
        (&[BeforeWrite], true, true),
        (&[AfterWrite], true, true),
        (&[BeforeWrite, BeforeWrite], false, false),
        (&[AfterWrite, AfterWrite], true, true),
        (&[BeforeWrite, AfterWrite], false, true),
    ];
    for (faults, answered, logged) in table {
        let mut rig = rig().await;
        let first = entries(0, 5);
        let answers = rig.submit_all(&first);
        rig.sequencer.step().await;
        rig.expect_logged(&first, answers).await;

        let batch = entries(5, 5);
        for fault in faults {
            rig.store.fail_next(*fault);
        }
        let answers = rig.submit_all(&batch);
        rig.sequencer.step().await;
        if answered {
            assert_eq!(
                rig.expect_logged(&batch, answers).await,
                (5..10).collect::<Vec<_>>(),
                "{faults:?}"
            );
        } else {
            for answer in answers {
                assert_eq!(
                    answer.await.unwrap().unwrap_err(),
                    SubmitError::Unavailable,
                    "{faults:?}"
                );
            }
        }
        let head = assert_log_consistent(rig.store.as_ref(), &rig.log_key).await;
        assert_eq!(head.size, if logged { 10 } else { 5 }, "{faults:?}");

        // Resubmitting is always safe, and the sequencer has recovered.
        let answers = rig.submit_all(&batch);
        rig.sequencer.step().await;
        assert_eq!(
            rig.expect_logged(&batch, answers).await,
            (5..10).collect::<Vec<_>>(),
            "{faults:?}"
        );
        assert_eq!(
            assert_log_consistent(rig.store.as_ref(), &rig.log_key)
                .await
                .size,
            10
        );
    }
}

/// Two sequencers on one store: the one that lost the compare-and-swap
/// reloads and appends after the winner; the log never forks.
#[tokio::test]
async fn the_loser_of_a_commit_race_reloads_and_appends_after_the_winner() {
    let store = Arc::new(MemoryStore::new());
    let mut a = rig_on(store.clone(), CONFIG).await;
    let mut b = rig_on(store.clone(), CONFIG).await;
    let from_a = entries(0, 3);
    let answers = a.submit_all(&from_a);
    a.sequencer.step().await;
    assert_eq!(a.expect_logged(&from_a, answers).await, vec![0, 1, 2]);

    let from_b = entries(3, 2);
    let answers = b.submit_all(&from_b);
    b.sequencer.step().await;
    assert_eq!(b.expect_logged(&from_b, answers).await, vec![3, 4]);
    assert_eq!(
        assert_log_consistent(store.as_ref(), &a.log_key).await.size,
        5
    );

    // And A, now stale, does the same.
    let more = entries(5, 1);
    let answers = a.submit_all(&more);
    a.sequencer.step().await;
    assert_eq!(a.expect_logged(&more, answers).await, vec![5]);
    assert_eq!(
        assert_log_consistent(store.as_ref(), &a.log_key).await.size,
        6
    );
}

#[tokio::test]
async fn a_store_of_another_log_does_not_load() {
    let store = Arc::new(MemoryStore::new());
    let other = LogIdentity::new(signer("test.example/log", 2)).unwrap();
    init_log(store.as_ref(), &other).await.unwrap();
    let loaded = Sequencer::load(
        store,
        log_identity(),
        CONFIG,
        no_witnesses(),
        Arc::new(Metrics::default()),
    )
    .await;
    let Err(LoadError::Checkpoint(why)) = loaded else {
        panic!("loaded another log's store")
    };
    assert!(why.to_string().contains("signature"), "{why}");
}
