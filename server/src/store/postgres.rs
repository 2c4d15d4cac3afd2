//! The PostgreSQL store: production, schema in `migrations/postgres`.

use async_trait::async_trait;
use sigtrail_merkle::Hash;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{PgConnection, Postgres};

use super::batch::{bundles_to_write, tiles_to_write, StoredBundles, StoredTiles};
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

    /// Step 2 of a commit: the hash tiles that are new or wider.
    async fn write_tiles(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        if batch.tiles.is_empty() {
            return Ok(());
        }
        let levels: Vec<i16> = batch.tiles.iter().map(|t| i16::from(t.level)).collect();
        let indexes = batch
            .tiles
            .iter()
            .map(|t| to_db(t.index))
            .collect::<Result<Vec<_>, _>>()?;
        // One index lookup per tile, whatever the planner knows of the table
        // (see `find_leaves`).
        let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT t.level, t.idx, t.data FROM UNNEST($1::smallint[], $2::bigint[]) AS u(level, idx) \
             CROSS JOIN LATERAL (SELECT level, idx, data FROM tiles \
                 WHERE tiles.level = u.level AND tiles.idx = u.idx LIMIT 1) AS t",
        )
        .bind(&levels)
        .bind(&indexes)
        .fetch_all(&mut *tx)
        .await?;
        let mut stored = StoredTiles::new();
        for (level, index, data) in rows {
            let level = from_db(level, "tiles.level")?;
            stored.insert((level, from_db(index, "tiles.idx")?), data);
        }
        let writes = tiles_to_write(&batch.tiles, &stored)?;
        // The WHERE clause keeps the widening-only rule in the database too.
        sqlx::query(
            "INSERT INTO tiles (level, idx, data) \
             SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[]) \
             ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data \
             WHERE octet_length(tiles.data) < octet_length(excluded.data)",
        )
        .bind(
            writes
                .iter()
                .map(|t| i16::from(t.level))
                .collect::<Vec<_>>(),
        )
        .bind(
            writes
                .iter()
                .map(|t| to_db(t.index))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .bind(writes.iter().map(|t| t.data.as_slice()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Step 3 of a commit: the entry bundles that are new or wider.
    async fn write_bundles(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        if batch.bundles.is_empty() {
            return Ok(());
        }
        let indexes = batch
            .bundles
            .iter()
            .map(|b| to_db(b.index))
            .collect::<Result<Vec<_>, _>>()?;
        let rows: Vec<(i64, i16, Vec<u8>)> =
            sqlx::query_as("SELECT idx, width, data FROM bundles WHERE idx = ANY($1)")
                .bind(&indexes)
                .fetch_all(&mut *tx)
                .await?;
        let mut stored = StoredBundles::new();
        for (index, width, data) in rows {
            let width = from_db(width, "bundles.width")?;
            stored.insert(from_db(index, "bundles.idx")?, (width, data));
        }
        let writes = bundles_to_write(&batch.bundles, &stored)?;
        sqlx::query(
            "INSERT INTO bundles (idx, width, data) \
             SELECT * FROM UNNEST($1::bigint[], $2::smallint[], $3::bytea[]) \
             ON CONFLICT (idx) DO UPDATE SET width = excluded.width, data = excluded.data \
             WHERE bundles.width < excluded.width",
        )
        .bind(
            writes
                .iter()
                .map(|b| to_db(b.index))
                .collect::<Result<Vec<_>, _>>()?,
        )
        // Widths are 1..=256 (Batch::check), and the table checks it again.
        .bind(
            writes
                .iter()
                .map(|b| i16::try_from(b.width).unwrap_or(i16::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(writes.iter().map(|b| b.data.as_slice()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Step 4 of a commit: the signers not seen before, then the entries,
    /// indexed from `first` (the batch's old size).
    async fn insert_entries(
        tx: &mut PgConnection,
        batch: &Batch,
        first: i64,
    ) -> Result<(), sqlx::Error> {
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
        sqlx::query(
            "INSERT INTO entries (idx, leaf_hash, signer_id, subject, name) \
             SELECT u.idx, u.leaf_hash, s.id, u.subject, u.name \
             FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::text[], $5::text[]) \
                  AS u(idx, leaf_hash, signer, subject, name) \
             JOIN signers s ON s.vkey = u.signer",
        )
        .bind((first..).take(batch.entries.len()).collect::<Vec<i64>>())
        .bind(
            batch
                .entries
                .iter()
                .map(|e| e.leaf_hash.0.as_slice())
                .collect::<Vec<_>>(),
        )
        .bind(&signers)
        .bind(
            batch
                .entries
                .iter()
                .map(|e| e.subject.as_str())
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
        .await?;
        Ok(())
    }

    /// The commit's transaction, up to (not including) its COMMIT.
    async fn stage(tx: &mut PgConnection, batch: &Batch) -> Result<(), StoreError> {
        // 1. The compare-and-swap. Its row lock holds off every other writer
        //    until this transaction ends.
        sql::swap_head::<Postgres>(tx, batch.old_size, batch.new_size, &batch.checkpoint).await?;
        // 2, 3. Tiles and bundles, refused if they would rewrite stored bytes.
        Self::write_tiles(tx, batch).await?;
        Self::write_bundles(tx, batch).await?;
        // 4. Entries; a leaf hash logged before violates the unique index.
        Self::insert_entries(tx, batch, to_db(batch.old_size)?)
            .await
            .map_err(StoreError::Database)
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

    async fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        sql::tile(&self.pool, level, index).await
    }

    async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
        sql::bundle(&self.pool, index).await
    }

    async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError> {
        if leaves.is_empty() {
            return Ok(Vec::new());
        }
        // One index lookup per leaf. `leaf_hash = ANY($1)` lets the planner
        // pick a scan of the whole table when it has no statistics (a table
        // never analyzed), which makes every batch cost O(size); the LIMIT
        // keeps the subquery from being flattened into such a join.
        let rows: Vec<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT e.leaf_hash, e.idx \
             FROM (SELECT DISTINCT leaf_hash FROM UNNEST($1::bytea[]) AS q(leaf_hash)) AS u \
             CROSS JOIN LATERAL (SELECT leaf_hash, idx FROM entries \
                 WHERE entries.leaf_hash = u.leaf_hash LIMIT 1) AS e \
             ORDER BY e.idx",
        )
        .bind(leaves.iter().map(|h| h.0.as_slice()).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(leaf, index)| Ok((leaf_from_db(&leaf)?, from_db(index, "entries.idx")?)))
            .collect()
    }

    async fn entry(&self, index: u64) -> Result<Option<EntryRecord>, StoreError> {
        sql::entry(&self.pool, index).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<EntryRecord>, StoreError> {
        sql::search(&self.pool, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::conformance_tests;
    use crate::store::fixtures::{self, test_batch, test_meta};
    use crate::store::testing::TestDatabase;

    conformance_tests!(fixtures::postgres);

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
