//! The statements the two SQL backends share, written once: both accept
//! `$N` placeholders, and both schemas use the same names and the same
//! integer and blob types (`SMALLINT`/`BIGINT`/`BYTEA` in PostgreSQL,
//! `INTEGER`/`BLOB` in SQLite). The backends keep what differs: how a
//! transaction starts, how rows are inserted in bulk.

use std::collections::HashMap;
use std::time::Duration;

use sigtrail_merkle::Hash;
use sqlx::pool::PoolOptions;
use sqlx::{
    Connection, Database, Encode, Executor, FromRow, IntoArguments, Pool, Transaction, Type,
};

use super::batch::check_new_leaves;
use super::parts::join_bundle;
use super::{Batch, EntryRecord, LogMeta, SearchQuery, Store, StoreError, StoredCheckpoint};

/// A pooled connection idle for longer than this is pinged before it is
/// handed out again.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// The options of both backends' pools: at most `max_connections`, and a
/// connection that sat idle for over [`PING_AFTER_IDLE`] is pinged before
/// it is handed out, and replaced if the ping fails (the database restarted
/// while the log was quiet, say). One that was in use a moment ago is handed
/// out at once: sqlx's own check pings on every acquire, one more round trip
/// before every commit and every read.
pub(crate) fn pool_options<DB: Database>(max_connections: u32) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max_connections)
        .test_before_acquire(false)
        .before_acquire(|connection: &mut DB::Connection, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    connection.ping().await?;
                }
                Ok(true)
            })
        })
}

/// A number for a `BIGINT` / `INTEGER` column.
pub(crate) fn to_db(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { value })
}

/// A number read from a column that only holds values of type `T`.
pub(crate) fn from_db<T: TryFrom<i64>>(
    value: impl Into<i64>,
    column: &'static str,
) -> Result<T, StoreError> {
    T::try_from(value.into()).map_err(|_| StoreError::Corrupt { column })
}

/// A leaf hash read from `entries.leaf_hash`.
pub(crate) fn leaf_from_db(bytes: &[u8]) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).map_err(|_| StoreError::Corrupt {
        column: "entries.leaf_hash",
    })
}

/// Selects the columns of [`EntryRow`], joined with the signer's key (a
/// macro so that statements built on it stay `&'static str`).
macro_rules! select_entries {
    () => {
        "SELECT e.idx, e.leaf_hash, s.vkey AS signer, e.subject, e.name \
         FROM entries e JOIN signers s ON s.id = e.signer_id"
    };
}

/// An entry as read by `select_entries!`.
#[derive(FromRow)]
pub(crate) struct EntryRow {
    idx: i64,
    leaf_hash: Vec<u8>,
    signer: String,
    subject: Vec<u8>,
    name: String,
}

impl EntryRow {
    fn into_record(self) -> Result<EntryRecord, StoreError> {
        Ok(EntryRecord {
            index: from_db(self.idx, "entries.idx")?,
            leaf_hash: leaf_from_db(&self.leaf_hash)?,
            signer: self.signer,
            subject: self.subject.try_into().map_err(|_| StoreError::Corrupt {
                column: "entries.subject",
            })?,
            name: self.name,
        })
    }
}

/// The log's identity row.
pub(crate) async fn meta<'e, DB, E>(db: E) -> Result<Option<LogMeta>, StoreError>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (String, String, i64): FromRow<'r, DB::Row>,
{
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT origin, vkey, format_version FROM log_meta WHERE id = 1")
            .fetch_optional(db)
            .await?;
    row.map(|(origin, vkey, format_version)| {
        Ok(LogMeta {
            origin,
            vkey,
            format_version: from_db(format_version, "log_meta.format_version")?,
        })
    })
    .transpose()
}

