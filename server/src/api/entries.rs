//! `POST /api/v1/entries`, `GET /api/v1/entries/{index}`, `GET /api/v1/entries?…`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use sigtrail_note::{SignedEntry, VerifierKey};

use super::{ApiError, AppState};
use crate::sequencer::SubmitError;
use crate::store::{EntryRecord, SearchQuery};

/// Most results one search page returns.
pub const MAX_PAGE: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitRequest {
    entry: String,
}

/// Parses a submission body, `{"entry": "<signed note text>"}`, and
/// verifies the entry: everything the server decides from the bytes alone.
///
/// # Errors
///
/// [`ApiError::BadJson`] or [`ApiError::InvalidEntry`].
pub fn parse_submission(body: &[u8]) -> Result<SignedEntry, ApiError> {
    let request: SubmitRequest = serde_json::from_slice(body)?;
    Ok(SignedEntry::parse(request.entry.as_bytes())?)
}

#[derive(Serialize)]
pub(super) struct SubmitResponse {
    index: u64,
    proof: String,
}

/// Verifies an entry, queues it, and answers once its batch is committed:
/// 201 with the bundle for a new entry, 200 for one already logged.
pub(super) async fn submit(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let outcome = submit_body(&state, body).await;
    if let Err(error) = &outcome {
        state.metrics.count_submission(match error {
            ApiError::Submit(SubmitError::PoolFull) => "overloaded",
            ApiError::Submit(_) => "unavailable",
            _ => "rejected",
        });
    }
    outcome
}

async fn submit_body(
    state: &AppState,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let body = body.map_err(|_| ApiError::BodyTooLarge {
        limit: state.limits.max_body_bytes,
    })?;
    // A full pool refuses before the entry's signature is checked.
    let slot = state.sequencer.reserve()?;
    let entry = parse_submission(&body)?;
    let answer = slot.submit(entry);
    let logged = answer.await.map_err(|_| SubmitError::ShuttingDown)??;
    let status = if logged.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(SubmitResponse {
            index: logged.index,
            // The sequencer writes the bundle as text: no copy is needed.
            proof: String::from_utf8(logged.bundle).map_err(|e| {
                ApiError::Internal(anyhow::anyhow!("entry bundle is not UTF-8: {e}"))
            })?,
        }),
    ))
}

#[derive(Serialize)]
pub(super) struct EntryResponse {
    index: u64,
    leaf_hash: String,
    entry: String,
    subject: String,
    name: String,
    key: String,
    time: String,
}

/// The entry at an index, decoded.
pub(super) async fn get_entry(
    State(state): State<Arc<AppState>>,
    index: Result<Path<String>, PathRejection>,
) -> Result<Json<EntryResponse>, ApiError> {
    let Path(text) = index.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let index: u64 = text.parse().map_err(|_| {
        ApiError::BadQuery(format!(
            "entry index {text:?} is not a number from 0 up (/api/v1/entries/N)"
        ))
    })?;
    let size = state.reader.published().head.size;
    if index >= size {
        return Err(ApiError::NotFound(format!(
            "entry {index} does not exist in this log (tree size {size})"
        )));
    }
    let bytes = state.reader.entry(index, size).await?;
    let entry = SignedEntry::parse(&bytes).map_err(|e| {
        ApiError::Internal(anyhow::anyhow!("stored entry {index} does not parse: {e}"))
    })?;
    let event = entry.event();
    Ok(Json(EntryResponse {
        index,
        leaf_hash: entry.leaf_hash().to_string(),
        entry: String::from_utf8_lossy(entry.as_bytes()).into_owned(),
        subject: event.subject_text(),
        name: event.name.clone(),
        key: event.key.to_string(),
        time: event
            .time_text()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored entry {index}: {e}")))?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchParams {
    key: Option<String>,
    subject: Option<String>,
    name: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
}

#[derive(Serialize)]
pub(super) struct SearchHit {
    index: u64,
    leaf_hash: String,
    key: String,
    subject: String,
    name: String,
}

#[derive(Serialize)]
pub(super) struct SearchResponse {
    entries: Vec<SearchHit>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

/// Entries by signer key, subject digest and/or name, in index order.
pub(super) async fn search(
    State(state): State<Arc<AppState>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResponse>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    if params.key.is_none() && params.subject.is_none() && params.name.is_none() {
        return Err(ApiError::BadQuery(
            "give at least one of key, subject, name".into(),
        ));
    }
    // The key as entries write it: a key that does not parse would match
    // nothing, so it is refused.
    let signer = params
        .key
        .map(|text| {
            text.parse::<VerifierKey>()
                .map(|key| key.to_string())
                .map_err(|e| ApiError::bad_value("key", &text, "a verifier key", e))
        })
        .transpose()?;
    let subject = params
        .subject
        .map(|text| {
            sigtrail_note::parse_subject(&text)
                .map_err(|e| ApiError::BadQuery(format!("subject {text:?}: {e}")))
        })
        .transpose()?;
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let records = state
        .store
        .search(&SearchQuery {
            signer,
            subject,
            name: params.name,
            after: params.after,
            limit,
        })
        .await?;
    let next = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.index))
        .flatten();
    Ok(Json(SearchResponse {
        entries: records.into_iter().map(hit).collect(),
        next,
    }))
}

fn hit(record: EntryRecord) -> SearchHit {
    SearchHit {
        index: record.index,
        leaf_hash: record.leaf_hash.to_string(),
        key: record.signer,
        subject: sigtrail_note::subject_text(&record.subject),
        name: record.name,
    }
}
