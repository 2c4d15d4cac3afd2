//! Tile and entry bundle paths: `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`.

use std::fmt::Write as _;

use super::{BundleId, TileId, TILE_WIDTH};
use crate::Error;

/// A parsed tlog-tiles path: a tile of hashes or an entry bundle.
///
/// Paths start with `tile/` and have no leading slash: a server strips the
/// slash and its URL prefix before parsing. The parser accepts exactly the
/// strings [`TileId::path`] and [`BundleId::path`] produce, so a tile has one
/// path and parsing then formatting gives back the same bytes:
///
/// - `<L>` is decimal 0 to 63 without leading zeros;
/// - `<N>` is 3-digit groups, all but the last starting with `x`, with no
///   leading `x000` group and a value that fits a `u64`;
/// - `<W>` is decimal 1 to 255 without leading zeros (a full tile has no
///   `.p/` suffix).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`.
    Hashes(TileId),
    /// `tile/entries/<N>[.p/<W>]`.
    Entries(BundleId),
}

/// Highest tile level in a path.
const MAX_LEVEL: u64 = 63;

impl TileId {
    /// The tile's path, for example `tile/0/x001/234.p/5`. A width other than
    /// 256 is written as a `.p/<W>` suffix.
    pub fn path(&self) -> String {
        let mut out = format!("tile/{}/", self.level);
        push_index_and_width(&mut out, self.index, self.width);
        out
    }
}

impl BundleId {
    /// The bundle's path, for example `tile/entries/x001/234.p/5`. A width
    /// other than 256 is written as a `.p/<W>` suffix.
    pub fn path(&self) -> String {
        let mut out = String::from("tile/entries/");
        push_index_and_width(&mut out, self.index, self.width);
        out
    }
}

fn push_index_and_width(out: &mut String, index: u64, width: u16) {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let (last, leading) = groups.split_first().unwrap_or((&0, &[]));
    for group in leading.iter().rev() {
        let _ = write!(out, "x{group:03}/");
    }
    let _ = write!(out, "{last:03}");
    if width != TILE_WIDTH {
        let _ = write!(out, ".p/{width}");
    }
}

impl TilePath {
    /// Parses a path in the exact grammar described in the module docs.
    ///
    /// # Errors
    ///
    /// [`Error::BadTilePath`] for anything else, including non-canonical
    /// spellings of a valid tile and numbers that do not fit.
    pub fn parse(path: &str) -> Result<Self, Error> {
        let rest = path.strip_prefix("tile/").ok_or(Error::BadTilePath)?;
        let (body, width) = match rest.split_once(".p/") {
            Some((body, w)) => match parse_decimal(w) {
                Some(w @ 1..=255) => (body, w as u16),
                _ => return Err(Error::BadTilePath),
            },
            None => (rest, TILE_WIDTH),
        };
        let (kind, index) = body.split_once('/').ok_or(Error::BadTilePath)?;
        let index = parse_index(index).ok_or(Error::BadTilePath)?;
        if kind == "entries" {
            return Ok(TilePath::Entries(BundleId { index, width }));
        }
        match parse_decimal(kind) {
            Some(level @ 0..=MAX_LEVEL) => Ok(TilePath::Hashes(TileId {
                level: level as u8,
                index,
                width,
            })),
            _ => Err(Error::BadTilePath),
        }
    }

    /// The path, as [`TileId::path`] or [`BundleId::path`] writes it.
    pub fn path(&self) -> String {
        match self {
            TilePath::Hashes(tile) => tile.path(),
            TilePath::Entries(bundle) => bundle.path(),
        }
    }
}

/// A decimal number of ASCII digits, without leading zeros.
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return None;
    }
    s.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// A tile index: `xDDD/` groups then a final `DDD` group, no leading `x000`.
fn parse_index(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split('/').collect();
    let (last, leading) = groups.split_last()?;
    if leading.first() == Some(&"x000") {
        return None;
    }
    let mut index = 0u64;
    for group in leading {
        index = push_group(index, group.strip_prefix('x')?)?;
    }
    push_group(index, last)
}

fn push_group(index: u64, group: &str) -> Option<u64> {
    if group.len() != 3 || !group.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = group
        .bytes()
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
    index.checked_mul(1000)?.checked_add(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(level: u8, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    #[test]
    fn spec_index_example() {
        assert_eq!(tile(0, 1234067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(
            TilePath::parse("tile/0/x001/x234/067"),
            Ok(TilePath::Hashes(tile(0, 1234067, 256)))
        );
        assert_eq!(tile(2, 0, 1).path(), "tile/2/000.p/1");
        assert_eq!(tile(1, 1000, 17).path(), "tile/1/x001/000.p/17");
        assert_eq!(
            BundleId {
                index: 1234,
                width: 5
            }
            .path(),
            "tile/entries/x001/234.p/5"
        );
        assert_eq!(
            tile(63, u64::MAX, 255).path(),
            "tile/63/x018/x446/x744/x073/x709/x551/615.p/255"
        );
    }

    #[test]
    fn parses_valid_paths() {
        assert_eq!(
            TilePath::parse("tile/entries/x001/234.p/5"),
            Ok(TilePath::Entries(BundleId {
                index: 1234,
                width: 5
            }))
        );
        assert_eq!(
            TilePath::parse("tile/63/x018/x446/x744/x073/x709/x551/615.p/255"),
            Ok(TilePath::Hashes(tile(63, u64::MAX, 255)))
        );
        assert_eq!(
            TilePath::parse("tile/10/000"),
            Ok(TilePath::Hashes(tile(10, 0, 256)))
        );
    }

    #[test]
    fn rejects_non_canonical_paths() {
        for bad in [
            "",
            "tile/",
            "/tile/0/000",
            "0/000",
            "tile/0/000/",
            "tile/0/0",
            "tile/0/0000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x01/002",
            "tile/0/+01",
            "tile/00/000",
            "tile/01/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p/",
            "tile/0/000.p/5/",
            "tile/0/000.p/5.p/5",
            "tile/0/000.p/+5",
            "tile/entries/000.p/05",
            "tile/entries",
            "tile/entries/",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/０/000",
            "tile/0/x00１/000",
        ] {
            assert_eq!(TilePath::parse(bad), Err(Error::BadTilePath), "{bad:?}");
        }
    }
}
