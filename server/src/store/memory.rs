//! The in-memory store, for tests: the contract in a few maps, plus faults
//! a test can inject before or after any write.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use sigtrail_merkle::Hash;

use super::batch::{
    bundles_to_write, check_new_leaves, tiles_to_write, StoredBundles, StoredTiles,
};
use super::{Batch, EntryRecord, LogMeta, SearchQuery, Store, StoreError, StoredCheckpoint};

/// A failure [`MemoryStore::fail_next`] injects into a write
/// ([`init`](Store::init), [`commit`](Store::commit),
/// [`update_checkpoint`](Store::update_checkpoint)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The write fails with [`StoreError::Injected`] and changes nothing:
    /// the database was unreachable.
    BeforeWrite,
    /// The write is applied, then fails with [`StoreError::Injected`]: the
    /// answer to a successful commit was lost. The caller cannot tell it
    /// from `BeforeWrite` and must reload the checkpoint.
    AfterWrite,
}

/// A [`Store`] in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    log: Mutex<Option<Log>>,
    faults: Mutex<VecDeque<Fault>>,
}

#[derive(Debug)]
struct Log {
    meta: LogMeta,
    checkpoint: StoredCheckpoint,
    /// Entry `i` at position `i`.
    entries: Vec<EntryRecord>,
    leaves: HashMap<Hash, u64>,
    tiles: StoredTiles,
    bundles: StoredBundles,
}

impl MemoryStore {
    /// An empty store, holding no log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes a coming write fail. Faults queue up: each write takes the
    /// oldest one, so calling this twice fails the next two writes.
    pub fn fail_next(&self, fault: Fault) {
        lock(&self.faults).push_back(fault);
    }

    /// Runs one write under the next queued fault, if any. A write that
    /// fails by itself (a conflict, say) reports its own error, and its
    /// fault is used up.
    fn write<T>(
        &self,
        apply: impl FnOnce(&mut Option<Log>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fault = lock(&self.faults).pop_front();
        if fault == Some(Fault::BeforeWrite) {
            return Err(StoreError::Injected);
        }
        let result = apply(&mut lock(&self.log))?;
        if fault == Some(Fault::AfterWrite) {
            return Err(StoreError::Injected);
        }
        Ok(result)
    }

    /// Runs a read of the log, if there is one.
    fn read<T>(&self, read: impl FnOnce(&Log) -> T) -> Option<T> {
        lock(&self.log).as_ref().map(read)
    }
}

/// Every write checks everything before it changes anything, so a panic
/// elsewhere never leaves half a write behind: a poisoned lock is usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The stored size if it is `expected`, else the contract's error.
fn check_size(log: &Log, expected: u64) -> Result<(), StoreError> {
    if log.checkpoint.size == expected {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            expected,
            found: log.checkpoint.size,
        })
    }
}

/// A commit, in the order of the SQL stores' steps: everything is checked
/// before anything changes.
fn commit(log: &mut Log, batch: &Batch) -> Result<(), StoreError> {
    // 1. The compare-and-swap's check.
    check_size(log, batch.old_size)?;
    // 2, 3. Tiles and bundles, refused if they would rewrite stored bytes.
    let tiles = tiles_to_write(&batch.tiles, &log.tiles)?;
    let bundles = bundles_to_write(&batch.bundles, &log.bundles)?;
    // 4. Entries, refused if logged before.
    check_new_leaves(batch, |leaf| log.leaves.get(leaf).copied())?;
    // Apply.
    for tile in tiles {
        log.tiles
            .entry((tile.level, tile.index))
            .or_default()
            .extend_from_slice(tile.data);
    }
    for bundle in bundles {
        let stored = log.bundles.entry(bundle.index).or_default();
        stored.0 = bundle.upto;
        stored.1.extend_from_slice(bundle.data);
    }
    for entry in &batch.entries {
        log.leaves.insert(entry.leaf_hash, entry.index);
        log.entries.push(entry.clone());
    }
    log.checkpoint = StoredCheckpoint {
        size: batch.new_size,
        text: batch.checkpoint.clone(),
    };
    Ok(())
}

fn matches(entry: &EntryRecord, query: &SearchQuery) -> bool {
    let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    field(&query.signer, &entry.signer)
        && query.subject.is_none_or(|want| want == entry.subject)
        && field(&query.name, &entry.name)
}

#[async_trait]
impl Store for MemoryStore {
    async fn meta(&self) -> Result<Option<LogMeta>, StoreError> {
        Ok(self.read(|log| log.meta.clone()))
    }

    async fn init(&self, meta: &LogMeta, checkpoint: &[u8]) -> Result<(), StoreError> {
        self.write(|log| {
            if log.is_some() {
                return Err(StoreError::AlreadyInitialized);
            }
            *log = Some(Log {
                meta: meta.clone(),
                checkpoint: StoredCheckpoint {
                    size: 0,
                    text: checkpoint.to_vec(),
                },
                entries: Vec::new(),
                leaves: HashMap::new(),
                tiles: StoredTiles::new(),
                bundles: StoredBundles::new(),
            });
            Ok(())
        })
    }

