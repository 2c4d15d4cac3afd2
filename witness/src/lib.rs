//! A C2SP tlog-witness.
