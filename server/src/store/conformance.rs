//! The store contract as one suite of tests, run against every backend
//! (`conformance_tests!` in each backend's test module).
//!
//! Each function takes a fresh store and panics on a breach of the
//! [`Store`] contract.

use std::sync::Arc;

use crate::testing::stored_tile;

use super::fixtures::{test_batch, test_bundle, test_entry, test_meta, test_tile};
use super::{
    open_log, BatchError, BundleData, EntryRecord, LogMeta, SearchQuery, Store, StoreError,
    StoredCheckpoint, TileData, TileKey,
};

/// Generates one `#[tokio::test]` per conformance test for the backend
/// whose fixture (an async `fn() -> Option<Fixture>` from `store::fixtures`,
/// `None` to skip) is given.
macro_rules! conformance_tests {
    ($fixture:path) => {
        $crate::store::conformance::conformance_tests!(
            $fixture;
            [
                empty_store,
                init_once,
                open_log_checks_identity,
                commit_and_read_back,
                conflict_changes_nothing,
                bad_batches_change_nothing,
                duplicate_leaf_refused,
                tiles_only_widen,
                full_tiles_never_change,
                bundles_only_widen,
                widened_many_times,
                find_leaves_dedups,
                search_each_field_paginated,
                update_checkpoint_swaps,
                large_batch,
            ]
            // Tests that spawn tasks take the `Arc`.
            [concurrent_commits_one_wins]
        );
    };
    ($fixture:path; [$($test:ident),* $(,)?] [$($shared_test:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some(fixture) = $fixture().await {
                    $crate::store::conformance::$test(fixture.store.as_ref()).await;
                }
            }
        )*
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $shared_test() {
                if let Some(fixture) = $fixture().await {
                    $crate::store::conformance::$shared_test(&fixture.store).await;
                }
            }
        )*
    };
}
pub(crate) use conformance_tests;

async fn init(store: &dyn Store) {
    store
        .init(&test_meta(), b"checkpoint 0\n")
        .await
        .expect("init");
}

/// Everything a test may have written, to show a refused write changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    checkpoint: StoredCheckpoint,
    entries: Vec<EntryRecord>,
    tiles: Vec<Option<Vec<u8>>>,
    bundles: Vec<Option<(u16, Vec<u8>)>>,
}

async fn snapshot(store: &dyn Store) -> Snapshot {
    let all = SearchQuery {
        limit: 10_000,
        ..SearchQuery::default()
    };
    let mut tiles = Vec::new();
    let mut bundles = Vec::new();
    for index in 0..4 {
        for level in 0..3 {
            tiles.push(stored_tile(store, level, index).await);
        }
        bundles.push(store.bundle(index).await.expect("bundle"));
    }
    Snapshot {
        checkpoint: store.checkpoint().await.expect("checkpoint"),
        entries: store.search(&all).await.expect("search"),
        tiles,
        bundles,
    }
}

/// Before `init`: no log, nothing to read, no write accepted.
pub async fn empty_store(store: &dyn Store) {
    assert_eq!(store.meta().await.expect("meta"), None);
    assert!(matches!(
        store.checkpoint().await,
        Err(StoreError::NotInitialized)
    ));
    assert!(matches!(
        store.commit(&test_batch(0, 1, "a")).await,
        Err(StoreError::NotInitialized)
    ));
    assert!(matches!(
        store.update_checkpoint(0, b"x").await,
        Err(StoreError::NotInitialized)
    ));
    assert_eq!(stored_tile(store, 0, 0).await, None);
    assert_eq!(store.bundle(0).await.expect("bundle"), None);
    assert_eq!(store.entry(0).await.expect("entry"), None);
    let leaf = test_entry(0, "a").leaf_hash;
    assert_eq!(store.find_leaves(&[leaf]).await.expect("find"), vec![]);
    assert_eq!(store.meta().await.expect("meta"), None);
}

