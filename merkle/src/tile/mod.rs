//! C2SP tlog-tiles: the tree as tiles of 256 hashes, and entry bundles.
//!
//! The tile at level `L` and index `N` holds, for `i` in `0..width`, the hash
//! of node `(8L, 256N + i)`: level 0 tiles hold leaf hashes, level 1 tiles the
//! roots of full level 0 tiles, and so on. The nodes at the 7 levels between
//! two tile levels are recomputed from the tile below. A tree of size `s` has
//! at level `L` `floor(s / 256^L) / 256` full tiles and, when
//! `floor(s / 256^L) mod 256` is not zero, one partial tile of that width.

mod bundle;
mod path;
mod tree;

pub use bundle::{decode_entry_bundle, encode_entry_bundle};
pub use path::TilePath;
pub use tree::TiledTree;

use std::collections::HashMap;
use std::fmt;

use crate::proof::{root_of, HashReader, NodeId};
use crate::{node_hash, Error, Hash, HASH_SIZE};

/// Number of tree levels a tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Number of hashes in a full tile, and of entries in a full entry bundle.
pub const TILE_WIDTH: u16 = 256;

/// A tile of hashes: level `level`, index `index`, `width` hashes (1 to 256;
/// 256 is a full tile).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TileId {
    /// Tile level: the tile holds nodes at tree level `8 * level`.
    pub level: u8,
    /// Position of the tile in its level, from the left.
    pub index: u64,
    /// Number of hashes, 1 to 256.
    pub width: u16,
}

/// An entry bundle: the entries of level 0 tile `index`, `width` of them
/// (1 to 256; 256 is a full bundle).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct BundleId {
    /// Position of the bundle: it holds entries from `256 * index`.
    pub index: u64,
    /// Number of entries, 1 to 256.
    pub width: u16,
}

impl TileId {
    /// Whether the tile holds 256 hashes and so will never change.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Length in bytes of the tile's data.
    pub fn data_len(&self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }

    /// The full tile this one is a prefix of.
    pub fn full(&self) -> TileId {
        TileId {
            width: TILE_WIDTH,
            ..*self
        }
    }

    /// The entry bundle of a level 0 tile, `None` at other levels.
    pub fn bundle(&self) -> Option<BundleId> {
        (self.level == 0).then_some(BundleId {
            index: self.index,
            width: self.width,
        })
    }
}

