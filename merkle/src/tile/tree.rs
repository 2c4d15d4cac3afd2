//! The sequencer's view of a tiled tree: its compact range and the rightmost
//! partial tile of each level, enough to append and to write the tiles that
//! change.

use std::collections::HashMap;

use super::{
    hashes_at, tile_data, tile_hashes, tile_in_tree, TileHashReader, TileId, TILE_HEIGHT,
    TILE_WIDTH,
};
use crate::compact::CompactRange;
use crate::proof::HashReader;
use crate::{Error, Hash, TreeHead};

/// An append-only tree that produces its tiles.
///
/// It holds the compact range and, per tile level, the hashes of the partial
/// tile at the right edge (fewer than 256), plus the full tiles completed
/// since the last [`TiledTree::take_tiles`].
#[derive(Clone, Debug, Default)]
pub struct TiledTree {
    range: CompactRange,
    /// `edges[L]`: the hashes of the partial tile at level `L`.
    edges: Vec<Vec<Hash>>,
    /// Full tiles completed since the last `take_tiles`.
    full: Vec<(TileId, Vec<u8>)>,
    /// Tree size at the last `take_tiles` (or when built).
    taken_size: u64,
}

impl TiledTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The partial tiles of a tree of `size` leaves, by level: what
    /// [`TiledTree::from_tiles`] needs to resume it.
    ///
    /// Level `L` has `n = size >> 8L` hashes; its rightmost tile is partial
    /// when `n % 256 != 0`, with index `n / 256` and width `n % 256`. At most
    /// one tile per level, so this costs O(log size).
    pub fn edge_tiles(size: u64) -> Vec<TileId> {
        (0..)
            .map(|level| (level, hashes_at(level, size)))
            .take_while(|&(_, count)| count > 0)
            .filter_map(|(level, count)| tile_in_tree(level, count / u64::from(TILE_WIDTH), size))
            .collect()
    }

    /// Resumes the tree of `size` leaves from its [`TiledTree::edge_tiles`]
    /// (other tiles in `tiles` are ignored).
    ///
    /// # Errors
    ///
    /// [`Error::MissingTile`] when an edge tile is missing;
    /// [`Error::WrongTileLength`] when one has the wrong length.
    pub fn from_tiles(size: u64, tiles: &[(TileId, Vec<u8>)]) -> Result<Self, Error> {
        let map: HashMap<TileId, Vec<u8>> = tiles.iter().cloned().collect();
        let mut edges = Vec::new();
        for tile in Self::edge_tiles(size) {
            let data = map.get(&tile).ok_or(Error::MissingTile(tile))?;
            if data.len() != tile.data_len() {
                return Err(Error::WrongTileLength {
                    got: data.len(),
                    want: tile.data_len(),
                });
            }
            let level = usize::from(tile.level);
            edges.resize_with(level + 1, Vec::new);
            edges[level] = tile_hashes(data)?;
        }
        // Every node of the compact range lies in an edge tile: a node at
        // level 8L + s (s < 8) exists when bit s of size >> 8L is set, so that
        // partial tile is not empty and ends with the node's hashes.
        let reader = TileHashReader::new(size, &map);
        let hashes = reader.read_hashes(&CompactRange::nodes(size))?;
        Ok(TiledTree {
            range: CompactRange::from_hashes(size, hashes)?,
            edges,
            full: Vec::new(),
            taken_size: size,
        })
    }

    /// Appends a leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        let TiledTree {
            range, edges, full, ..
        } = self;
        range.append(leaf, |node, hash| {
            if node.level % TILE_HEIGHT != 0 {
                return;
            }
            let level = usize::from(node.level / TILE_HEIGHT);
            if edges.len() <= level {
                edges.resize_with(level + 1, Vec::new);
            }
            let edge = &mut edges[level];
            edge.push(*hash);
            if edge.len() == usize::from(TILE_WIDTH) {
                let tile = TileId {
                    level: node.level / TILE_HEIGHT,
                    index: node.index >> TILE_HEIGHT,
                    width: TILE_WIDTH,
                };
                full.push((tile, tile_data(edge)));
                edge.clear();
            }
        });
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The tree head: size and root hash.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.size(),
            root: self.root(),
        }
    }

    /// The compact range of the tree.
    pub fn compact_range(&self) -> &CompactRange {
        &self.range
    }

    /// Every tile written or widened since the last call (or since the tree
    /// was built), with its data at its new width: full tiles in the order
    /// they completed, then the partial tiles by level. These are exactly the
    /// tiles of [`new_tiles`](super::new_tiles) between the two sizes.
    pub fn take_tiles(&mut self) -> Vec<(TileId, Vec<u8>)> {
        let size = self.size();
        let mut tiles = std::mem::take(&mut self.full);
        for (level, edge) in self.edges.iter().enumerate() {
            let shift = level as u32 * u32::from(TILE_HEIGHT);
            let grew = (size >> shift) != (self.taken_size >> shift);
            if grew && !edge.is_empty() {
                let tile = TileId {
                    level: level as u8,
                    index: (size >> shift) >> TILE_HEIGHT,
                    width: edge.len() as u16,
                };
                tiles.push((tile, tile_data(edge)));
            }
        }
        self.taken_size = size;
        tiles
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::leaf_hash;
    use crate::tile::new_tiles;

    /// The partial tiles among all the tiles of the tree.
    fn partial_tiles(size: u64) -> Vec<TileId> {
        new_tiles(0, size)
            .into_iter()
            .filter(|t| !t.is_full())
            .collect()
    }

    fn tile(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    #[test]
    fn edge_tiles_are_the_partial_tiles() {
        let around_powers = [255, 256, 257, 65_535, 65_536, 65_537];
        for size in (0..=70_000).step_by(97).chain(around_powers) {
            assert_eq!(
                TiledTree::edge_tiles(size),
                partial_tiles(size),
                "size {size}"
            );
        }
    }

    #[test]
    fn edge_tiles_around_powers_of_256() {
        assert_eq!(TiledTree::edge_tiles(0), vec![]);
        assert_eq!(TiledTree::edge_tiles(255), vec![tile(0, 0, 255)]);
        assert_eq!(TiledTree::edge_tiles(256), vec![tile(1, 0, 1)]);
        assert_eq!(
            TiledTree::edge_tiles(257),
            vec![tile(0, 1, 1), tile(1, 0, 1)]
        );
        assert_eq!(
            TiledTree::edge_tiles(65_535),
            vec![tile(0, 255, 255), tile(1, 0, 255)]
        );
        assert_eq!(TiledTree::edge_tiles(65_536), vec![tile(2, 0, 1)]);
        assert_eq!(
            TiledTree::edge_tiles(16_777_215),
            vec![tile(0, 65_535, 255), tile(1, 255, 255), tile(2, 0, 255)]
        );
        assert_eq!(TiledTree::edge_tiles(16_777_216), vec![tile(3, 0, 1)]);
        assert_eq!(
            TiledTree::edge_tiles(16_777_217),
            vec![tile(0, 65_536, 1), tile(3, 0, 1)]
        );
        assert_eq!(
            TiledTree::edge_tiles(u64::MAX),
            (0..8)
                .map(|level| tile(level, u64::MAX >> (8 * level) >> 8, 255))
                .collect::<Vec<_>>()
        );
    }

    proptest! {
        #[test]
        fn edge_tiles_properties(size in 0..=1u64 << 40) {
            let tiles = TiledTree::edge_tiles(size);
            for t in &tiles {
                let count = size >> (8 * u32::from(t.level));
                prop_assert!(!t.is_full());
                prop_assert_eq!(u64::from(t.width), count % 256);
                prop_assert_eq!(t.index, count / 256);
            }
            prop_assert!(tiles.windows(2).all(|w| w[0].level < w[1].level));
            let levels = (0..8u8)
                .filter(|&l| (size >> (8 * u32::from(l))) % 256 != 0)
                .count();
            prop_assert_eq!(tiles.len(), levels);
        }
    }

    #[test]
    fn spec_example_sizes() {
        let mut tree = TiledTree::new();
        for i in 0..70_000u64 {
            tree.append(leaf_hash(&i.to_be_bytes()));
        }
        let tiles = tree.take_tiles();
        let full0 = tiles
            .iter()
            .filter(|(t, _)| t.level == 0 && t.is_full())
            .count();
        assert_eq!(full0, 273);
        let partial: Vec<TileId> = tiles
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| !t.is_full())
            .collect();
        let want = TiledTree::edge_tiles(70_000);
        assert_eq!(partial, want);
        assert_eq!(
            want.iter().map(|t| (t.level, t.width)).collect::<Vec<_>>(),
            vec![(0, 112), (1, 17), (2, 1)]
        );
        assert!(tiles.iter().any(|(t, _)| t.level == 1 && t.is_full()));
        assert!(tree.take_tiles().is_empty());
        let edges: Vec<(TileId, Vec<u8>)> =
            tiles.into_iter().filter(|(t, _)| !t.is_full()).collect();
        let resumed = TiledTree::from_tiles(70_000, &edges).unwrap();
        assert_eq!(resumed.head(), tree.head());
    }

    #[test]
    fn from_tiles_errors() {
        let edge = TileId {
            level: 0,
            index: 0,
            width: 3,
        };
        assert_eq!(
            TiledTree::from_tiles(3, &[]).unwrap_err(),
            Error::MissingTile(edge)
        );
        assert_eq!(
            TiledTree::from_tiles(3, &[(edge, vec![0; 95])]).unwrap_err(),
            Error::WrongTileLength { got: 95, want: 96 }
        );
        assert_eq!(
            TiledTree::from_tiles(0, &[]).unwrap().head(),
            TiledTree::new().head()
        );
    }
}
