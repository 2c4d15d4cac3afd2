//! C2SP checkpoints (`c2sp.org/tlog-checkpoint@v1.0.0`): origin, tree size,
//! root hash and optional extension lines, as the text of a signed note.

use sigtrail_merkle::TreeHead;

use crate::encoding::{check_text, decode_hash, lines, parse_decimal};
use crate::signed_note::Note;
use crate::Error;

/// A checkpoint: the note text a log signs to commit to a tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, non-empty.
    pub origin: String,
    /// The tree size and root hash.
    pub head: TreeHead,
    /// Extension lines, each non-empty, without their newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint note text, accepting only its canonical encoding:
    /// a decimal size without leading zeroes, a canonical base64 32-byte root
    /// hash, no empty line, a final newline.
    ///
    /// # Errors
    ///
    /// The character errors, [`Error::MissingFinalNewline`],
    /// [`Error::WrongLineCount`] for fewer than three lines,
    /// [`Error::EmptyLine`], [`Error::BadNumber`], [`Error::BadBase64`],
    /// [`Error::WrongLength`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        check_text(text.as_bytes())?;
        let lines = lines(text, "checkpoint")?;
        if lines.len() < 3 {
            return Err(Error::WrongLineCount {
                what: "checkpoint",
                got: lines.len(),
                want: 3,
            });
        }
        if let Some(i) = lines.iter().position(|line| line.is_empty()) {
            return Err(Error::EmptyLine {
                what: "checkpoint",
                line: i + 1,
            });
        }
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            head: TreeHead {
                size: parse_decimal(lines[1], "tree size")?,
                root: decode_hash(lines[2], "root hash")?,
            },
            extensions: lines[3..].iter().map(|&line| line.to_owned()).collect(),
        })
    }

    /// The checkpoint note text.
    pub fn to_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.head.size, self.head.root);
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// Parses a signed checkpoint, a signed note whose text is a checkpoint,
/// without verifying its signatures.
///
/// # Errors
///
/// The errors of [`Note::parse`] and [`Checkpoint::parse`].
pub fn parse_signed_checkpoint(bytes: &[u8]) -> Result<(Note, Checkpoint), Error> {
    let note = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    Ok((note, checkpoint))
}
