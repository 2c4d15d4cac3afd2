//! The witness: checks each checkpoint against the latest one it cosigned
//! for the log, cosigns it, and keeps the evidence of any conflict.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use sigtrail_merkle::{empty_root, verify_consistency, TreeHead};
use sigtrail_note::{
    cosignature, AddCheckpoint, Algorithm, Note, Signature, SignerKey, VerifierKey,
};

use crate::evidence::{ForkEvidence, ForkKind};
use crate::store::{Cosigned, Store};
use crate::Error;

/// The logs a witness cosigns: each origin with the keys trusted to sign
/// its checkpoints.
pub type Logs = BTreeMap<String, Vec<VerifierKey>>;

/// The current time in Unix seconds, injected so tests are deterministic.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    })
}

/// The lowercase hex SHA-256 of an origin, which names the log in the
/// monitoring path `/<origin hash>/checkpoint`.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// A C2SP tlog-witness over a [`Store`].
pub struct Witness {
    key: SignerKey,
    logs: Logs,
    origins_by_hash: HashMap<String, String>,
    store: Store,
    clock: Clock,
}

impl Witness {
    /// A witness signing with `key` (a `cosignature/v1` key) for `logs`.
    ///
    /// # Errors
    ///
    /// [`Error::NotACosignatureKey`] if `key` is not a `cosignature/v1` key.
    pub fn new(key: SignerKey, logs: Logs, store: Store, clock: Clock) -> Result<Self, Error> {
        if key.algorithm() != Algorithm::CosignatureV1 {
            return Err(Error::NotACosignatureKey {
                name: key.name().to_owned(),
            });
        }
        let origins_by_hash = logs
            .keys()
            .map(|origin| (origin_hash(origin), origin.clone()))
            .collect();
        Ok(Witness {
            key,
            logs,
            origins_by_hash,
            store,
            clock,
        })
    }

    /// The witness's verifier key.
    pub fn verifier_key(&self) -> &VerifierKey {
        self.key.verifier_key()
    }

    /// The logs it cosigns.
    pub fn logs(&self) -> &Logs {
        &self.logs
    }

