//! The HTTP API: the JSON routes of DESIGN.md and the C2SP tlog-tiles routes.

mod entries;
mod error;
mod proofs;
#[cfg(test)]
mod tests;
mod tiles;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

pub use entries::parse_submission;
pub use error::{ApiError, RETRY_AFTER_SECONDS};

use crate::identity::LogIdentity;
use crate::metrics::Metrics;
use crate::sequencer::SequencerHandle;
use crate::store::Store;
use crate::tiles::TileReader;
use crate::witnesses::Witnesses;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Where submissions go.
    pub sequencer: SequencerHandle,
    /// Tiles, bundles and proofs.
    pub reader: TileReader,
    /// Search and lookups.
    pub store: Arc<dyn Store>,
    /// The log's origin and key.
    pub identity: Arc<LogIdentity>,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// Request limits.
    pub limits: Limits,
    /// The witnesses that cosign checkpoints, and their quorum.
    pub witnesses: Arc<Witnesses>,
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let limits = state.limits;
    let bundles = Router::new()
        .route("/tile/entries/{*path}", get(tiles::entry_bundle))
        .layer(CompressionLayer::new().gzip(true));
    Router::new()
        .route(
            "/api/v1/entries",
            post(entries::submit).get(entries::search),
        )
        .route("/api/v1/entries/{index}", get(entries::get_entry))
        .route("/api/v1/proof/inclusion", get(proofs::inclusion))
        .route("/api/v1/proof/consistency", get(proofs::consistency))
        .route("/api/v1/log", get(tiles::log_info))
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        .merge(bundles)
        .route("/healthz", get(tiles::healthz))
        .route("/metrics", get(tiles::metrics))
        .fallback(tiles::not_found)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(TraceLayer::new_for_http().on_failure(log_failure))
        .with_state(Arc::new(state))
}

/// Logs a failed request. A 503 is the log shedding load or waiting for
/// its witnesses: expected, and answered with Retry-After, so it is logged
/// at DEBUG rather than flooding the log at ERROR under overload.
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &Span) {
    let latency_ms = latency.as_millis() as u64;
    match class {
        ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE) => {
            tracing::debug!(latency_ms, "request refused with 503");
        }
        class => tracing::error!(classification = %class, latency_ms, "request failed"),
    }
}