/// `init` writes the identity and the size-0 checkpoint, once.
pub async fn init_once(store: &dyn Store) {
    init(store).await;
    assert_eq!(store.meta().await.expect("meta"), Some(test_meta()));
    let first = StoredCheckpoint {
        size: 0,
        text: b"checkpoint 0\n".to_vec(),
    };
    assert_eq!(store.checkpoint().await.expect("checkpoint"), first);
    let other = LogMeta {
        origin: "other.example/log".to_owned(),
        ..test_meta()
    };
    assert!(matches!(
        store.init(&other, b"other 0\n").await,
        Err(StoreError::AlreadyInitialized)
    ));
    assert_eq!(store.meta().await.expect("meta"), Some(test_meta()));
    assert_eq!(store.checkpoint().await.expect("checkpoint"), first);
}

/// `open_log` accepts the store's own log and refuses any other.
pub async fn open_log_checks_identity(store: &dyn Store) {
    let meta = test_meta();
    assert!(matches!(
        open_log(store, &meta).await,
        Err(StoreError::NotInitialized)
    ));
    init(store).await;
    open_log(store, &meta).await.expect("own log");
    let origin = LogMeta {
        origin: "other.example/log".to_owned(),
        ..test_meta()
    };
    let vkey = LogMeta {
        vkey: "other.example/log+00000000+AAAA".to_owned(),
        ..test_meta()
    };
    for wrong in [origin, vkey] {
        match open_log(store, &wrong).await {
            Err(StoreError::WrongLog { expected, found }) => {
                assert_eq!(*expected, wrong);
                assert_eq!(*found, meta);
            }
            other => panic!("open_log with {wrong:?}: {other:?}"),
        }
    }
    let version = LogMeta {
        format_version: 2,
        ..test_meta()
    };
    assert!(matches!(
        open_log(store, &version).await,
        Err(StoreError::FormatVersion {
            expected: 2,
            found: 1
        })
    ));
}

/// A commit's entries, tiles, bundles and checkpoint read back as written.
pub async fn commit_and_read_back(store: &dyn Store) {
    init(store).await;
    let mut batch = test_batch(0, 3, "a");
    batch.tiles = vec![test_tile(0, 0, 3, 1), test_tile(1, 0, 1, 2)];
    batch.bundles = vec![test_bundle(0, 3, "a")];
    store.commit(&batch).await.expect("commit");

    let checkpoint = store.checkpoint().await.expect("checkpoint");
    assert_eq!(checkpoint.size, 3);
    assert_eq!(checkpoint.text, batch.checkpoint);
    for entry in &batch.entries {
        assert_eq!(
            store.entry(entry.index).await.expect("entry").as_ref(),
            Some(entry)
        );
    }
    assert_eq!(store.entry(3).await.expect("entry"), None);
    assert_eq!(store.entry(u64::MAX).await.expect("entry"), None);
    assert_eq!(
        stored_tile(store, 0, 0).await,
        Some(batch.tiles[0].data.clone())
    );
    assert_eq!(
        stored_tile(store, 1, 0).await,
        Some(batch.tiles[1].data.clone())
    );
    assert_eq!(stored_tile(store, 0, 1).await, None);
    assert_eq!(stored_tile(store, 2, 0).await, None);
    assert_eq!(stored_tile(store, 0, u64::MAX).await, None);
    // Several at once, as each alone: the absent ones are left out.
    let tiles = store
        .tiles(&[(0, 1), (1, 0), (0, u64::MAX), (0, 0), (2, 0)])
        .await
        .expect("tiles");
    assert_eq!(
        tiles,
        [(0, 0), (1, 0)]
            .into_iter()
            .zip(batch.tiles.iter().map(|t| t.data.clone()))
            .collect()
    );
    assert!(store.tiles(&[]).await.expect("no tiles").is_empty());
    let bundle = &batch.bundles[0];
    assert_eq!(
        store.bundle(0).await.expect("bundle"),
        Some((bundle.width, bundle.data.clone()))
    );
    assert_eq!(store.bundle(1).await.expect("bundle"), None);

    // The next batch extends the tiles and the bundle.
    let mut next = test_batch(3, 2, "b");
    next.tiles = vec![test_tile(0, 0, 5, 1)];
    next.bundles = vec![test_bundle(0, 5, "a")];
    store.commit(&next).await.expect("second commit");
    assert_eq!(store.checkpoint().await.expect("checkpoint").size, 5);
    assert_eq!(
        stored_tile(store, 0, 0).await,
        Some(next.tiles[0].data.clone())
    );
    assert_eq!(store.bundle(0).await.expect("bundle").map(|b| b.0), Some(5));
    assert_eq!(
        store.entry(4).await.expect("entry"),
        Some(next.entries[1].clone())
    );
}

