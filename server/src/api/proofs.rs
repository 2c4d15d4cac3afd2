//! `GET /api/v1/proof/inclusion` and `GET /api/v1/proof/consistency`.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use sigtrail_merkle::Hash;

use super::{ApiError, AppState};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InclusionParams {
    index: Option<u64>,
    hash: Option<String>,
    size: u64,
}

#[derive(Serialize)]
pub(super) struct InclusionResponse {
    index: u64,
    size: u64,
    proof: Vec<String>,
}

/// The inclusion proof of a leaf, by index or by leaf hash, in the tree of
/// `size` leaves.
pub(super) async fn inclusion(
    State(state): State<Arc<AppState>>,
    params: Result<Query<InclusionParams>, QueryRejection>,
) -> Result<Json<InclusionResponse>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    let size = checked_size(&state, params.size)?;
    let index = match (params.index, params.hash) {
        (Some(index), None) => index,
        (None, Some(hash)) => {
            let leaf: Hash = hash
                .parse()
                .map_err(|e| ApiError::bad_value("hash", &hash, "a leaf hash", e))?;
            let found = state.store.find_leaves(&[leaf]).await?;
            found
                .first()
                .map(|(_, index)| *index)
                .ok_or_else(|| ApiError::NotFound(format!("no entry with leaf hash {leaf}")))?
        }
        _ => {
            return Err(ApiError::BadQuery(
                "give exactly one of index and hash".into(),
            ))
        }
    };
    if index >= size {
        return Err(ApiError::IndexOutOfRange { index, size });
    }
    let proof = state.reader.inclusion_proof(index, size).await?;
    Ok(Json(InclusionResponse {
        index,
        size,
        proof: encode(&proof),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyParams {
    old: u64,
    new: u64,
}

#[derive(Serialize)]
pub(super) struct ConsistencyResponse {
    old: u64,
    new: u64,
    proof: Vec<String>,
}

/// The consistency proof between the trees of `old` and `new` leaves.
pub(super) async fn consistency(
    State(state): State<Arc<AppState>>,
    params: Result<Query<ConsistencyParams>, QueryRejection>,
) -> Result<Json<ConsistencyResponse>, ApiError> {
    let Query(ConsistencyParams { old, new }) =
        params.map_err(|e| ApiError::BadQuery(e.body_text()))?;
    checked_size(&state, new)?;
    if old > new {
        return Err(ApiError::SizeOrder { old, new });
    }
    if old == 0 {
        return Err(ApiError::BadQuery(
            "old must be at least 1: every tree extends the empty tree, and RFC 9162 defines no proof for it".into(),
        ));
    }
    let proof = state.reader.consistency_proof(old, new).await?;
    Ok(Json(ConsistencyResponse {
        old,
        new,
        proof: encode(&proof),
    }))
}

fn checked_size(state: &AppState, size: u64) -> Result<u64, ApiError> {
    let current = state.reader.published().head.size;
    if size > current {
        return Err(ApiError::SizeBeyondTree { size, current });
    }
    Ok(size)
}

fn encode(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(Hash::to_string).collect()
}
