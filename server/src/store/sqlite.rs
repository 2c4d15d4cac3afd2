//! The SQLite store: the embedded default, schema in `migrations/sqlite`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sigtrail_merkle::Hash;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::batch::{
    bundles_to_write, tiles_to_write, SharedTail, StoredBundles, StoredTiles, TailCopy,
};
use super::parts::{compress_bundle, join_tiles, upto_from_db};
use super::sql::{self, from_db, leaf_from_db, to_db};
use super::{Batch, EntryRecord, LogMeta, SearchQuery, Store, StoreError, StoredCheckpoint};

/// Connections the pool keeps at most: WAL lets readers run beside the one writer.
const MAX_CONNECTIONS: u32 = 8;

/// How long a writer waits for another one's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Leaf hashes looked up per statement, well under SQLite's variable limit.
const LEAVES_PER_QUERY: usize = 500;

/// Tiles read per statement (two variables each).
const TILES_PER_QUERY: usize = 250;

/// Entries inserted per statement: five variables each, well under
/// SQLite's limit of 32,766.
const ENTRIES_PER_INSERT: usize = 1000;

/// WAL frames (pages) past which the checkpointer holds writers back until
/// the whole WAL is in the database file: with 4 KiB pages, 64 MiB of WAL.
const WAL_FRAMES_BOUND: i64 = 16_384;

/// The size a WAL file is cut back to when it starts over, in bytes: what
/// [`WAL_FRAMES_BOUND`] frames take.
const WAL_FILE_LIMIT: &str = "67108864";

/// How long a checkpoint that holds writers back waits for readers of an
/// older snapshot before it gives up and lets the writers go on.
const CHECKPOINT_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// A [`Store`] in an SQLite database file.
///
/// WAL journal, `synchronous = FULL` (a commit survives power loss),
/// foreign keys on. A commit is one `BEGIN IMMEDIATE` transaction: it takes
/// the database's write lock first, so writers run one at a time and the
/// compare-and-swap and the writes after it see no one else's.
///
/// No connection checkpoints the WAL when it commits (SQLite's
/// `wal_autocheckpoint` is off): a task of the store's own copies the WAL
/// into the database file after commits, beside the next one, and lets the
/// WAL grow past [`WAL_FRAMES_BOUND`] frames only until it catches up.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    checkpointer: Arc<Checkpointer>,
    /// The partial tiles and bundles this store committed last.
    tail: Arc<SharedTail>,
}

/// The handle of the task that checkpoints the WAL; dropping the last
/// clone of the store stops it.
#[derive(Debug)]
struct Checkpointer {
    wake: Arc<Notify>,
    task: AbortHandle,
}

impl Checkpointer {
    /// Starts the task, which checkpoints over a connection of its own,
    /// opened with `options` and a short busy timeout.
    fn start(options: SqliteConnectOptions) -> Self {
        let wake = Arc::new(Notify::new());
        let options = options.busy_timeout(CHECKPOINT_BUSY_TIMEOUT);
        let task = tokio::spawn(checkpoint_after_commits(options, Arc::clone(&wake)));
        Checkpointer {
            wake,
            task: task.abort_handle(),
        }
    }

