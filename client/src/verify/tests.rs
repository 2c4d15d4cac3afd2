use std::collections::HashMap;

use proptest::prelude::*;
use sigtrail_merkle::{prove_inclusion, TileHashReader, TiledTree};
use sigtrail_note::{cosignature, Algorithm, Note, SignerKey, SigningEvent};

use super::*;

fn key(name: &str, algorithm: Algorithm, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, algorithm, &[seed; 32]).unwrap()
}

struct Fixture {
    log: SignerKey,
    witness: SignerKey,
    bundles: Vec<Vec<u8>>,
    artifacts: Vec<Vec<u8>>,
}

/// A log of `n` entries signed by one key, each with its bundle under a
/// checkpoint of size `n` signed by the log and cosigned by one witness.
fn fixture(n: u64) -> Fixture {
    let log = key("log.example", Algorithm::Ed25519, 1);
    let witness = key("witness.example", Algorithm::CosignatureV1, 2);
    let signer = key("release.example", Algorithm::Ed25519, 3);
    let artifacts: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("artifact {i}").into_bytes())
        .collect();
    let entries: Vec<SignedEntry> = artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            SigningEvent {
                subject: artifact_digest(a),
                name: format!("a{i}"),
                key: signer.verifier_key().clone(),
                time: 1_795_600_800,
            }
            .sign(&signer)
            .unwrap()
        })
        .collect();
    let mut tree = TiledTree::new();
    for e in &entries {
        tree.append(e.leaf_hash());
    }
    let tiles: HashMap<_, _> = tree.take_tiles().into_iter().collect();
    let checkpoint = Checkpoint {
        origin: "log.example".to_owned(),
        head: tree.head(),
        extensions: Vec::new(),
    };
    let mut note = Note::sign(&checkpoint.to_text(), &[&log]).unwrap();
    note.add_signature(cosignature::sign(note.text(), &witness, 1_795_600_801).unwrap())
        .unwrap();
    let reader = TileHashReader::new(n, &tiles);
    let bundles = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            TlogProof {
                extra: Some(e.as_bytes().to_vec()),
                index: i as u64,
                proof: prove_inclusion(i as u64, n, &reader).unwrap(),
                checkpoint: note.to_text().into_bytes(),
            }
            .to_text()
        })
        .collect();
    Fixture {
        log,
        witness,
        bundles,
        artifacts,
    }
}

impl Fixture {
    fn policy(&self, k: usize) -> Policy {
        Policy::k_of_n(
            self.log.verifier_key().clone(),
            vec![self.witness.verifier_key().clone()],
            k,
        )
        .unwrap()
    }

    fn verify(&self, i: usize, bundle: &[u8]) -> Result<VerifiedBundle, Error> {
        verify_bundle(
            &self.policy(1),
            bundle,
            &artifact_digest(&self.artifacts[i]),
        )
    }

    fn proof(&self, i: usize) -> TlogProof {
        TlogProof::parse(&self.bundles[i]).unwrap()
    }
}

#[test]
fn every_bundle_verifies() {
    let f = fixture(7);
    for i in 0..7 {
        let v = f.verify(i, &f.bundles[i]).unwrap();
        assert_eq!(v.index, i as u64);
        assert_eq!(v.checkpoint.head.size, 7);
        assert_eq!(v.entry.event().name, format!("a{i}"));
    }
}

#[test]
fn wrong_artifact_is_evidence() {
    let f = fixture(3);
    let err = verify_bundle(&f.policy(1), &f.bundles[0], &artifact_digest(b"x")).unwrap_err();
    assert!(matches!(err, Error::ArtifactDigest { .. }), "{err}");
    assert!(err.is_evidence());
    assert!(err.to_string().starts_with("artifact digest: "));
}

