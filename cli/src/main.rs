//! `sigtrail`: see `sigtrail --help`.

fn main() {}
