#![doc = include_str!("../README.md")]

pub mod compact;
mod hash;
pub mod proof;
pub mod tile;

pub use compact::CompactRange;
pub use hash::{empty_root, leaf_hash, node_hash, Hash, TreeHead, HASH_SIZE};
pub use proof::{
    consistency_proof_from_hashes, consistency_proof_nodes, inclusion_proof_from_hashes,
    inclusion_proof_nodes, prove_consistency, prove_inclusion, root_from_hashes,
    root_from_inclusion_proof, root_nodes, root_of, tree_root, verify_consistency,
    verify_inclusion, HashReader, NodeId,
};
pub use tile::{
    decode_entry_bundle, encode_entry_bundle, hash_from_tile, new_tiles, tile_data, tile_for_node,
    tile_hashes, tiles_for_nodes, BundleId, TileHashReader, TileId, TileNodes, TilePath,
    TileSource, TiledTree, TILE_HEIGHT, TILE_WIDTH,
};

/// Everything that can go wrong in this crate.
///
/// Two kinds matter to callers. [`Error::is_evidence`] is true for a failed
/// proof verification: the data contradicts the tree head it was checked
/// against, which is evidence of log misbehaviour (or of a forged proof) and
/// must never be retried past. Every other variant is a malformed input or a
/// caller error (a size out of range, a missing or truncated tile) that says
/// nothing about the log's honesty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A hash was not 32 bytes long.
    #[error("hash is {got} bytes long, want {want}")]
    WrongHashLength {
        /// Length received.
        got: usize,
        /// Length required.
        want: usize,
    },
    /// A hash was not canonical standard base64.
    #[error("hash is not canonical standard base64")]
    BadHashEncoding,
    /// A leaf index is not inside the tree: `index >= size`.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Leaf index asked for.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The old tree size of a consistency proof is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// Old tree size.
        old: u64,
        /// New tree size.
        new: u64,
    },
    /// A consistency proof from the empty tree to a non-empty one was asked
    /// for or checked: RFC 9162 defines none, there is nothing to prove.
    #[error("no consistency proof exists from the empty tree to a tree of size {new}")]
    EmptyOldTree {
        /// New tree size.
        new: u64,
    },
    /// A node is not a complete subtree of a tree of the given size.
    #[error("node at level {level}, index {index} is not in a tree of size {size}")]
    NodeNotInTree {
        /// Level of the node.
        level: u8,
        /// Index of the node within its level.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A node cannot be read from the given tile.
    #[error("node at level {level}, index {index} is not in tile {tile}")]
    NodeNotInTile {
        /// Level of the node.
        level: u8,
        /// Index of the node within its level.
        index: u64,
        /// The tile it was looked for in.
        tile: tile::TileId,
    },
    /// A list of node hashes (from a [`HashReader`] or a caller) did not have
    /// one hash per requested node.
    #[error("got {got} node hashes, want {want}")]
    WrongHashCount {
        /// Hashes received.
        got: usize,
        /// Hashes required.
        want: usize,
    },
    /// Evidence: a proof does not have the length its tree sizes require.
    #[error("proof has {got} hashes, want {want}")]
    WrongProofLength {
        /// Hashes received.
        got: usize,
        /// Hashes required.
        want: usize,
    },
    /// Evidence: a proof does not lead to the root hash of its tree head, or
    /// two heads of equal size have different roots.
    #[error("root hash does not match")]
    RootMismatch,
    /// A tile or entry bundle path is not in the exact C2SP tlog-tiles grammar.
    #[error("not a canonical tlog-tiles path")]
    BadTilePath,
    /// Tile data is not `32 * width` bytes long.
    #[error("tile is {got} bytes long, want {want}")]
    WrongTileLength {
        /// Length received.
        got: usize,
        /// Length required.
        want: usize,
    },
    /// A tile needed to read a node hash was not supplied.
    #[error("tile {0} is missing")]
    MissingTile(tile::TileId),
    /// An entry is too long for an entry bundle's 16-bit length prefix.
    #[error("entry is {len} bytes long, an entry bundle holds at most 65535")]
    EntryTooLong {
        /// Length of the entry.
        len: usize,
    },
    /// An entry bundle ends in the middle of a length prefix or an entry.
    #[error("entry bundle is truncated")]
    TruncatedBundle,
}

impl Error {
    /// True when this error is a failed verification: evidence that a proof
    /// or tree head is false. Clients must report it, never retry past it.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Error::WrongProofLength { .. } | Error::RootMismatch)
    }
}