/// A commit from a stale size is refused and writes none of its parts.
pub async fn conflict_changes_nothing(store: &dyn Store) {
    init(store).await;
    let mut first = test_batch(0, 2, "a");
    first.tiles = vec![test_tile(0, 0, 2, 1)];
    first.bundles = vec![test_bundle(0, 2, "a")];
    store.commit(&first).await.expect("commit");
    let before = snapshot(store).await;

    for old_size in [0, 1, 3] {
        let mut stale = test_batch(old_size, 2, "b");
        stale.tiles = vec![test_tile(0, 0, 4, 1), test_tile(1, 0, 1, 7)];
        stale.bundles = vec![test_bundle(0, 4, "a"), test_bundle(1, 1, "b")];
        match store.commit(&stale).await {
            Err(StoreError::Conflict { expected, found }) => {
                assert_eq!((expected, found), (old_size, 2));
            }
            other => panic!("stale commit from {old_size}: {other:?}"),
        }
        assert_eq!(snapshot(store).await, before);
    }
}

/// Malformed batches are refused before anything is written.
pub async fn bad_batches_change_nothing(store: &dyn Store) {
    init(store).await;
    store.commit(&test_batch(0, 2, "a")).await.expect("commit");
    let before = snapshot(store).await;

    let mut shrinks = test_batch(2, 0, "b");
    shrinks.new_size = 1;
    let mut count = test_batch(2, 2, "b");
    count.entries.pop();
    let mut gap = test_batch(2, 2, "b");
    gap.entries[1].index = 5;
    let mut repeated = test_batch(2, 2, "b");
    repeated.entries[1].leaf_hash = repeated.entries[0].leaf_hash;
    let mut tile_size = test_batch(2, 1, "b");
    tile_size.tiles = vec![TileData {
        level: 0,
        index: 0,
        data: vec![0; 33],
    }];
    let mut tile_wide = test_batch(2, 1, "b");
    tile_wide.tiles = vec![test_tile(0, 0, 257, 1)];
    let mut bundle_width = test_batch(2, 1, "b");
    bundle_width.bundles = vec![BundleData {
        width: 0,
        ..test_bundle(0, 1, "b")
    }];
    let mut tile_twice = test_batch(2, 1, "b");
    tile_twice.tiles = vec![test_tile(0, 0, 3, 1), test_tile(0, 0, 3, 1)];

    let cases = [
        (
            shrinks,
            BatchError::Shrinks {
                old_size: 2,
                new_size: 1,
            },
        ),
        (count, BatchError::EntryCount { got: 1, want: 2 }),
        (gap, BatchError::EntryIndex { got: 5, want: 3 }),
        (repeated, BatchError::RepeatedLeaf { first: 2, index: 3 }),
        (
            tile_size,
            BatchError::TileSize {
                level: 0,
                index: 0,
                len: 33,
            },
        ),
        (
            tile_wide,
            BatchError::TileSize {
                level: 0,
                index: 0,
                len: 257 * 32,
            },
        ),
        (
            bundle_width,
            BatchError::BundleSize {
                index: 0,
                width: 0,
                len: 20,
            },
        ),
        (
            tile_twice,
            BatchError::RepeatedTile {
                tile: TileKey::Hash { level: 0, index: 0 },
            },
        ),
    ];
    for (batch, want) in cases {
        match store.commit(&batch).await {
            Err(StoreError::BadBatch(got)) => assert_eq!(got, want),
            other => panic!("batch that should fail with {want:?}: {other:?}"),
        }
        assert_eq!(snapshot(store).await, before);
    }
}

