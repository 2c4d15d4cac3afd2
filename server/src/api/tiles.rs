//! The C2SP tlog-tiles routes, `/api/v1/log`, `/healthz` and `/metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sigtrail_merkle::TilePath;

use super::{ApiError, AppState};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT_LIVED: &str = "public, max-age=5";
const NOT_CACHED: &str = "no-cache";

fn bytes_response(body: Bytes, content_type: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// The latest signed checkpoint.
pub(super) async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    let published = state.reader.published();
    bytes_response(
        published.checkpoint.clone(),
        "text/plain; charset=utf-8",
        NOT_CACHED,
    )
}

fn parse_tile_path(prefix: &str, rest: &str) -> Result<TilePath, ApiError> {
    let path = format!("{prefix}{rest}");
    TilePath::parse(&path)
        .map_err(|e| ApiError::NotFound(format!("/{path} is not a tile path: {e}")))
}

/// A hash tile, full or partial.
pub(super) async fn tile(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let TilePath::Hashes(id) = parse_tile_path("tile/", &rest)? else {
        return Err(ApiError::NotFound(format!(
            "/tile/{rest} is not a hash tile path"
        )));
    };
    let data = state.reader.tile(id).await?;
    let cache = if id.is_full() { IMMUTABLE } else { SHORT_LIVED };
    Ok(bytes_response(data, "application/octet-stream", cache))
}

/// An entry bundle, full or partial.
pub(super) async fn entry_bundle(
    State(state): State<Arc<AppState>>,
    Path(rest): Path<String>,
) -> Result<Response, ApiError> {
    let TilePath::Entries(id) = parse_tile_path("tile/entries/", &rest)? else {
        return Err(ApiError::NotFound(format!(
            "/tile/entries/{rest} is not an entry bundle path"
        )));
    };
    let data = state.reader.bundle(id).await?;
    let cache = if id.is_full() { IMMUTABLE } else { SHORT_LIVED };
    Ok(bytes_response(data, "application/octet-stream", cache))
}

#[derive(Serialize)]
pub(super) struct LogInfo {
    origin: String,
    vkey: String,
    size: u64,
    witnesses: Vec<String>,
    quorum: usize,
}

/// The log's origin, key, size and witness policy.
pub(super) async fn log_info(State(state): State<Arc<AppState>>) -> Json<LogInfo> {
    Json(LogInfo {
        origin: state.identity.origin().to_owned(),
        vkey: state.identity.vkey().to_string(),
        size: state.reader.published().head.size,
        witnesses: state.witnesses.vkeys(),
        quorum: state.witnesses.quorum(),
    })
}

/// Liveness.
pub(super) async fn healthz() -> &'static str {
    "ok\n"
}

/// Prometheus text exposition.
pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Any other path.
pub(super) async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see docs/api.md".into())
}