#[test]
fn wrong_index_or_proof_fails_inclusion() {
    let f = fixture(5);
    let mut p = f.proof(1);
    p.index = 2;
    let err = f.verify(1, &p.to_text()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Inclusion {
                index: 2,
                size: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_evidence());
    let mut p = f.proof(1);
    p.proof.pop();
    assert!(matches!(
        f.verify(1, &p.to_text()),
        Err(Error::Inclusion { .. })
    ));
    let mut p = f.proof(1);
    p.proof.swap(0, 1);
    assert!(matches!(
        f.verify(1, &p.to_text()),
        Err(Error::Inclusion { .. })
    ));
}

#[test]
fn proof_for_another_size_fails() {
    let small = fixture(3);
    let big = fixture(6);
    let mut p = big.proof(1);
    p.proof = small.proof(1).proof;
    assert!(matches!(
        big.verify(1, &p.to_text()),
        Err(Error::Inclusion { .. })
    ));
}

#[test]
fn missing_or_foreign_entry() {
    let f = fixture(3);
    let mut p = f.proof(0);
    p.extra = None;
    assert!(matches!(
        f.verify(0, &p.to_text()),
        Err(Error::MissingEntry)
    ));
    let mut p = f.proof(0);
    p.extra = Some(b"not an entry".to_vec());
    assert!(matches!(f.verify(0, &p.to_text()), Err(Error::Entry(_))));
    // The entry of leaf 1 in the bundle of leaf 0, with leaf 1's artifact.
    let mut p = f.proof(0);
    p.extra = f.proof(1).extra;
    assert!(matches!(
        f.verify(1, &p.to_text()),
        Err(Error::Inclusion { .. })
    ));
}

#[test]
fn quorum_and_keys() {
    let f = fixture(2);
    let alone = Policy::k_of_n(f.log.verifier_key().clone(), vec![], 0).unwrap();
    assert!(verify_bundle(&alone, &f.bundles[0], &artifact_digest(&f.artifacts[0])).is_ok());
    let other = key("witness2.example", Algorithm::CosignatureV1, 9);
    let two = Policy::k_of_n(
        f.log.verifier_key().clone(),
        vec![
            f.witness.verifier_key().clone(),
            other.verifier_key().clone(),
        ],
        2,
    )
    .unwrap();
    let err = verify_bundle(&two, &f.bundles[0], &artifact_digest(&f.artifacts[0])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuorumNotMet {
                cosigned: 1,
                witnesses: 2
            }
        ),
        "{err}"
    );
    let unknown = Policy::k_of_n(
        f.log.verifier_key().clone(),
        vec![other.verifier_key().clone()],
        1,
    )
    .unwrap();
    let err =
        verify_bundle(&unknown, &f.bundles[0], &artifact_digest(&f.artifacts[0])).unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuorumNotMet {
                cosigned: 0,
                witnesses: 1
            }
        ),
        "{err}"
    );
    let other_log = key("log.example", Algorithm::Ed25519, 8);
    let wrong = Policy::k_of_n(other_log.verifier_key().clone(), vec![], 0).unwrap();
    let err = verify_bundle(&wrong, &f.bundles[0], &artifact_digest(&f.artifacts[0])).unwrap_err();
    assert!(matches!(err, Error::Checkpoint(_)), "{err}");
}

#[test]
fn consistency_checks() {
    let mut tree = TiledTree::new();
    for i in 0u8..10 {
        tree.append(sigtrail_merkle::leaf_hash(&[i]));
    }
    let new = tree.head();
    let tiles: HashMap<_, _> = tree.take_tiles().into_iter().collect();
    let reader = TileHashReader::new(10, &tiles);
    let old = TreeHead {
        size: 4,
        root: sigtrail_merkle::tree_root(4, &reader).unwrap(),
    };
    let proof = sigtrail_merkle::prove_consistency(4, 10, &reader).unwrap();
    verify_consistency(&old, &new, &proof).unwrap();
    verify_consistency(&new, &new, &[]).unwrap();
    let err = verify_consistency(&new, &old, &[]).unwrap_err();
    assert!(matches!(err, Error::Rollback { old: 10, new: 4 }));
    let forked = TreeHead {
        size: 4,
        root: new.root,
    };
    let err = verify_consistency(&forked, &new, &proof).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Consistency {
                old: 4,
                new: 10,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_evidence());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Changing any one byte of a bundle makes it fail verification.
    #[test]
    fn any_one_byte_change_fails(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let f = fixture(5);
        let mut bundle = f.bundles[3].clone();
        let i = pos.index(bundle.len());
        bundle[i] = bundle[i].wrapping_add(delta);
        prop_assert!(f.verify(3, &bundle).is_err(), "byte {} changed by {}", i, delta);
    }
}