    /// Asks for a checkpoint; commits while one runs ask for one more.
    fn committed(&self) {
        self.wake.notify_one();
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The widest stored versions of these hash tiles, [`TILES_PER_QUERY`]
/// to a statement. Tiles not stored, or beyond the database's integers,
/// are absent.
async fn read_tiles(
    connection: &mut SqliteConnection,
    ids: &[(u8, u64)],
) -> Result<StoredTiles, StoreError> {
    let ids: Vec<(i64, i64)> = ids
        .iter()
        .filter_map(|&(level, index)| Some((i64::from(level), i64::try_from(index).ok()?)))
        .collect();
    let mut tiles = StoredTiles::new();
    for chunk in ids.chunks(TILES_PER_QUERY) {
        // CROSS JOIN keeps the list outside, so that each tile is a search
        // of the primary key (`(level, idx) IN (VALUES …)` scans the table).
        let mut query = QueryBuilder::<Sqlite>::new("WITH ids (level, idx) AS (VALUES ");
        let mut list = query.separated(", ");
        for &(level, index) in chunk {
            list.push("(")
                .push_bind_unseparated(level)
                .push_unseparated(", ")
                .push_bind_unseparated(index)
                .push_unseparated(")");
        }
        query.push(
            ") SELECT t.level, t.idx, t.upto, t.data FROM ids CROSS JOIN tile_parts AS t \
             ON t.level = ids.level AND t.idx = ids.idx ORDER BY t.level, t.idx, t.upto",
        );
        let rows = query.build_query_as().fetch_all(&mut *connection).await?;
        tiles.extend(join_tiles(rows)?);
    }
    Ok(tiles)
}

/// The checkpointer's loop: one checkpoint per wake-up, over a connection
/// opened again after any failure.
async fn checkpoint_after_commits(options: SqliteConnectOptions, wake: Arc<Notify>) {
    let mut connection = None;
    loop {
        wake.notified().await;
        if let Err(err) = checkpoint_over(&mut connection, &options).await {
            tracing::warn!(error = %err, "checkpointing the SQLite WAL failed; the next commit retries");
            connection = None;
        }
    }
}

/// One checkpoint with [`WAL_FRAMES_BOUND`] over `connection`, opened
/// with `options` first if there is none.
async fn checkpoint_over(
    connection: &mut Option<SqliteConnection>,
    options: &SqliteConnectOptions,
) -> Result<(), sqlx::Error> {
    let open = match connection {
        Some(open) => open,
        None => connection.insert(options.connect().await?),
    };
    checkpoint_wal(open, WAL_FRAMES_BOUND).await
}

/// Copies what it can of the WAL into the database file without waiting
/// for anyone (`PASSIVE`) and returns the frames in the WAL.
async fn checkpoint_passive(connection: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(connection)
            .await?;
    Ok(frames)
}

/// Checkpoints `PASSIVE`; if the WAL is then longer than `frames_bound`
/// frames, copies the rest, holding new writers back, so that the next
/// writer starts the WAL over (`RESTART`). Readers of an older snapshot
/// that outlast the connection's busy timeout make the `RESTART` give up,
/// and the next commit's checkpoint tries again.
async fn checkpoint_wal(
    connection: &mut SqliteConnection,
    frames_bound: i64,
) -> Result<(), sqlx::Error> {
    if checkpoint_passive(connection).await? > frames_bound {
        let (busy, frames, copied): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
                .fetch_one(&mut *connection)
                .await?;
        if busy != 0 {
            tracing::debug!(
                frames,
                copied,
                "readers held the WAL; the next commit's checkpoint restarts it"
            );
        }
    }
    Ok(())
}

/// How every connection to the database at `url_or_path` is opened.
fn connect_options(url_or_path: &str) -> Result<SqliteConnectOptions, StoreError> {
    let options = if url_or_path.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url_or_path)?
    } else {
        SqliteConnectOptions::new().filename(url_or_path)
    };
    Ok(options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true)
        .pragma("wal_autocheckpoint", "0")
        .pragma("journal_size_limit", WAL_FILE_LIMIT))
}