/// An entry whose leaf hash is logged is refused with both indexes.
pub async fn duplicate_leaf_refused(store: &dyn Store) {
    init(store).await;
    store.commit(&test_batch(0, 3, "a")).await.expect("commit");
    let before = snapshot(store).await;
    let mut batch = test_batch(3, 2, "b");
    batch.entries[1].leaf_hash = test_entry(1, "a").leaf_hash;
    batch.tiles = vec![test_tile(0, 0, 5, 1)];
    match store.commit(&batch).await {
        Err(StoreError::DuplicateLeaf { index, logged_at }) => {
            assert_eq!((index, logged_at), (4, 1));
        }
        other => panic!("duplicate leaf: {other:?}"),
    }
    assert_eq!(snapshot(store).await, before);
}

/// Commits `tile` on top of the stored log with no entries, returning the result.
async fn commit_tile(store: &dyn Store, tile: TileData) -> Result<(), StoreError> {
    let size = store.checkpoint().await.expect("checkpoint").size;
    let mut batch = test_batch(size, 0, "t");
    batch.tiles = vec![tile];
    store.commit(&batch).await
}

/// Commits `bundle` on top of the stored log with no entries, returning the result.
async fn commit_bundle(store: &dyn Store, bundle: BundleData) -> Result<(), StoreError> {
    let size = store.checkpoint().await.expect("checkpoint").size;
    let mut batch = test_batch(size, 0, "t");
    batch.bundles = vec![bundle];
    store.commit(&batch).await
}

/// A partial tile widens; it never narrows, and its bytes stay a prefix.
pub async fn tiles_only_widen(store: &dyn Store) {
    init(store).await;
    let key = TileKey::Hash { level: 2, index: 3 };
    commit_tile(store, test_tile(2, 3, 4, 1))
        .await
        .expect("first version");
    commit_tile(store, test_tile(2, 3, 10, 1))
        .await
        .expect("wider");
    commit_tile(store, test_tile(2, 3, 10, 1))
        .await
        .expect("same again");
    let before = snapshot(store).await;
    assert_eq!(
        stored_tile(store, 2, 3).await,
        Some(test_tile(2, 3, 10, 1).data)
    );

    let narrower = commit_tile(store, test_tile(2, 3, 9, 1)).await;
    assert!(
        matches!(narrower, Err(StoreError::Narrowing { tile, stored_width: 10, new_width: 9 }) if tile == key),
        "{narrower:?}"
    );
    let rewritten = commit_tile(store, test_tile(2, 3, 10, 2)).await;
    assert!(
        matches!(rewritten, Err(StoreError::PrefixChanged { tile, stored_width: 10, new_width: 10 }) if tile == key),
        "{rewritten:?}"
    );
    let wider_changed = commit_tile(store, test_tile(2, 3, 12, 2)).await;
    assert!(
        matches!(wider_changed, Err(StoreError::PrefixChanged { tile, stored_width: 10, new_width: 12 }) if tile == key),
        "{wider_changed:?}"
    );
    assert_eq!(snapshot(store).await, before);
    assert_eq!(
        stored_tile(store, 2, 3).await,
        Some(test_tile(2, 3, 10, 1).data)
    );
}

