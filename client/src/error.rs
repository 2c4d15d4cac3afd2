//! The one error type of this crate.

use sigtrail_merkle::Error as MerkleError;
use sigtrail_note::Error as NoteError;

/// What kind of failure an [`Error`] is, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Evidence of misbehaviour: a signature from a trusted key that does
    /// not verify, a proof that fails, two heads that are not consistent, an
    /// artifact whose digest is not the one the entry names. Never retried:
    /// keep the inputs, they may prove the log or a key holder lied.
    Evidence,
    /// Input that does not prove anything was logged: malformed bundles,
    /// checkpoints nobody trusted signed, too few cosignatures, a bad
    /// policy. Not retryable either.
    Invalid,
    /// A failure of the network or of the server (connection, timeout,
    /// 5xx, overload): trying again later may succeed.
    Transient,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- monitor -----
    /// A line of an expectations manifest is not `<64 hex>  <name>`.
    #[error("expectations manifest: line {line} is not `<sha256 hex>  <name>`")]
    Manifest {
        /// The line number, from 1.
        line: usize,
    },
    /// An allowed time window is not `START/END` in RFC 3339 UTC, START
    /// not after END.
    #[error("allowed window {0:?}: want START/END as YYYY-MM-DDTHH:MM:SSZ, START not after END")]
    Window(String),
    /// The webhook did not accept an alert after every attempt.
    #[error("webhook: gave up after {attempts} attempts: {source}")]
    Webhook {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        #[source]
        source: Box<Error>,
    },
    /// The alert command could not be started or fed.
    #[error("alert command: {0}")]
    HookSpawn(#[source] std::io::Error),
    /// The alert command exited unsuccessfully.
    #[error("alert command: exited with status {code:?}")]
    HookFailed {
        /// Its exit code, `None` when a signal ended it.
        code: Option<i32>,
    },

    // ----- verification -----
    /// The artifact's SHA-256 is not the subject the entry names.
    #[error("artifact digest: the file's SHA-256 is {got}, the entry names {want}")]
    ArtifactDigest {
        /// Subject named by the entry, `sha256:<hex>`.
        want: String,
        /// Digest of the artifact, `sha256:<hex>`.
        got: String,
    },
    /// The bundle does not parse as a C2SP tlog-proof.
    #[error("bundle: not a valid tlog-proof: {0}")]
    Bundle(#[source] NoteError),
    /// The bundle has no `extra` line carrying the entry.
    #[error("bundle: no entry in its extra line")]
    MissingEntry,
    /// The entry does not parse or its signature does not verify.
    #[error("entry signature: {0}")]
    Entry(#[source] NoteError),
    /// The checkpoint names an origin no trusted log has.
    #[error("checkpoint signature: origin {origin:?} is not a trusted log")]
    UnknownLog {
        /// The checkpoint's origin.
        origin: String,
    },
    /// The checkpoint does not parse or the log's signature on it fails.
    #[error("checkpoint signature: {0}")]
    Checkpoint(#[source] NoteError),
    /// A cosignature from a trusted witness does not verify.
    #[error("witness cosignature: {witness}: {source}")]
    Cosignature {
        /// The witness's key name.
        witness: String,
        /// Why it failed.
        #[source]
        source: NoteError,
    },
    /// Too few trusted witnesses cosigned the checkpoint.
    #[error("witness quorum: not met, {cosigned} of {witnesses} trusted witnesses cosigned the checkpoint")]
    QuorumNotMet {
        /// Trusted witnesses whose cosignatures verified.
        cosigned: usize,
        /// Trusted witnesses in the policy.
        witnesses: usize,
    },
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("inclusion proof: leaf {index} in tree of size {size}: {source}")]
    Inclusion {
        /// Leaf index.
        index: u64,
        /// Tree size of the checkpoint.
        size: u64,
        /// Why it failed.
        #[source]
        source: MerkleError,
    },
    /// Two checkpoints of the log are not consistent.
    #[error("consistency: tree of size {old} is not consistent with tree of size {new}: {source}")]
    Consistency {
        /// Older tree size.
        old: u64,
        /// Newer tree size.
        new: u64,
        /// Why it failed.
        #[source]
        source: MerkleError,
    },
    /// The log served a checkpoint older than one already verified.
    #[error(
        "consistency: the log's checkpoint has size {new}, smaller than size {old} already seen"
    )]
    Rollback {
        /// Size already verified.
        old: u64,
        /// Size now served.
        new: u64,
    },
    /// A root recomputed from the log's entries is not the checkpoint's.
    #[error("root: the entries of a tree of size {size} do not hash to the checkpoint's root")]
    RootMismatch {
        /// Tree size.
        size: u64,
    },
    /// A level 0 tile disagrees with the leaf hashes of its entry bundle.
    #[error("tiles: tile 0/{index} does not hold the leaf hashes of entry bundle {index}")]
    TileMismatch {
        /// Tile index.
        index: u64,
    },
    /// A logged entry does not parse or verify.
    #[error("entry {index}: {source}")]
    LoggedEntry {
        /// Leaf index.
        index: u64,
        /// Why it failed.
        #[source]
        source: NoteError,
    },

    // ----- trust configuration -----
    /// A verifier key does not parse or has the wrong type.
    #[error("trusted keys: {0}")]
    TrustedKey(#[source] NoteError),
    /// A quorum of `k` out of `n` witnesses cannot be met.
    #[error("trusted keys: quorum {k} is larger than the {n} witnesses given")]
    QuorumTooLarge {
        /// Quorum asked for.
        k: usize,
        /// Witnesses given.
        n: usize,
    },
    /// A line of a tlog-policy file is invalid.
    #[error("policy line {line}: {problem}")]
    Policy {
        /// Line number, from 1 (0 for the file as a whole).
        line: usize,
        /// What is wrong.
        problem: PolicyProblem,
    },

    // ----- talking to a log -----
    /// The request could not be made or its answer not read.
    #[error("network: {0}")]
    Http(#[source] reqwest::Error),
    /// The server answered 503: overloaded or unable to commit now.
    #[error("the log is overloaded, retry after {retry_after} s")]
    Overloaded {
        /// Seconds to wait, from `Retry-After`.
        retry_after: u64,
    },
    /// The server answered with an unexpected status.
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        /// The URL asked.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The server's error message, if any.
        message: String,
    },
    /// The server's answer does not have the documented form.
    #[error("{url}: unexpected answer: {source}")]
    Response {
        /// The URL asked.
        url: String,
        /// Why it did not decode.
        #[source]
        source: MerkleError,
    },
    /// The server's JSON answer does not have the documented form.
    #[error("{url}: unexpected JSON answer: {source}")]
    Json {
        /// The URL asked.
        url: String,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// The audit state file holds hashes that do not form a compact range.
    #[error("state file: {0}")]
    StateFile(#[source] MerkleError),
    /// The audit state could not be saved.
    #[error("saving the audit state: {0}")]
    SaveState(#[source] std::io::Error),
    /// The log URL is not an `http://` or `https://` URL.
    #[error("log URL {0:?} does not start with http:// or https://")]
    BadUrl(String),
}

/// Why a tlog-policy file was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyProblem {
    /// A byte that is neither tab, newline, printable ASCII nor non-ASCII.
    #[error("control character 0x{0:02x}")]
    ControlCharacter(u8),
    /// The first word is not `log`, `witness`, `group` or `quorum`.
    #[error("unknown keyword {0:?}")]
    UnknownKeyword(String),
    /// The line has the wrong number of items.
    #[error("{keyword} line has {got} items")]
    WrongItemCount {
        /// The line's keyword.
        keyword: &'static str,
        /// Items on the line, keyword included.
        got: usize,
    },
    /// A key does not parse or is of the wrong type for its use.
    #[error("bad key: {0}")]
    Key(#[source] NoteError),
    /// A second log or witness with the same public key.
    #[error("duplicate key")]
    DuplicateKey,
    /// A witness or group name defined twice, or the reserved `none`.
    #[error("name {0:?} is already defined or reserved")]
    DuplicateName(String),
    /// A name not defined on a preceding line.
    #[error("name {0:?} is not defined above")]
    UnknownName(String),
    /// A group member listed twice, or `none` as a member.
    #[error("member {0:?} is listed twice or is not allowed")]
    BadMember(String),
    /// A threshold that is not `all`, `any` or a decimal `1 <= k <= n`.
    #[error("threshold {got:?} is not all, any or 1 to {n}")]
    BadThreshold {
        /// The threshold as written.
        got: String,
        /// Number of members.
        n: usize,
    },
    /// No `quorum` line, or more than one.
    #[error("a policy needs exactly one quorum line, it has {0}")]
    QuorumCount(usize),
    /// More logs, witnesses or groups than this implementation accepts.
    #[error("more than {0} logs, witnesses or groups")]
    TooMany(usize),
}

impl Error {
    /// Which group the error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ArtifactDigest { .. }
            | Error::Inclusion { .. }
            | Error::Consistency { .. }
            | Error::Rollback { .. }
            | Error::RootMismatch { .. }
            | Error::TileMismatch { .. }
            | Error::Cosignature { .. } => ErrorKind::Evidence,
            Error::Entry(e) | Error::Checkpoint(e) | Error::LoggedEntry { source: e, .. }
                if e.is_evidence() =>
            {
                ErrorKind::Evidence
            }
            Error::Http(_) | Error::Overloaded { .. } => ErrorKind::Transient,
            Error::Status { status, .. } if *status >= 500 || *status == 408 => {
                ErrorKind::Transient
            }
            _ => ErrorKind::Invalid,
        }
    }

    /// Whether the error is evidence of misbehaviour ([`ErrorKind::Evidence`]).
    pub fn is_evidence(&self) -> bool {
        self.kind() == ErrorKind::Evidence
    }

    /// Whether trying again later may succeed ([`ErrorKind::Transient`]).
    pub fn is_transient(&self) -> bool {
        self.kind() == ErrorKind::Transient
    }
}
