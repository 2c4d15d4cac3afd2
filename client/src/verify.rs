//! Offline verification of bundles and checkpoints: nothing from the log
//! is trusted, only the keys of a [`Policy`].

use sha2::{Digest, Sha256};
use sigtrail_merkle::{Hash, TreeHead};
use sigtrail_note::{Checkpoint, SignedEntry, TlogProof};

use crate::{Error, Policy};

/// A bundle that verified: the entry, its index, and the checkpoint it is
/// included in.
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    /// The signed entry, its signature verified.
    pub entry: SignedEntry,
    /// The entry's leaf index.
    pub index: u64,
    /// The checkpoint, signed by a trusted log and cosigned per the policy.
    pub checkpoint: Checkpoint,
}

/// The SHA-256 of an artifact.
pub fn artifact_digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Verifies a C2SP tlog-proof bundle for an artifact, offline, in this
/// order: the bundle parses; its `extra` line is a sigtrail entry whose
/// signature verifies under the key it names; the entry's subject is
/// `artifact_digest`; the checkpoint verifies under `policy` (log signature,
/// origin, witness quorum); the inclusion proof leads from the entry's leaf
/// hash to the checkpoint's root.
///
/// # Errors
///
/// The first check that fails: [`Error::Bundle`], [`Error::MissingEntry`],
/// [`Error::Entry`], [`Error::ArtifactDigest`], the errors of
/// [`Policy::verify_checkpoint`], [`Error::Inclusion`].
pub fn verify_bundle(
    policy: &Policy,
    bundle: &[u8],
    artifact_digest: &[u8; 32],
) -> Result<VerifiedBundle, Error> {
    let proof = TlogProof::parse(bundle).map_err(Error::Bundle)?;
    let entry_bytes = proof.extra.as_deref().ok_or(Error::MissingEntry)?;
    let entry = SignedEntry::parse(entry_bytes).map_err(Error::Entry)?;
    if &entry.event().subject != artifact_digest {
        return Err(Error::ArtifactDigest {
            want: entry.event().subject_text(),
            got: format!("sha256:{}", hex(artifact_digest)),
        });
    }
    let checkpoint = policy.verify_checkpoint(&proof.checkpoint)?;
    verify_inclusion(
        &entry.leaf_hash(),
        proof.index,
        &checkpoint.head,
        &proof.proof,
    )?;
    Ok(VerifiedBundle {
        entry,
        index: proof.index,
        checkpoint,
    })
}

/// Checks an inclusion proof of `leaf` at `index` under `head`.
///
/// # Errors
///
/// [`Error::Inclusion`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    head: &TreeHead,
    proof: &[Hash],
) -> Result<(), Error> {
    sigtrail_merkle::verify_inclusion(leaf, index, head, proof).map_err(|source| Error::Inclusion {
        index,
        size: head.size,
        source,
    })
}

/// Checks that `new` extends `old`: a consistency proof when `old` is
/// smaller and not empty, equal roots when the sizes are equal.
///
/// # Errors
///
/// [`Error::Rollback`] when `new` is smaller, [`Error::Consistency`] when
/// the proof fails.
pub fn verify_consistency(old: &TreeHead, new: &TreeHead, proof: &[Hash]) -> Result<(), Error> {
    if new.size < old.size {
        return Err(Error::Rollback {
            old: old.size,
            new: new.size,
        });
    }
    if old.size == 0 {
        return Ok(());
    }
    sigtrail_merkle::verify_consistency(old, new, proof).map_err(|source| Error::Consistency {
        old: old.size,
        new: new.size,
        source,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