impl BundleId {
    /// Whether the bundle holds 256 entries and so will never change.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl fmt::Display for BundleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Number of complete nodes at tree level `8 * tile_level` in a tree of
/// `size` leaves.
fn hashes_at(tile_level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(tile_level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// The tile at `level` and `index` with the width it has in a tree of `size`
/// leaves, or `None` when the tree has no such tile.
fn tile_in_tree(level: u8, index: u64, size: u64) -> Option<TileId> {
    let count = hashes_at(level, size);
    let start = index.checked_mul(u64::from(TILE_WIDTH))?;
    let width = count.checked_sub(start).filter(|&w| w > 0)?;
    Some(TileId {
        level,
        index,
        width: width.min(u64::from(TILE_WIDTH)) as u16,
    })
}

/// The tile that holds `node`, or holds the hashes it is computed from, with
/// the width that tile has in a tree of `size` leaves.
///
/// # Errors
///
/// [`Error::NodeNotInTree`] when `node` is not a complete subtree of the tree.
pub fn tile_for_node(node: NodeId, size: u64) -> Result<TileId, Error> {
    let not_in_tree = Error::NodeNotInTree {
        level: node.level,
        index: node.index,
        size,
    };
    if node.end().is_none_or(|end| end > size) {
        return Err(not_in_tree);
    }
    let level = node.level / TILE_HEIGHT;
    let sub = node.level % TILE_HEIGHT;
    // The node covers tile hashes [index << sub, (index + 1) << sub), which
    // lie in one tile since tiles are 256 = 2^8 hashes wide and sub < 8.
    let index = node.index >> (TILE_HEIGHT - sub);
    tile_in_tree(level, index, size).ok_or(not_in_tree)
}

/// Reads the hash of `node` from the data of `tile`, hashing the tile's
/// hashes below it when the node is not at a tile level.
///
/// # Errors
///
/// [`Error::WrongTileLength`] when `data` is not `32 * tile.width` bytes;
/// [`Error::NodeNotInTile`] when the tile does not hold the node.
pub fn hash_from_tile(node: NodeId, tile: &TileId, data: &[u8]) -> Result<Hash, Error> {
    if data.len() != tile.data_len() {
        return Err(Error::WrongTileLength {
            got: data.len(),
            want: tile.data_len(),
        });
    }
    let sub = node.level % TILE_HEIGHT;
    let not_in_tile = Error::NodeNotInTile {
        level: node.level,
        index: node.index,
        tile: *tile,
    };
    if node.level / TILE_HEIGHT != tile.level || node.index >> (TILE_HEIGHT - sub) != tile.index {
        return Err(not_in_tile);
    }
    // The node's first hash is at or after the tile's first: same prefix.
    let start = (u128::from(node.index) << sub) - (u128::from(tile.index) << TILE_HEIGHT);
    let end = start + (1 << sub);
    if end > u128::from(tile.width) {
        return Err(not_in_tile);
    }
    let bytes = &data[start as usize * HASH_SIZE..end as usize * HASH_SIZE];
    let hashes = tile_hashes(bytes)?;
    Ok(root_of(&hashes))
}

/// The tiles holding `nodes` in a tree of `size` leaves, sorted, without
/// duplicates: what to fetch before reading the nodes with a
/// [`TileHashReader`]. Nodes not in the tree are left out; reading them fails
/// with [`Error::NodeNotInTree`].
pub fn tiles_for_nodes(nodes: &[NodeId], size: u64) -> Vec<TileId> {
    let mut tiles: Vec<TileId> = nodes
        .iter()
        .filter_map(|n| tile_for_node(*n, size).ok())
        .collect();
    tiles.sort_unstable();
    tiles.dedup();
    tiles
}

/// The tiles written or widened when a tree grows from `old_size` to
/// `new_size` leaves, each at its width in the new tree, by level then index.
/// Empty when `new_size <= old_size`.
pub fn new_tiles(old_size: u64, new_size: u64) -> Vec<TileId> {
    let mut tiles = Vec::new();
    let mut level = 0;
    while new_size > old_size && hashes_at(level, new_size) > 0 {
        let old = hashes_at(level, old_size);
        let new = hashes_at(level, new_size);
        if new > old {
            let first = old / u64::from(TILE_WIDTH);
            let last = (new - 1) / u64::from(TILE_WIDTH);
            tiles.extend((first..=last).filter_map(|i| tile_in_tree(level, i, new_size)));
        }
        level += 1;
    }
    tiles
}

/// Splits tile data into hashes.
///
/// # Errors
///
/// [`Error::WrongTileLength`] when the length is not a multiple of 32.
pub fn tile_hashes(data: &[u8]) -> Result<Vec<Hash>, Error> {
    if !data.len().is_multiple_of(HASH_SIZE) {
        return Err(Error::WrongTileLength {
            got: data.len(),
            want: data.len() / HASH_SIZE * HASH_SIZE,
        });
    }
    data.chunks_exact(HASH_SIZE).map(Hash::from_slice).collect()
}

/// Concatenates hashes into tile data.
pub fn tile_data(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// A [`HashReader`] over tiles already fetched, for a tree of a given size:
/// raw tile data (`Vec<u8>`, the default) or [`TileNodes`].
///
/// Each node is read from the tile [`tile_for_node`] names; when that tile is
/// partial and missing, the full tile of the same level and index is used
/// instead (it starts with the same hashes).
#[derive(Debug)]
pub struct TileHashReader<'a, T = Vec<u8>> {
    size: u64,
    tiles: &'a HashMap<TileId, T>,
}

impl<T> Clone for TileHashReader<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for TileHashReader<'_, T> {}

impl<'a, T: TileSource> TileHashReader<'a, T> {
    /// A reader for the tree of `size` leaves over `tiles`.
    pub fn new(size: u64, tiles: &'a HashMap<TileId, T>) -> Self {
        TileHashReader { size, tiles }
    }

    fn read_one(&self, node: NodeId) -> Result<Hash, Error> {
        let tile = tile_for_node(node, self.size)?;
        if let Some(data) = self.tiles.get(&tile) {
            return data.node_hash(node, &tile);
        }
        let full = tile.full();
        match self.tiles.get(&full) {
            Some(data) => data.node_hash(node, &full),
            None => Err(Error::MissingTile(tile)),
        }
    }
}

impl<T: TileSource> HashReader for TileHashReader<'_, T> {
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        nodes.iter().map(|n| self.read_one(*n)).collect()
    }
}

/// A tile with the hash of every node it spans: its own hashes (the nodes
/// at tree level `8 * level`) and, above them, every complete node of the
/// seven levels up to the next tile level. Reading a node from it is a
/// lookup, where [`hash_from_tile`] hashes up to 128 tile hashes.
///
/// A full tile spans 511 nodes (16 KiB); a partial tile of width `w` spans
/// the complete nodes over its first `w` hashes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TileNodes {
    tile: TileId,
    /// Sub-level by sub-level, from the tile's own hashes (sub-level 0, the
    /// tile's data) to sub-level 7: `width >> s` hashes at sub-level `s`.
    bytes: Vec<u8>,
}

