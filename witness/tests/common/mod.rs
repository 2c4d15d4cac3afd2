//! A tiny in-test log: leaves, signed checkpoints, consistency proofs and
//! add-checkpoint bodies; and a witness on a throwaway SQLite store.

#![allow(dead_code)]

use std::sync::Arc;

use sigtrail_merkle::proof::{prove_consistency, root_of, HashReader, NodeId};
use sigtrail_merkle::{leaf_hash, Hash, TreeHead};
use sigtrail_note::{AddCheckpoint, Algorithm, Checkpoint, Note, SignerKey, VerifierKey};
use sigtrail_witness::{Clock, Logs, Store, Witness};

/// The time the test clock shows.
pub const NOW: u64 = 1_795_600_800;

/// A log kept in memory: its signer key and its leaf hashes.
#[derive(Clone)]
pub struct TestLog {
    pub key: SignerKey,
    pub leaves: Vec<Hash>,
}

impl HashReader for TestLog {
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, sigtrail_merkle::Error> {
        Ok(nodes
            .iter()
            .map(|node| {
                let lo = (node.index << node.level) as usize;
                let hi = ((node.index + 1) << node.level) as usize;
                root_of(&self.leaves[lo..hi])
            })
            .collect())
    }
}

impl TestLog {
    /// A log named `origin` with `size` leaves.
    pub fn new(origin: &str, size: usize) -> Self {
        let key = SignerKey::from_seed(origin, Algorithm::Ed25519, &[1; 32]).unwrap();
        let mut log = TestLog {
            key,
            leaves: Vec::new(),
        };
        log.grow(size, "leaf");
        log
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        self.key.name()
    }

    /// The log's verifier key.
    pub fn vkey(&self) -> VerifierKey {
        self.key.verifier_key().clone()
    }

    /// Appends `count` leaves derived from `tag` (different tags fork).
    pub fn grow(&mut self, count: usize, tag: &str) {
        for _ in 0..count {
            let i = self.leaves.len();
            self.leaves.push(leaf_hash(format!("{tag} {i}").as_bytes()));
        }
    }

    /// The tree head of size `size`.
    pub fn head(&self, size: u64) -> TreeHead {
        TreeHead {
            size,
            root: root_of(&self.leaves[..size as usize]),
        }
    }

    /// The checkpoint of size `size`, signed by the log.
    pub fn checkpoint(&self, size: u64) -> String {
        self.sign_head(self.head(size))
    }

    /// A checkpoint of `head`, signed by the log.
    pub fn sign_head(&self, head: TreeHead) -> String {
        let checkpoint = Checkpoint {
            origin: self.origin().to_owned(),
            head,
            extensions: Vec::new(),
        };
        Note::sign(&checkpoint.to_text(), &[&self.key])
            .unwrap()
            .to_text()
    }

    /// The consistency proof from `old` to `new` (empty from 0).
    pub fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        if old == 0 {
            return Vec::new();
        }
        prove_consistency(old, new, self).unwrap()
    }

    /// The add-checkpoint body from `old` to `new`.
    pub fn request(&self, old: u64, new: u64) -> Vec<u8> {
        body(old, self.proof(old, new), &self.checkpoint(new))
    }
}

/// An add-checkpoint body.
pub fn body(old: u64, proof: Vec<Hash>, checkpoint: &str) -> Vec<u8> {
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: checkpoint.as_bytes().to_vec(),
    }
    .to_text()
}

/// The witness's key.
pub fn witness_key() -> SignerKey {
    SignerKey::from_seed("witness.example/w1", Algorithm::CosignatureV1, &[2; 32]).unwrap()
}

/// A clock that always shows [`NOW`].
pub fn fixed_clock() -> Clock {
    Arc::new(|| NOW)
}

/// A witness for `logs` over `store`.
pub fn witness(logs: &[&TestLog], store: Store) -> Witness {
    let logs: Logs = logs
        .iter()
        .map(|log| (log.origin().to_owned(), vec![log.vkey()]))
        .collect();
    Witness::new(witness_key(), logs, store, fixed_clock()).unwrap()
}

/// A store in a fresh SQLite file under `dir`.
pub async fn sqlite_store(dir: &tempfile::TempDir) -> Store {
    let path = dir.path().join("witness.db");
    Store::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}
