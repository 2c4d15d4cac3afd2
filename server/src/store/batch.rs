//! The rules every backend applies to a batch before writing it: its shape,
//! and which tiles and bundles it may write over the stored ones.

use std::collections::{HashMap, HashSet};

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