    async fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        self.read(|log| log.checkpoint.clone())
            .ok_or(StoreError::NotInitialized)
    }

    async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        batch.check()?;
        self.write(|log| commit(log.as_mut().ok_or(StoreError::NotInitialized)?, batch))
    }

    async fn update_checkpoint(&self, size: u64, text: &[u8]) -> Result<(), StoreError> {
        self.write(|log| {
            let log = log.as_mut().ok_or(StoreError::NotInitialized)?;
            check_size(log, size)?;
            log.checkpoint.text = text.to_vec();
            Ok(())
        })
    }

    async fn tiles(&self, ids: &[(u8, u64)]) -> Result<StoredTiles, StoreError> {
        Ok(self
            .read(|log| {
                ids.iter()
                    .filter_map(|id| log.tiles.get(id).map(|data| (*id, data.clone())))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
        Ok(self.read(|log| log.bundles.get(&index).cloned()).flatten())
    }

    async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError> {
        let mut found: Vec<_> = self
            .read(|log| {
                leaves
                    .iter()
                    .filter_map(|leaf| log.leaves.get(leaf).map(|&index| (*leaf, index)))
                    .collect()
            })
            .unwrap_or_default();
        found.sort_unstable_by_key(|&(_, index)| index);
        found.dedup();
        Ok(found)
    }

    async fn entry(&self, index: u64) -> Result<Option<EntryRecord>, StoreError> {
        let Ok(position) = usize::try_from(index) else {
            return Ok(None);
        };
        Ok(self
            .read(|log| log.entries.get(position).cloned())
            .flatten())
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<EntryRecord>, StoreError> {
        let start = query.after.map_or(0, |after| after.saturating_add(1));
        let Ok(start) = usize::try_from(start) else {
            return Ok(Vec::new());
        };
        let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
        Ok(self
            .read(|log| {
                log.entries
                    .iter()
                    .skip(start)
                    .filter(|entry| matches(entry, query))
                    .take(limit)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::conformance_tests;
    use crate::store::fixtures::{self, test_batch, test_meta};

    conformance_tests!(fixtures::memory);

    async fn initialized() -> MemoryStore {
        let store = MemoryStore::new();
        store
            .init(&test_meta(), b"checkpoint 0\n")
            .await
            .expect("init");
        store
    }

    #[tokio::test]
    async fn before_write_changes_nothing() {
        let store = MemoryStore::new();
        store.fail_next(Fault::BeforeWrite);
        let init = store.init(&test_meta(), b"checkpoint 0\n").await;
        assert!(matches!(init, Err(StoreError::Injected)), "{init:?}");
        assert_eq!(store.meta().await.expect("meta"), None);

        let store = initialized().await;
        store.fail_next(Fault::BeforeWrite);
        let commit = store.commit(&test_batch(0, 2, "a")).await;
        assert!(matches!(commit, Err(StoreError::Injected)), "{commit:?}");
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 0);
        assert_eq!(store.entry(0).await.expect("entry"), None);
        // The fault is used up: the retry applies.
        store.commit(&test_batch(0, 2, "a")).await.expect("retry");
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 2);
    }

    #[tokio::test]
    async fn after_write_applies_then_fails() {
        let store = initialized().await;
        store.fail_next(Fault::AfterWrite);
        let batch = test_batch(0, 2, "a");
        let commit = store.commit(&batch).await;
        assert!(matches!(commit, Err(StoreError::Injected)), "{commit:?}");
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 2);
        assert_eq!(
            store.entry(1).await.expect("entry"),
            Some(batch.entries[1].clone())
        );
        // A blind retry of the same batch is a conflict, never a second apply.
        let retry = store.commit(&batch).await;
        assert!(
            matches!(
                retry,
                Err(StoreError::Conflict {
                    expected: 0,
                    found: 2
                })
            ),
            "{retry:?}"
        );

        store.fail_next(Fault::AfterWrite);
        let update = store.update_checkpoint(2, b"cosigned\n").await;
        assert!(matches!(update, Err(StoreError::Injected)), "{update:?}");
        assert_eq!(
            store.checkpoint().await.expect("checkpoint").text,
            b"cosigned\n"
        );
    }

    #[tokio::test]
    async fn faults_queue_one_per_write() {
        let store = initialized().await;
        store.fail_next(Fault::BeforeWrite);
        store.fail_next(Fault::AfterWrite);
        // A write that fails by itself uses up its fault.
        let stale = store.commit(&test_batch(5, 1, "a")).await;
        assert!(matches!(stale, Err(StoreError::Injected)), "{stale:?}");
        let conflict = store.commit(&test_batch(5, 1, "a")).await;
        assert!(
            matches!(
                conflict,
                Err(StoreError::Conflict {
                    expected: 5,
                    found: 0
                })
            ),
            "{conflict:?}"
        );
        store
            .commit(&test_batch(0, 1, "a"))
            .await
            .expect("no fault left");
    }
}