impl TileNodes {
    /// Hashes every node `tile` spans from its data.
    ///
    /// # Errors
    ///
    /// [`Error::WrongTileLength`] when `data` is not `32 * tile.width` bytes.
    pub fn new(tile: TileId, data: &[u8]) -> Result<Self, Error> {
        if data.len() != tile.data_len() {
            return Err(Error::WrongTileLength {
                got: data.len(),
                want: tile.data_len(),
            });
        }
        let width = usize::from(tile.width);
        let mut bytes = Vec::with_capacity(2 * width * HASH_SIZE);
        bytes.extend_from_slice(data);
        let mut below = 0;
        for sub in 1..TILE_HEIGHT {
            let count = width >> sub;
            for i in 0..count {
                let left = below + 2 * i * HASH_SIZE;
                let pair = &bytes[left..left + 2 * HASH_SIZE];
                let hash = node_hash(
                    &Hash::from_slice(&pair[..HASH_SIZE])?,
                    &Hash::from_slice(&pair[HASH_SIZE..])?,
                );
                bytes.extend_from_slice(&hash.0);
            }
            below += (width >> (sub - 1)) * HASH_SIZE;
        }
        Ok(TileNodes { tile, bytes })
    }

    /// The tile, with its width.
    pub fn tile(&self) -> TileId {
        self.tile
    }

    /// The tile's data, as tlog-tiles serves it: its `width` hashes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[..self.tile.data_len()]
    }

    /// The hash of `node`.
    ///
    /// # Errors
    ///
    /// [`Error::NodeNotInTile`] when the tile does not span the node.
    pub fn hash(&self, node: NodeId) -> Result<Hash, Error> {
        self.hash_within(node, &self.tile)
    }

    /// The hash of `node` as read from `tile`, which is this tile or a
    /// narrower view of it (a tile only ever widens, keeping its hashes).
    fn hash_within(&self, node: NodeId, tile: &TileId) -> Result<Hash, Error> {
        let not_in_tile = Error::NodeNotInTile {
            level: node.level,
            index: node.index,
            tile: *tile,
        };
        let sub = node.level % TILE_HEIGHT;
        if (tile.level, tile.index) != (self.tile.level, self.tile.index)
            || tile.width > self.tile.width
            || node.level / TILE_HEIGHT != tile.level
            || node.index >> (TILE_HEIGHT - sub) != tile.index
        {
            return Err(not_in_tile);
        }
        // Same prefix as the tile: the position is in the low bits.
        let position = (node.index - (tile.index << (TILE_HEIGHT - sub))) as usize;
        if position >= usize::from(tile.width) >> sub {
            return Err(not_in_tile);
        }
        let width = usize::from(self.tile.width);
        let offset: usize = (0..sub).map(|s| width >> s).sum();
        let at = (offset + position) * HASH_SIZE;
        Hash::from_slice(&self.bytes[at..at + HASH_SIZE])
    }
}

/// Tile data that a [`TileHashReader`] reads node hashes from: the raw
/// bytes of a tile, or a [`TileNodes`].
pub trait TileSource {
    /// The hash of `node` from this data, stored as `tile`.
    ///
    /// # Errors
    ///
    /// When the data does not span the node, or is malformed.
    fn node_hash(&self, node: NodeId, tile: &TileId) -> Result<Hash, Error>;
}

impl TileSource for Vec<u8> {
    fn node_hash(&self, node: NodeId, tile: &TileId) -> Result<Hash, Error> {
        hash_from_tile(node, tile, self)
    }
}

impl TileSource for TileNodes {
    fn node_hash(&self, node: NodeId, tile: &TileId) -> Result<Hash, Error> {
        self.hash_within(node, tile)
    }
}

impl<T: TileSource> TileSource for std::sync::Arc<T> {
    fn node_hash(&self, node: NodeId, tile: &TileId) -> Result<Hash, Error> {
        T::node_hash(self, node, tile)
    }
}

#[cfg(test)]
mod tests;
