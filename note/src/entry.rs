//! The sigtrail entry: a signing event, as a signed note signed by the
//! artifact signer (`docs/spec/entry.md` is the normative grammar).
//!
//! ```text
//! sigtrail/v1/signing-event
//! subject sha256:<64 lowercase hex digits>
//! name <artifact name>
//! key <Ed25519 verifier key of the signer>
//! time <YYYY-MM-DDTHH:MM:SSZ>
//!
//! — <signer key name> <base64(key ID || Ed25519 signature)>
//! ```
//!
//! Exactly one encoding is accepted for each event, so equal events have
//! equal bytes and the log dedupes them by leaf hash.

use sigtrail_merkle::{leaf_hash, Hash};

use crate::encoding::{check_text, decode_lower_hex, encode_lower_hex, lines};
use crate::key::{Algorithm, SignerKey, VerifierKey};
use crate::signed_note::Note;
use crate::utc_time::{format_utc, parse_utc};
use crate::Error;

/// The first line of every entry.
pub const ENTRY_HEADER: &str = "sigtrail/v1/signing-event";

/// Largest signed entry, in bytes.
pub const MAX_ENTRY_SIZE: usize = 4096;

/// Longest artifact name, in bytes.
pub const MAX_NAME_SIZE: usize = 256;

const SUBJECT_PREFIX: &str = "sha256:";
const WHAT: &str = "entry";
const KEYWORDS: [&str; 4] = ["subject ", "name ", "key ", "time "];

/// What a signer states: it signed the artifact with this SHA-256 digest,
/// under this name, with this key, at this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningEvent {
    /// SHA-256 digest of the signed artifact.
    pub subject: [u8; 32],
    /// Name of the artifact (a package URL, a file name), 1 to 256 bytes.
    pub name: String,
    /// The signer's Ed25519 verifier key; it signs the entry.
    pub key: VerifierKey,
    /// When the artifact was signed, in seconds since the Unix epoch.
    pub time: u64,
}

