//! RFC 6962 / RFC 9162 Merkle trees for sigtrail.

mod hash;

pub use hash::{empty_root, leaf_hash, node_hash, Hash, TreeHead, HASH_SIZE};

/// Everything that can go wrong in this crate.
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
}
