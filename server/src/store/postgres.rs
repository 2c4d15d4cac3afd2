//! The PostgreSQL store: production, schema in `migrations/postgres`.

use std::collections::HashMap;

use async_trait::async_trait;
use sigtrail_merkle::Hash;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Executor, PgConnection, Postgres};

use super::batch::{
    bundles_to_write, check_new_leaves, tiles_to_write, StoredBundles, StoredTiles,
};
use super::parts::{compress_bundle, grouped, join_bundle, join_tiles};
use super::sql::{self, from_db, leaf_from_db, to_db};
use super::{Batch, EntryRecord, LogMeta, SearchQuery, Store, StoreError, StoredCheckpoint};

/// Connections the pool keeps at most.
const MAX_CONNECTIONS: u32 = 16;

/// A [`Store`] in a PostgreSQL database.
///
/// A commit is one transaction whose first statement is the
/// compare-and-swap on `log_state`: its row lock queues every other
/// writer until the transaction ends, so the statements after it run
/// alone, and a writer that was queued then finds the new size and fails
/// with [`StoreError::Conflict`].
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and migrates the schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if the database is unreachable,
    /// [`StoreError::Migrate`] if the schema cannot be brought up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    /// Step 2 of a commit: the parts that widen hash tiles or add new ones.
    async fn write_tiles(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        if batch.tiles.is_empty() {
            return Ok(());
        }
        let ids: Vec<(u8, u64)> = batch.tiles.iter().map(|t| (t.level, t.index)).collect();
        let stored = read_tiles(&mut *tx, &ids).await?;
        let parts = tiles_to_write(&batch.tiles, &stored)?;
        sqlx::query(
            "INSERT INTO tile_parts (level, idx, upto, data) \
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::smallint[], $4::bytea[])",
        )
        .bind(parts.iter().map(|p| i16::from(p.level)).collect::<Vec<_>>())
        .bind(
            parts
                .iter()
                .map(|p| to_db(p.index))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(parts.iter().map(|p| upto_to_db(p.upto)).collect::<Vec<_>>())
        .bind(parts.iter().map(|p| p.data).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Step 3 of a commit: the parts that widen entry bundles or add new ones.
    async fn write_bundles(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        if batch.bundles.is_empty() {
            return Ok(());
        }
        let indexes = batch
            .bundles
            .iter()
            .map(|b| to_db(b.index))
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<(i64, i16, i16, Vec<u8>)> = sqlx::query_as(
            "SELECT u.idx, p.upto, p.codec, p.data FROM UNNEST($1::bigint[]) AS u(idx) \
             CROSS JOIN LATERAL (SELECT upto, codec, data FROM bundle_parts \
                 WHERE bundle_parts.idx = u.idx OFFSET 0) AS p \
             ORDER BY u.idx, p.upto",
        )
        .bind(&indexes)
        .fetch_all(&mut *tx)
        .await?;
        let mut stored = StoredBundles::new();
        let rows = rows
            .into_iter()
            .map(|(index, upto, codec, data)| (index, (upto, codec, data)));
        for (index, parts) in grouped(rows) {
            if let Some(bundle) = join_bundle(parts)? {
                stored.insert(from_db(index, "bundle_parts.idx")?, bundle);
            }
        }
        let parts = bundles_to_write(&batch.bundles, &stored)?;
        let (codecs, data): (Vec<i16>, Vec<Vec<u8>>) =
            parts.iter().map(|p| compress_bundle(p.data)).unzip();
        sqlx::query(
            "INSERT INTO bundle_parts (idx, upto, codec, data) \
             SELECT * FROM UNNEST($1::bigint[], $2::smallint[], $3::smallint[], $4::bytea[])",
        )
        .bind(
            parts
                .iter()
                .map(|p| to_db(p.index))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(parts.iter().map(|p| upto_to_db(p.upto)).collect::<Vec<_>>())
        .bind(codecs)
        .bind(data)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Step 4 of a commit: the signers not seen before, then the entries,
    /// indexed from `first` (the batch's old size), unless one of their
    /// leaf hashes is logged already.
    async fn insert_entries(
        tx: &mut PgConnection,
        batch: &Batch,
        first: i64,
    ) -> Result<(), StoreError> {
        if batch.entries.is_empty() {
            return Ok(());
        }
        let signers: Vec<&str> = batch.entries.iter().map(|e| e.signer.as_str()).collect();
        sqlx::query(
            "INSERT INTO signers (vkey) SELECT DISTINCT vkey FROM UNNEST($1::text[]) AS u(vkey) \
             ON CONFLICT (vkey) DO NOTHING",
        )
        .bind(&signers)
        .execute(&mut *tx)
        .await?;
        let leaves: Vec<&[u8]> = batch
            .entries
            .iter()
            .map(|e| e.leaf_hash.0.as_slice())
            .collect();
        // The leaf-hash index is not unique: the statement inserts nothing
        // if a leaf hash is logged already (one index probe per leaf, as in
        // `probe_leaves`).
        let inserted = sqlx::query(
            "WITH logged AS (SELECT e.idx FROM UNNEST($2::bytea[]) AS q(leaf_hash) \
                 CROSS JOIN LATERAL (SELECT idx FROM entries \
                     WHERE entries.leaf_hash = q.leaf_hash LIMIT 1) AS e) \
             INSERT INTO entries (idx, leaf_hash, signer_id, subject, name) \
             SELECT u.idx, u.leaf_hash, s.id, u.subject, u.name \
             FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::bytea[], $5::text[]) \
                  AS u(idx, leaf_hash, signer, subject, name) \
             JOIN signers s ON s.vkey = u.signer \
             WHERE NOT EXISTS (SELECT 1 FROM logged)",
        )
        .bind((first..).take(batch.entries.len()).collect::<Vec<i64>>())
        .bind(&leaves)
        .bind(&signers)
        .bind(
            batch
                .entries
                .iter()
                .map(|e| e.subject.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(
            batch
                .entries
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if usize::try_from(inserted).ok() == Some(batch.entries.len()) {
            return Ok(());
        }
        let logged = probe_leaves(
            &mut *tx,
            &batch
                .entries
                .iter()
                .map(|e| e.leaf_hash)
                .collect::<Vec<_>>(),
        )
        .await?;
        let logged: HashMap<_, _> = logged.into_iter().collect();
        check_new_leaves(batch, |leaf| logged.get(leaf).copied())?;
        // Every leaf is new, so an entry's signer was not found: the
        // statement before this one inserts each.
        Err(StoreError::Corrupt {
            column: "signers.vkey",
        })
    }

    /// The commit's transaction, up to (not including) its COMMIT.
    async fn stage(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        // 1. The compare-and-swap. Its row lock holds off every other writer
        //    until this transaction ends.
        sql::swap_head::<Postgres>(tx, batch.old_size, batch.new_size, &batch.checkpoint).await?;
        // 2, 3. Tiles and bundles, refused if they would rewrite stored bytes.
        Self::write_tiles(tx, batch).await?;
        Self::write_bundles(tx, batch).await?;
        // 4. Entries, refused if a leaf hash is logged already.
        Self::insert_entries(tx, batch, to_db(batch.old_size)?).await
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn meta(&self) -> Result<Option<LogMeta>, StoreError> {
        sql::meta(&self.pool).await
    }

    async fn init(&self, meta: &LogMeta, checkpoint: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sql::insert_log::<Postgres>(&mut tx, meta, checkpoint).await?;
        Ok(tx.commit().await?)
    }

    async fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        sql::checkpoint(&self.pool).await
    }

    async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        batch.check()?;
        let mut tx = self.pool.begin().await?;
        let staged = Self::stage(&mut tx, batch).await;
        sql::finish_commit(self, batch, tx, staged).await
    }

    async fn update_checkpoint(&self, size: u64, text: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sql::swap_head::<Postgres>(&mut tx, size, size, text).await?;
        Ok(tx.commit().await?)
    }

    async fn tiles(&self, ids: &[(u8, u64)]) -> Result<StoredTiles, StoreError> {
        read_tiles(&self.pool, ids).await
    }

    async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
        sql::bundle(&self.pool, index).await
    }

    async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError> {
        probe_leaves(&self.pool, leaves).await
    }

    async fn entry(&self, index: u64) -> Result<Option<EntryRecord>, StoreError> {
        sql::entry(&self.pool, index).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<EntryRecord>, StoreError> {
        sql::search(&self.pool, query).await
    }
}

/// The widest stored versions of these hash tiles, read in one statement:
/// one index range scan per tile, whatever the
/// planner knows of the table (see `probe_leaves`); OFFSET 0 keeps the
/// subquery apart. Tiles not stored, or beyond the database's integers,
/// are absent.
async fn read_tiles<'e, E>(db: E, ids: &[(u8, u64)]) -> Result<StoredTiles, StoreError>
where
    E: Executor<'e, Database = Postgres>,
{
    let (levels, indexes): (Vec<i16>, Vec<i64>) = ids
        .iter()
        .filter_map(|&(level, index)| Some((i16::from(level), i64::try_from(index).ok()?)))
        .unzip();
    let rows: Vec<(i16, i64, i16, Vec<u8>)> = sqlx::query_as(
        "SELECT u.level, u.idx, p.upto, p.data \
         FROM UNNEST($1::smallint[], $2::bigint[]) AS u(level, idx) \
         CROSS JOIN LATERAL (SELECT upto, data FROM tile_parts \
             WHERE tile_parts.level = u.level AND tile_parts.idx = u.idx OFFSET 0) AS p \
         ORDER BY u.level, u.idx, p.upto",
    )
    .bind(&levels)
    .bind(&indexes)
    .fetch_all(db)
    .await?;
    join_tiles(rows)
}

/// A width for a `SMALLINT` column: widths are `1..=256` (`Batch::check`),
/// and the tables check it again.
fn upto_to_db(upto: u16) -> i16 {
    i16::try_from(upto).unwrap_or(i16::MAX)
}

/// Which of these leaf hashes are logged, with their index, each once, in
/// ascending index order.
///
/// One index lookup per leaf. `leaf_hash = ANY($1)` lets the planner pick a
/// scan of the whole table when it has no statistics (a table never
/// analyzed), which makes every batch cost O(size); the LIMIT keeps the
/// subquery from being flattened into such a join.
async fn probe_leaves<'e, E>(db: E, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError>
where
    E: Executor<'e, Database = Postgres>,
{
    if leaves.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "SELECT e.leaf_hash, e.idx \
         FROM (SELECT DISTINCT leaf_hash FROM UNNEST($1::bytea[]) AS q(leaf_hash)) AS u \
         CROSS JOIN LATERAL (SELECT leaf_hash, idx FROM entries \
             WHERE entries.leaf_hash = u.leaf_hash LIMIT 1) AS e \
         ORDER BY e.idx",
    )
    .bind(leaves.iter().map(|h| h.0.as_slice()).collect::<Vec<_>>())
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(leaf, index)| Ok((leaf_from_db(&leaf)?, from_db(index, "entries.idx")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::{self, conformance_tests};
    use crate::store::fixtures::{self, test_batch, test_meta};
    use crate::store::testing::TestDatabase;

    conformance_tests!(fixtures::postgres);

    #[tokio::test]
    async fn format_1_log_carries_over() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let pool = PgPool::connect(database.url()).await.expect("connect");
        fixtures::write_format_1(&pool, sqlx::migrate!("./migrations/postgres")).await;
        pool.close().await;
        let store = PostgresStore::open(database.url())
            .await
            .expect("migrating to format 2");
        conformance::format_1_log_carries_over(&store).await;
    }

    #[tokio::test]
    async fn reopen_keeps_data() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let batch = test_batch(0, 3, "a");
        {
            let store = PostgresStore::open(database.url()).await.expect("open");
            store
                .init(&test_meta(), b"checkpoint 0\n")
                .await
                .expect("init");
            store.commit(&batch).await.expect("commit");
            store.pool.close().await;
        }
        // Opening again finds the schema migrated and the log in place.
        let store = PostgresStore::open(database.url()).await.expect("reopen");
        assert_eq!(store.meta().await.expect("meta"), Some(test_meta()));
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 3);
        assert_eq!(
            store.entry(2).await.expect("entry"),
            Some(batch.entries[2].clone())
        );
    }
}
