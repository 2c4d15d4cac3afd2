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

/// SHA-256's initial hash value (FIPS 180-4, section 5.3.3).
const SHA256_INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Length in bits of a node hash's message, `0x01 || left || right`.
const NODE_MESSAGE_BITS: u64 = (1 + 2 * HASH_SIZE as u64) * 8;

/// The RFC 6962 hash of an interior node: `SHA-256(0x01 || left || right)`.
///
/// The message is always 65 bytes, so it is padded here and its two blocks
/// go straight to SHA-256's compression function: every tile expansion and
/// proof check hashes nodes, and the streaming hasher's buffering and
/// padding took about half as long again as the compression.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][0] = 0x01;
    blocks[0][1..=HASH_SIZE].copy_from_slice(&left.0);
    blocks[0][HASH_SIZE + 1..].copy_from_slice(&right.0[..HASH_SIZE - 1]);
    blocks[1][0] = right.0[HASH_SIZE - 1];
    // SHA-256 padding: a 1 bit, zeros, and the message length in bits.
    blocks[1][1] = 0x80;
    blocks[1][56..].copy_from_slice(&NODE_MESSAGE_BITS.to_be_bytes());
    let mut state = SHA256_INITIAL;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut hash = [0u8; HASH_SIZE];
    for (bytes, word) in hash.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    Hash(hash)
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
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The padded compression is SHA-256 of the 65-byte message.
        #[test]
        fn node_hash_is_sha256_of_the_message(left: [u8; 32], right: [u8; 32]) {
            let mut h = Sha256::new();
            h.update([0x01]);
            h.update(left);
            h.update(right);
            let want = Hash(h.finalize().into());
            prop_assert_eq!(node_hash(&Hash(left), &Hash(right)), want);
        }
    }

    #[test]
    fn node_hash_of_rfc_6962_leaves() {
        // The root of the two-leaf tree of RFC 6962's test vectors
        // (certificate-transparency-go, merkle/testdata): leaves "" and 0x00.
        let root = node_hash(&leaf_hash(b""), &leaf_hash(&[0x00]));
        assert_eq!(
            hex(&root.0),
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

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
