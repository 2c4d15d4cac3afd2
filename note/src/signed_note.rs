//! C2SP signed notes (`c2sp.org/signed-note@v1.0.0`): a text, a blank line,
//! and one or more signature lines `— <key name> base64(key ID || signature)`.

use crate::cosignature;
use crate::encoding::{check_text, decode_base64, encode_base64, lines};
use crate::key::{check_key_name, Algorithm, SignerKey, VerifierKey};
use crate::Error;

/// Largest signed note accepted, in bytes: room for [`MAX_SIGNATURES`]
/// post-quantum signatures.
pub const MAX_NOTE_SIZE: usize = 256 * 1024;

/// Most signatures accepted on one note (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 64;

/// What starts every signature line: an em dash (U+2014) and a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

const KEY_ID_SIZE: usize = 4;

/// One signature line of a signed note, verified or not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The key name.
    pub name: String,
    /// The key ID: the first four bytes of the decoded signature.
    pub key_id: u32,
    /// The signature proper, after the key ID (its layout depends on the
    /// signature type).
    pub bytes: Vec<u8>,
}

impl Signature {
    /// The signature line, `— <name> base64(key ID || bytes)`, with its
    /// final newline. (A signature with an invalid name or no bytes gives a
    /// line that does not parse; [`Note::add_signature`] refuses it.)
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.bytes);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, encode_base64(&raw))
    }

    /// Checks what the line encoding needs: a valid name and at least one
    /// byte of signature.
    fn check(&self) -> Result<(), Error> {
        check_key_name(&self.name)?;
        if self.bytes.is_empty() {
            return Err(Error::SignatureTooShort {
                got: KEY_ID_SIZE,
                min: KEY_ID_SIZE + 1,
            });
        }
        Ok(())
    }

    /// Parses line `number` (1-based) of a signature block, without its
    /// newline.
    fn parse_line(line: &str, number: usize) -> Result<Self, Error> {
        let malformed = Error::MalformedSignatureLine { line: number };
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(malformed.clone())?;
        let (name, encoded) = rest.split_once(' ').ok_or(malformed)?;
        check_key_name(name)?;
        let raw = decode_base64(encoded, "signature")?;
        if raw.len() <= KEY_ID_SIZE {
            return Err(Error::SignatureTooShort {
                got: raw.len(),
                min: KEY_ID_SIZE + 1,
            });
        }
        let (id, bytes) = raw.split_at(KEY_ID_SIZE);
        Ok(Signature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            bytes: bytes.to_vec(),
        })
    }
}

/// Parses a block of one or more newline-terminated signature lines: the
/// signatures of a note, or a tlog-witness `add-checkpoint` response body.
///
/// # Errors
///
/// [`Error::TooLarge`], [`Error::NoSignatures`],
/// [`Error::TooManySignatures`], or a malformed-line error.
pub fn parse_signature_lines(block: &[u8]) -> Result<Vec<Signature>, Error> {
    check_size(block.len(), "signature block")?;
    if block.is_empty() {
        return Err(Error::NoSignatures);
    }
    let block = check_text(block)?;
    let lines = lines(block, "signature block")?;
    if lines.len() > MAX_SIGNATURES {
        return Err(Error::TooManySignatures {
            got: lines.len(),
            max: MAX_SIGNATURES,
        });
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| Signature::parse_line(line, i + 1))
        .collect()
}

fn check_size(got: usize, what: &'static str) -> Result<(), Error> {
    if got > MAX_NOTE_SIZE {
        return Err(Error::TooLarge {
            what,
            got,
            max: MAX_NOTE_SIZE,
        });
    }
    Ok(())
}

/// A note text with one or more signatures.
///
/// Every `Note` encodes: [`Note::parse`] of [`Note::to_text`] gives the same
/// note back, and `to_text` of a parsed note gives back the parsed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<Signature>,
}

impl Note {
    /// Parses a signed note without verifying it; see [`Note::verify`].
    ///
    /// The text ends at the last blank line; signatures from unknown keys and
    /// repeated signatures are kept as they are.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] above [`MAX_NOTE_SIZE`], [`Error::InvalidUtf8`],
    /// [`Error::ControlCharacter`], [`Error::MissingBlankLine`], and the
    /// errors of [`parse_signature_lines`].
    pub fn parse(bytes: &[u8]) -> Result<Note, Error> {
        check_size(bytes.len(), "signed note")?;
        let message = check_text(bytes)?;
        let split = message.rfind("\n\n").ok_or(Error::MissingBlankLine)?;
        let signatures = parse_signature_lines(&bytes[split + 2..])?;
        Ok(Note {
            text: message[..=split].to_owned(),
            signatures,
        })
    }

