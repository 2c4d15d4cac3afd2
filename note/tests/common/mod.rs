//! Helpers shared by the integration tests.

#![allow(dead_code)]

use sigtrail_note::{Algorithm, SignerKey};

/// The contents of every fenced block marked `<!-- vector: NAME -->` in a
/// spec page, in order.
pub fn doc_vectors(doc: &str, name: &str) -> Vec<String> {
    let marker = format!("<!-- vector: {name} -->\n```\n");
    doc.split(&marker)
        .skip(1)
        .map(|rest| rest.split("```\n").next().unwrap().to_owned())
        .collect()
}

/// A deterministic signer key for tests.
pub fn test_key(name: &str, algorithm: Algorithm, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, algorithm, &[seed; 32]).unwrap()
}
