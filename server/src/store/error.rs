//! The store's errors.

use super::{LogMeta, TileKey};

/// Everything a [`Store`](super::Store) can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stored tree size is not the one the write expected.
    #[error("stored tree size is {found}, not the expected {expected}")]
    Conflict {
        /// The size the write expected.
        expected: u64,
        /// The size stored.
        found: u64,
    },
    /// [`init`](super::Store::init) on a store that already holds a log.
    #[error("the store already holds a log")]
    AlreadyInitialized,
    /// The store holds no log yet.
    #[error("the store holds no log")]
    NotInitialized,
    /// The store holds another log: its origin or key differ.
    #[error(
        "the store holds log {:?} with key {}, not {:?} with key {}",
        found.origin, found.vkey, expected.origin, expected.vkey
    )]
    WrongLog {
        /// The log the caller expected.
        expected: Box<LogMeta>,
        /// The log stored.
        found: Box<LogMeta>,
    },
    /// The store was created with another format version.
    #[error("the store has format version {found}, want {expected}")]
    FormatVersion {
        /// The version the caller expected.
        expected: u32,
        /// The version stored.
        found: u32,
    },
    /// A commit would change the bytes of a full tile or bundle.
    #[error("{tile} is full and stored with different bytes")]
    FullTileChanged {
        /// The tile or bundle.
        tile: TileKey,
    },
    /// A commit would replace a partial tile or bundle with bytes that do
    /// not extend the stored ones.
    #[error("{tile} is stored {stored_width} wide; the new version of width {new_width} does not extend it")]
    PrefixChanged {
        /// The tile or bundle.
        tile: TileKey,
        /// The stored width.
        stored_width: u16,
        /// The width of the refused version.
        new_width: u16,
    },
    /// A commit would replace a tile or bundle with a narrower one.
    #[error("{tile} is stored {stored_width} wide; refusing to narrow it to {new_width}")]
    Narrowing {
        /// The tile or bundle.
        tile: TileKey,
        /// The stored width.
        stored_width: u16,
        /// The width of the refused version.
        new_width: u16,
    },
    /// A committed entry's leaf hash is already logged.
    #[error("entry {index} is already logged at index {logged_at}")]
    DuplicateLeaf {
        /// The index the batch gave the entry.
        index: u64,
        /// The index it is logged at.
        logged_at: u64,
    },
    /// The batch is malformed.
    #[error("malformed batch: {0}")]
    BadBatch(#[from] BatchError),
    /// A number too large for the database's signed 64-bit integers.
    #[error("{value} is too large for the database")]
    OutOfRange {
        /// The number.
        value: u64,
    },
    /// A stored value is not valid: the database was changed by hand or is corrupt.
    #[error("the database holds an invalid value in column {column}")]
    Corrupt {
        /// The column.
        column: &'static str,
    },
    /// The directory of an SQLite database could not be created.
    #[error("creating the database directory: {0}")]
    CreateDir(#[source] std::io::Error),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be migrated.
    #[error("migrating the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A fault injected by a test ([`MemoryStore::fail_next`](super::MemoryStore::fail_next)).
    #[error("injected fault")]
    Injected,
}

impl StoreError {
    /// Whether retrying the same operation later may succeed: lost
    /// connections, timeouts, lock contention, injected faults.
    ///
    /// A transient error from a write is also an ambiguous one: the write may
    /// have been applied (see the [`Store`](super::Store) contract).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Injected => true,
            StoreError::Database(err) => is_transient_sqlx(err),
            _ => false,
        }
    }
}

/// PostgreSQL error codes worth a retry: serialization failure, deadlock,
/// lock not available, shutdowns, too many connections.
const TRANSIENT_POSTGRES_CODES: [&str; 7] = [
    "40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300",
];

/// SQLite primary result codes worth a retry: `SQLITE_BUSY`, `SQLITE_LOCKED`.
const TRANSIENT_SQLITE_CODES: [i32; 2] = [5, 6];

