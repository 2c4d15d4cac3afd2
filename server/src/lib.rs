//! The sigtrail log server.

pub mod store;