/// Checks an artifact name: 1 to 256 bytes; no control character, no
/// whitespace but U+0020 and none at either end, no bidirectional control.
fn check_artifact_name(name: &str) -> Result<(), Error> {
    let allowed = |c: char| {
        !c.is_control()
            && (c == ' ' || !c.is_whitespace())
            && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    let valid = (1..=MAX_NAME_SIZE).contains(&name.len())
        && !name.starts_with(' ')
        && !name.ends_with(' ')
        && name.chars().all(allowed);
    if !valid {
        return Err(Error::BadArtifactName);
    }
    Ok(())
}

/// A subject digest as entries write it: `sha256:` and 64 lowercase hex digits.
pub fn subject_text(digest: &[u8; 32]) -> String {
    format!("{SUBJECT_PREFIX}{}", encode_lower_hex(digest))
}

/// Parses a subject written as entries write it, `sha256:` and 64 lowercase
/// hex digits, into its digest.
///
/// # Errors
///
/// [`Error::BadSubject`] without the `sha256:` prefix, [`Error::BadHex`]
/// and [`Error::WrongLength`] for the digest.
pub fn parse_subject(text: &str) -> Result<[u8; 32], Error> {
    let digest = text.strip_prefix(SUBJECT_PREFIX).ok_or(Error::BadSubject)?;
    decode_lower_hex(digest, "subject digest")
}

impl SigningEvent {
    /// The entry's note text.
    ///
    /// # Errors
    ///
    /// [`Error::BadArtifactName`], [`Error::WrongKeyType`] unless the key is
    /// an Ed25519 key, [`Error::TimeOutOfRange`].
    pub fn to_text(&self) -> Result<String, Error> {
        check_artifact_name(&self.name)?;
        self.key.algorithm().require(Algorithm::Ed25519)?;
        Ok(format!(
            "{ENTRY_HEADER}\nsubject {}\nname {}\nkey {}\ntime {}\n",
            self.subject_text(),
            self.name,
            self.key,
            self.time_text()?
        ))
    }

    /// The subject as the entry writes it: `sha256:` and 64 lowercase hex
    /// digits.
    pub fn subject_text(&self) -> String {
        subject_text(&self.subject)
    }

    /// The time as the entry writes it: `YYYY-MM-DDTHH:MM:SSZ`.
    ///
    /// # Errors
    ///
    /// [`Error::TimeOutOfRange`] after the year 9999.
    pub fn time_text(&self) -> Result<String, Error> {
        format_utc(self.time)
    }

    /// Parses an entry's note text, accepting only its canonical encoding.
    ///
    /// # Errors
    ///
    /// The character errors, [`Error::MissingFinalNewline`],
    /// [`Error::WrongLineCount`] unless there are exactly five lines,
    /// [`Error::UnexpectedLine`] for a line out of place, [`Error::BadSubject`],
    /// [`Error::BadHex`] and [`Error::WrongLength`] for the digest,
    /// [`Error::BadArtifactName`], the verifier key errors,
    /// [`Error::WrongKeyType`], and the time errors of
    /// [`crate::utc_time::parse_utc`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        check_text(text.as_bytes())?;
        let lines = lines(text, WHAT)?;
        let unexpected = |line: usize, want: &'static str| Error::UnexpectedLine {
            what: WHAT,
            line,
            want,
        };
        if lines.first() != Some(&ENTRY_HEADER) {
            return Err(unexpected(1, ENTRY_HEADER));
        }
        if lines.len() != 1 + KEYWORDS.len() {
            return Err(Error::WrongLineCount {
                what: WHAT,
                got: lines.len(),
                want: 1 + KEYWORDS.len(),
            });
        }
        let mut values = [""; 4];
        for (i, (line, keyword)) in lines[1..].iter().zip(KEYWORDS).enumerate() {
            values[i] = line
                .strip_prefix(keyword)
                .ok_or(unexpected(i + 2, keyword))?;
        }
        let [subject, name, key, time] = values;
        let subject = parse_subject(subject)?;
        check_artifact_name(name)?;
        let key: VerifierKey = key.parse()?;
        key.algorithm().require(Algorithm::Ed25519)?;
        Ok(SigningEvent {
            subject,
            name: name.to_owned(),
            key,
            time: parse_utc(time)?,
        })
    }

    /// Signs the event with the key it names.
    ///
    /// # Errors
    ///
    /// [`Error::SignerMismatch`] unless `signer` is the key of the event,
    /// the errors of [`SigningEvent::to_text`], and [`Error::TooLarge`] when
    /// the signed entry exceeds [`MAX_ENTRY_SIZE`] (long key names).
    pub fn sign(&self, signer: &SignerKey) -> Result<SignedEntry, Error> {
        if signer.verifier_key() != &self.key {
            return Err(Error::SignerMismatch {
                want_name: self.key.name().to_owned(),
                want_key_id: self.key.key_id(),
                got_name: signer.name().to_owned(),
                got_key_id: signer.key_id(),
            });
        }
        let note = Note::sign(&self.to_text()?, &[signer])?;
        SignedEntry::parse(note.to_text().as_bytes())
    }
}

/// A signed entry whose encoding and signature have been checked: the bytes
/// the log stores as a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEntry {
    bytes: Vec<u8>,
    event: SigningEvent,
}

impl SignedEntry {
    /// Parses and verifies a signed entry. It must be the canonical encoding
    /// of its event, with exactly one signature, by the key of its `key`
    /// line, that verifies under the strict Ed25519 rule.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] above [`MAX_ENTRY_SIZE`], the errors of
    /// [`Note::parse`] and [`SigningEvent::parse`],
    /// [`Error::WrongSignatureCount`], and the evidence errors
    /// [`Error::SignerMismatch`] and [`Error::InvalidSignature`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(Error::TooLarge {
                what: WHAT,
                got: bytes.len(),
                max: MAX_ENTRY_SIZE,
            });
        }
        let note = Note::parse(bytes)?;
        let [signature] = note.signatures() else {
            return Err(Error::WrongSignatureCount {
                got: note.signatures().len(),
                want: 1,
            });
        };
        let event = SigningEvent::parse(note.text())?;
        if !event.key.matches(signature) {
            return Err(Error::SignerMismatch {
                want_name: event.key.name().to_owned(),
                want_key_id: event.key.key_id(),
                got_name: signature.name.clone(),
                got_key_id: signature.key_id,
            });
        }
        event.key.verify(note.text().as_bytes(), &signature.bytes)?;
        Ok(SignedEntry {
            bytes: bytes.to_vec(),
            event,
        })
    }

    /// The signed entry, as logged.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The signed entry, as logged.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The event the entry states.
    pub fn event(&self) -> &SigningEvent {
        &self.event
    }

    /// The RFC 6962 leaf hash of the entry: `SHA-256(0x00 || bytes)`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.bytes)
    }
}
