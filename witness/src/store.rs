//! The witness's store: the latest cosigned checkpoint of each log and the
//! fork evidence, in SQLite (the default) or PostgreSQL.
//!
//! The contract: the cosigned head of a log changes only through
//! [`Store::compare_and_swap`], one SQL statement that succeeds only if the
//! row still holds the exact head the caller checked the new checkpoint
//! against. Two requests checked against the same head can therefore never
//! both be cosigned, and the head never moves back. Both backends run the
//! same statements (`$N` placeholders, the same column names and types).

use std::str::FromStr;
use std::time::Duration;

use sigtrail_merkle::{Hash, TreeHead, HASH_SIZE};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::evidence::{ForkEvidence, ForkKind};
use crate::Error;

/// Connections a pool keeps at most.
const MAX_CONNECTIONS: u32 = 8;

/// How long an SQLite writer waits for another one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The latest checkpoint the witness cosigned for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    /// The log's origin.
    pub origin: String,
    /// Its tree size and root hash.
    pub head: TreeHead,
    /// The signed checkpoint as served to monitors: the log's verified
    /// signatures and the witness's cosignature.
    pub checkpoint: String,
}

/// A log's cosigned tree size and the number of forks recorded for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSummary {
    /// The log's origin.
    pub origin: String,
    /// Size of the latest cosigned checkpoint.
    pub tree_size: u64,
    /// Fork evidence records kept for the log.
    pub forks: u64,
}

#[derive(Debug, Clone)]
enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The store, on one of the two backends.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
}

/// Runs the same code against whichever pool the store has.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            Backend::Sqlite($pool) => $body,
            Backend::Postgres($pool) => $body,
        }
    };
}

type CosignedRow = (String, i64, Vec<u8>, String);
type ForkRow = (
    String,
    String,
    i64,
    String,
    String,
    i64,
    Vec<u8>,
    i64,
    Vec<u8>,
);