    /// Its store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Handles an `add-checkpoint` request body, in the order of the spec:
    /// returns the witness's cosignature of the checkpoint once it is
    /// stored as the log's latest cosigned checkpoint.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`], [`Error::UnknownLog`], [`Error::Untrusted`],
    /// [`Error::OldSizeTooLarge`], [`Error::Conflict`] (also when another
    /// request changed the head meanwhile), [`Error::WrongEmptyRoot`],
    /// [`Error::ProofFromEmptyTree`], [`Error::RootMismatch`],
    /// [`Error::Inconsistent`]; [`Error::Database`] and the other internal
    /// errors.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<Signature, Error> {
        // 1. A well-formed body and signed checkpoint.
        let request = AddCheckpoint::parse(body).map_err(Error::Malformed)?;
        let (note, checkpoint) = request.signed_checkpoint().map_err(Error::Malformed)?;
        let origin = checkpoint.origin.as_str();
        let head = checkpoint.head;
        // 2. A log this witness cosigns, 3. signed by one of its keys.
        let keys = self.logs.get(origin).ok_or_else(|| Error::UnknownLog {
            origin: origin.to_owned(),
        })?;
        note.verify(keys).map_err(Error::Untrusted)?;
        // 4. An old size within the checkpoint.
        if request.old_size > head.size {
            return Err(Error::OldSizeTooLarge {
                old: request.old_size,
                size: head.size,
            });
        }
        // 5. The old size is the latest cosigned size. A stale request can
        //    still prove a fork if it has the cosigned size.
        let latest = self.store.latest(origin).await?;
        let latest_size = latest.as_ref().map_or(0, |c| c.head.size);
        if request.old_size != latest_size {
            if let Some(cosigned) = &latest {
                if cosigned.head.size == head.size && cosigned.head.root != head.root {
                    let kind = ForkKind::SameSizeDifferentRoot;
                    self.keep_evidence(kind, cosigned, &request, &note, head)
                        .await?;
                }
            }
            return Err(Error::Conflict {
                old: request.old_size,
                latest: latest_size,
            });
        }
        // 6. Consistent with the latest cosigned checkpoint.
        self.check_consistency(&request, &note, head, latest.as_ref())
            .await?;
        // 7. Cosign, and store it only if no other request moved the head
        //    since step 5: the compare-and-swap makes steps 5 to 7 atomic.
        let cosignature =
            cosignature::sign(note.text(), &self.key, (self.clock)()).map_err(Error::Cosign)?;
        let new = Cosigned {
            origin: origin.to_owned(),
            head,
            checkpoint: served_checkpoint(&note, keys, &cosignature),
        };
        let expected = latest.as_ref().map(|c| &c.head);
        if !self.store.compare_and_swap(expected, &new).await? {
            let latest = self.store.latest(origin).await?;
            return Err(Error::Conflict {
                old: request.old_size,
                latest: latest.map_or(0, |c| c.head.size),
            });
        }
        tracing::info!(origin, size = head.size, "cosigned");
        Ok(cosignature)
    }

    /// Checks the checkpoint `head` against the latest cosigned one, whose
    /// size is the request's old size; keeps fork evidence on a conflict.
    async fn check_consistency(
        &self,
        request: &AddCheckpoint,
        note: &Note,
        head: TreeHead,
        latest: Option<&Cosigned>,
    ) -> Result<(), Error> {
        if head.size == 0 && head.root != empty_root() {
            return Err(Error::WrongEmptyRoot);
        }
        let cosigned = match latest {
            Some(cosigned) if request.old_size > 0 => cosigned,
            _ if request.proof.is_empty() => return Ok(()),
            _ => {
                return Err(Error::ProofFromEmptyTree {
                    got: request.proof.len(),
                })
            }
        };
        let old = cosigned.head;
        if old.size == head.size && old.root != head.root {
            let kind = ForkKind::SameSizeDifferentRoot;
            self.keep_evidence(kind, cosigned, request, note, head)
                .await?;
            return Err(Error::RootMismatch { size: head.size });
        }
        if let Err(source) = verify_consistency(&old, &head, &request.proof) {
            // A proof of the right shape that leads to another root; one of
            // the wrong length proves nothing.
            if !matches!(source, sigtrail_merkle::Error::WrongProofLength { .. }) {
                let kind = ForkKind::FailedConsistencyProof;
                self.keep_evidence(kind, cosigned, request, note, head)
                    .await?;
            }
            return Err(Error::Inconsistent {
                old: old.size,
                size: head.size,
                source,
            });
        }
        Ok(())
    }

    /// Stores fork evidence, logging it at error level the first time.
    async fn keep_evidence(
        &self,
        kind: ForkKind,
        cosigned: &Cosigned,
        request: &AddCheckpoint,
        note: &Note,
        head: TreeHead,
    ) -> Result<(), Error> {
        let fork = ForkEvidence {
            origin: cosigned.origin.clone(),
            kind,
            observed_at: (self.clock)(),
            cosigned: cosigned.checkpoint.clone(),
            conflicting: note.to_text(),
            conflicting_head: head,
            old_size: request.old_size,
            proof: request.proof.clone(),
        };
        if self.store.record_fork(&fork).await? {
            tracing::error!(
                origin = fork.origin,
                kind = kind.as_str(),
                cosigned_size = cosigned.head.size,
                cosigned_root = %cosigned.head.root,
                conflicting_size = head.size,
                conflicting_root = %head.root,
                "fork evidence: the log signed a checkpoint that conflicts with the one cosigned"
            );
        }
        Ok(())
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to
    /// `origin_hash` (see [`origin_hash`]), with the log's verified
    /// signatures and the witness's cosignature.
    ///
    /// # Errors
    ///
    /// [`Error::NotCosigned`] for an unknown log or one never cosigned;
    /// [`Error::Database`], [`Error::Corrupt`].
    pub async fn checkpoint(&self, origin_hash: &str) -> Result<String, Error> {
        let not_cosigned = || Error::NotCosigned {
            origin_hash: origin_hash.to_owned(),
        };
        let origin = self
            .origins_by_hash
            .get(origin_hash)
            .ok_or_else(not_cosigned)?;
        let latest = self.store.latest(origin).await?.ok_or_else(not_cosigned)?;
        Ok(latest.checkpoint)
    }
}

/// The checkpoint as served to monitors: the note text, the signatures of
/// the log's trusted keys (which all verified), and the cosignature.
fn served_checkpoint(note: &Note, keys: &[VerifierKey], cosignature: &Signature) -> String {
    let mut text = format!("{}\n", note.text());
    for signature in note.signatures() {
        if keys.iter().any(|key| key.matches(signature)) {
            text.push_str(&signature.to_line());
        }
    }
    text.push_str(&cosignature.to_line());
    text
}
