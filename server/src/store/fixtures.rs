//! Fixtures for the store's own tests: a fresh store of each kind, and the
//! log, entries, tiles and bundles the conformance suite writes.

use std::borrow::Cow;
use std::sync::Arc;

use sigtrail_merkle::{leaf_hash, HASH_SIZE};
use sqlx::migrate::{Migrate, Migrator};
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

use super::testing::TestDatabase;
use super::{
    Batch, BundleData, EntryRecord, LogMeta, MemoryStore, PostgresStore, SqliteStore, Store,
    TileData,
};

/// A store under test, with whatever must outlive it.
pub struct Fixture {
    /// The store.
    pub store: Arc<dyn Store>,
    /// A temporary directory or database, dropped after the store.
    _keep: Box<dyn Send>,
}

/// A fresh [`MemoryStore`].
pub async fn memory() -> Option<Fixture> {
    Some(Fixture {
        store: Arc::new(MemoryStore::new()),
        _keep: Box::new(()),
    })
}

/// A fresh [`SqliteStore`] in a temporary directory.
///
/// # Panics
///
/// If the directory or the database cannot be created.
pub async fn sqlite() -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let path = dir.path().join("log.db");
    let store = SqliteStore::open(path.to_str().expect("temporary path is UTF-8"))
        .await
        .expect("opening the SQLite store");
    Some(Fixture {
        store: Arc::new(store),
        _keep: Box::new(dir),
    })
}

/// A fresh [`PostgresStore`] in a database of its own, or `None` when
/// PostgreSQL is unreachable (see [`TestDatabase::create`]).
///
/// # Panics
///
/// If the database cannot be created or migrated.
pub async fn postgres() -> Option<Fixture> {
    let database = TestDatabase::create().await?;
    let store = PostgresStore::open(database.url())
        .await
        .expect("opening the PostgreSQL store");
    Some(Fixture {
        store: Arc::new(store),
        _keep: Box::new(database),
    })
}

/// The log the tests create.
pub fn test_meta() -> LogMeta {
    LogMeta {
        origin: "example.com/log".to_owned(),
        vkey: "example.com/log+0a1b2c3d+AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcdefgh".to_owned(),
        format_version: 1,
    }
}

/// A signer key of the test entries, `n` in `0..3`.
fn signer(n: u64) -> String {
    format!("release{n}.example.com+0000000{n}+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA{n}")
}

/// A subject digest of the test entries, `n` in its last byte.
fn subject(n: u64) -> [u8; 32] {
    let mut digest = [0x5a; 32];
    digest[31] = u8::try_from(n).unwrap_or(u8::MAX);
    digest
}

/// Entry `index`, tagged so that different tags give different leaf hashes:
/// signer `index % 3`, subject `index % 4`, name `index % 5`.
pub fn test_entry(index: u64, tag: &str) -> EntryRecord {
    EntryRecord {
        index,
        leaf_hash: leaf_hash(format!("{tag} entry {index}").as_bytes()),
        signer: signer(index % 3),
        subject: subject(index % 4),
        name: format!("pkg:cargo/example{}@1.0.0", index % 5),
    }
}

/// A hash tile `width` wide; tiles with the same `seed` are prefixes of
/// one another.
pub fn test_tile(level: u8, index: u64, width: usize, seed: u8) -> TileData {
    let data = (0..width * HASH_SIZE)
        .map(|i| u8::try_from(i % 251).unwrap_or(0) ^ seed)
        .collect();
    TileData { level, index, data }
}

/// An entry bundle `width` wide, in the C2SP encoding; bundles with the
/// same `tag` are prefixes of one another.
pub fn test_bundle(index: u64, width: u16, tag: &str) -> BundleData {
    let mut data = Vec::new();
    for n in 0..width {
        let entry = format!("{tag} bundle {index} entry {n}");
        let len = u16::try_from(entry.len()).unwrap_or(u16::MAX);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(entry.as_bytes());
    }
    BundleData { index, width, data }
}

/// A batch from `old_size` adding `count` tagged entries, with a checkpoint
/// text naming its size and tag, and no tiles.
pub fn test_batch(old_size: u64, count: u64, tag: &str) -> Batch {
    let new_size = old_size + count;
    Batch {
        old_size,
        new_size,
        entries: (old_size..new_size).map(|i| test_entry(i, tag)).collect(),
        tiles: Vec::new(),
        bundles: Vec::new(),
        checkpoint: format!("checkpoint {new_size} {tag}\n").into_bytes(),
    }
}

/// Brings a database to storage format 1 (the first migration of
/// `migrator` only) and writes a log in it: [`test_meta`], entries 0 to 2
/// tagged `a`, and the tile `test_tile(0, 0, 3, 1)` and bundle
/// `test_bundle(0, 3, "a")` as format 1 stored them.
///
/// # Panics
///
/// If a statement fails.
pub async fn write_format_1<DB>(pool: &Pool<DB>, migrator: Migrator)
where
    DB: Database,
    DB::Connection: Migrate,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let first = Migrator {
        migrations: Cow::Owned(migrator.migrations[..1].to_vec()),
        ..migrator
    };
    first.run(pool).await.expect("migrating to format 1");
    let meta = test_meta();
    let mut statements = vec![
        (
            "INSERT INTO log_meta (id, origin, vkey, format_version) VALUES (1, $1, $2, $3)",
            vec![
                Value::Text(meta.origin.clone()),
                Value::Text(meta.vkey.clone()),
                Value::Int(i64::from(meta.format_version)),
            ],
        ),
        (
            "INSERT INTO log_state (id, size, checkpoint) VALUES (1, 3, $1)",
            vec![Value::Bytes(b"checkpoint 3\n".to_vec())],
        ),
    ];
    for index in 0..3 {
        let entry = test_entry(index, "a");
        statements.push((
            "INSERT INTO signers (vkey) VALUES ($1) ON CONFLICT (vkey) DO NOTHING",
            vec![Value::Text(entry.signer.clone())],
        ));
        statements.push((
            "INSERT INTO entries (idx, leaf_hash, signer_id, subject, name) \
             VALUES ($1, $2, (SELECT id FROM signers WHERE vkey = $3), $4, $5)",
            vec![
                Value::Int(i64::try_from(index).unwrap_or(i64::MAX)),
                Value::Bytes(entry.leaf_hash.0.to_vec()),
                Value::Text(entry.signer),
                Value::Text(sigtrail_note::subject_text(&entry.subject)),
                Value::Text(entry.name),
            ],
        ));
    }
    statements.push((
        "INSERT INTO tiles (level, idx, data) VALUES (0, 0, $1)",
        vec![Value::Bytes(test_tile(0, 0, 3, 1).data)],
    ));
    statements.push((
        "INSERT INTO bundles (idx, width, data) VALUES (0, 3, $1)",
        vec![Value::Bytes(test_bundle(0, 3, "a").data)],
    ));
    for (sql, values) in &statements {
        let mut query = sqlx::query::<DB>(sql);
        for value in values {
            query = match value {
                Value::Text(text) => query.bind(text.as_str()),
                Value::Bytes(bytes) => query.bind(bytes.as_slice()),
                Value::Int(n) => query.bind(*n),
            };
        }
        query
            .execute(pool)
            .await
            .unwrap_or_else(|err| panic!("{sql}: {err}"));
    }
}

/// A value bound to a statement of [`write_format_1`].
enum Value {
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
}
