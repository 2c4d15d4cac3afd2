//! Compact ranges: the frontier of an append-only Merkle tree.
//!
//! A tree of `size` leaves is covered by one perfect subtree per set bit of
//! `size`, largest first. Their hashes are all that is needed to append more
//! leaves and to compute the root hash: at most 64 hashes whatever the size.

use crate::proof::{fold_right, root_nodes, NodeId};
use crate::{empty_root, node_hash, Error, Hash};

/// The hashes of the perfect subtrees covering leaves `[0, size)`, largest
/// first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The compact range of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, largest subtree first; one per set bit of `size`.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The nodes whose hashes rebuild the compact range of a tree of `size`
    /// leaves with [`CompactRange::from_hashes`] (the same as
    /// [`root_nodes`]).
    pub fn nodes(size: u64) -> Vec<NodeId> {
        root_nodes(size)
    }

    /// Rebuilds the compact range of a tree of `size` leaves from the hashes
    /// of [`CompactRange::nodes`].
    ///
    /// # Errors
    ///
    /// [`Error::WrongHashCount`] when there is not one hash per node.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Self, Error> {
        let want = size.count_ones() as usize;
        if hashes.len() != want {
            return Err(Error::WrongHashCount {
                got: hashes.len(),
                want,
            });
        }
        Ok(CompactRange { size, hashes })
    }

    /// Appends a leaf hash. `on_node` sees the leaf (at level 0) and then
    /// every node the leaf completes, lowest first, with its hash: exactly the
    /// hashes that become permanent in the tree.
    ///
    /// A tree of `u64::MAX` leaves is full; appending to it is a caller bug
    /// and wraps the size.
    pub fn append(&mut self, leaf: Hash, mut on_node: impl FnMut(NodeId, &Hash)) {
        let index = self.size;
        on_node(NodeId::new(0, index), &leaf);
        let mut hash = leaf;
        let mut level = 0;
        // Each trailing one bit of the leaf index is a left sibling waiting
        // for this leaf's subtree to complete it.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.hashes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(NodeId::new(level, index >> level), &hash);
        }
        self.hashes.push(hash);
        self.size = self.size.wrapping_add(1);
    }

    /// The root hash of the tree of `size` leaves.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes).unwrap_or_else(empty_root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf_hash;

    #[test]
    fn append_reports_completed_nodes() {
        let mut range = CompactRange::new();
        let mut seen = Vec::new();
        for i in 0..8u64 {
            range.append(leaf_hash(&i.to_be_bytes()), |n, _| seen.push(n));
        }
        let want: Vec<NodeId> = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (1, 1),
            (2, 0),
            (0, 4),
            (0, 5),
            (1, 2),
            (0, 6),
            (0, 7),
            (1, 3),
            (2, 1),
            (3, 0),
        ]
        .into_iter()
        .map(|(l, i)| NodeId::new(l, i))
        .collect();
        assert_eq!(seen, want);
        assert_eq!(range.hashes().len(), 1);
        assert_eq!(range.size(), 8);
    }

    #[test]
    fn empty_and_rebuilt_ranges() {
        assert_eq!(CompactRange::new().root(), empty_root());
        let mut range = CompactRange::new();
        for i in 0..13u64 {
            range.append(leaf_hash(&i.to_be_bytes()), |_, _| {});
        }
        let rebuilt = CompactRange::from_hashes(13, range.hashes().to_vec()).unwrap();
        assert_eq!(rebuilt, range);
        assert_eq!(CompactRange::nodes(13).len(), 3);
        assert_eq!(
            CompactRange::from_hashes(12, range.hashes().to_vec()),
            Err(Error::WrongHashCount { got: 3, want: 2 })
        );
    }
}