/// A full tile or bundle is written once; the same bytes again are accepted,
/// any other bytes refused.
pub async fn full_tiles_never_change(store: &dyn Store) {
    init(store).await;
    commit_tile(store, test_tile(0, 1, 200, 1))
        .await
        .expect("partial");
    commit_tile(store, test_tile(0, 1, 256, 1))
        .await
        .expect("full");
    commit_bundle(store, test_bundle(2, 256, "a"))
        .await
        .expect("full bundle");
    commit_tile(store, test_tile(0, 1, 256, 1))
        .await
        .expect("same full tile");
    commit_bundle(store, test_bundle(2, 256, "a"))
        .await
        .expect("same full bundle");
    let before = snapshot(store).await;

    for changed in [test_tile(0, 1, 256, 9), test_tile(0, 1, 100, 1)] {
        let result = commit_tile(store, changed).await;
        assert!(
            matches!(
                result,
                Err(StoreError::FullTileChanged {
                    tile: TileKey::Hash { level: 0, index: 1 }
                })
            ),
            "{result:?}"
        );
    }
    for changed in [test_bundle(2, 256, "b"), test_bundle(2, 3, "a")] {
        let result = commit_bundle(store, changed).await;
        assert!(
            matches!(
                result,
                Err(StoreError::FullTileChanged {
                    tile: TileKey::Bundle { index: 2 }
                })
            ),
            "{result:?}"
        );
    }
    assert_eq!(snapshot(store).await, before);
}

/// A partial bundle widens; it never narrows, and its bytes stay a prefix.
pub async fn bundles_only_widen(store: &dyn Store) {
    init(store).await;
    let key = TileKey::Bundle { index: 1 };
    commit_bundle(store, test_bundle(1, 3, "a"))
        .await
        .expect("first version");
    commit_bundle(store, test_bundle(1, 7, "a"))
        .await
        .expect("wider");
    let before = snapshot(store).await;
    assert_eq!(
        store.bundle(1).await.expect("bundle"),
        Some((7, test_bundle(1, 7, "a").data))
    );
    let narrower = commit_bundle(store, test_bundle(1, 6, "a")).await;
    assert!(
        matches!(narrower, Err(StoreError::Narrowing { tile, stored_width: 7, new_width: 6 }) if tile == key),
        "{narrower:?}"
    );
    let rewritten = commit_bundle(store, test_bundle(1, 8, "b")).await;
    assert!(
        matches!(rewritten, Err(StoreError::PrefixChanged { tile, stored_width: 7, new_width: 8 }) if tile == key),
        "{rewritten:?}"
    );
    assert_eq!(snapshot(store).await, before);
}

/// Two stores on one database, each committing in turn: a store's copy
/// of the tiles and bundles it committed last is not taken for the stored
/// versions once the other store has widened them, and is taken while they
/// are as it left them.
pub async fn another_store_widens(a: &dyn Store, b: &dyn Store) {
    init(a).await;
    let key = TileKey::Hash { level: 2, index: 3 };
    commit_tile(a, test_tile(2, 3, 4, 1))
        .await
        .expect("a: 4 wide");
    commit_bundle(a, test_bundle(1, 3, "a"))
        .await
        .expect("a: 3");
    commit_tile(b, test_tile(2, 3, 10, 1)).await.expect("b: 10");
    commit_bundle(b, test_bundle(1, 7, "a"))
        .await
        .expect("b: 7");
    // A's copies are 4 and 3 wide: it appends to what B stored.
    commit_tile(a, test_tile(2, 3, 12, 1)).await.expect("a: 12");
    commit_bundle(a, test_bundle(1, 9, "a"))
        .await
        .expect("a: 9");
    for store in [a, b] {
        assert_eq!(
            stored_tile(store, 2, 3).await,
            Some(test_tile(2, 3, 12, 1).data)
        );
        assert_eq!(
            store.bundle(1).await.expect("bundle"),
            Some((9, test_bundle(1, 9, "a").data))
        );
    }
    // B's copies are 10 and 7 wide: it checks against what A stored.
    let rewritten = commit_tile(b, test_tile(2, 3, 12, 2)).await;
    assert!(
        matches!(rewritten, Err(StoreError::PrefixChanged { tile, stored_width: 12, new_width: 12 }) if tile == key),
        "{rewritten:?}"
    );
    let rewritten = commit_bundle(b, test_bundle(1, 10, "b")).await;
    assert!(
        matches!(
            rewritten,
            Err(StoreError::PrefixChanged {
                stored_width: 9,
                new_width: 10,
                ..
            })
        ),
        "{rewritten:?}"
    );
    // A's copies are as stored: a wrong prefix is still refused, then
    // (copies dropped with the refusal) the right one appended.
    let rewritten = commit_tile(a, test_tile(2, 3, 14, 2)).await;
    assert!(
        matches!(rewritten, Err(StoreError::PrefixChanged { tile, stored_width: 12, new_width: 14 }) if tile == key),
        "{rewritten:?}"
    );
    commit_tile(a, test_tile(2, 3, 14, 1)).await.expect("a: 14");
    commit_tile(a, test_tile(2, 3, 16, 1)).await.expect("a: 16");
    assert_eq!(
        stored_tile(b, 2, 3).await,
        Some(test_tile(2, 3, 16, 1).data)
    );
}

