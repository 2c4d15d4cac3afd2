//! The SHA-256 hash type and RFC 6962 leaf and node hashing.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::Error;

/// Size in bytes of a [`Hash`](struct@Hash).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a root hash.
///
/// `Display` and `FromStr` use standard base64 with padding, the encoding of
/// checkpoints, proofs and the JSON API.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_SIZE]);

impl Hash {
    /// The hash's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }

    /// Reads a hash from exactly 32 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::WrongHashLength`] when `bytes` is not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: [u8; HASH_SIZE] = bytes.try_into().map_err(|_| Error::WrongHashLength {
            got: bytes.len(),
            want: HASH_SIZE,
        })?;
        Ok(Hash(array))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl FromStr for Hash {
    type Err = Error;

    /// Parses the canonical standard-base64 form, 44 characters with padding.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bytes = STANDARD.decode(s).map_err(|_| Error::BadHashEncoding)?;
        let hash = Hash::from_slice(&bytes)?;
        // Reject non-canonical encodings (stray bits in the last character).
        if hash.to_string() != s {
            return Err(Error::BadHashEncoding);
        }
        Ok(hash)
    }
}

/// The RFC 6962 hash of a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The RFC 6962 hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// A tree head: a tree size and the root hash of the tree of that size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TreeHead {
    /// Number of leaves in the tree.
    pub size: u64,
    /// Root hash of the tree of `size` leaves.
    pub root: Hash,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_string(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn base64_round_trip_and_canonical_form() {
        let h = leaf_hash(b"");
        assert_eq!(
            h.to_string(),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
        assert_eq!(h.to_string().parse::<Hash>().unwrap(), h);
        // Same bytes, last character with non-zero padding bits.
        assert!("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB1="
            .parse::<Hash>()
            .is_err());
        assert!("bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0"
            .parse::<Hash>()
            .is_err());
        assert_eq!(
            "AAAA".parse::<Hash>(),
            Err(Error::WrongHashLength { got: 3, want: 32 })
        );
    }
}