impl SqliteStore {
    /// Opens the database at `url_or_path` (`sqlite://path`, `sqlite:path`
    /// or a plain path), creating the file and its directory if missing,
    /// and migrates the schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::CreateDir`] if the directory cannot be created,
    /// [`StoreError::Database`] if the file cannot be opened,
    /// [`StoreError::Migrate`] if the schema cannot be brought up to date.
    pub async fn open(url_or_path: &str) -> Result<Self, StoreError> {
        let options = connect_options(url_or_path)?;
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(StoreError::CreateDir)?;
            }
        }
        let pool = sql::pool_options(MAX_CONNECTIONS)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let checkpointer = Arc::new(Checkpointer::start(options));
        checkpointer.committed();
        Ok(SqliteStore {
            pool,
            checkpointer,
            tail: Arc::default(),
        })
    }

    /// Commits a write other than a batch's and wakes the checkpointer.
    async fn finish(&self, tx: sqlx::Transaction<'_, Sqlite>) -> Result<(), StoreError> {
        tx.commit().await?;
        self.checkpointer.committed();
        Ok(())
    }

    /// Step 2 of a commit: the parts that widen hash tiles or add new ones.
    async fn write_tiles(
        tx: &mut SqliteConnection,
        batch: &Batch,
        tail: &mut TailCopy,
    ) -> Result<(), StoreError> {
        let mut stored = StoredTiles::new();
        let mut unknown = Vec::new();
        for (tile, copy) in batch.tiles.iter().zip(tail.tile_widths(batch)) {
            let key = (tile.level, tile.index);
            if copy > 0 {
                let top: Option<i16> = sqlx::query_scalar(
                    "SELECT max(upto) FROM tile_parts WHERE level = ? AND idx = ?",
                )
                .bind(i64::from(tile.level))
                .bind(to_db(tile.index)?)
                .fetch_one(&mut *tx)
                .await?;
                let top = top
                    .map(|t| upto_from_db(t, "tile_parts.upto"))
                    .transpose()?;
                if top.is_some_and(|top| tail.take_tile(key, top, &mut stored)) {
                    continue;
                }
            }
            unknown.push(key);
        }
        stored.extend(read_tiles(&mut *tx, &unknown).await?);
        for part in tiles_to_write(&batch.tiles, &stored)? {
            sqlx::query("INSERT INTO tile_parts (level, idx, upto, data) VALUES (?, ?, ?, ?)")
                .bind(i64::from(part.level))
                .bind(to_db(part.index)?)
                .bind(i64::from(part.upto))
                .bind(part.data)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Step 3 of a commit: the parts that widen entry bundles or add new ones.
    async fn write_bundles(
        tx: &mut SqliteConnection,
        batch: &Batch,
        tail: &mut TailCopy,
    ) -> Result<(), StoreError> {
        let mut stored = StoredBundles::new();
        for (bundle, copy) in batch.bundles.iter().zip(tail.bundle_widths(batch)) {
            if copy > 0 {
                let top: Option<i16> =
                    sqlx::query_scalar("SELECT max(upto) FROM bundle_parts WHERE idx = ?")
                        .bind(to_db(bundle.index)?)
                        .fetch_one(&mut *tx)
                        .await?;
                let top = top
                    .map(|t| upto_from_db(t, "bundle_parts.upto"))
                    .transpose()?;
                if top.is_some_and(|top| tail.take_bundle(bundle.index, top, &mut stored)) {
                    continue;
                }
            }
            if let Some(found) = sql::bundle(&mut *tx, bundle.index).await? {
                stored.insert(bundle.index, found);
            }
        }
        for part in bundles_to_write(&batch.bundles, &stored)? {
            let (codec, data) = compress_bundle(part.data);
            sqlx::query("INSERT INTO bundle_parts (idx, upto, codec, data) VALUES (?, ?, ?, ?)")
                .bind(to_db(part.index)?)
                .bind(i64::from(part.upto))
                .bind(codec)
                .bind(data)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Step 4 of a commit: the signers not seen before, then the entries,
    /// indexed from `first` (the batch's old size), many to a statement.
    async fn insert_entries(
        tx: &mut SqliteConnection,
        batch: &Batch,
        first: i64,
    ) -> Result<(), sqlx::Error> {
        let mut signer_ids = HashMap::new();
        for entry in &batch.entries {
            let signer = entry.signer.as_str();
            if signer_ids.contains_key(signer) {
                continue;
            }
            sqlx::query("INSERT INTO signers (vkey) VALUES (?) ON CONFLICT (vkey) DO NOTHING")
                .bind(signer)
                .execute(&mut *tx)
                .await?;
            let id: i64 = sqlx::query_scalar("SELECT id FROM signers WHERE vkey = ?")
                .bind(signer)
                .fetch_one(&mut *tx)
                .await?;
            signer_ids.insert(signer, id);
        }
        let indexed = (first..).zip(&batch.entries).collect::<Vec<_>>();
        for chunk in indexed.chunks(ENTRIES_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO entries (idx, leaf_hash, signer_id, subject, name) ",
            );
            insert.push_values(chunk, |mut row, (index, entry)| {
                row.push_bind(*index)
                    .push_bind(entry.leaf_hash.0.as_slice())
                    .push_bind(signer_ids[entry.signer.as_str()])
                    .push_bind(entry.subject.as_slice())
                    .push_bind(entry.name.as_str());
            });
            insert.build().execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// The commit's transaction, up to (not including) its COMMIT.
    async fn stage(
        tx: &mut SqliteConnection,
        batch: &Batch,
        tail: &mut TailCopy,
    ) -> Result<(), StoreError> {
        // 1. The compare-and-swap, under the write lock BEGIN IMMEDIATE took.
        sql::swap_head::<Sqlite>(tx, batch.old_size, batch.new_size, &batch.checkpoint).await?;
        // 2, 3. Tiles and bundles, refused if they would rewrite stored
        //       bytes: read from their parts unless stored at the width of
        //       the store's copy.
        Self::write_tiles(tx, batch, tail).await?;
        Self::write_bundles(tx, batch, tail).await?;
        // 4. Entries; a leaf hash logged before violates the unique index.
        Self::insert_entries(tx, batch, to_db(batch.old_size)?)
            .await
            .map_err(StoreError::Database)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn meta(&self) -> Result<Option<LogMeta>, StoreError> {
        sql::meta(&self.pool).await
    }

    async fn init(&self, meta: &LogMeta, checkpoint: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sql::insert_log::<Sqlite>(&mut tx, meta, checkpoint).await?;
        self.finish(tx).await
    }

    async fn checkpoint(&self) -> Result<StoredCheckpoint, StoreError> {
        sql::checkpoint(&self.pool).await
    }

    async fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        batch.check()?;
        let mut tail = self.tail.take();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let staged = Self::stage(&mut tx, batch, &mut tail).await;
        sql::finish_commit(self, batch, tx, staged).await?;
        self.checkpointer.committed();
        self.tail.committed(tail, batch);
        Ok(())
    }

    async fn update_checkpoint(&self, size: u64, text: &[u8]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sql::swap_head::<Sqlite>(&mut tx, size, size, text).await?;
        self.finish(tx).await
    }

    async fn tiles(&self, ids: &[(u8, u64)]) -> Result<StoredTiles, StoreError> {
        read_tiles(&mut *self.pool.acquire().await?, ids).await
    }

    async fn bundle(&self, index: u64) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
        sql::bundle(&self.pool, index).await
    }

    async fn find_leaves(&self, leaves: &[Hash]) -> Result<Vec<(Hash, u64)>, StoreError> {
        let mut found = Vec::new();
        for chunk in leaves.chunks(LEAVES_PER_QUERY) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT leaf_hash, idx FROM entries WHERE leaf_hash IN (",
            );
            let mut list = query.separated(", ");
            for leaf in chunk {
                list.push_bind(leaf.0.as_slice());
            }
            query.push(")");
            let rows: Vec<(Vec<u8>, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
            for (leaf, index) in rows {
                found.push((leaf_from_db(&leaf)?, from_db(index, "entries.idx")?));
            }
        }
        // Chunks may repeat a leaf the caller repeated.
        found.sort_unstable_by_key(|&(_, index)| index);
        found.dedup();
        Ok(found)
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
    use crate::store::conformance::{self, conformance_tests};
    use crate::store::fixtures::{self, test_batch, test_meta, test_tile};

    conformance_tests!(fixtures::sqlite);

    /// A new store in `log.db` of a temporary directory, kept while the
    /// directory is.
    async fn open_in_temp_dir() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        let store = SqliteStore::open(path.to_str().expect("UTF-8 path"))
            .await
            .expect("open");
        (dir, path, store)
    }

    #[tokio::test]
    async fn another_store_widens() {
        let (_dir, path, a) = open_in_temp_dir().await;
        let b = SqliteStore::open(path.to_str().expect("UTF-8 path"))
            .await
            .expect("open b");
        conformance::another_store_widens(&a, &b).await;
    }

    #[tokio::test]
    async fn format_1_log_carries_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        let path = path.to_str().expect("UTF-8 path");
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.expect("connect");
        fixtures::write_format_1(&pool, sqlx::migrate!("./migrations/sqlite")).await;
        pool.close().await;
        let store = SqliteStore::open(path)
            .await
            .expect("migrating to format 2");
        conformance::format_1_log_carries_over(&store).await;
    }

    #[tokio::test]
    async fn reopen_keeps_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A missing directory is created, and a URL names the same file as a path.
        let path = dir.path().join("nested/dir/log.db");
        let path = path.to_str().expect("UTF-8 path");
        let mut batch = test_batch(0, 3, "a");
        batch.tiles = vec![test_tile(0, 0, 3, 1)];
        {
            let store = SqliteStore::open(path).await.expect("open");
            store
                .init(&test_meta(), b"checkpoint 0\n")
                .await
                .expect("init");
            store.commit(&batch).await.expect("commit");
            store.pool.close().await;
        }
        let store = SqliteStore::open(&format!("sqlite://{path}"))
            .await
            .expect("reopen");
        assert_eq!(store.meta().await.expect("meta"), Some(test_meta()));
        assert_eq!(store.checkpoint().await.expect("checkpoint").size, 3);
        assert_eq!(
            store.entry(2).await.expect("entry"),
            Some(batch.entries[2].clone())
        );
        assert_eq!(
            crate::testing::stored_tile(&store, 0, 0).await,
            Some(batch.tiles[0].data.clone())
        );
        let init = store.init(&test_meta(), b"checkpoint 0\n").await;
        assert!(
            matches!(init, Err(StoreError::AlreadyInitialized)),
            "{init:?}"
        );
    }

    #[tokio::test]
    async fn connections_open_with_the_durability_settings() {
        let (_dir, _path, store) = open_in_temp_dir().await;
        let mut connection = store.pool.acquire().await.expect("connection");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *connection)
            .await
            .expect("journal_mode");
        assert_eq!(journal, "wal");
        for (pragma, want) in [
            ("PRAGMA synchronous", 2),
            ("PRAGMA foreign_keys", 1),
            ("PRAGMA wal_autocheckpoint", 0),
        ] {
            let got: i64 = sqlx::query_scalar(pragma)
                .fetch_one(&mut *connection)
                .await
                .expect(pragma);
            assert_eq!(got, want, "{pragma}");
        }
    }

    #[tokio::test]
    async fn commits_reach_the_database_file_without_a_checkpoint_of_their_own() {
        let (_dir, path, store) = open_in_temp_dir().await;
        store
            .init(&test_meta(), b"checkpoint 0\n")
            .await
            .expect("init");
        store
            .commit(&test_batch(0, 500, "a"))
            .await
            .expect("commit");
        let (pages, page_size): (i64, i64) =
            sqlx::query_as("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size")
                .fetch_one(&store.pool)
                .await
                .expect("page count");
        let want = u64::try_from(pages * page_size).expect("positive size");
        // Only a checkpoint writes pages into the database file, and no
        // connection checkpoints when it commits: the store's task must.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let len = std::fs::metadata(&path).expect("database file").len();
            if len >= want {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "database file holds {len} of {want} bytes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Adds `rows` rows of 4,000 random bytes to table `t`, a page each.
    async fn write_pages(connection: &mut SqliteConnection, rows: i64) {
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
             INSERT INTO t SELECT randomblob(4000) FROM n",
        )
        .bind(rows)
        .execute(connection)
        .await
        .expect("write");
    }

    /// Writes 200 pages while a reader holds the snapshot of the first
    /// 100, checkpoints with `frames_bound` and a busy timeout of
    /// `patience` while the reader goes on for `reader_holds`, then writes
    /// one page more and returns the WAL's frames.
    async fn frames_after_a_held_checkpoint(
        frames_bound: i64,
        patience: Duration,
        reader_holds: Duration,
    ) -> i64 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log.db");
        let options = connect_options(path.to_str().expect("UTF-8 path")).expect("options");
        let mut writer = options.connect().await.expect("writer");
        sqlx::query("CREATE TABLE t (x BLOB)")
            .execute(&mut writer)
            .await
            .expect("create");
        write_pages(&mut writer, 100).await;
        let mut reader = options.connect().await.expect("reader");
        sqlx::query("BEGIN")
            .execute(&mut reader)
            .await
            .expect("begin");
        let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM t")
            .fetch_one(&mut reader)
            .await
            .expect("read");
        assert_eq!(seen, 100);
        write_pages(&mut writer, 100).await;
        let reader = tokio::spawn(async move {
            tokio::time::sleep(reader_holds).await;
            sqlx::query("COMMIT")
                .execute(&mut reader)
                .await
                .expect("end of the read");
        });
        let mut checkpointer = options
            .busy_timeout(patience)
            .connect()
            .await
            .expect("checkpointer");
        checkpoint_wal(&mut checkpointer, frames_bound)
            .await
            .expect("a checkpoint held back by a reader is no failure");
        write_pages(&mut writer, 1).await;
        let frames = checkpoint_passive(&mut checkpointer)
            .await
            .expect("frames in the WAL");
        reader.await.expect("reader");
        frames
    }

    #[tokio::test]
    async fn a_wal_past_its_bound_starts_over_once_its_old_readers_end() {
        let reader_holds = Duration::from_millis(200);
        let restarted =
            frames_after_a_held_checkpoint(50, Duration::from_secs(5), reader_holds).await;
        assert!(restarted < 50, "{restarted} frames after a restart");
        // Under the bound, the checkpoint copies only what the reader does
        // not hold, and the next writer appends to the WAL.
        let grown =
            frames_after_a_held_checkpoint(i64::MAX, Duration::from_secs(5), reader_holds).await;
        assert!(grown > 200, "{grown} frames without a restart");
    }

    #[tokio::test]
    async fn a_restart_gives_up_on_a_reader_that_outlasts_its_patience() {
        let frames =
            frames_after_a_held_checkpoint(50, Duration::from_millis(100), Duration::from_secs(2))
                .await;
        assert!(frames > 200, "{frames} frames with the reader still there");
    }
}
