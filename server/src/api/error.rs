//! The one error type of the HTTP API and its status codes.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::sequencer::SubmitError;
use crate::store::StoreError;
use crate::tiles::ReadError;

/// Seconds a client is told to wait before retrying an overloaded log.
pub const RETRY_AFTER_SECONDS: u64 = 1;

/// Everything a request can fail with. The body is always
/// `{"error": "<what is wrong, for a person>"}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the route takes.
    #[error("the request body is not valid JSON for this route: {0}")]
    BadJson(#[from] serde_json::Error),
    /// The body is larger than the server accepts.
    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The entry is malformed, not canonical, or its signature fails.
    #[error("the entry is not valid: {0}")]
    InvalidEntry(#[from] sigtrail_note::Error),
    /// A query parameter is missing or malformed.
    #[error("bad query: {0}")]
    BadQuery(String),
    /// A leaf index at or beyond the tree size of the request.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A tree size larger than the log's current tree.
    #[error("tree size {size} is beyond the log's current size {current}")]
    SizeBeyondTree {
        /// The size asked for.
        size: u64,
        /// The log's current size.
        current: u64,
    },
    /// The two sizes of a consistency proof are in the wrong order.
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder {
        /// The older size.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// Nothing at this path or index.
    #[error("{0}")]
    NotFound(String),
    /// The submission could not be taken or integrated now.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A failure of the server itself; logged where it is turned into a
    /// response.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadJson(_)
            | ApiError::InvalidEntry(_)
            | ApiError::BadQuery(_)
            | ApiError::IndexOutOfRange { .. }
            | ApiError::SizeBeyondTree { .. }
            | ApiError::SizeOrder { .. } => StatusCode::BAD_REQUEST,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Submit(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The query parameter `name`, whose value `text` is not `what`. Keys
    /// and hashes are written with `+`, which a URL query reads as a
    /// space: a space in the value is named as the likely cause.
    pub fn bad_value(name: &str, text: &str, what: &str, error: impl std::fmt::Display) -> Self {
        let hint = if text.contains(' ') {
            format!(" (a '+' in a URL query is a space: write each '+' of the {name} as %2B)")
        } else {
            String::new()
        };
        ApiError::BadQuery(format!("{name} {text:?} is not {what}: {error}{hint}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Internal(error.into())
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotFound(what) => {
                ApiError::NotFound(format!("{what} does not exist in this log"))
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let status = self.status();
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        response
    }
}
