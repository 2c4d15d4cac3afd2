#![doc = include_str!("../README.md")]

pub mod checkpoint;
pub mod cosignature;
pub mod ed25519;
mod encoding;
pub mod entry;
mod error;
pub mod key;
pub mod signed_note;
pub mod tlog_proof;
pub mod utc_time;
pub mod witness_request;

pub use checkpoint::Checkpoint;
pub use entry::{parse_subject, subject_text, SignedEntry, SigningEvent, MAX_ENTRY_SIZE};
pub use error::{Error, ErrorKind};
pub use key::{key_id, Algorithm, SignerKey, VerifierKey};
pub use signed_note::{Note, Signature};
pub use tlog_proof::TlogProof;
pub use witness_request::AddCheckpoint;
