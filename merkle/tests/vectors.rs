//! Runs every inclusion and consistency vector of transparency-dev/merkle
//! (vendored under `testdata/transparency-dev-merkle/`, see its SOURCE.md)
//! and checks that verification fails exactly when `wantErr` says so.
//!
//! Our [`Hash`] is 32 bytes by type. Two adaptations follow from that:
//! - a leaf hash or proof hash of another length cannot reach the verifier:
//!   decoding it fails, which counts as the rejection the vector expects (the
//!   reference verifier checks the leaf hash length too);
//! - a root of another length (`"don't care 1"`, `""`) is replaced by the
//!   SHA-256 of its bytes: the reference verifier only compares roots for
//!   equality, and this keeps equal roots equal and different roots
//!   different.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sigtrail_merkle::{verify_consistency, verify_inclusion, Error, Hash, TreeHead};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Inclusion {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Consistency {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
}

fn bytes(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).expect("vector holds base64")
}

fn hash(b64: &str) -> Result<Hash, Error> {
    Hash::from_slice(&bytes(b64))
}

fn root(b64: &str) -> Hash {
    let raw = bytes(b64);
    Hash::from_slice(&raw).unwrap_or_else(|_| Hash(Sha256::digest(&raw).into()))
}

fn proof(hashes: &Option<Vec<String>>) -> Result<Vec<Hash>, Error> {
    hashes.iter().flatten().map(|h| hash(h)).collect()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("vector directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/transparency-dev-merkle/testdata")
        .join(kind);
    let mut out = Vec::new();
    json_files(&dir, &mut out);
    out.sort();
    out
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).expect("readable vector");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn inclusion_vectors() {
    let files = files("inclusion");
    let (mut accepted, mut rejected) = (0, 0);
    for path in &files {
        let v: Inclusion = read(path);
        let head = TreeHead {
            size: v.tree_size,
            root: root(&v.root),
        };
        let result = hash(&v.leaf_hash)
            .and_then(|leaf| verify_inclusion(&leaf, v.leaf_idx, &head, &proof(&v.proof)?));
        assert_eq!(
            result.is_err(),
            v.want_err,
            "{}: {} -> {result:?}",
            path.display(),
            v.desc
        );
        if v.want_err {
            rejected += 1
        } else {
            accepted += 1
        }
    }
    assert_eq!((accepted, rejected), (6, 92));
}

#[test]
fn consistency_vectors() {
    let files = files("consistency");
    let (mut accepted, mut rejected) = (0, 0);
    for path in &files {
        let v: Consistency = read(path);
        let old = TreeHead {
            size: v.size1,
            root: root(&v.root1),
        };
        let new = TreeHead {
            size: v.size2,
            root: root(&v.root2),
        };
        let result = proof(&v.proof).and_then(|p| verify_consistency(&old, &new, &p));
        assert_eq!(
            result.is_err(),
            v.want_err,
            "{}: {} -> {result:?}",
            path.display(),
            v.desc
        );
        if v.want_err {
            rejected += 1
        } else {
            accepted += 1
        }
    }
    assert_eq!((accepted, rejected), (6, 92));
}

#[test]
fn happy_path_tampering_is_evidence() {
    // Every mutated proof of a well-formed case fails as evidence, never as
    // an argument error: the data contradicts the head.
    for path in files("consistency") {
        let v: Consistency = read(&path);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.starts_with("modified-proof") && !name.starts_with("truncated") {
            continue;
        }
        let old = TreeHead {
            size: v.size1,
            root: root(&v.root1),
        };
        let new = TreeHead {
            size: v.size2,
            root: root(&v.root2),
        };
        let err = verify_consistency(&old, &new, &proof(&v.proof).unwrap()).unwrap_err();
        assert!(err.is_evidence(), "{}: {err}", path.display());
    }
}