impl Store {
    /// Opens the store at `url` and migrates its schema: `postgres://…`
    /// (or `postgresql://…`) selects PostgreSQL; `sqlite://path`,
    /// `sqlite:path` or a plain path selects SQLite, creating the file.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] if it cannot connect, [`Error::Migrate`] if the
    /// schema cannot be brought up to date.
    pub async fn open(url: &str) -> Result<Self, Error> {
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect(url)
                .await?;
            sqlx::migrate!("./migrations/postgres").run(&pool).await?;
            Backend::Postgres(pool)
        } else {
            let options = if url.starts_with("sqlite:") {
                SqliteConnectOptions::from_str(url)?
            } else {
                SqliteConnectOptions::new().filename(url)
            };
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(BUSY_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .connect_with(options)
                .await?;
            sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
            Backend::Sqlite(pool)
        };
        Ok(Store { backend })
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn latest(&self, origin: &str) -> Result<Option<Cosigned>, Error> {
        let sql = "SELECT origin, tree_size, root_hash, checkpoint FROM cosigned WHERE origin = $1";
        let row: Option<CosignedRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(origin).fetch_optional(pool).await?
        });
        row.map(|(origin, size, root, checkpoint)| {
            Ok(Cosigned {
                origin,
                head: TreeHead {
                    size: from_db(size, "cosigned.tree_size")?,
                    root: hash_from_db(&root, "cosigned.root_hash")?,
                },
                checkpoint,
            })
        })
        .transpose()
    }

    /// Replaces the cosigned checkpoint of `new.origin` by `new` if the
    /// stored head is still `expected` (`None`: no checkpoint stored yet).
    /// Returns whether it did.
    ///
    /// # Errors
    ///
    /// [`Error::Database`], [`Error::OutOfRange`].
    pub async fn compare_and_swap(
        &self,
        expected: Option<&TreeHead>,
        new: &Cosigned,
    ) -> Result<bool, Error> {
        let size = to_db(new.head.size)?;
        let root = new.head.root.as_bytes().as_slice();
        let changed = match expected {
            Some(old) => {
                let sql = "UPDATE cosigned SET tree_size = $1, root_hash = $2, checkpoint = $3 \
                           WHERE origin = $4 AND tree_size = $5 AND root_hash = $6";
                let old_size = to_db(old.size)?;
                let old_root = old.root.as_bytes().as_slice();
                on_pool!(self, pool => sqlx::query(sql)
                    .bind(size).bind(root).bind(&new.checkpoint)
                    .bind(&new.origin).bind(old_size).bind(old_root)
                    .execute(pool).await?.rows_affected())
            }
            None => {
                let sql = "INSERT INTO cosigned (origin, tree_size, root_hash, checkpoint) \
                           VALUES ($1, $2, $3, $4) ON CONFLICT (origin) DO NOTHING";
                on_pool!(self, pool => sqlx::query(sql)
                    .bind(&new.origin).bind(size).bind(root).bind(&new.checkpoint)
                    .execute(pool).await?.rows_affected())
            }
        };
        Ok(changed == 1)
    }

    /// Keeps fork evidence. Returns `false` if evidence of the same kind
    /// for the same conflicting head was already kept.
    ///
    /// # Errors
    ///
    /// [`Error::Database`], [`Error::OutOfRange`].
    pub async fn record_fork(&self, fork: &ForkEvidence) -> Result<bool, Error> {
        let sql = "INSERT INTO forks (origin, kind, observed_at, cosigned, conflicting, \
                   conflicting_size, conflicting_root, old_size, proof) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                   ON CONFLICT (origin, kind, conflicting_size, conflicting_root) DO NOTHING";
        let observed_at = to_db(fork.observed_at)?;
        let size = to_db(fork.conflicting_head.size)?;
        let root = fork.conflicting_head.root.as_bytes().as_slice();
        let old_size = to_db(fork.old_size)?;
        let proof: Vec<u8> = fork.proof.iter().flat_map(|h| h.0).collect();
        let inserted = on_pool!(self, pool => sqlx::query(sql)
            .bind(&fork.origin).bind(fork.kind.as_str()).bind(observed_at)
            .bind(&fork.cosigned).bind(&fork.conflicting).bind(size).bind(root)
            .bind(old_size).bind(&proof)
            .execute(pool).await?.rows_affected());
        Ok(inserted == 1)
    }

    /// All fork evidence, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn forks(&self) -> Result<Vec<ForkEvidence>, Error> {
        let sql = "SELECT origin, kind, observed_at, cosigned, conflicting, conflicting_size, \
                   conflicting_root, old_size, proof FROM forks ORDER BY id";
        let rows: Vec<ForkRow> = on_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        rows.into_iter().map(fork_from_row).collect()
    }

    /// Every log with a cosigned checkpoint or fork evidence, by origin.
    ///
    /// # Errors
    ///
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn summary(&self) -> Result<Vec<LogSummary>, Error> {
        let sql = "SELECT o.origin, COALESCE(c.tree_size, 0), \
                   (SELECT COUNT(*) FROM forks f WHERE f.origin = o.origin) \
                   FROM (SELECT origin FROM cosigned UNION SELECT origin FROM forks) o \
                   LEFT JOIN cosigned c ON c.origin = o.origin ORDER BY o.origin";
        let rows: Vec<(String, i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(origin, size, forks)| {
                Ok(LogSummary {
                    origin,
                    tree_size: from_db(size, "cosigned.tree_size")?,
                    forks: from_db(forks, "forks")?,
                })
            })
            .collect()
    }

    /// Closes the connections.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}

fn fork_from_row(row: ForkRow) -> Result<ForkEvidence, Error> {
    let (origin, kind, observed_at, cosigned, conflicting, size, root, old_size, proof) = row;
    if proof.len() % HASH_SIZE != 0 {
        return Err(Error::Corrupt {
            column: "forks.proof",
        });
    }
    Ok(ForkEvidence {
        origin,
        kind: ForkKind::from_str(&kind).map_err(|()| Error::Corrupt {
            column: "forks.kind",
        })?,
        observed_at: from_db(observed_at, "forks.observed_at")?,
        cosigned,
        conflicting,
        conflicting_head: TreeHead {
            size: from_db(size, "forks.conflicting_size")?,
            root: hash_from_db(&root, "forks.conflicting_root")?,
        },
        old_size: from_db(old_size, "forks.old_size")?,
        proof: proof
            .chunks(HASH_SIZE)
            .map(|chunk| hash_from_db(chunk, "forks.proof"))
            .collect::<Result<_, _>>()?,
    })
}

fn to_db(value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::OutOfRange { value })
}

fn from_db(value: i64, column: &'static str) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| Error::Corrupt { column })
}

fn hash_from_db(bytes: &[u8], column: &'static str) -> Result<Hash, Error> {
    Hash::from_slice(bytes).map_err(|_| Error::Corrupt { column })
}