fn is_transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL class 08: connection exceptions. SQLite reports
            // extended codes, whose low byte is the primary code.
            TRANSIENT_POSTGRES_CODES.contains(&code.as_ref())
                || code.starts_with("08")
                || code
                    .parse::<i32>()
                    .is_ok_and(|n| TRANSIENT_SQLITE_CODES.contains(&(n & 0xff)))
        }),
        _ => false,
    }
}

/// How a [`Batch`](super::Batch) is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The new size is below the old one.
    #[error("new size {new_size} is below old size {old_size}")]
    Shrinks {
        /// The batch's old size.
        old_size: u64,
        /// The batch's new size.
        new_size: u64,
    },
    /// The number of entries is not `new_size - old_size`.
    #[error("{got} entries, want {want}")]
    EntryCount {
        /// Entries in the batch.
        got: u64,
        /// Entries the sizes call for.
        want: u64,
    },
    /// The entries' indexes are not `old_size..new_size` in order.
    #[error("entry has index {got}, want {want}")]
    EntryIndex {
        /// The index found.
        got: u64,
        /// The index expected at that position.
        want: u64,
    },
    /// Two entries of the batch have the same leaf hash.
    #[error("entry {index} repeats the leaf hash of entry {first}")]
    RepeatedLeaf {
        /// The first entry with that leaf hash.
        first: u64,
        /// The entry repeating it.
        index: u64,
    },
    /// A hash tile's size is not `32 * width` for a width in `1..=256`.
    #[error("hash tile {level}/{index} is {len} bytes long")]
    TileSize {
        /// The tile's level.
        level: u8,
        /// The tile's index.
        index: u64,
        /// Its length in bytes.
        len: usize,
    },
    /// An entry bundle's width is not in `1..=256`, or it has no bytes.
    #[error("entry bundle {index} has width {width} and {len} bytes")]
    BundleSize {
        /// The bundle's index.
        index: u64,
        /// Its width.
        width: u16,
        /// Its length in bytes.
        len: usize,
    },
    /// The batch holds two versions of a tile or bundle.
    #[error("{tile} appears twice")]
    RepeatedTile {
        /// The tile or bundle.
        tile: TileKey,
    },
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection, Executor};

    use super::*;
    use crate::store::testing::TestDatabase;

    #[test]
    fn transient_errors() {
        assert!(StoreError::Injected.is_transient());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        assert!(!StoreError::Conflict {
            expected: 1,
            found: 2
        }
        .is_transient());
        assert!(!StoreError::NotInitialized.is_transient());
    }

    #[tokio::test]
    async fn sqlite_busy_is_transient() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("busy.db"))
            .create_if_missing(true);
        let mut holder = options.connect().await.expect("connect");
        holder.execute("BEGIN IMMEDIATE").await.expect("lock");
        let mut waiter = options
            .busy_timeout(Duration::ZERO)
            .connect()
            .await
            .expect("connect");
        let err = StoreError::from(waiter.execute("BEGIN IMMEDIATE").await.expect_err("busy"));
        assert!(err.is_transient(), "{err:?}");
        let err = StoreError::from(
            waiter
                .execute("SELECT * FROM missing")
                .await
                .expect_err("no table"),
        );
        assert!(!err.is_transient(), "{err:?}");
    }

    #[tokio::test]
    async fn postgres_lock_not_available_is_transient() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let mut holder = sqlx::PgConnection::connect(database.url())
            .await
            .expect("connect");
        holder
            .execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
            .await
            .expect("table");
        holder
            .execute("BEGIN; SELECT * FROM t FOR UPDATE")
            .await
            .expect("lock");
        let mut waiter = sqlx::PgConnection::connect(database.url())
            .await
            .expect("connect");
        let err = StoreError::from(
            waiter
                .execute("SELECT * FROM t FOR UPDATE NOWAIT")
                .await
                .expect_err("locked"),
        );
        assert!(err.is_transient(), "{err:?}");
        let err = StoreError::from(
            waiter
                .execute("SELECT * FROM missing")
                .await
                .expect_err("no table"),
        );
        assert!(!err.is_transient(), "{err:?}");
    }
}