/// A tile and a bundle widened by many commits, up to full, read back
/// whole after each one; the full versions are then accepted again.
pub async fn widened_many_times(store: &dyn Store) {
    init(store).await;
    for width in [1, 2, 3, 64, 200, 255, 256] {
        commit_tile(store, test_tile(0, 3, usize::from(width), 1))
            .await
            .expect("wider tile");
        commit_bundle(store, test_bundle(3, width, "a"))
            .await
            .expect("wider bundle");
        assert_eq!(
            stored_tile(store, 0, 3).await,
            Some(test_tile(0, 3, usize::from(width), 1).data)
        );
        assert_eq!(
            store.bundle(3).await.expect("bundle"),
            Some((width, test_bundle(3, width, "a").data))
        );
    }
    let before = snapshot(store).await;
    commit_tile(store, test_tile(0, 3, 256, 1))
        .await
        .expect("same full tile");
    commit_bundle(store, test_bundle(3, 256, "a"))
        .await
        .expect("same full bundle");
    assert_eq!(snapshot(store).await, before);
}

/// A log written in storage format 1 ([`fixtures::write_format_1`]) reads
/// the same after the migration to format 2, and grows.
///
/// [`fixtures::write_format_1`]: super::fixtures::write_format_1
pub async fn format_1_log_carries_over(store: &dyn Store) {
    assert_eq!(store.meta().await.expect("meta"), Some(test_meta()));
    assert_eq!(store.checkpoint().await.expect("checkpoint").size, 3);
    for index in 0..3 {
        assert_eq!(
            store.entry(index).await.expect("entry"),
            Some(test_entry(index, "a"))
        );
    }
    let by_subject = SearchQuery {
        subject: Some(test_entry(1, "a").subject),
        limit: 10,
        ..SearchQuery::default()
    };
    assert_eq!(
        store.search(&by_subject).await.expect("search"),
        vec![test_entry(1, "a")]
    );
    assert_eq!(
        stored_tile(store, 0, 0).await,
        Some(test_tile(0, 0, 3, 1).data)
    );
    assert_eq!(
        store.bundle(0).await.expect("bundle"),
        Some((3, test_bundle(0, 3, "a").data))
    );
    let mut batch = test_batch(3, 2, "a");
    batch.tiles = vec![test_tile(0, 0, 5, 1)];
    batch.bundles = vec![test_bundle(0, 5, "a")];
    store
        .commit(&batch)
        .await
        .expect("commit after the migration");
    assert_eq!(
        stored_tile(store, 0, 0).await,
        Some(test_tile(0, 0, 5, 1).data)
    );
    assert_eq!(
        store.bundle(0).await.expect("bundle"),
        Some((5, test_bundle(0, 5, "a").data))
    );
    let mut duplicate = test_batch(5, 1, "b");
    duplicate.entries[0].leaf_hash = test_entry(2, "a").leaf_hash;
    let refused = store.commit(&duplicate).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::DuplicateLeaf {
                index: 5,
                logged_at: 2
            })
        ),
        "{refused:?}"
    );
}

