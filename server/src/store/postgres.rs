//! The PostgreSQL store: production, schema in `migrations/postgres`.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sigtrail_merkle::Hash;
use sqlx::postgres::PgPool;
use sqlx::{Executor, PgConnection, Postgres};

use super::batch::{
    bundles_to_write, check_new_leaves, tiles_to_write, BundlePart, SharedTail, StoredBundles,
    StoredTiles, TailCopy, TilePart,
};
use super::parts::{compress_bundle, grouped, join_bundle, join_tiles, upto_from_db};
use super::sql::{self, from_db, leaf_from_db, to_db};
use super::{Batch, EntryRecord, LogMeta, SearchQuery, Store, StoreError, StoredCheckpoint};

/// Connections the pool keeps at most.
const MAX_CONNECTIONS: u32 = 16;

/// How a commit's transaction begins, in one round trip. Its statements'
/// text never changes, but PostgreSQL would plan them again on every
/// commit: a plan made for the bound arrays' lengths looks cheaper than
/// the generic plan, which takes every array to hold ten elements, so the
/// plan cache never settles on the generic one. Both plans are the same
/// index probes, and planning them took more CPU than running them for a
/// batch of one entry.
const BEGIN_COMMIT: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan";

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
    /// The partial tiles and bundles this store committed last.
    tail: Arc<SharedTail>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://…`) and migrates the schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if the database is unreachable,
    /// [`StoreError::Migrate`] if the schema cannot be brought up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = sql::pool_options(MAX_CONNECTIONS).connect(url).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore {
            pool,
            tail: Arc::default(),
        })
    }

    /// Steps 1 and 2 of a commit, in one statement: the compare-and-swap
    /// on `log_state`, and the stored versions of the batch's tiles and
    /// bundles: from `tail` for those stored at the width of its copy, else
    /// joined from their parts (one index range scan each, as in
    /// `read_tiles`).
    ///
    /// The parts are read in the statement's snapshot, which may predate
    /// the swap if it waited for another writer's lock. They are still the
    /// stored ones whenever the swap succeeds: only a commit writes parts,
    /// and a commit that ended while this one waited changed the size, so
    /// the swap refuses.
    async fn swap_and_read(
        tx: &mut PgConnection,
        batch: &Batch,
        tail: &mut TailCopy,
    ) -> Result<(StoredTiles, StoredBundles), StoreError> {
        let levels = column(&batch.tiles, |t| i16::from(t.level));
        let tile_indexes = indexes(&batch.tiles, |t| t.index)?;
        let bundle_indexes = indexes(&batch.bundles, |b| b.index)?;
        let widths = |widths: Vec<u16>| widths.into_iter().map(upto_to_db).collect::<Vec<_>>();
        // Rows of kind 0: the swapped size; 1, 3: a tile or bundle stored
        // at the width of the copy; 2, 4: the parts of the others.
        let rows: Vec<(i16, i16, i64, i16, i16, Vec<u8>)> = sqlx::query_as(
            "WITH swap AS (UPDATE log_state SET size = $1, checkpoint = $2 \
                 WHERE id = 1 AND size = $3 RETURNING size), \
             tile_tops AS (SELECT u.level, u.idx, u.copy, t.upto AS top \
                 FROM UNNEST($4::smallint[], $5::bigint[], $6::smallint[]) AS u(level, idx, copy) \
                 LEFT JOIN LATERAL (SELECT upto FROM tile_parts \
                     WHERE tile_parts.level = u.level AND tile_parts.idx = u.idx \
                     ORDER BY upto DESC LIMIT 1) AS t ON true), \
             bundle_tops AS (SELECT u.idx, u.copy, b.upto AS top \
                 FROM UNNEST($7::bigint[], $8::smallint[]) AS u(idx, copy) \
                 LEFT JOIN LATERAL (SELECT upto FROM bundle_parts \
                     WHERE bundle_parts.idx = u.idx ORDER BY upto DESC LIMIT 1) AS b ON true) \
             SELECT 0::smallint, 0::smallint, size, 0::smallint, 0::smallint, ''::bytea \
                 FROM swap \
             UNION ALL \
             SELECT 1::smallint, level, idx, top, 0::smallint, ''::bytea \
                 FROM tile_tops WHERE top = copy \
             UNION ALL \
             SELECT 2::smallint, u.level, u.idx, p.upto, 0::smallint, p.data \
                 FROM tile_tops AS u CROSS JOIN LATERAL (SELECT upto, data FROM tile_parts \
                     WHERE tile_parts.level = u.level AND tile_parts.idx = u.idx \
                     AND u.top IS DISTINCT FROM u.copy OFFSET 0) AS p \
             UNION ALL \
             SELECT 3::smallint, 0::smallint, idx, top, 0::smallint, ''::bytea \
                 FROM bundle_tops WHERE top = copy \
             UNION ALL \
             SELECT 4::smallint, 0::smallint, u.idx, p.upto, p.codec, p.data \
                 FROM bundle_tops AS u CROSS JOIN LATERAL (SELECT upto, codec, data \
                     FROM bundle_parts WHERE bundle_parts.idx = u.idx \
                     AND u.top IS DISTINCT FROM u.copy OFFSET 0) AS p \
             ORDER BY 1, 2, 3, 4",
        )
        .bind(to_db(batch.new_size)?)
        .bind(&batch.checkpoint)
        .bind(to_db(batch.old_size)?)
        .bind(&levels)
        .bind(&tile_indexes)
        .bind(widths(tail.tile_widths(batch)))
        .bind(&bundle_indexes)
        .bind(widths(tail.bundle_widths(batch)))
        .fetch_all(&mut *tx)
        .await?;
        if rows.first().is_none_or(|row| row.0 != 0) {
            return Err(sql::refused_swap::<Postgres>(tx, batch.old_size).await);
        }
        let mut tiles = StoredTiles::new();
        let mut bundles = StoredBundles::new();
        let mut tile_parts = Vec::new();
        let mut bundle_parts = Vec::new();
        for (kind, level, index, upto, codec, data) in rows.into_iter().skip(1) {
            match kind {
                1 => {
                    let key = (
                        from_db(level, "tile_parts.level")?,
                        from_db(index, "tile_parts.idx")?,
                    );
                    tail.take_tile(key, upto_from_db(upto, "tile_parts.upto")?, &mut tiles);
                }
                2 => tile_parts.push((level, index, upto, data)),
                3 => {
                    let index = from_db(index, "bundle_parts.idx")?;
                    let top = upto_from_db(upto, "bundle_parts.upto")?;
                    tail.take_bundle(index, top, &mut bundles);
                }
                _ => bundle_parts.push((index, (upto, codec, data))),
            }
        }
        tiles.extend(join_tiles(tile_parts)?);
        for (index, parts) in grouped(bundle_parts) {
            if let Some(bundle) = join_bundle(parts)? {
                bundles.insert(from_db(index, "bundle_parts.idx")?, bundle);
            }
        }
        Ok((tiles, bundles))
    }

    /// Step 3 of a commit, in one statement: the parts that widen hash
    /// tiles and entry bundles or add new ones, the signers not seen
    /// before, and the entries, indexed from the batch's old size, unless
    /// one of their leaf hashes is logged already. Returns how many
    /// entries it inserted.
    ///
    /// A statement does not see its own inserts, so the entries take their
    /// signer ids from the signers it inserts and the ones stored before.
    /// The leaf-hash index is not unique: `logged` looks each leaf hash up
    /// (one index probe per leaf, as in `probe_leaves`), and the entries
    /// are inserted only if none is found.
    async fn append(
        tx: &mut PgConnection,
        batch: &Batch,
        tiles: &[TilePart<'_>],
        bundles: &[BundlePart<'_>],
    ) -> Result<u64, StoreError> {
        let (codecs, data): (Vec<i16>, Vec<Vec<u8>>) =
            bundles.iter().map(|p| compress_bundle(p.data)).unzip();
        let first = to_db(batch.old_size)?;
        let inserted: i64 = sqlx::query_scalar(
            "WITH tiles AS (INSERT INTO tile_parts (level, idx, upto, data) \
                 SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::smallint[], $4::bytea[])), \
             bundles AS (INSERT INTO bundle_parts (idx, upto, codec, data) \
                 SELECT * FROM UNNEST($5::bigint[], $6::smallint[], $7::smallint[], $8::bytea[])), \
             keys AS (SELECT DISTINCT vkey FROM UNNEST($11::text[]) AS q(vkey)), \
             added AS (INSERT INTO signers (vkey) SELECT vkey FROM keys \
                 ON CONFLICT (vkey) DO NOTHING RETURNING id, vkey), \
             known AS (SELECT id, vkey FROM added \
                 UNION ALL \
                 SELECT s.id, s.vkey FROM keys CROSS JOIN LATERAL (SELECT id, vkey \
                     FROM signers WHERE signers.vkey = keys.vkey OFFSET 0) AS s), \
             logged AS (SELECT e.idx FROM UNNEST($10::bytea[]) AS q(leaf_hash) \
                 CROSS JOIN LATERAL (SELECT idx FROM entries \
                     WHERE entries.leaf_hash = q.leaf_hash LIMIT 1) AS e), \
             inserted AS (INSERT INTO entries (idx, leaf_hash, signer_id, subject, name) \
                 SELECT u.idx, u.leaf_hash, k.id, u.subject, u.name \
                 FROM UNNEST($9::bigint[], $10::bytea[], $11::text[], $12::bytea[], \
                             $13::text[]) AS u(idx, leaf_hash, signer, subject, name) \
                 JOIN known k ON k.vkey = u.signer \
                 WHERE NOT EXISTS (SELECT 1 FROM logged) \
                 RETURNING 1) \
             SELECT count(*) FROM inserted",
        )
        .bind(column(tiles, |p| i16::from(p.level)))
        .bind(indexes(tiles, |p| p.index)?)
        .bind(column(tiles, |p| upto_to_db(p.upto)))
        .bind(column(tiles, |p| p.data))
        .bind(indexes(bundles, |p| p.index)?)
        .bind(column(bundles, |p| upto_to_db(p.upto)))
        .bind(codecs)
        .bind(data)
        .bind((first..).take(batch.entries.len()).collect::<Vec<i64>>())
        .bind(column(&batch.entries, |e| e.leaf_hash.0.as_slice()))
        .bind(column(&batch.entries, |e| e.signer.as_str()))
        .bind(column(&batch.entries, |e| e.subject.as_slice()))
        .bind(column(&batch.entries, |e| e.name.as_str()))
        .fetch_one(&mut *tx)
        .await?;
        Ok(u64::try_from(inserted).unwrap_or(0))
    }

    /// The commit's transaction, up to (not including) its COMMIT.
    async fn stage(
        tx: &mut PgConnection,
        batch: &Batch,
        tail: &mut TailCopy,
    ) -> Result<(), StoreError> {
        // 1, 2. The compare-and-swap, whose row lock holds off every other
        //       writer until this transaction ends, and the stored versions.
        let (stored_tiles, stored_bundles) = Self::swap_and_read(tx, batch, tail).await?;
        // Tiles and bundles are refused if they would rewrite stored bytes.
        let tiles = tiles_to_write(&batch.tiles, &stored_tiles)?;
        let bundles = bundles_to_write(&batch.bundles, &stored_bundles)?;
        // 3. Everything appended; entries refused if a leaf hash is logged.
        let inserted = Self::append(tx, batch, &tiles, &bundles).await?;
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
        // statement inserts each signer it does not find.
        Err(StoreError::Corrupt {
            column: "signers.vkey",
        })
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
        let mut tail = self.tail.take();
        let mut tx = self.pool.begin_with(BEGIN_COMMIT).await?;
        let staged = Self::stage(&mut tx, batch, &mut tail).await;
        sql::finish_commit(self, batch, tx, staged).await?;
        self.tail.committed(tail, batch);
        Ok(())
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

/// One column of a bulk statement's rows, bound as an array.
fn column<'a, T, U>(rows: &'a [T], field: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}

/// The tile or bundle indexes of a bulk statement's rows, as `BIGINT`s.
fn indexes<T>(rows: &[T], index: impl Fn(&T) -> u64) -> Result<Vec<i64>, StoreError> {
    rows.iter().map(|row| to_db(index(row))).collect()
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
    use std::time::Duration;

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
    async fn another_store_widens() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let a = PostgresStore::open(database.url()).await.expect("open a");
        let b = PostgresStore::open(database.url()).await.expect("open b");
        conformance::another_store_widens(&a, &b).await;
    }

    /// A connection the database closed while it sat idle in the pool is
    /// found out by the ping before it is handed out, and replaced.
    #[tokio::test]
    async fn closed_idle_connection_is_replaced() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let store = PostgresStore::open(database.url()).await.expect("open");
        store
            .init(&test_meta(), b"checkpoint 0\n")
            .await
            .expect("init");
        let admin = PgPool::connect(database.url()).await.expect("connect");
        let closed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(&admin)
        .await
        .expect("terminate the store's connections");
        admin.close().await;
        assert!(!closed.is_empty() && closed.iter().all(|&c| c));
        tokio::time::sleep(sql::PING_AFTER_IDLE + Duration::from_millis(200)).await;
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 0);
    }

    /// A commit's statements run on their generic plan, never planned
    /// again for the arrays bound to them.
    #[tokio::test]
    async fn commits_are_not_planned_again() {
        let Some(database) = TestDatabase::create().await else {
            return;
        };
        let store = PostgresStore::open(database.url()).await.expect("open");
        store
            .init(&test_meta(), b"checkpoint 0\n")
            .await
            .expect("init");
        for (start, tag) in [(0, "a"), (2, "b"), (4, "c"), (6, "d"), (8, "e"), (10, "f")] {
            store
                .commit(&test_batch(start, 2, tag))
                .await
                .expect("commit");
        }
        let mut connections = Vec::new();
        while connections.len() < store.pool.size() as usize {
            connections.push(store.pool.acquire().await.expect("acquire"));
        }
        let (mut custom, mut generic) = (0, 0);
        for connection in &mut connections {
            let (c, g): (i64, i64) = sqlx::query_as(
                "SELECT coalesce(sum(custom_plans), 0)::bigint, \
                     coalesce(sum(generic_plans), 0)::bigint \
                 FROM pg_prepared_statements \
                 WHERE statement LIKE 'WITH swap AS%' OR statement LIKE 'WITH tiles AS%'",
            )
            .fetch_one(&mut **connection)
            .await
            .expect("plan counts");
            custom += c;
            generic += g;
        }
        assert_eq!(custom, 0);
        assert!(generic >= 12, "{generic} generic plans for 12 statements");
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
