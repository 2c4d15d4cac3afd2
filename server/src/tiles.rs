//! Reading the tree back: tiles, entry bundles and proofs.
//!
//! Full tiles and full entry bundles never change, so they are kept in a
//! fixed-size cache. The rightmost (partial) tiles of the current tree are
//! published by the sequencer after every commit and served from memory;
//! anything else is a point lookup in the store. Proofs are computed the
//! tlog-tiles way: list the nodes a proof needs, fetch the tiles that hold
//! them, then prove synchronously with `sigtrail-merkle`. Tiles are held as
//! [`TileNodes`], with every node between two tile levels hashed once, so
//! a proof reads each of its hashes without hashing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use quick_cache::sync::Cache;
use sigtrail_merkle::{
    consistency_proof_nodes, decode_entry_bundle, encode_entry_bundle, inclusion_proof_from_hashes,
    inclusion_proof_nodes, prove_consistency, tiles_for_nodes, BundleId, Hash, HashReader as _,
    NodeId, TileHashReader, TileId, TileNodes, TreeHead, TILE_WIDTH,
};
use tokio::sync::{oneshot, watch};

use crate::store::{Store, StoreError};

/// The state of the log after a commit, shared with every reader.
#[derive(Debug, Clone)]
pub struct Published {
    /// The tree head of the latest checkpoint.
    pub head: TreeHead,
    /// The latest signed checkpoint, as served at `/checkpoint` (shared
    /// by every answer, not copied).
    pub checkpoint: Bytes,
    /// The rightmost partial hash tile at each level, by (level, index).
    pub edge_tiles: HashMap<(u8, u64), Arc<TileNodes>>,
    /// The rightmost partial entry bundle: its index and entries.
    pub edge_bundle: Option<(u64, Vec<Vec<u8>>)>,
}

impl Published {
    /// The state before the tree is loaded: an empty tree, no checkpoint.
    pub fn empty() -> Published {
        Published {
            head: TreeHead {
                size: 0,
                root: sigtrail_merkle::empty_root(),
            },
            checkpoint: Bytes::new(),
            edge_tiles: HashMap::new(),
            edge_bundle: None,
        }
    }
}

/// Why a tile, bundle or proof could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The resource lies beyond the tree (or was never produced).
    #[error("{0} does not exist in this log")]
    NotFound(String),
    /// Stored data disagrees with the tree: a bug or corruption, never input.
    #[error("stored tree data is inconsistent: {0}")]
    Corrupt(#[from] sigtrail_merkle::Error),
    /// The store failed (shared by the readers whose tiles were read in
    /// the same query).
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The read of a missed tile ended without an answer.
    #[error("the read of a stored tile was abandoned")]
    Abandoned,
}

impl From<StoreError> for ReadError {
    fn from(error: StoreError) -> Self {
        ReadError::Store(Arc::new(error))
    }
}

/// Full tiles, immutable once written, by level and index.
type TileCache = Arc<Cache<(u8, u64), Arc<TileNodes>>>;

/// Full entry bundles, immutable once written, by index, weighed by size.
type BundleCache = Arc<Cache<u64, Bytes, KibWeighter>>;

/// The memory one cached full tile takes, with its inner nodes: 511 hashes.
const TILE_KIB: u64 = 16;

/// Weighs a cached bundle by its size in KiB (at least 1). Bundles of 256
/// entries are 50 to 100 times larger than one entry, and vary with the
/// entries: counting them would not bound the memory.
#[derive(Clone, Copy, Debug)]
struct KibWeighter;

impl quick_cache::Weighter<u64, Bytes> for KibWeighter {
    fn weight(&self, _: &u64, bundle: &Bytes) -> u64 {
        (bundle.len() as u64).div_ceil(1024).max(1)
    }
}

/// How many queries for tiles the cache missed may run at once.
const MISS_QUERIES: usize = 4;

/// The most tiles one query for missed tiles reads.
const MISS_QUERY_TILES: usize = 64;

/// Where the answer for one missed tile goes.
type MissReply = oneshot::Sender<Result<Option<Vec<u8>>, Arc<StoreError>>>;

/// Tiles the cache missed, waiting to be read from the store. Readers
/// that miss while [`MISS_QUERIES`] queries run wait for the next one, so
/// concurrent misses share one query (and one round trip to the
/// database) instead of taking one each.
#[derive(Default)]
struct Misses {
    waiting: Vec<((u8, u64), MissReply)>,
    queries: usize,
}

