//! Storage of the log: the [`Store`] trait, its contract, and its backends.
//!
//! - [`PostgresStore`]: production, schema in `migrations/postgres`.
//! - [`SqliteStore`]: the embedded default, schema in `migrations/sqlite`.
//! - [`MemoryStore`]: for tests, with fault injection ([`Fault`]).
//!
//! The store persists bytes. It never computes a hash: the sequencer builds
//! tiles, entry bundles and checkpoints with `sigtrail-merkle` and hands them
//! over in one [`Batch`]. `docs/storage.md` describes the tables and the
//! commit protocol with its crash points.

use std::collections::HashMap;

use async_trait::async_trait;
use sigtrail_merkle::Hash;

mod batch;
mod error;
mod memory;
mod parts;
mod postgres;
mod sql;
mod sqlite;

#[cfg(test)]
pub mod conformance;
#[cfg(test)]
pub mod fixtures;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::{BatchError, StoreError};
pub use memory::{Fault, MemoryStore};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The identity of the log a store holds, written once by [`Store::init`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMeta {
    /// The checkpoint origin line, e.g. `log.example.com/sigtrail`.
    pub origin: String,
    /// The log's verifier key, `name+hexid+base64`.
    pub vkey: String,
    /// The version of the data formats the log was created with (see
    /// [`FORMAT_VERSION`](crate::identity::FORMAT_VERSION)); the tables' layout is the migrations'.
    pub format_version: u32,
}

/// The searchable fields of one logged entry.
///
/// The entry's bytes live only in its entry bundle; this record is what
/// the dedup and search indexes hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRecord {
    /// The entry's leaf index.
    pub index: u64,
    /// The RFC 6962 leaf hash of the entry's bytes.
    pub leaf_hash: Hash,
    /// The signer's verifier key, as written in the entry.
    pub signer: String,
    /// The SHA-256 digest of the artifact.
    pub subject: [u8; 32],
    /// The artifact name, e.g. `pkg:cargo/example@1.4.2`.
    pub name: String,
}

/// One version of a hash tile: `32 * width` bytes, width `1..=256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileData {
    /// The tile's level, 0 for the tiles of leaf hashes.
    pub level: u8,
    /// The tile's index within its level.
    pub index: u64,
    /// The concatenated hashes.
    pub data: Vec<u8>,
}

/// One version of a C2SP entry bundle holding `width` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleData {
    /// The bundle's index: it holds entries `256 * index ..`.
    pub index: u64,
    /// How many entries it holds, `1..=256`.
    pub width: u16,
    /// The length-prefixed entries, in the C2SP tlog-tiles encoding.
    pub data: Vec<u8>,
}

/// Everything one sequencing round adds to the log, written by [`Store::commit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The tree size the batch extends; the commit fails unless it is still stored.
    pub old_size: u64,
    /// The tree size after the batch.
    pub new_size: u64,
    /// The new entries, indexes exactly `old_size..new_size` in order.
    pub entries: Vec<EntryRecord>,
    /// The hash tiles that are new or wider.
    pub tiles: Vec<TileData>,
    /// The entry bundles that are new or wider.
    pub bundles: Vec<BundleData>,
    /// The signed checkpoint for `new_size`.
    pub checkpoint: Vec<u8>,
}

/// Names a hash tile or an entry bundle, in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKey {
    /// The hash tile at `level`, `index`.
    Hash {
        /// The tile's level.
        level: u8,
        /// The tile's index within its level.
        index: u64,
    },
    /// The entry bundle at `index`.
    Bundle {
        /// The bundle's index.
        index: u64,
    },
}

impl std::fmt::Display for TileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TileKey::Hash { level, index } => write!(f, "hash tile {level}/{index}"),
            TileKey::Bundle { index } => write!(f, "entry bundle {index}"),
        }
    }
}

/// The stored checkpoint and the tree size it signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size.
    pub size: u64,
    /// The signed note text, with whatever cosignatures were added.
    pub text: Vec<u8>,
}

/// A search over the entries; every field that is set must match exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Only entries signed by this verifier key.
    pub signer: Option<String>,
    /// Only entries for this artifact digest.
    pub subject: Option<[u8; 32]>,
    /// Only entries with this artifact name.
    pub name: Option<String>,
    /// Only entries with an index above this one (a pagination cursor).
    pub after: Option<u64>,
    /// At most this many entries.
    pub limit: u32,
}