/// `find_leaves` returns the logged ones, once each, by index.
pub async fn find_leaves_dedups(store: &dyn Store) {
    init(store).await;
    store.commit(&test_batch(0, 10, "a")).await.expect("commit");
    let logged = |i: u64| test_entry(i, "a").leaf_hash;
    assert_eq!(store.find_leaves(&[]).await.expect("empty"), vec![]);
    // Many absent leaves around the logged ones, and repeats.
    let mut query: Vec<_> = (0..1200)
        .map(|i| test_entry(i, "absent").leaf_hash)
        .collect();
    query.insert(700, logged(7));
    query.insert(3, logged(2));
    query.push(logged(7));
    query.push(logged(9));
    let found = store.find_leaves(&query).await.expect("find");
    assert_eq!(found, vec![(logged(2), 2), (logged(7), 7), (logged(9), 9)]);
}

/// Search by each field and by several, with pagination by cursor.
pub async fn search_each_field_paginated(store: &dyn Store) {
    init(store).await;
    store.commit(&test_batch(0, 20, "a")).await.expect("commit");
    store
        .commit(&test_batch(20, 10, "b"))
        .await
        .expect("commit");
    let indexes = |entries: Vec<EntryRecord>| entries.iter().map(|e| e.index).collect::<Vec<_>>();
    let want = |pred: &dyn Fn(u64) -> bool| (0..30).filter(|&i| pred(i)).collect::<Vec<_>>();
    let sample = test_entry(0, "a");
    let queries = [
        (
            SearchQuery {
                signer: Some(sample.signer.clone()),
                ..SearchQuery::default()
            },
            want(&|i| i % 3 == 0),
        ),
        (
            SearchQuery {
                subject: Some(sample.subject),
                ..SearchQuery::default()
            },
            want(&|i| i % 4 == 0),
        ),
        (
            SearchQuery {
                name: Some(sample.name.clone()),
                ..SearchQuery::default()
            },
            want(&|i| i % 5 == 0),
        ),
        (
            SearchQuery {
                signer: Some(sample.signer.clone()),
                subject: Some(sample.subject),
                ..SearchQuery::default()
            },
            want(&|i| i % 12 == 0),
        ),
        (
            SearchQuery {
                signer: Some(sample.signer),
                subject: Some(sample.subject),
                name: Some(sample.name),
                ..SearchQuery::default()
            },
            want(&|i| i % 60 == 0),
        ),
        (SearchQuery::default(), want(&|_| true)),
        (
            SearchQuery {
                signer: Some("unknown+00000000+AAAA".to_owned()),
                ..SearchQuery::default()
            },
            vec![],
        ),
    ];
    for (query, want) in queries {
        // Walk the results two at a time.
        let mut got = Vec::new();
        let mut page = SearchQuery {
            limit: 2,
            ..query.clone()
        };
        loop {
            let entries = store.search(&page).await.expect("search");
            assert!(entries.len() <= 2);
            let Some(last) = entries.last() else { break };
            page.after = Some(last.index);
            got.extend(indexes(entries));
        }
        assert_eq!(got, want, "{query:?}");
        let all = SearchQuery {
            limit: 100,
            ..query.clone()
        };
        let entries = store.search(&all).await.expect("search");
        for entry in &entries {
            assert_eq!(
                store.entry(entry.index).await.expect("entry").as_ref(),
                Some(entry)
            );
        }
        assert_eq!(indexes(entries), want, "{query:?}");
    }
    let none = SearchQuery {
        limit: 0,
        ..SearchQuery::default()
    };
    assert_eq!(store.search(&none).await.expect("search"), vec![]);
    let past = SearchQuery {
        after: Some(u64::MAX),
        limit: 5,
        ..SearchQuery::default()
    };
    assert_eq!(store.search(&past).await.expect("search"), vec![]);
}

