//! Hash tiles and entry bundles as the SQL stores keep them: as the parts
//! that commits appended, never rewritten.
//!
//! A commit that widens a tile or bundle appends one part holding only what
//! it adds, keyed by `upto`, the width the part brings it to. The stored
//! version is the concatenation of the parts in order of `upto`; its width
//! is the last part's `upto`. A bundle part is kept compressed
//! ([`BundleCodec::Zstd`]), except parts carried over from a store that
//! kept whole bundles ([`BundleCodec::Raw`]).

use sigtrail_merkle::HASH_SIZE;

use super::batch::{StoredTiles, FULL_WIDTH};
use super::sql::from_db;
use super::StoreError;

/// The zstd level of new bundle parts: most of the gain, a fraction of the
/// time of the higher levels.
const ZSTD_LEVEL: i32 = 3;

/// How a bundle part's bytes are stored, the `bundle_parts.codec` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BundleCodec {
    /// As they are.
    Raw = 0,
    /// One zstd frame.
    Zstd = 1,
}

impl BundleCodec {
    fn from_db(codec: i16) -> Result<Self, StoreError> {
        match codec {
            0 => Ok(BundleCodec::Raw),
            1 => Ok(BundleCodec::Zstd),
            _ => Err(StoreError::Corrupt {
                column: "bundle_parts.codec",
            }),
        }
    }
}

/// A width read from an `upto` column.
pub(crate) fn upto_from_db(upto: i16, column: &'static str) -> Result<u16, StoreError> {
    u16::try_from(upto)
        .ok()
        .filter(|upto| (1..=FULL_WIDTH).contains(upto))
        .ok_or(StoreError::Corrupt { column })
}

/// A hash tile from its parts, `(upto, data)` in order of `upto`; `None`
/// if there are none.
///
/// # Errors
///
/// [`StoreError::Corrupt`] unless each part holds exactly the hashes from
/// the previous part's `upto` to its own.
fn join_tile(
    parts: impl IntoIterator<Item = (i16, Vec<u8>)>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let corrupt = StoreError::Corrupt {
        column: "tile_parts.data",
    };
    let mut tile: Option<Vec<u8>> = None;
    for (upto, data) in parts {
        let upto = usize::from(upto_from_db(upto, "tile_parts.upto")?);
        let joined = tile.get_or_insert_with(Vec::new);
        let from = joined.len() / HASH_SIZE;
        if upto <= from || data.len() != (upto - from) * HASH_SIZE {
            return Err(corrupt);
        }
        joined.extend_from_slice(&data);
    }
    Ok(tile)
}

/// Hash tiles from the parts of each, rows `(level, idx, upto, data)`
/// ordered by level, index and `upto`, by (level, index).
///
/// # Errors
///
/// [`StoreError::Corrupt`] for a level or index out of range, or parts
/// [`join_tile`] refuses.
pub(crate) fn join_tiles(rows: Vec<(i16, i64, i16, Vec<u8>)>) -> Result<StoredTiles, StoreError> {
    let mut tiles = StoredTiles::new();
    let rows = rows
        .into_iter()
        .map(|(level, index, upto, data)| ((level, index), (upto, data)));
    for ((level, index), parts) in grouped(rows) {
        let key = (
            from_db(level, "tile_parts.level")?,
            from_db(index, "tile_parts.idx")?,
        );
        if let Some(tile) = join_tile(parts)? {
            tiles.insert(key, tile);
        }
    }
    Ok(tiles)
}

/// An entry bundle from its parts, `(upto, codec, data)` in order of
/// `upto`, with its width; `None` if there are none.
///
/// # Errors
///
/// [`StoreError::Corrupt`] for widths out of order, an unknown codec, or a
/// part that does not decompress.
pub(crate) fn join_bundle(
    parts: impl IntoIterator<Item = (i16, i16, Vec<u8>)>,
) -> Result<Option<(u16, Vec<u8>)>, StoreError> {
    let mut bundle: Option<(u16, Vec<u8>)> = None;
    for (upto, codec, data) in parts {
        let upto = upto_from_db(upto, "bundle_parts.upto")?;
        let (width, joined) = bundle.get_or_insert_with(|| (0, Vec::new()));
        if upto <= *width {
            return Err(StoreError::Corrupt {
                column: "bundle_parts.upto",
            });
        }
        *width = upto;
        match BundleCodec::from_db(codec)? {
            BundleCodec::Raw => joined.extend_from_slice(&data),
            BundleCodec::Zstd => {
                let plain = zstd::decode_all(data.as_slice()).map_err(|_| StoreError::Corrupt {
                    column: "bundle_parts.data",
                })?;
                joined.extend_from_slice(&plain);
            }
        }
    }
    Ok(bundle)
}

