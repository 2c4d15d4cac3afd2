//! The one error type of this crate, and the HTTP status of each error.

use axum::http::StatusCode;

/// Everything that can go wrong in the witness: rejected requests (each
/// with the status code `c2sp.org/tlog-witness` gives it), configuration
/// mistakes, and storage failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- rejected add-checkpoint requests -----
    /// The request body is not an `add-checkpoint` body with a well-formed
    /// signed checkpoint.
    #[error("malformed request: {0}")]
    Malformed(#[source] sigtrail_note::Error),
    /// The checkpoint's origin is not a log this witness cosigns.
    #[error("unknown log {origin:?}")]
    UnknownLog {
        /// The checkpoint's origin line.
        origin: String,
    },
    /// No trusted key of the log signed the checkpoint, or a signature from
    /// one does not verify.
    #[error("checkpoint not signed by the log: {0}")]
    Untrusted(#[source] sigtrail_note::Error),
    /// The old size is larger than the checkpoint's size.
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The old size is not the size of the latest checkpoint the witness
    /// cosigned for the log.
    #[error("old size {old} is not the latest cosigned size {latest}")]
    Conflict {
        /// The request's old size.
        old: u64,
        /// Size of the latest cosigned checkpoint (0 if none).
        latest: u64,
    },
    /// A checkpoint of size zero whose root is not the empty tree's.
    #[error("a checkpoint of size 0 must have the empty tree's root hash")]
    WrongEmptyRoot,
    /// A consistency proof from the empty tree, which must be empty.
    #[error("the consistency proof from size 0 must be empty, got {got} hashes")]
    ProofFromEmptyTree {
        /// Hashes in the proof.
        got: usize,
    },
    /// The checkpoint has the size of the cosigned one but another root.
    #[error("checkpoint of size {size} has another root than the one cosigned")]
    RootMismatch {
        /// The common tree size.
        size: u64,
    },
    /// The consistency proof from the cosigned checkpoint does not verify.
    #[error("consistency proof from size {old} to {size} does not verify: {source}")]
    Inconsistent {
        /// The cosigned size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
        /// Why the proof failed.
        #[source]
        source: sigtrail_merkle::Error,
    },
    /// No checkpoint was cosigned for the log named by an origin hash.
    #[error("no checkpoint cosigned for origin hash {origin_hash}")]
    NotCosigned {
        /// The lowercase hex SHA-256 of the origin asked for.
        origin_hash: String,
    },

    // ----- configuration -----
    /// A `--log` value is not `<origin> <vkey>`.
    #[error("log {value:?} is not \"<origin> <vkey>\"")]
    BadLogSpec {
        /// The value given.
        value: String,
    },
    /// A log key cannot be parsed.
    #[error("bad key {vkey:?} for log {origin:?}: {source}")]
    BadLogKey {
        /// The log's origin.
        origin: String,
        /// The key given.
        vkey: String,
        /// Why it was rejected.
        #[source]
        source: sigtrail_note::Error,
    },
    /// A log key is not an Ed25519 note key (type 0x01).
    #[error("key {vkey:?} for log {origin:?} is not an Ed25519 checkpoint key")]
    NotALogKey {
        /// The log's origin.
        origin: String,
        /// The key given.
        vkey: String,
    },
    /// The same key is listed twice for a log.
    #[error("key {vkey:?} is listed twice for log {origin:?}")]
    DuplicateLogKey {
        /// The log's origin.
        origin: String,
        /// The key given twice.
        vkey: String,
    },
    /// A log entry of the configuration file has no key.
    #[error("log {origin:?} has no key")]
    NoLogKey {
        /// The log's origin.
        origin: String,
    },
    /// Neither `--log` nor the configuration file names a log.
    #[error("no log to witness: give --log \"<origin> <vkey>\" or --config FILE")]
    NoLogs,
    /// The configuration file cannot be parsed.
    #[error("configuration file: {0}")]
    ConfigFile(#[source] toml::de::Error),
    /// The witness key file does not hold a `cosignature/v1` signer key.
    #[error("witness key: {0}")]
    BadWitnessKey(#[source] sigtrail_note::Error),
    /// The witness key is not a `cosignature/v1` key.
    #[error("witness key {name:?} is not a cosignature/v1 key (make one with `sigtrail-witness keygen`)")]
    NotACosignatureKey {
        /// The key's name.
        name: String,
    },

    // ----- internal -----
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value is not one the witness writes.
    #[error("corrupt value in {column}")]
    Corrupt {
        /// Table and column.
        column: &'static str,
    },
    /// A number does not fit the database's signed 64-bit integers.
    #[error("{value} does not fit a database integer")]
    OutOfRange {
        /// The number.
        value: u64,
    },
    /// Cosigning failed.
    #[error("cosigning: {0}")]
    Cosign(#[source] sigtrail_note::Error),
}

impl Error {
    /// The HTTP status the witness answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Malformed(_) | Error::OldSizeTooLarge { .. } => StatusCode::BAD_REQUEST,
            Error::UnknownLog { .. } | Error::NotCosigned { .. } => StatusCode::NOT_FOUND,
            Error::Untrusted(_) => StatusCode::FORBIDDEN,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::WrongEmptyRoot
            | Error::ProofFromEmptyTree { .. }
            | Error::RootMismatch { .. }
            | Error::Inconsistent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
