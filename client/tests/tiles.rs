//! The tile reader against a tlog-tiles server that has dropped its
//! partial tiles: the client falls back to the full tile and caches it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use sigtrail_client::{Client, Error};
use sigtrail_merkle::{encode_entry_bundle, BundleId, TileId};

/// Full tiles only; every request counted.
async fn full_only(
    State(hits): State<Arc<AtomicUsize>>,
    Path(path): Path<String>,
) -> (StatusCode, Vec<u8>) {
    hits.fetch_add(1, Ordering::SeqCst);
    match path.as_str() {
        "0/000" => (StatusCode::OK, (0..=255u8).flat_map(|i| [i; 32]).collect()),
        "entries/000" => {
            let entries: Vec<Vec<u8>> = (0..256).map(|i: u32| i.to_string().into_bytes()).collect();
            let bundle = encode_entry_bundle(entries.iter().map(Vec::as_slice)).unwrap();
            (StatusCode::OK, bundle)
        }
        _ => (StatusCode::NOT_FOUND, b"{\"error\":\"gone\"}".to_vec()),
    }
}

async fn serve() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new()
        .route("/tile/{*path}", get(full_only))
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test]
async fn partial_tiles_fall_back_to_full_and_full_tiles_are_cached() {
    let (url, hits) = serve().await;
    let client = Client::new(&url).unwrap();
    let part = client
        .tile(TileId {
            level: 0,
            index: 0,
            width: 5,
        })
        .await
        .unwrap();
    assert_eq!(part.len(), 5 * 32);
    assert_eq!(part[4 * 32], 4);
    assert_eq!(hits.load(Ordering::SeqCst), 2, "partial tried, then full");
    let full = client
        .tile(TileId {
            level: 0,
            index: 0,
            width: 256,
        })
        .await
        .unwrap();
    assert_eq!(full.len(), 256 * 32);
    let again = client
        .tile(TileId {
            level: 0,
            index: 0,
            width: 7,
        })
        .await
        .unwrap();
    assert_eq!(again, full[..7 * 32]);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "the full tile came from the cache"
    );

    let bundle = client
        .entry_bundle(BundleId { index: 0, width: 3 })
        .await
        .unwrap();
    let entries = sigtrail_merkle::decode_entry_bundle(&bundle).unwrap();
    assert_eq!(entries[2], b"2");
    assert_eq!(hits.load(Ordering::SeqCst), 4);

    let err = client
        .tile(TileId {
            level: 1,
            index: 0,
            width: 1,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err}");
    assert_eq!(err.to_string().rsplit(": ").next(), Some("gone"));
}