/// Reads tiles, bundles and proofs for the HTTP API and the sequencer.
#[derive(Clone)]
pub struct TileReader {
    store: Arc<dyn Store>,
    misses: Arc<Mutex<Misses>>,
    full_tiles: TileCache,
    full_bundles: BundleCache,
    published: watch::Receiver<Arc<Published>>,
}

impl TileReader {
    /// A reader over `store` that caches up to `cache_tiles` full tiles
    /// (16 KiB each with their inner nodes) and full bundles up to as many
    /// bytes as those tiles.
    pub fn new(
        store: Arc<dyn Store>,
        published: watch::Receiver<Arc<Published>>,
        cache_tiles: usize,
    ) -> Self {
        let cache_tiles = cache_tiles.max(1);
        let bundle_kib = cache_tiles as u64 * TILE_KIB;
        Self {
            store,
            misses: Arc::default(),
            full_tiles: Arc::new(Cache::new(cache_tiles)),
            // A full bundle of typical entries is about 90 KiB.
            full_bundles: Arc::new(Cache::with_weighter(
                (cache_tiles / 4).max(1),
                bundle_kib,
                KibWeighter,
            )),
            published,
        }
    }

    /// The latest published state.
    pub fn published(&self) -> Arc<Published> {
        self.published.borrow().clone()
    }

    /// Remembers a full tile just written, so proofs for a fresh batch do
    /// not read it back.
    pub fn remember_full_tile(&self, tile: Arc<TileNodes>) {
        let id = tile.tile();
        self.full_tiles.insert((id.level, id.index), tile);
    }

    /// A hash tile, full or partial, exactly as tlog-tiles serves it: a
    /// view of the cached tile's hashes, not a copy.
    ///
    /// # Errors
    ///
    /// [`ReadError::NotFound`] when the tile is not (yet) that wide.
    pub async fn tile(&self, id: TileId) -> Result<Bytes, ReadError> {
        let nodes = self.tile_nodes(id).await?;
        Ok(Bytes::from_owner(TileHashes(nodes)).slice(..id.data_len()))
    }

    /// The tile `id` or a wider one of the same level and index (it holds
    /// the same hashes, and more).
    async fn tile_nodes(&self, id: TileId) -> Result<Arc<TileNodes>, ReadError> {
        let key = (id.level, id.index);
        if let Some(nodes) = self.full_tiles.get(&key) {
            return Ok(nodes);
        }
        let edge = self.published().edge_tiles.get(&key).cloned();
        let nodes = match edge {
            Some(edge) => edge,
            None => match self.stored_tile(key).await? {
                Some(stored) => Arc::new(stored_tile_nodes(id, &stored)?),
                None => return Err(ReadError::NotFound(id.path())),
            },
        };
        if nodes.tile().width < id.width {
            return Err(ReadError::NotFound(id.path()));
        }
        if nodes.tile().is_full() {
            self.full_tiles.insert(key, nodes.clone());
        }
        Ok(nodes)
    }

