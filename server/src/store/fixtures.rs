//! Fixtures for the store's own tests: a fresh store of each kind, and the
//! log, entries, tiles and bundles the conformance suite writes.

use std::sync::Arc;

use sigtrail_merkle::{leaf_hash, HASH_SIZE};

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

/// Entry `index`, tagged so that different tags give different leaf hashes:
/// signer `index % 3`, subject `index % 4`, name `index % 5`.
pub fn test_entry(index: u64, tag: &str) -> EntryRecord {
    EntryRecord {
        index,
        leaf_hash: leaf_hash(format!("{tag} entry {index}").as_bytes()),
        signer: signer(index % 3),
        subject: format!("sha256:{:064x}", index % 4),
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