/// Rows ordered by key, gathered into one list per key, in order.
pub(crate) fn grouped<K: PartialEq, T>(rows: impl IntoIterator<Item = (K, T)>) -> Vec<(K, Vec<T>)> {
    let mut groups: Vec<(K, Vec<T>)> = Vec::new();
    for (key, row) in rows {
        match groups.last_mut() {
            Some((last, group)) if *last == key => group.push(row),
            _ => groups.push((key, vec![row])),
        }
    }
    groups
}

/// The stored form of new bundle bytes: codec and data.
pub(crate) fn compress_bundle(data: &[u8]) -> (i16, Vec<u8>) {
    match zstd::bulk::compress(data, ZSTD_LEVEL) {
        Ok(compressed) => (BundleCodec::Zstd as i16, compressed),
        // zstd fails only when it cannot allocate its context; the raw
        // bytes are as valid a part.
        Err(_) => (BundleCodec::Raw as i16, data.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(from: u8, to: u8) -> Vec<u8> {
        (from..to).flat_map(|n| [n; HASH_SIZE]).collect()
    }

    #[test]
    fn tiles_join_their_parts_in_order() {
        assert_eq!(join_tile([]).expect("no parts"), None);
        let parts = [(3, hashes(0, 3)), (4, hashes(3, 4)), (10, hashes(4, 10))];
        assert_eq!(join_tile(parts).expect("join"), Some(hashes(0, 10)));
    }

    #[test]
    fn tile_parts_that_do_not_fit_are_corrupt() {
        let corrupt = |parts: Vec<(i16, Vec<u8>)>| {
            matches!(
                join_tile(parts),
                Err(StoreError::Corrupt {
                    column: "tile_parts.data" | "tile_parts.upto"
                })
            )
        };
        // A part one hash short, a repeated width, widths out of range.
        assert!(corrupt(vec![(2, hashes(0, 1))]));
        assert!(corrupt(vec![(1, hashes(0, 1)), (1, hashes(1, 2))]));
        assert!(corrupt(vec![(0, Vec::new())]));
        assert!(corrupt(vec![(257, hashes(0, 1))]));
    }

    #[test]
    fn rows_are_grouped_by_key_in_order() {
        let rows = [(1, 'a'), (1, 'b'), (2, 'c'), (1, 'd')];
        assert_eq!(
            grouped(rows),
            vec![(1, vec!['a', 'b']), (2, vec!['c']), (1, vec!['d'])]
        );
    }

    #[test]
    fn bundles_join_raw_and_compressed_parts() {
        let first = b"\x00\x05first".to_vec();
        let second = b"\x00\x06second\x00\x05third".to_vec();
        let (codec, compressed) = compress_bundle(&second);
        assert_eq!(codec, BundleCodec::Zstd as i16);
        let joined = join_bundle([
            (1, BundleCodec::Raw as i16, first.clone()),
            (3, codec, compressed),
        ])
        .expect("join");
        assert_eq!(joined, Some((3, [first, second].concat())));
        assert_eq!(join_bundle([]).expect("no parts"), None);
    }

    #[test]
    fn bundle_parts_that_do_not_decode_are_corrupt() {
        let bad_codec = join_bundle([(1, 7, b"x".to_vec())]);
        assert!(matches!(
            bad_codec,
            Err(StoreError::Corrupt {
                column: "bundle_parts.codec"
            })
        ));
        let bad_frame = join_bundle([(1, BundleCodec::Zstd as i16, b"not zstd".to_vec())]);
        assert!(matches!(
            bad_frame,
            Err(StoreError::Corrupt {
                column: "bundle_parts.data"
            })
        ));
        let out_of_order = join_bundle([(2, 0, b"a".to_vec()), (2, 0, b"b".to_vec())]);
        assert!(matches!(
            out_of_order,
            Err(StoreError::Corrupt {
                column: "bundle_parts.upto"
            })
        ));
    }
}
