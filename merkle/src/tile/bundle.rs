//! Entry bundles: entries each prefixed by its length as a big-endian `u16`.

use crate::Error;

/// Encodes entries into an entry bundle.
///
/// # Errors
///
/// [`Error::EntryTooLong`] when an entry is longer than 65535 bytes.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for entry in entries {
        let len =
            u16::try_from(entry.len()).map_err(|_| Error::EntryTooLong { len: entry.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries. An empty input is an empty list;
/// the caller checks the count against the bundle's width.
///
/// # Errors
///
/// [`Error::TruncatedBundle`] when the data ends inside a length prefix or an
/// entry.
pub fn decode_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut entries = Vec::new();
    let mut rest = data;
    while let Some((prefix, tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes(*prefix));
        let entry = tail.get(..len).ok_or(Error::TruncatedBundle)?;
        entries.push(entry);
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return Err(Error::TruncatedBundle);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_bytes() {
        let bundle = encode_entry_bundle([&b"ab"[..], b"", b"c"]).unwrap();
        assert_eq!(bundle, b"\x00\x02ab\x00\x00\x00\x01c");
        assert_eq!(
            decode_entry_bundle(&bundle).unwrap(),
            vec![&b"ab"[..], b"", b"c"]
        );
        assert_eq!(decode_entry_bundle(b""), Ok(vec![]));
    }

    #[test]
    fn limits_and_truncation() {
        let big = vec![7u8; 65535];
        let bundle = encode_entry_bundle([&big[..]]).unwrap();
        assert_eq!(&bundle[..2], b"\xff\xff");
        assert_eq!(decode_entry_bundle(&bundle).unwrap(), vec![&big[..]]);
        let too_big = vec![7u8; 65536];
        assert_eq!(
            encode_entry_bundle([&too_big[..]]),
            Err(Error::EntryTooLong { len: 65536 })
        );
        assert_eq!(decode_entry_bundle(b"\x00"), Err(Error::TruncatedBundle));
        assert_eq!(
            decode_entry_bundle(b"\x00\x02a"),
            Err(Error::TruncatedBundle)
        );
        assert_eq!(
            decode_entry_bundle(b"\x00\x01a\x00"),
            Err(Error::TruncatedBundle)
        );
    }
}
