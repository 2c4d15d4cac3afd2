//! The one error type of this crate.

use crate::key::Algorithm;

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input does not follow the format: a client bug, garbage, or an
    /// attacker probing the parser. Not retryable, proves nothing.
    Malformed,
    /// Well-formed input that a trusted key contradicts: a signature from a
    /// known key that does not verify, or a statement signed by another key
    /// than the one it names. Keep it: it may be evidence of misbehaviour.
    Evidence,
    /// Well-formed input that no trusted key vouches for.
    Untrusted,
}

/// Everything that can go wrong in this crate.
///
/// Variants carry the numbers and names needed to explain the failure; no
/// variant ever carries secret key material. [`Error::kind`] groups them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- malformed input -----
    /// The input is longer than the format allows.
    #[error("{what} is {got} bytes long, the limit is {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Size received.
        got: usize,
        /// Largest size accepted.
        max: usize,
    },
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// The input holds an ASCII control character other than newline.
    #[error("control character U+{code:04X} at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
        /// The character's code point.
        code: u32,
    },
    /// A text that must end with a newline does not.
    #[error("{what} does not end with a newline")]
    MissingFinalNewline {
        /// Which text.
        what: &'static str,
    },
    /// A signed note has no blank line before its signature lines.
    #[error("signed note has no blank line before its signatures")]
    MissingBlankLine,
    /// A signed note has no signature lines.
    #[error("signed note has no signature lines")]
    NoSignatures,
    /// A signature line does not read `— <name> <base64>`.
    #[error("signature line {line} is not \"— <name> <base64>\"")]
    MalformedSignatureLine {
        /// 1-based number of the line within the signature block.
        line: usize,
    },
    /// A signed note has more signatures than this crate accepts.
    #[error("{got} signatures, the limit is {max}")]
    TooManySignatures {
        /// Number of signatures found.
        got: usize,
        /// Largest number accepted.
        max: usize,
    },
    /// A note signature is shorter than a key ID plus one byte.
    #[error("signature is {got} bytes long, want at least {min}")]
    SignatureTooShort {
        /// Decoded length.
        got: usize,
        /// Shortest length accepted.
        min: usize,
    },
    /// A key name is empty or holds a Unicode space or a plus sign.
    #[error("invalid key name {name:?}")]
    BadKeyName {
        /// The rejected name.
        name: String,
    },
    /// A field is not canonical standard base64 (RFC 4648, padded).
    #[error("{what} is not canonical standard base64")]
    BadBase64 {
        /// Which field.
        what: &'static str,
    },
    /// A field is not lowercase hexadecimal.
    #[error("{what} is not lowercase hexadecimal")]
    BadHex {
        /// Which field.
        what: &'static str,
    },
    /// A number is not a canonical ASCII decimal (no sign, no leading
    /// zeroes) that fits 64 bits.
    #[error("{what} is not a canonical decimal number")]
    BadNumber {
        /// Which field.
        what: &'static str,
    },
    /// A field has the wrong length.
    #[error("{what} is {got} bytes long, want {want}")]
    WrongLength {
        /// Which field.
        what: &'static str,
        /// Length received.
        got: usize,
        /// Length required.
        want: usize,
    },
    /// A verifier key is not `name+hexid+base64`.
    #[error("verifier key is not name+hexid+base64(type||key)")]
    MalformedVerifierKey,
    /// A signer key is not `PRIVATE+KEY+name+hexid+base64`.
    #[error("signer key is not PRIVATE+KEY+name+hexid+base64(type||seed)")]
    MalformedSignerKey,
    /// A key's ID does not match its name, type and public key.
    #[error("key {name} has id {got:08x}, its name, type and public key give {want:08x}")]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// ID written in the key.
        got: u32,
        /// ID computed from the key.
        want: u32,
    },
    /// A key has a signature type this crate does not implement.
    #[error("unsupported signature type 0x{algorithm:02x}")]
    UnknownAlgorithm {
        /// The signature type byte.
        algorithm: u8,
    },
    /// A key of one signature type where another is required.
    #[error("{got} key where a {want} key is required")]
    WrongKeyType {
        /// Type of the key given.
        got: Algorithm,
        /// Type required.
        want: Algorithm,
    },
    /// An Ed25519 public key is not a valid point encoding.
    #[error("Ed25519 public key is not a valid curve point")]
    InvalidPublicKey,
    /// An Ed25519 public key uses a non-canonical point encoding.
    #[error("Ed25519 public key is not canonically encoded")]
    NonCanonicalPublicKey,
    /// An Ed25519 public key is a small-order point.
    #[error("Ed25519 public key is a weak (small-order) point")]
    WeakPublicKey,
    /// Two trusted keys share a name and key ID.
    #[error("{count} trusted keys are named {name} with id {key_id:08x}")]
    AmbiguousKey {
        /// The key name.
        name: String,
        /// The shared key ID.
        key_id: u32,
        /// How many keys share them.
        count: usize,
    },
    /// A text has the wrong number of lines.
    #[error("{what} has {got} lines, want {want}")]
    WrongLineCount {
        /// Which text.
        what: &'static str,
        /// Lines found.
        got: usize,
        /// Lines required (a minimum where the format allows more).
        want: usize,
    },
    /// A line that must not be empty is.
    #[error("line {line} of {what} is empty")]
    EmptyLine {
        /// Which text.
        what: &'static str,
        /// 1-based line number.
        line: usize,
    },
    /// A line does not start with the keyword the format puts there.
    #[error("line {line} of {what} does not start with {want:?}")]
    UnexpectedLine {
        /// Which text.
        what: &'static str,
        /// 1-based line number.
        line: usize,
        /// The keyword required on that line.
        want: &'static str,
    },
    /// A proof has more hashes than any tree of 2^64 leaves needs.
    #[error("{got} proof hashes, the limit is {max}")]
    TooManyProofHashes {
        /// Hashes found.
        got: usize,
        /// Largest number accepted.
        max: usize,
    },
    /// A cosignature timestamp is above 2^63 - 1.
    #[error("timestamp {got} exceeds {max}")]
    TimestampOutOfRange {
        /// Timestamp received.
        got: u64,
        /// Largest timestamp allowed.
        max: u64,
    },
    /// An entry's subject does not start with `sha256:`.
    #[error("subject does not start with \"sha256:\"")]
    BadSubject,
    /// An entry's artifact name breaks the name rules.
    #[error("artifact name is not 1-256 bytes of printable UTF-8 without surrounding spaces")]
    BadArtifactName,
    /// A time is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("time is not YYYY-MM-DDTHH:MM:SSZ")]
    BadTimeSyntax,
    /// A time is before the Unix epoch.
    #[error("year {year} is before 1970")]
    YearBeforeEpoch {
        /// The year.
        year: u32,
    },
    /// A time names a day that does not exist.
    #[error("{year:04}-{month:02}-{day:02} is not a calendar date")]
    InvalidDate {
        /// Year.
        year: u32,
        /// Month.
        month: u32,
        /// Day of the month.
        day: u32,
    },
    /// A time of day is out of range (no leap seconds, no hour 24).
    #[error("{hour:02}:{minute:02}:{second:02} is not a time of day")]
    InvalidTimeOfDay {
        /// Hour.
        hour: u32,
        /// Minute.
        minute: u32,
        /// Second.
        second: u32,
    },
    /// A time is after 9999-12-31T23:59:59Z.
    #[error("time {got} is past {max} seconds since the Unix epoch")]
    TimeOutOfRange {
        /// Seconds since the epoch.
        got: u64,
        /// Largest time accepted.
        max: u64,
    },
    /// A note has the wrong number of signatures for its format.
    #[error("{got} signatures, want {want}")]
    WrongSignatureCount {
        /// Signatures found.
        got: usize,
        /// Signatures required.
        want: usize,
    },

    // ----- evidence -----
    /// An Ed25519 signature does not verify under the strict rule.
    #[error("Ed25519 signature does not verify")]
    BadEd25519Signature,
    /// A signature from a known key does not verify.
    #[error("invalid signature for key {name}+{key_id:08x}")]
    InvalidSignature {
        /// Name of the key.
        name: String,
        /// ID of the key.
        key_id: u32,
    },
    /// A statement is signed by another key than the one it names.
    #[error("signed by {got_name}+{got_key_id:08x}, but the statement names {want_name}+{want_key_id:08x}")]
    SignerMismatch {
        /// Name of the key the statement names.
        want_name: String,
        /// ID of the key the statement names.
        want_key_id: u32,
        /// Name in the signature.
        got_name: String,
        /// Key ID in the signature.
        got_key_id: u32,
    },

    // ----- untrusted -----
    /// No signature on a note comes from a trusted key.
    #[error("no signature from a trusted key")]
    NoVerifiedSignature,
}

impl Error {
    /// Which group the error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadEd25519Signature
            | Error::InvalidSignature { .. }
            | Error::SignerMismatch { .. } => ErrorKind::Evidence,
            Error::NoVerifiedSignature => ErrorKind::Untrusted,
            _ => ErrorKind::Malformed,
        }
    }

    /// Whether the error is evidence of misbehaviour by a key holder
    /// ([`ErrorKind::Evidence`]) rather than a malformed or untrusted input.
    pub fn is_evidence(&self) -> bool {
        self.kind() == ErrorKind::Evidence
    }
}
