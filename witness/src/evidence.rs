//! Fork evidence: a checkpoint signed by a log that conflicts with the one
//! the witness cosigned for it, kept with the request that carried it.

use std::str::FromStr;

use serde::Serialize;
use sigtrail_merkle::{Hash, TreeHead};

/// How a checkpoint conflicts with the cosigned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForkKind {
    /// Same tree size, another root hash: two signed checkpoints that
    /// cannot both be true. Conclusive on its own.
    SameSizeDifferentRoot,
    /// A larger tree whose consistency proof from the cosigned checkpoint
    /// does not verify. The log signed the checkpoint but not the proof, so
    /// this is conclusive only once a proof fetched from the log fails too.
    FailedConsistencyProof,
}

impl ForkKind {
    /// The name stored and shown in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ForkKind::SameSizeDifferentRoot => "same-size-different-root",
            ForkKind::FailedConsistencyProof => "failed-consistency-proof",
        }
    }
}

impl FromStr for ForkKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        [
            ForkKind::SameSizeDifferentRoot,
            ForkKind::FailedConsistencyProof,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == s)
        .ok_or(())
    }
}

/// One piece of fork evidence, as kept and as served by `GET /forks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkEvidence {
    /// The log's origin.
    pub origin: String,
    /// How the checkpoints conflict.
    pub kind: ForkKind,
    /// When the witness saw the conflicting checkpoint (Unix seconds).
    pub observed_at: u64,
    /// The checkpoint the witness had cosigned, with the log's signatures
    /// and the witness's cosignature.
    pub cosigned: String,
    /// The conflicting checkpoint, as the request carried it (signed by the
    /// log).
    pub conflicting: String,
    /// Size and root hash of the conflicting checkpoint.
    #[serde(serialize_with = "serialize_head")]
    pub conflicting_head: TreeHead,
    /// The request's old size.
    pub old_size: u64,
    /// The request's consistency proof.
    #[serde(serialize_with = "serialize_hashes")]
    pub proof: Vec<Hash>,
}

fn serialize_head<S: serde::Serializer>(head: &TreeHead, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Head {
        size: u64,
        root: String,
    }
    Head {
        size: head.size,
        root: head.root.to_string(),
    }
    .serialize(s)
}

fn serialize_hashes<S: serde::Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(hashes.iter().map(Hash::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            ForkKind::SameSizeDifferentRoot,
            ForkKind::FailedConsistencyProof,
        ] {
            assert_eq!(ForkKind::from_str(kind.as_str()), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(ForkKind::from_str("other"), Err(()));
    }
}
