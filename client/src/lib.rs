#![doc = include_str!("../README.md")]

pub mod audit;
mod error;
pub mod http;
pub mod monitor;
pub mod policy;
pub mod verify;

pub use audit::{audit, AuditReport, AuditState};
pub use error::{Error, ErrorKind, PolicyProblem};
pub use http::{Client, EntryInfo, LogInfo, SearchHit, SearchPage, SearchQuery, Submitted};
pub use policy::Policy;
pub use verify::{
    artifact_digest, verify_bundle, verify_consistency, verify_inclusion, VerifiedBundle,
};