    /// The widest stored version of a hash tile, read with the other tiles
    /// missed meanwhile (see [`Misses`]). The query runs in a task of its
    /// own, so a reader that goes away leaves the others' answers intact.
    async fn stored_tile(&self, key: (u8, u64)) -> Result<Option<Vec<u8>>, ReadError> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut misses = self.misses.lock().unwrap_or_else(PoisonError::into_inner);
            misses.waiting.push((key, reply));
            let start = misses.queries < MISS_QUERIES;
            misses.queries += usize::from(start);
            start
        };
        if start {
            tokio::spawn(read_misses(self.store.clone(), self.misses.clone()));
        }
        answer
            .await
            .map_err(|_| ReadError::Abandoned)?
            .map_err(ReadError::Store)
    }

    /// An entry bundle, full or partial, exactly as tlog-tiles serves it
    /// (a full one shares the cached bytes).
    ///
    /// # Errors
    ///
    /// [`ReadError::NotFound`] when the bundle is not (yet) that wide.
    pub async fn bundle(&self, id: BundleId) -> Result<Bytes, ReadError> {
        if let Some(data) = self.full_bundles.get(&id.index) {
            return Ok(data);
        }
        let published = self.published();
        let (width, data) = match &published.edge_bundle {
            Some((index, entries)) if *index == id.index => (
                entries.len(),
                encode_entry_bundle(entries.iter().map(Vec::as_slice))?,
            ),
            _ => match self.store.bundle(id.index).await? {
                Some((width, data)) => (width as usize, data),
                None => return Err(ReadError::NotFound(id.path())),
            },
        };
        let want = id.width as usize;
        if width < want {
            return Err(ReadError::NotFound(id.path()));
        }
        if width == TILE_WIDTH as usize {
            let data = Bytes::from(data);
            self.full_bundles.insert(id.index, data.clone());
            return Ok(data);
        }
        let entries = decode_entry_bundle(&data)?;
        Ok(Bytes::from(encode_entry_bundle(
            entries.into_iter().take(want),
        )?))
    }

    /// The entry at `index` of a tree of `size` leaves.
    ///
    /// # Errors
    ///
    /// [`ReadError::NotFound`] when `index` is not below `size`.
    pub async fn entry(&self, index: u64, size: u64) -> Result<Vec<u8>, ReadError> {
        if index >= size {
            return Err(ReadError::NotFound(format!("entry {index}")));
        }
        let bundle_index = index / TILE_WIDTH as u64;
        let width = (size - bundle_index * TILE_WIDTH as u64).min(TILE_WIDTH as u64) as u16;
        let data = self
            .bundle(BundleId {
                index: bundle_index,
                width,
            })
            .await?;
        let entries = decode_entry_bundle(&data)?;
        let position = (index % TILE_WIDTH as u64) as usize;
        entries
            .get(position)
            .map(|e| e.to_vec())
            .ok_or_else(|| ReadError::NotFound(format!("entry {index}")))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    ///
    /// When `index >= size`, or a tile cannot be read.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ReadError> {
        let mut proofs = self.inclusion_proofs(&[index], size).await?;
        Ok(proofs.pop().unwrap_or_default())
    }

    /// Inclusion proofs of many leaves in one tree: the tiles are fetched
    /// once and every node hash is computed once, however many proofs
    /// share it (a batch's proofs share almost all of them).
    ///
    /// # Errors
    ///
    /// When an index is not below `size`, or a tile cannot be read.
    pub async fn inclusion_proofs(
        &self,
        indexes: &[u64],
        size: u64,
    ) -> Result<Vec<Vec<Hash>>, ReadError> {
        let plans = indexes
            .iter()
            .map(|&index| inclusion_proof_nodes(index, size))
            .collect::<Result<Vec<_>, _>>()?;
        let mut nodes: Vec<NodeId> = plans.iter().flatten().copied().collect();
        nodes.sort_unstable();
        nodes.dedup();
        let tiles = self.fetch(&tiles_for_nodes(&nodes, size)).await?;
        let hashes = TileHashReader::new(size, &tiles).read_hashes(&nodes)?;
        let known: HashMap<NodeId, Hash> = nodes.into_iter().zip(hashes).collect();
        plans
            .iter()
            .zip(indexes)
            .map(|(plan, &index)| {
                let hashes: Vec<Hash> = plan
                    .iter()
                    .filter_map(|node| known.get(node).copied())
                    .collect();
                Ok(inclusion_proof_from_hashes(index, size, &hashes)?)
            })
            .collect()
    }

    /// The consistency proof between trees of `old` and `new` leaves.
    ///
    /// # Errors
    ///
    /// When `old > new`, or a tile cannot be read.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ReadError> {
        let nodes = consistency_proof_nodes(old, new)?;
        let tiles = self.fetch(&tiles_for_nodes(&nodes, new)).await?;
        Ok(prove_consistency(
            old,
            new,
            &TileHashReader::new(new, &tiles),
        )?)
    }

    async fn fetch(&self, ids: &[TileId]) -> Result<HashMap<TileId, Arc<TileNodes>>, ReadError> {
        let mut tiles = HashMap::with_capacity(ids.len());
        for id in ids {
            tiles.insert(*id, self.tile_nodes(*id).await?);
        }
        Ok(tiles)
    }
}

