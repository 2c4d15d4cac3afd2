//! The rules every backend applies to a batch before writing it: its shape,
//! and which tiles and bundles it may write over the stored ones.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use sigtrail_merkle::{Hash, HASH_SIZE};

use super::{Batch, BatchError, BundleData, StoreError, TileData, TileKey};

/// The width of a full tile or entry bundle.
pub(crate) const FULL_WIDTH: u16 = 256;

impl Batch {
    /// Checks the batch's shape: sizes that do not shrink, entries indexed
    /// exactly `old_size..new_size` with distinct leaf hashes, hash tiles
    /// of `32 * width` bytes and bundles of width `1..=256`, each tile and
    /// bundle at most once. Every store calls it before writing anything.
    ///
    /// # Errors
    ///
    /// The first [`BatchError`] found.
    pub fn check(&self) -> Result<(), BatchError> {
        let want = self
            .new_size
            .checked_sub(self.old_size)
            .ok_or(BatchError::Shrinks {
                old_size: self.old_size,
                new_size: self.new_size,
            })?;
        let got = u64::try_from(self.entries.len()).unwrap_or(u64::MAX);
        if got != want {
            return Err(BatchError::EntryCount { got, want });
        }
        let mut leaves = HashMap::with_capacity(self.entries.len());
        for (want, entry) in (self.old_size..).zip(&self.entries) {
            if entry.index != want {
                return Err(BatchError::EntryIndex {
                    got: entry.index,
                    want,
                });
            }
            if let Some(&first) = leaves.get(&entry.leaf_hash) {
                return Err(BatchError::RepeatedLeaf {
                    first,
                    index: entry.index,
                });
            }
            leaves.insert(entry.leaf_hash, entry.index);
        }
        self.check_tiles()
    }

    fn check_tiles(&self) -> Result<(), BatchError> {
        let mut seen = HashSet::new();
        for tile in &self.tiles {
            if tile_width(&tile.data).is_none() {
                return Err(BatchError::TileSize {
                    level: tile.level,
                    index: tile.index,
                    len: tile.data.len(),
                });
            }
            if !seen.insert(tile.key()) {
                return Err(BatchError::RepeatedTile { tile: tile.key() });
            }
        }
        for bundle in &self.bundles {
            if !(1..=FULL_WIDTH).contains(&bundle.width) || bundle.data.is_empty() {
                return Err(BatchError::BundleSize {
                    index: bundle.index,
                    width: bundle.width,
                    len: bundle.data.len(),
                });
            }
            if !seen.insert(bundle.key()) {
                return Err(BatchError::RepeatedTile { tile: bundle.key() });
            }
        }
        Ok(())
    }
}

impl TileData {
    fn key(&self) -> TileKey {
        TileKey::Hash {
            level: self.level,
            index: self.index,
        }
    }
}

impl BundleData {
    fn key(&self) -> TileKey {
        TileKey::Bundle { index: self.index }
    }
}

/// The width of a hash tile of these bytes, if it is a valid one.
pub(crate) fn tile_width(data: &[u8]) -> Option<u16> {
    if !data.len().is_multiple_of(HASH_SIZE) {
        return None;
    }
    u16::try_from(data.len() / HASH_SIZE)
        .ok()
        .filter(|width| (1..=FULL_WIDTH).contains(width))
}

/// The offset in `new` of the bytes it adds to `stored` (0 when nothing is
/// stored), or `None` when `new` is the stored version itself.
///
/// # Errors
///
/// The contract's refusals: a full one with other bytes, a narrower one, or
/// one whose bytes do not start with the stored ones.
fn appended_from(
    tile: TileKey,
    stored: Option<(u16, &[u8])>,
    new: (u16, &[u8]),
) -> Result<Option<usize>, StoreError> {
    let Some((stored_width, stored_data)) = stored else {
        return Ok(Some(0));
    };
    let (new_width, new_data) = new;
    if stored_width == new_width && stored_data == new_data {
        return Ok(None);
    }
    if stored_width == FULL_WIDTH {
        return Err(StoreError::FullTileChanged { tile });
    }
    if new_width < stored_width {
        return Err(StoreError::Narrowing {
            tile,
            stored_width,
            new_width,
        });
    }
    if new_width == stored_width || !new_data.starts_with(stored_data) {
        return Err(StoreError::PrefixChanged {
            tile,
            stored_width,
            new_width,
        });
    }
    Ok(Some(stored_data.len()))
}

/// What a commit appends to a stored hash tile: the hashes after the
/// stored ones, and the width they bring it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TilePart<'a> {
    pub level: u8,
    pub index: u64,
    pub upto: u16,
    pub data: &'a [u8],
}

/// What a commit appends to a stored entry bundle: the entries after the
/// stored ones, and the width they bring it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BundlePart<'a> {
    pub index: u64,
    pub upto: u16,
    pub data: &'a [u8],
}

/// The stored versions of hash tiles, by level and index.
pub(crate) type StoredTiles = HashMap<(u8, u64), Vec<u8>>;

/// The stored versions of entry bundles, by index, with their width.
pub(crate) type StoredBundles = HashMap<u64, (u16, Vec<u8>)>;

/// A copy of the partial tiles and bundles a store's last commits wrote,
/// so that the next commit need not read all their parts back (a partial
/// bundle has up to 255 parts, one per commit that widened it).
///
/// A copy is the stored version whenever the stored version has the copy's
/// width: parts are only ever added, each wider than every stored one, and
/// the copy's widest part was written by a commit that checked the stored
/// prefix. A store asks for the stored width of each tile and bundle in the
/// commit's statement and reads the parts of those whose width differs.
#[derive(Debug, Default)]
pub(crate) struct TailCopy {
    tiles: StoredTiles,
    bundles: StoredBundles,
}

