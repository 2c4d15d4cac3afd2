//! Any tile path that parses formats back to exactly the same bytes, and
//! every tile or bundle it names parses back from its own path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigtrail_merkle::{TileId, TilePath};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(parsed) = TilePath::parse(text) {
            assert_eq!(parsed.path(), text);
        }
    }
    // Read the input as a tile too and check the other direction.
    if let [level, width, index @ ..] = data {
        let mut bytes = [0u8; 8];
        let n = index.len().min(8);
        bytes[..n].copy_from_slice(&index[..n]);
        let tile = TileId {
            level: level % 64,
            index: u64::from_le_bytes(bytes),
            width: u16::from(*width) + 1,
        };
        assert_eq!(TilePath::parse(&tile.path()), Ok(TilePath::Hashes(tile)));
    }
});