/// Where a log's data lives.
///
/// # Contract
///
/// Every backend runs the same suite (`store::conformance`) against this
/// contract.
///
/// **One write.** [`commit`](Store::commit) is the only way log data
/// changes. It is atomic, all of a [`Batch`] or nothing, and it is a
/// compare-and-swap on the tree size: it applies only if the stored size is
/// still `batch.old_size`, otherwise it fails with
/// [`StoreError::Conflict`] and changes nothing. Two writers racing from
/// the same size: exactly one wins. [`init`](Store::init) creates the log
/// once and never overwrites one; [`update_checkpoint`](Store::update_checkpoint)
/// swaps the checkpoint text at an unchanged size (to add cosignatures).
///
/// **What never changes.** An entry, once committed, keeps its index and
/// fields, and its leaf hash is unique across the log. A full tile or
/// entry bundle (256 wide) never changes. A partial one only widens, and
/// its stored bytes stay a prefix of every wider version; commits that
/// would break this are refused ([`StoreError::FullTileChanged`],
/// [`StoreError::PrefixChanged`], [`StoreError::Narrowing`]), so a served
/// tile can be cached forever once full.
///
/// **Reads** are point lookups of committed data and never see part of a
/// batch: a checkpoint is never visible before the entries, tiles and
/// bundles it covers.
///
/// **Crash points.** A commit that crashes, or whose connection drops,
/// before the database commits leaves the store at `old_size`; one that
/// crashes after leaves it at `new_size`. A caller that gets any error
/// other than the refusals above cannot know which happened (the commit
/// may have been applied, see [`Fault::AfterWrite`]): it must reload the
/// checkpoint before it signs or commits anything again, and never reuse
/// a size it has not read back. Losing an answer is harmless; the
/// compare-and-swap makes a retried commit of the same batch fail with a
/// `Conflict` rather than apply twice.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The log's identity, or `None` before [`init`](Store::init).
    async fn meta(&self) -> Result<Option<LogMeta>, StoreError>;

    /// Creates the log: its `log_meta` and the size-0 checkpoint.
    ///
    /// # Errors
    ///
    /// [`StoreError::AlreadyInitialized`] if the store holds a log: it is never overwritten.
    async fn init(&self, meta: &LogMeta, checkpoint: &[u8]) -> Result<(), StoreError>;

    /// The latest checkpoint.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotInitialized`] before [`init`](Store::init).
    async fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError>;

    /// Writes a batch: everything in it or nothing, and only if the stored
    /// size is still `batch.old_size`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the stored size is not `batch.old_size`;
    /// [`StoreError::BadBatch`] if the batch is malformed (see
    /// [`Batch::check`]); [`StoreError::DuplicateLeaf`] if an entry is
    /// already logged; the tile refusals of the contract. Nothing is
    /// written in any of these cases.
    async fn commit(&self, batch: &Batch) -> Result<(), StoreError>;

    /// Replaces the checkpoint text at the same size, to add cosignatures.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the stored size is not `size`.
    async fn update_checkpoint(&self, size: u64, text: &[u8]) -> Result<(), StoreError>;

    /// The widest stored versions of several hash tiles, by (level, index);
    /// narrower versions are their prefixes. Tiles not stored are absent. A
    /// store that can read them in one query should.
    async fn tiles(&self, ids: &[(u8, u64)]) -> Result<HashMap<(u8, u64), Vec<u8>>, StoreError>;

    /// The widest stored version of an entry bundle, with its width.
    async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError>;

    /// Which of these leaf hashes are already logged, with their index,
    /// each once, in ascending index order.
    async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError>;

    /// The entry at a leaf index.
    async fn entry(&self, index: u64) -> Result<Option<EntryRecord>, StoreError>;

    /// The entries matching a query, in ascending index order, at most `query.limit`.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<EntryRecord>, StoreError>;
}

/// Checks, at server start, that a store holds the expected log.
///
/// # Errors
///
/// [`StoreError::NotInitialized`] if the store holds no log,
/// [`StoreError::WrongLog`] if its origin or key differ,
/// [`StoreError::FormatVersion`] if it was created with another format.
pub async fn open_log(store: &dyn Store, expected: &LogMeta) -> Result<(), StoreError> {
    let found = store.meta().await?.ok_or(StoreError::NotInitialized)?;
    if found.origin != expected.origin || found.vkey != expected.vkey {
        return Err(StoreError::WrongLog {
            expected: Box::new(expected.clone()),
            found: Box::new(found),
        });
    }
    if found.format_version != expected.format_version {
        return Err(StoreError::FormatVersion {
            expected: expected.format_version,
            found: found.format_version,
        });
    }
    Ok(())
}