impl TailCopy {
    /// The width of the copy of each of the batch's tiles, 0 for none.
    pub(crate) fn tile_widths(&self, batch: &Batch) -> Vec<u16> {
        batch
            .tiles
            .iter()
            .map(|t| {
                self.tiles
                    .get(&(t.level, t.index))
                    .and_then(|data| tile_width(data))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// The width of the copy of each of the batch's bundles, 0 for none.
    pub(crate) fn bundle_widths(&self, batch: &Batch) -> Vec<u16> {
        batch
            .bundles
            .iter()
            .map(|b| self.bundles.get(&b.index).map_or(0, |(width, _)| *width))
            .collect()
    }

    /// Moves the copy of a tile into `stored` if the tile is stored at the
    /// copy's width, `top`; returns whether it did.
    pub(crate) fn take_tile(&mut self, key: (u8, u64), top: u16, stored: &mut StoredTiles) -> bool {
        if self.tiles.get(&key).and_then(|data| tile_width(data)) != Some(top) {
            return false;
        }
        self.tiles
            .remove(&key)
            .map(|data| stored.insert(key, data))
            .is_some()
    }

    /// Moves the copy of a bundle into `stored` if the bundle is stored at
    /// the copy's width, `top`; returns whether it did.
    pub(crate) fn take_bundle(&mut self, index: u64, top: u16, stored: &mut StoredBundles) -> bool {
        if self.bundles.get(&index).map(|(width, _)| *width) != Some(top) {
            return false;
        }
        self.bundles
            .remove(&index)
            .map(|bundle| stored.insert(index, bundle))
            .is_some()
    }

    /// Keeps the partial tiles and bundles of a batch just committed, and
    /// drops the copies its full ones replace.
    fn committed(&mut self, batch: &Batch) {
        for tile in &batch.tiles {
            let key = (tile.level, tile.index);
            if tile_width(&tile.data) == Some(FULL_WIDTH) {
                self.tiles.remove(&key);
            } else {
                self.tiles.insert(key, tile.data.clone());
            }
        }
        for bundle in &batch.bundles {
            if bundle.width == FULL_WIDTH {
                self.bundles.remove(&bundle.index);
            } else {
                self.bundles
                    .insert(bundle.index, (bundle.width, bundle.data.clone()));
            }
        }
    }
}

/// A store's [`TailCopy`], shared by its clones. A commit takes it and
/// gives it back only if it succeeds; a commit that runs meanwhile finds
/// it empty and reads every part.
#[derive(Debug, Default)]
pub(crate) struct SharedTail(Mutex<TailCopy>);

impl SharedTail {
    fn lock(&self) -> MutexGuard<'_, TailCopy> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The copy, for a commit; the store keeps none until it is given back.
    pub(crate) fn take(&self) -> TailCopy {
        std::mem::take(&mut *self.lock())
    }

    /// Gives the copy back after its commit of `batch` succeeded.
    pub(crate) fn committed(&self, mut tail: TailCopy, batch: &Batch) {
        tail.committed(batch);
        *self.lock() = tail;
    }
}

/// What the batch's tiles append to the store, given the stored versions
/// of (at least) the batch's tiles.
pub(crate) fn tiles_to_write<'a>(
    tiles: &'a [TileData],
    stored: &StoredTiles,
) -> Result<Vec<TilePart<'a>>, StoreError> {
    let mut writes = Vec::with_capacity(tiles.len());
    for tile in tiles {
        let stored = stored
            .get(&(tile.level, tile.index))
            .map(|data| -> Result<_, StoreError> {
                let width = tile_width(data).ok_or(StoreError::Corrupt {
                    column: "tiles.data",
                })?;
                Ok((width, data.as_slice()))
            })
            .transpose()?;
        let width = tile_width(&tile.data).ok_or(BatchError::TileSize {
            level: tile.level,
            index: tile.index,
            len: tile.data.len(),
        })?;
        if let Some(from) = appended_from(tile.key(), stored, (width, &tile.data))? {
            writes.push(TilePart {
                level: tile.level,
                index: tile.index,
                upto: width,
                data: &tile.data[from..],
            });
        }
    }
    Ok(writes)
}

/// What the batch's bundles append to the store, given the stored
/// versions of (at least) the batch's bundles.
pub(crate) fn bundles_to_write<'a>(
    bundles: &'a [BundleData],
    stored: &StoredBundles,
) -> Result<Vec<BundlePart<'a>>, StoreError> {
    let mut writes = Vec::with_capacity(bundles.len());
    for bundle in bundles {
        let stored = stored
            .get(&bundle.index)
            .map(|(width, data)| (*width, data.as_slice()));
        if let Some(from) = appended_from(bundle.key(), stored, (bundle.width, &bundle.data))? {
            writes.push(BundlePart {
                index: bundle.index,
                upto: bundle.width,
                data: &bundle.data[from..],
            });
        }
    }
    Ok(writes)
}

/// The first entry of the batch whose leaf hash is already logged, as a
/// [`StoreError::DuplicateLeaf`].
pub(crate) fn check_new_leaves(
    batch: &Batch,
    logged_at: impl Fn(&Hash) -> Option<u64>,
) -> Result<(), StoreError> {
    for entry in &batch.entries {
        if let Some(logged_at) = logged_at(&entry.leaf_hash) {
            return Err(StoreError::DuplicateLeaf {
                index: entry.index,
                logged_at,
            });
        }
    }
    Ok(())
}
