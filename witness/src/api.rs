//! The HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness), the
//! monitoring path `GET /<origin hash>/checkpoint`, `GET /forks` and
//! `GET /metrics`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigtrail_note::witness_request::{
    format_tree_size, MAX_ADD_CHECKPOINT_SIZE, TREE_SIZE_CONTENT_TYPE,
};
use tower_http::trace::TraceLayer;

use crate::metrics::Metrics;
use crate::witness::Witness;
use crate::Error;

/// Content type of signature lines and checkpoints.
const TEXT: &str = "text/plain; charset=utf-8";

struct AppState {
    witness: Witness,
    metrics: Metrics,
}

/// The witness's HTTP routes.
pub fn router(witness: Witness) -> Router {
    let state = Arc::new(AppState {
        witness,
        metrics: Metrics::default(),
    });
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .route("/forks", get(forks))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_SIZE))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

impl IntoResponse for Error {
    /// The status of [`Error::status`]; `409` carries the latest cosigned
    /// size as `text/x.tlog.size`, other rejections a line of explanation.
    /// Internal errors are logged here at error level and not explained to
    /// the client; rejections are logged at debug level.
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            Error::Conflict { latest, .. } => (
                status,
                [(header::CONTENT_TYPE, TREE_SIZE_CONTENT_TYPE)],
                format_tree_size(latest),
            )
                .into_response(),
            error if status.is_server_error() => {
                tracing::error!(%error, "internal error");
                (status, [(header::CONTENT_TYPE, TEXT)], "internal error\n").into_response()
            }
            error => {
                tracing::debug!(%error, "rejected");
                (status, [(header::CONTENT_TYPE, TEXT)], format!("{error}\n")).into_response()
            }
        }
    }
}

async fn add_checkpoint(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let response = match state.witness.add_checkpoint(&body).await {
        Ok(cosignature) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, TEXT)],
            cosignature.to_line(),
        )
            .into_response(),
        Err(error) => error.into_response(),
    };
    state.metrics.count_request(response.status().as_u16());
    response
}

async fn checkpoint(
    State(state): State<Arc<AppState>>,
    Path(origin_hash): Path<String>,
) -> Result<Response, Error> {
    let text = state.witness.checkpoint(&origin_hash).await?;
    Ok(([(header::CONTENT_TYPE, TEXT)], text).into_response())
}

async fn forks(State(state): State<Arc<AppState>>) -> Result<Response, Error> {
    Ok(Json(state.witness.store().forks().await?).into_response())
}

async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, Error> {
    let logs = state.witness.store().summary().await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(&logs),
    )
        .into_response())
}