/// Inside `init`'s transaction: the identity row, then the size-0 head.
pub(crate) async fn insert_log<DB>(
    tx: &mut DB::Connection,
    meta: &LogMeta,
    checkpoint: &[u8],
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    // A concurrent init waits for the first one, then inserts nothing.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO log_meta (id, origin, vkey, format_version) VALUES (1, $1, $2, $3) \
         ON CONFLICT (id) DO NOTHING RETURNING format_version",
    )
    .bind(meta.origin.as_str())
    .bind(meta.vkey.as_str())
    .bind(i64::from(meta.format_version))
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        return Err(StoreError::AlreadyInitialized);
    }
    sqlx::query("INSERT INTO log_state (id, size, checkpoint) VALUES (1, 0, $1)")
        .bind(checkpoint)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The stored head.
pub(crate) async fn checkpoint<'e, DB, E>(db: E) -> Result<StoredCheckpoint, StoreError>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64, Vec<u8>): FromRow<'r, DB::Row>,
{
    let (size, text): (i64, Vec<u8>) =
        sqlx::query_as("SELECT size, checkpoint FROM log_state WHERE id = 1")
            .fetch_optional(db)
            .await?
            .ok_or(StoreError::NotInitialized)?;
    Ok(StoredCheckpoint {
        size: from_db(size, "log_state.size")?,
        text,
    })
}

/// The compare-and-swap on `log_state`: sets the size to `new_size` (and
/// the checkpoint to `text`) only if it is `expected`.
///
/// # Errors
///
/// [`StoreError::Conflict`] if the stored size differs,
/// [`StoreError::NotInitialized`] if there is no log.
pub(crate) async fn swap_head<DB>(
    tx: &mut DB::Connection,
    expected: u64,
    new_size: u64,
    text: &[u8],
) -> Result<(), StoreError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    let swapped: Option<i64> = sqlx::query_scalar(
        "UPDATE log_state SET size = $1, checkpoint = $2 WHERE id = 1 AND size = $3 RETURNING size",
    )
    .bind(to_db(new_size)?)
    .bind(text)
    .bind(to_db(expected)?)
    .fetch_optional(&mut *tx)
    .await?;
    if swapped.is_some() {
        return Ok(());
    }
    Err(refused_swap::<DB>(tx, expected).await)
}

/// Why a compare-and-swap on `log_state` expecting `expected` changed
/// nothing: [`StoreError::Conflict`] with the stored size, or
/// [`StoreError::NotInitialized`].
pub(crate) async fn refused_swap<DB>(tx: &mut DB::Connection, expected: u64) -> StoreError
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
{
    let found: Result<Option<i64>, _> =
        sqlx::query_scalar("SELECT size FROM log_state WHERE id = 1")
            .fetch_optional(&mut *tx)
            .await;
    match found {
        Ok(Some(found)) => match from_db(found, "log_state.size") {
            Ok(found) => StoreError::Conflict { expected, found },
            Err(error) => error,
        },
        Ok(None) => StoreError::NotInitialized,
        Err(error) => error.into(),
    }
}

/// The widest stored version of an entry bundle, joined from its parts,
/// with its width.
pub(crate) async fn bundle<'e, DB, E>(
    db: E,
    index: u64,
) -> Result<Option<(u16, Vec<u8>)>, StoreError>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (i16, i16, Vec<u8>): FromRow<'r, DB::Row>,
{
    let Ok(index) = i64::try_from(index) else {
        return Ok(None);
    };
    let parts: Vec<(i16, i16, Vec<u8>)> =
        sqlx::query_as("SELECT upto, codec, data FROM bundle_parts WHERE idx = $1 ORDER BY upto")
            .bind(index)
            .fetch_all(db)
            .await?;
    join_bundle(parts)
}

/// The entry at a leaf index.
pub(crate) async fn entry<'e, DB, E>(db: E, index: u64) -> Result<Option<EntryRecord>, StoreError>
where
    DB: Database,
    E: Executor<'e, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> EntryRow: FromRow<'r, DB::Row>,
{
    let Ok(index) = i64::try_from(index) else {
        return Ok(None);
    };
    let row: Option<EntryRow> = sqlx::query_as(concat!(select_entries!(), " WHERE e.idx = $1"))
        .bind(index)
        .fetch_optional(db)
        .await?;
    row.map(EntryRow::into_record).transpose()
}