/// Reads the waiting missed tiles, [`MISS_QUERY_TILES`] at a time, until
/// none wait.
async fn read_misses(store: Arc<dyn Store>, misses: Arc<Mutex<Misses>>) {
    let _slot = QuerySlot(misses.clone());
    loop {
        let batch: Vec<_> = {
            let mut misses = misses.lock().unwrap_or_else(PoisonError::into_inner);
            if misses.waiting.is_empty() {
                misses.queries -= 1;
                return;
            }
            let take = misses.waiting.len().min(MISS_QUERY_TILES);
            misses.waiting.drain(..take).collect()
        };
        let mut ids: Vec<(u8, u64)> = batch.iter().map(|(key, _)| *key).collect();
        ids.sort_unstable();
        ids.dedup();
        match store.tiles(&ids).await {
            Ok(stored) => {
                for (key, reply) in batch {
                    // A reader that went away no longer waits for its answer.
                    let _ = reply.send(Ok(stored.get(&key).cloned()));
                }
            }
            Err(error) => {
                let error = Arc::new(error);
                for (_, reply) in batch {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Gives back a query's place in [`Misses`] if its task panics (a store
/// bug), so later misses still start queries. A query that finds nothing
/// waiting gives it back itself, under the lock it checked with.
struct QuerySlot(Arc<Mutex<Misses>>);

impl Drop for QuerySlot {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut misses = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            misses.queries -= 1;
        }
    }
}

/// The bottom row of a tile's nodes, the hashes tlog-tiles serves, as the
/// owner of the bytes of a [`Bytes`].
struct TileHashes(Arc<TileNodes>);

impl AsRef<[u8]> for TileHashes {
    fn as_ref(&self) -> &[u8] {
        self.0.data()
    }
}

/// The nodes of a tile as the store keeps it: at least as wide as `id`
/// (a partial tile may have widened since), at most full.
fn stored_tile_nodes(id: TileId, data: &[u8]) -> Result<TileNodes, ReadError> {
    let width = (data.len() / 32).min(usize::from(TILE_WIDTH)) as u16;
    let stored = TileId { width, ..id };
    Ok(TileNodes::new(stored, &data[..stored.data_len()])?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use async_trait::async_trait;
    use quick_cache::Weighter as _;

    use super::*;
    use crate::store::fixtures::{test_batch, test_meta, test_tile};
    use crate::store::{Batch, EntryRecord, LogMeta, MemoryStore, SearchQuery, StoredCheckpoint};

    fn reader(cache_tiles: usize) -> TileReader {
        reader_of(Arc::new(MemoryStore::new()), cache_tiles)
    }

    fn reader_of(store: Arc<dyn Store>, cache_tiles: usize) -> TileReader {
        let (_, published) = watch::channel(Arc::new(Published::empty()));
        TileReader::new(store, published, cache_tiles)
    }

    /// A [`MemoryStore`] that counts its queries for hash tiles and can
    /// fail them.
    #[derive(Default)]
    struct CountingStore {
        store: MemoryStore,
        tile_queries: AtomicUsize,
        fail_tiles: AtomicBool,
        panic_tiles: AtomicBool,
    }

    #[async_trait]
    impl Store for CountingStore {
        async fn meta(&self) -> Result<Option<LogMeta>, StoreError> {
            self.store.meta().await
        }
        async fn init(&self, meta: &LogMeta, checkpoint: &[u8]) -> Result<(), StoreError> {
            self.store.init(meta, checkpoint).await
        }
        async fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
            self.store.checkpoint().await
        }
        async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
            self.store.commit(batch).await
        }
        async fn update_checkpoint(&self, size: u64, text: &[u8]) -> Result<(), StoreError> {
            self.store.update_checkpoint(size, text).await
        }
        async fn tiles(
            &self,
            ids: &[(u8, u64)],
        ) -> Result<HashMap<(u8, u64), Vec<u8>>, StoreError> {
            self.tile_queries.fetch_add(1, Ordering::SeqCst);
            assert!(
                !self.panic_tiles.load(Ordering::SeqCst),
                "a store that panics"
            );
            if self.fail_tiles.load(Ordering::SeqCst) {
                return Err(StoreError::Injected);
            }
            self.store.tiles(ids).await
        }
        async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
            self.store.bundle(index).await
        }
        async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError> {
            self.store.find_leaves(leaves).await
        }
        async fn entry(&self, index: u64) -> Result<Option<EntryRecord>, StoreError> {
            self.store.entry(index).await
        }
        async fn search(&self, query: &SearchQuery) -> Result<Vec<EntryRecord>, StoreError> {
            self.store.search(query).await
        }
    }

    /// A store holding `count` full level-0 tiles, tile `i` made with seed `i`.
    async fn store_with_tiles(count: u8) -> Arc<CountingStore> {
        let store = Arc::new(CountingStore::default());
        store
            .init(&test_meta(), b"checkpoint 0\n")
            .await
            .expect("init");
        let mut batch = test_batch(0, 0, "t");
        batch.tiles = (0..count)
            .map(|i| test_tile(0, u64::from(i), usize::from(TILE_WIDTH), i))
            .collect();
        store.commit(&batch).await.expect("commit");
        store
    }

    fn full_tile(index: u64) -> TileId {
        TileId {
            level: 0,
            index,
            width: TILE_WIDTH,
        }
    }

    /// Readers spawned together run before any query for their tiles
    /// (one thread, tasks in the order they were spawned): 256 misses of
    /// 64 tiles are read in a handful of queries, each reader gets its
    /// own tile's bytes.
    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_misses_share_queries() {
        let store = store_with_tiles(64).await;
        let reader = reader_of(store.clone(), 1);
        let reads: Vec<_> = (0..256u64)
            .map(|n| {
                let reader = reader.clone();
                tokio::spawn(async move { (n % 64, reader.tile(full_tile(n % 64)).await) })
            })
            .collect();
        for read in reads {
            let (index, tile) = read.await.expect("reader");
            let seed = u8::try_from(index).expect("seed");
            assert_eq!(
                tile.expect("tile").as_ref(),
                test_tile(0, index, usize::from(TILE_WIDTH), seed).data
            );
        }
        let queries = store.tile_queries.load(Ordering::SeqCst);
        assert!(
            (1..=256 / MISS_QUERY_TILES + MISS_QUERIES).contains(&queries),
            "{queries} queries for 256 misses"
        );
        // Nothing is left waiting, and no query is counted as running.
        let misses = reader.misses.lock().expect("misses");
        assert!(misses.waiting.is_empty());
        assert_eq!(misses.queries, 0);
    }

    /// A failed query fails every reader that waited for it, and the
    /// readers that come after it query again.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_query_fails_its_readers_only() {
        let store = store_with_tiles(8).await;
        let reader = reader_of(store.clone(), 1);
        store.fail_tiles.store(true, Ordering::SeqCst);
        let reads: Vec<_> = (0..16u64)
            .map(|n| {
                let reader = reader.clone();
                tokio::spawn(async move { reader.tile(full_tile(n % 8)).await })
            })
            .collect();
        for read in reads {
            let error = read.await.expect("reader").expect_err("failed query");
            assert!(
                matches!(&error, ReadError::Store(e) if matches!(**e, StoreError::Injected)),
                "{error:?}"
            );
        }
        store.fail_tiles.store(false, Ordering::SeqCst);
        let tile = reader
            .tile(full_tile(3))
            .await
            .expect("tile after the failure");
        assert_eq!(
            tile.as_ref(),
            test_tile(0, 3, usize::from(TILE_WIDTH), 3).data
        );
    }

    /// A query whose task panics answers its readers with an error and
    /// gives back its place: more panics than [`MISS_QUERIES`] still leave
    /// the next reader a query of its own.
    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_query_gives_back_its_place() {
        let store = store_with_tiles(2).await;
        let reader = reader_of(store.clone(), 1);
        // Without its place given back, a read would wait for ever.
        let read =
            || tokio::time::timeout(std::time::Duration::from_secs(5), reader.tile(full_tile(1)));
        store.panic_tiles.store(true, Ordering::SeqCst);
        for _ in 0..=MISS_QUERIES {
            let error = read()
                .await
                .expect("a query for each read")
                .expect_err("panicked query");
            assert!(matches!(error, ReadError::Abandoned), "{error:?}");
        }
        store.panic_tiles.store(false, Ordering::SeqCst);
        let tile = read()
            .await
            .expect("a query after the panics")
            .expect("tile after the panics");
        assert_eq!(
            tile.as_ref(),
            test_tile(0, 1, usize::from(TILE_WIDTH), 1).data
        );
    }

    #[test]
    fn cached_bundles_are_bounded_by_bytes_not_count() {
        let reader = reader(8);
        // 8 tiles' worth: 128 KiB for bundles, whatever their number.
        assert_eq!(reader.full_bundles.capacity(), 8 * TILE_KIB);
        for index in 0..100 {
            reader
                .full_bundles
                .insert(index, Bytes::from(vec![7; 90 * 1024]));
        }
        assert!(reader.full_bundles.weight() <= 8 * TILE_KIB);
        assert!(
            reader.full_bundles.len() <= 1,
            "{}",
            reader.full_bundles.len()
        );
        for index in 0..100 {
            reader
                .full_bundles
                .insert(index, Bytes::from(vec![7; 4 * 1024]));
        }
        assert!(reader.full_bundles.weight() <= 8 * TILE_KIB);
        assert!(reader.full_bundles.len() > 1);
    }

    #[test]
    fn a_bundle_weighs_its_kib_and_at_least_one() {
        assert_eq!(KibWeighter.weight(&0, &Bytes::new()), 1);
        assert_eq!(KibWeighter.weight(&0, &Bytes::from(vec![0; 1024])), 1);
        assert_eq!(KibWeighter.weight(&0, &Bytes::from(vec![0; 1025])), 2);
    }
}