    /// Signs `text` with Ed25519 signer keys, in order (a key given twice
    /// signs once).
    ///
    /// # Errors
    ///
    /// [`Error::MissingFinalNewline`] and the character errors for a bad
    /// text, [`Error::NoSignatures`] for no signer, [`Error::WrongKeyType`]
    /// for a cosignature key (use [`cosignature::sign`]), and the errors of
    /// [`Note::add_signature`].
    pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<Note, Error> {
        check_size(text.len(), "note text")?;
        check_text(text.as_bytes())?;
        if !text.ends_with('\n') {
            return Err(Error::MissingFinalNewline { what: "note text" });
        }
        if signers.is_empty() {
            return Err(Error::NoSignatures);
        }
        let mut note = Note {
            text: text.to_owned(),
            signatures: Vec::new(),
        };
        for signer in signers {
            signer.algorithm().require(Algorithm::Ed25519)?;
            note.add_signature(Signature {
                name: signer.name().to_owned(),
                key_id: signer.key_id(),
                bytes: signer.sign(text.as_bytes()).to_vec(),
            })?;
        }
        Ok(note)
    }

    /// The note text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Adds a signature, replacing any with the same key name and ID. It is
    /// not verified.
    ///
    /// # Errors
    ///
    /// [`Error::BadKeyName`] or [`Error::SignatureTooShort`] for a signature
    /// that cannot be encoded, [`Error::TooManySignatures`] or
    /// [`Error::TooLarge`] when the note would exceed the limits. The note is
    /// unchanged on error.
    pub fn add_signature(&mut self, signature: Signature) -> Result<(), Error> {
        signature.check()?;
        let mut signatures = self.signatures.clone();
        match signatures
            .iter_mut()
            .find(|s| s.name == signature.name && s.key_id == signature.key_id)
        {
            Some(existing) => *existing = signature,
            None => signatures.push(signature),
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::TooManySignatures {
                got: signatures.len(),
                max: MAX_SIGNATURES,
            });
        }
        let size =
            self.text.len() + 1 + signatures.iter().map(|s| s.to_line().len()).sum::<usize>();
        check_size(size, "signed note")?;
        self.signatures = signatures;
        Ok(())
    }

    /// The signed note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            out.push_str(&signature.to_line());
        }
        out
    }

    /// Verifies the note against trusted keys, with the semantics of
    /// golang.org/x/mod/sumdb/note `Open`: signatures whose name and key ID
    /// match no trusted key are ignored; every signature that matches one
    /// must verify; at least one must.
    ///
    /// Returns the trusted keys that signed, each once, in signature order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignature`] (evidence) when a signature from a
    /// trusted key fails, [`Error::TimestampOutOfRange`] for a cosignature
    /// with a timestamp above 2^63 - 1, [`Error::AmbiguousKey`] when two
    /// different trusted keys share the name and ID of a signature,
    /// [`Error::NoVerifiedSignature`] when no trusted key signed.
    pub fn verify<'k>(&self, keys: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, Error> {
        let mut verified: Vec<&VerifierKey> = Vec::new();
        for signature in &self.signatures {
            let matching: Vec<&VerifierKey> =
                keys.iter().filter(|k| k.matches(signature)).collect();
            let Some(&key) = matching.first() else {
                continue;
            };
            if matching.iter().any(|&other| other != key) {
                return Err(Error::AmbiguousKey {
                    name: signature.name.clone(),
                    key_id: signature.key_id,
                    count: matching.len(),
                });
            }
            match key.algorithm() {
                Algorithm::Ed25519 => key.verify(self.text.as_bytes(), &signature.bytes)?,
                Algorithm::CosignatureV1 => {
                    cosignature::verify(&self.text, key, signature)?;
                }
            }
            if !verified.contains(&key) {
                verified.push(key);
            }
        }
        if verified.is_empty() {
            return Err(Error::NoVerifiedSignature);
        }
        Ok(verified)
    }
}
