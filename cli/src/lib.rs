//! The `sigtrail` command line.