/// The entries matching a query, filters first, then the cursor.
///
/// A signer is looked up by its key once (`signers` is small), so the
/// index on `(signer_id, idx)` serves both the filter and the order.
pub(crate) async fn search<DB>(
    pool: &Pool<DB>,
    query: &SearchQuery,
) -> Result<Vec<EntryRecord>, StoreError>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> EntryRow: FromRow<'r, DB::Row>,
{
    let mut sql = String::from(select_entries!());
    sql.push_str(" WHERE TRUE");
    // The filters that are set, in the order their values are bound below.
    let filters = [
        (
            query.signer.is_some(),
            "e.signer_id = (SELECT id FROM signers WHERE vkey = $N)",
        ),
        (query.subject.is_some(), "e.subject = $N"),
        (query.name.is_some(), "e.name = $N"),
    ];
    let mut n = 0;
    for (set, filter) in filters {
        if set {
            n += 1;
            sql.push_str(" AND ");
            sql.push_str(&filter.replace("$N", &format!("${n}")));
        }
    }
    sql.push_str(&format!(
        " AND e.idx > ${} ORDER BY e.idx LIMIT ${}",
        n + 1,
        n + 2
    ));
    let mut statement = sqlx::query_as::<DB, EntryRow>(&sql);
    if let Some(signer) = &query.signer {
        statement = statement.bind(signer.as_str());
    }
    if let Some(subject) = &query.subject {
        statement = statement.bind(subject.as_slice());
    }
    if let Some(name) = &query.name {
        statement = statement.bind(name.as_str());
    }
    // Indexes are never negative, and none is above i64::MAX.
    let after = query
        .after
        .map_or(-1, |after| i64::try_from(after).unwrap_or(i64::MAX));
    let rows = statement
        .bind(after)
        .bind(i64::from(query.limit))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(EntryRow::into_record).collect()
}

/// Ends a commit's transaction: COMMIT if every statement succeeded, else
/// ROLLBACK and the first error, explained as [`StoreError::DuplicateLeaf`]
/// when the entries' unique index refused one.
pub(crate) async fn finish_commit<DB: Database>(
    store: &dyn Store,
    batch: &Batch,
    tx: Transaction<'_, DB>,
    staged: Result<(), StoreError>,
) -> Result<(), StoreError> {
    match staged {
        Ok(()) => Ok(tx.commit().await?),
        // Explaining takes another connection: end this transaction first.
        Err(StoreError::Database(err)) => match tx.rollback().await {
            Ok(()) => Err(explain_insert_error(store, batch, err).await),
            Err(_) => Err(StoreError::Database(err)),
        },
        // Dropping the transaction rolls it back.
        Err(err) => Err(err),
    }
}

/// Explains a failed insert of a batch's entries: if one of its leaf hashes
/// turns out to be logged already, [`StoreError::DuplicateLeaf`], otherwise
/// the database's own error. Called after the transaction rolled back.
async fn explain_insert_error(store: &dyn Store, batch: &Batch, err: sqlx::Error) -> StoreError {
    let is_unique = matches!(&err, sqlx::Error::Database(db) if db.is_unique_violation());
    if !is_unique {
        return StoreError::Database(err);
    }
    let leaves: Vec<_> = batch.entries.iter().map(|e| e.leaf_hash).collect();
    let Ok(found) = store.find_leaves(&leaves).await else {
        return StoreError::Database(err);
    };
    let logged: HashMap<_, _> = found.into_iter().collect();
    match check_new_leaves(batch, |leaf| logged.get(leaf).copied()) {
        Err(duplicate) => duplicate,
        Ok(()) => StoreError::Database(err),
    }
}
