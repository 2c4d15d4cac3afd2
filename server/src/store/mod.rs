//! Storage of the log.