/// `update_checkpoint` swaps the text at the stored size only.
pub async fn update_checkpoint_swaps(store: &dyn Store) {
    init(store).await;
    store.commit(&test_batch(0, 2, "a")).await.expect("commit");
    store
        .update_checkpoint(2, b"checkpoint 2 cosigned\n")
        .await
        .expect("update");
    let cosigned = StoredCheckpoint {
        size: 2,
        text: b"checkpoint 2 cosigned\n".to_vec(),
    };
    assert_eq!(store.checkpoint().await.expect("checkpoint"), cosigned);
    for size in [0, 1, 3] {
        match store.update_checkpoint(size, b"stale\n").await {
            Err(StoreError::Conflict { expected, found }) => {
                assert_eq!((expected, found), (size, 2))
            }
            other => panic!("update at {size}: {other:?}"),
        }
    }
    assert_eq!(store.checkpoint().await.expect("checkpoint"), cosigned);
}

/// Two tasks committing from the same size: exactly one wins, the other
/// gets a conflict naming the winner's size, and only the winner's
/// entries are stored.
pub async fn concurrent_commits_one_wins(store: &Arc<dyn Store>) {
    init(store.as_ref()).await;
    for round in 0..5 {
        let size = round * 2;
        let tasks = ["left", "right"].map(|tag| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let mut batch = test_batch(size, 2, tag);
                batch.tiles = vec![test_tile(0, 0, usize::try_from(size + 2).unwrap_or(0), 0)];
                (tag, store.commit(&batch).await)
            })
        });
        let mut winners = Vec::new();
        for task in tasks {
            let (tag, result) = task.await.expect("task");
            match result {
                Ok(()) => winners.push(tag),
                Err(StoreError::Conflict { expected, found }) => {
                    assert_eq!((expected, found), (size, size + 2));
                }
                Err(err) => panic!("round {round}, {tag}: {err}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let checkpoint = store.checkpoint().await.expect("checkpoint");
        assert_eq!(checkpoint.text, test_batch(size, 2, winners[0]).checkpoint);
        for index in size..size + 2 {
            let entry = store.entry(index).await.expect("entry");
            assert_eq!(entry, Some(test_entry(index, winners[0])));
        }
    }
}

/// A batch of 600 entries over three bundles, as one commit.
pub async fn large_batch(store: &dyn Store) {
    init(store).await;
    let mut batch = test_batch(0, 600, "a");
    batch.bundles = vec![
        test_bundle(0, 256, "a"),
        test_bundle(1, 256, "a"),
        test_bundle(2, 88, "a"),
    ];
    batch.tiles = vec![
        test_tile(0, 0, 256, 1),
        test_tile(0, 1, 256, 2),
        test_tile(0, 2, 88, 3),
        test_tile(1, 0, 2, 4),
    ];
    store.commit(&batch).await.expect("commit");
    assert_eq!(store.checkpoint().await.expect("checkpoint").size, 600);
    for index in [0, 255, 256, 599] {
        let entry = store.entry(index).await.expect("entry");
        assert_eq!(
            entry.as_ref(),
            Some(&batch.entries[usize::try_from(index).unwrap_or(0)])
        );
    }
    assert_eq!(
        store.bundle(2).await.expect("bundle").map(|b| b.0),
        Some(88)
    );
    let leaves: Vec<_> = batch.entries.iter().map(|e| e.leaf_hash).collect();
    assert_eq!(store.find_leaves(&leaves).await.expect("find").len(), 600);
    let signer = SearchQuery {
        signer: Some(batch.entries[1].signer.clone()),
        limit: 1000,
        ..SearchQuery::default()
    };
    assert_eq!(store.search(&signer).await.expect("search").len(), 200);
}
