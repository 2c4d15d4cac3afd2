//! Bodies of the C2SP tlog-witness protocol (`c2sp.org/tlog-witness`):
//! the `add-checkpoint` request and the `text/x.tlog.size` conflict body.
//!
//! The `200` response body is a block of signature lines: parse it with
//! [`parse_signature_lines`](crate::signed_note::parse_signature_lines) and
//! write it with [`Signature::to_line`](crate::signed_note::Signature::to_line).

use sigtrail_merkle::Hash;

use crate::checkpoint::{parse_signed_checkpoint, Checkpoint};
use crate::encoding::{check_text, decode_hash, lines, parse_decimal, split_header};
use crate::signed_note::{Note, MAX_NOTE_SIZE};
use crate::Error;

/// Most consistency proof lines a request may carry.
pub const MAX_CONSISTENCY_PROOF_LINES: usize = 63;

/// Largest `add-checkpoint` body accepted: a maximal note plus the old size
/// and proof lines.
pub const MAX_ADD_CHECKPOINT_SIZE: usize = MAX_NOTE_SIZE + 4096;

/// `Content-Type` of the `409 Conflict` body, a tree size.
pub const TREE_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

const WHAT: &str = "add-checkpoint request";
const OLD_PREFIX: &str = "old ";

/// An `add-checkpoint` request body: the size of the checkpoint the client
/// believes the witness holds, a consistency proof from it, and the new
/// signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the previous checkpoint.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// Parses a request body, accepting only its canonical encoding. It
    /// checks that the checkpoint is a well-formed signed checkpoint, not its
    /// signatures nor the proof.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`], [`Error::MissingBlankLine`],
    /// [`Error::UnexpectedLine`] without the `old` line, [`Error::BadNumber`],
    /// the base64 errors of a proof line, [`Error::TooManyProofHashes`], and
    /// the errors of [`parse_signed_checkpoint`].
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let (header, checkpoint) = split_header(body, WHAT, MAX_ADD_CHECKPOINT_SIZE)?;
        let old = header[0]
            .strip_prefix(OLD_PREFIX)
            .ok_or(Error::UnexpectedLine {
                what: WHAT,
                line: 1,
                want: OLD_PREFIX,
            })?;
        let proof = &header[1..];
        if proof.len() > MAX_CONSISTENCY_PROOF_LINES {
            return Err(Error::TooManyProofHashes {
                got: proof.len(),
                max: MAX_CONSISTENCY_PROOF_LINES,
            });
        }
        parse_signed_checkpoint(checkpoint)?;
        Ok(AddCheckpoint {
            old_size: parse_decimal(old, "old size")?,
            proof: proof
                .iter()
                .map(|line| decode_hash(line, "consistency proof hash"))
                .collect::<Result<_, _>>()?,
            checkpoint: checkpoint.to_vec(),
        })
    }

    /// The request body.
    pub fn to_text(&self) -> Vec<u8> {
        let mut body = format!("{OLD_PREFIX}{}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&format!("{hash}\n"));
        }
        body.push('\n');
        let mut body = body.into_bytes();
        body.extend_from_slice(&self.checkpoint);
        body
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

/// Parses a `text/x.tlog.size` body: a tree size in decimal and a newline.
///
/// # Errors
///
/// [`Error::MissingFinalNewline`], [`Error::WrongLineCount`],
/// [`Error::BadNumber`], and the character errors.
pub fn parse_tree_size(body: &[u8]) -> Result<u64, Error> {
    let lines = lines(check_text(body)?, "tree size body")?;
    match lines.as_slice() {
        [size] => parse_decimal(size, "tree size"),
        _ => Err(Error::WrongLineCount {
            what: "tree size body",
            got: lines.len(),
            want: 1,
        }),
    }
}

/// The `text/x.tlog.size` body for `size`.
pub fn format_tree_size(size: u64) -> String {
    format!("{size}\n")
}
