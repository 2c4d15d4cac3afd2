//! Offline proofs of inclusion, `c2sp.org/tlog-proof@v1`: optional extra
//! data, a leaf index, an inclusion proof and a signed checkpoint.

use sigtrail_merkle::Hash;

use crate::checkpoint::{parse_signed_checkpoint, Checkpoint};
use crate::encoding::{decode_base64, decode_hash, encode_base64, parse_decimal, split_header};
use crate::signed_note::{Note, MAX_NOTE_SIZE};
use crate::Error;

/// The first line of every tlog proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Most inclusion proof hashes accepted: the height of a tree of 2^64
/// leaves.
pub const MAX_INCLUSION_PROOF_HASHES: usize = 64;

/// Largest tlog proof accepted: a maximal note, the proof, and up to 16 KiB
/// of base64 extra data.
pub const MAX_TLOG_PROOF_SIZE: usize = MAX_NOTE_SIZE + 20 * 1024;

const WHAT: &str = "tlog-proof";
const EXTRA_PREFIX: &str = "extra ";
const INDEX_PREFIX: &str = "index ";

/// A tlog proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (for sigtrail, the entry).
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the leaf.
    pub index: u64,
    /// Inclusion proof, from the leaf's sibling up to the root's child.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// Parses a tlog proof, accepting only its canonical encoding. It checks
    /// that the checkpoint is a well-formed signed checkpoint, not its
    /// signatures nor the proof.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`], [`Error::MissingBlankLine`],
    /// [`Error::UnexpectedLine`] for a missing header or index line,
    /// [`Error::BadNumber`], base64 errors, [`Error::TooManyProofHashes`],
    /// and the errors of [`parse_signed_checkpoint`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let (header, checkpoint) = split_header(bytes, WHAT, MAX_TLOG_PROOF_SIZE)?;
        let unexpected = |line: usize, want: &'static str| Error::UnexpectedLine {
            what: WHAT,
            line,
            want,
        };
        if header[0] != TLOG_PROOF_HEADER {
            return Err(unexpected(1, TLOG_PROOF_HEADER));
        }
        let mut rest = &header[1..];
        let extra = match rest.first().and_then(|l| l.strip_prefix(EXTRA_PREFIX)) {
            Some(encoded) => {
                rest = &rest[1..];
                Some(decode_base64(encoded, "extra data")?)
            }
            None => None,
        };
        let index_line = 2 + usize::from(extra.is_some());
        let (index, proof) = rest
            .split_first()
            .ok_or(unexpected(index_line, INDEX_PREFIX))?;
        let index = index
            .strip_prefix(INDEX_PREFIX)
            .ok_or(unexpected(index_line, INDEX_PREFIX))?;
        if proof.len() > MAX_INCLUSION_PROOF_HASHES {
            return Err(Error::TooManyProofHashes {
                got: proof.len(),
                max: MAX_INCLUSION_PROOF_HASHES,
            });
        }
        parse_signed_checkpoint(checkpoint)?;
        Ok(TlogProof {
            extra,
            index: parse_decimal(index, "leaf index")?,
            proof: proof
                .iter()
                .map(|line| decode_hash(line, "inclusion proof hash"))
                .collect::<Result<_, _>>()?,
            checkpoint: checkpoint.to_vec(),
        })
    }

    /// The tlog proof text.
    pub fn to_text(&self) -> Vec<u8> {
        let mut text = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("{EXTRA_PREFIX}{}\n", encode_base64(extra)));
        }
        text.push_str(&format!("{INDEX_PREFIX}{}\n", self.index));
        for hash in &self.proof {
            text.push_str(&format!("{hash}\n"));
        }
        text.push('\n');
        let mut text = text.into_bytes();
        text.extend_from_slice(&self.checkpoint);
        text
    }

    /// The checkpoint, parsed (its signatures are not verified).
    ///
    /// # Errors
    ///
    /// The errors of [`parse_signed_checkpoint`].
    pub fn signed_checkpoint(&self) -> Result<(Note, Checkpoint), Error> {
        parse_signed_checkpoint(&self.checkpoint)
    }
}
