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
use std::sync::Arc;

use axum::body::Bytes;
use quick_cache::sync::Cache;
use sigtrail_merkle::{
    consistency_proof_nodes, decode_entry_bundle, encode_entry_bundle, inclusion_proof_from_hashes,
    inclusion_proof_nodes, prove_consistency, tiles_for_nodes, BundleId, Hash, HashReader as _,
    NodeId, TileHashReader, TileId, TileNodes, TreeHead, TILE_WIDTH,
};
use tokio::sync::watch;

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
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Reads tiles, bundles and proofs for the HTTP API and the sequencer.
#[derive(Clone)]
pub struct TileReader {
    store: Arc<dyn Store>,
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
            None => match self.store.tile(id.level, id.index).await? {
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
    use super::*;
    use crate::store::MemoryStore;
    use quick_cache::Weighter as _;

    fn reader(cache_tiles: usize) -> TileReader {
        let (_, published) = watch::channel(Arc::new(Published::empty()));
        TileReader::new(Arc::new(MemoryStore::new()), published, cache_tiles)
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
