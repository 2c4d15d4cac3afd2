//! The strict field encodings every format here shares: note text, canonical
//! base64, canonical decimals, lowercase hex and newline-terminated lines.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sigtrail_merkle::{Hash, HASH_SIZE};

use crate::Error;

/// Checks that `bytes` are UTF-8 without ASCII control characters other than
/// newline, the character rule of C2SP signed notes.
pub(crate) fn check_text(bytes: &[u8]) -> Result<&str, Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    match text.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(Error::ControlCharacter {
            offset,
            code: u32::from(bytes[offset]),
        }),
        None => Ok(text),
    }
}

/// Splits a text made of newline-terminated lines into its lines, without
/// their newlines.
pub(crate) fn lines<'a>(text: &'a str, what: &'static str) -> Result<Vec<&'a str>, Error> {
    let body = text
        .strip_suffix('\n')
        .ok_or(Error::MissingFinalNewline { what })?;
    Ok(body.split('\n').collect())
}

/// Splits a body made of header lines, a blank line and a signed note (a
/// tlog-witness request or a tlog proof) at its first blank line: returns
/// the header lines and the bytes after the blank line.
pub(crate) fn split_header<'a>(
    body: &'a [u8],
    what: &'static str,
    max: usize,
) -> Result<(Vec<&'a str>, &'a [u8]), Error> {
    if body.len() > max {
        return Err(Error::TooLarge {
            what,
            got: body.len(),
            max,
        });
    }
    let split = body
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or(Error::MissingBlankLine)?;
    let header = lines(check_text(&body[..=split])?, what)?;
    Ok((header, &body[split + 2..]))
}

/// Standard padded base64.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64, accepting only the canonical encoding
/// (no stray bits in the last character, no missing or extra padding).
pub(crate) fn decode_base64(s: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    let bytes = STANDARD.decode(s).map_err(|_| Error::BadBase64 { what })?;
    if STANDARD.encode(&bytes) != s {
        return Err(Error::BadBase64 { what });
    }
    Ok(bytes)
}

/// Decodes a canonical base64 SHA-256 hash.
pub(crate) fn decode_hash(s: &str, what: &'static str) -> Result<Hash, Error> {
    let bytes = decode_base64(s, what)?;
    Hash::from_slice(&bytes).map_err(|_| Error::WrongLength {
        what,
        got: bytes.len(),
        want: HASH_SIZE,
    })
}

/// Parses an ASCII decimal with no sign and no leading zeroes (except `0`
/// itself) that fits 64 bits.
pub(crate) fn parse_decimal(s: &str, what: &'static str) -> Result<u64, Error> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(Error::BadNumber { what });
    }
    s.parse().map_err(|_| Error::BadNumber { what })
}

/// Decodes lowercase hexadecimal into exactly `N` bytes.
pub(crate) fn decode_lower_hex<const N: usize>(
    s: &str,
    what: &'static str,
) -> Result<[u8; N], Error> {
    if s.len() != 2 * N {
        return Err(Error::WrongLength {
            what,
            got: s.len() / 2,
            want: N,
        });
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        _ => Err(Error::BadHex { what }),
    };
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Ok(out)
}

/// Encodes bytes as lowercase hexadecimal.
pub(crate) fn encode_lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rejects_control_characters_but_newline() {
        assert_eq!(check_text(b"a\nb\n"), Ok("a\nb\n"));
        assert_eq!(
            check_text(b"a\tb"),
            Err(Error::ControlCharacter { offset: 1, code: 9 })
        );
        assert_eq!(
            check_text(b"ab\r\n"),
            Err(Error::ControlCharacter {
                offset: 2,
                code: 13
            })
        );
        assert_eq!(check_text(b"a\xffb"), Err(Error::InvalidUtf8 { offset: 1 }));
    }

    #[test]
    fn lines_need_a_final_newline() {
        assert_eq!(lines("a\nb\n", "t"), Ok(vec!["a", "b"]));
        assert_eq!(lines("a\n\n", "t"), Ok(vec!["a", ""]));
        assert_eq!(
            lines("a\nb", "t"),
            Err(Error::MissingFinalNewline { what: "t" })
        );
    }

    #[test]
    fn base64_is_canonical_only() {
        assert_eq!(decode_base64("YQ==", "x"), Ok(b"a".to_vec()));
        assert_eq!(decode_base64("", "x"), Ok(Vec::new()));
        for bad in [
            "YR==", "YQ", "YQ=", "Y Q==", "YQ==\n", "YQ===", "Y-8=", "Y_8=",
        ] {
            assert_eq!(
                decode_base64(bad, "x"),
                Err(Error::BadBase64 { what: "x" }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decimals_are_canonical_only() {
        assert_eq!(parse_decimal("0", "n"), Ok(0));
        assert_eq!(parse_decimal("18446744073709551615", "n"), Ok(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "0x1",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(
                parse_decimal(bad, "n"),
                Err(Error::BadNumber { what: "n" }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hex_is_lowercase_only() {
        assert_eq!(decode_lower_hex::<2>("0aff", "h"), Ok([0x0a, 0xff]));
        assert_eq!(
            decode_lower_hex::<2>("0AFF", "h"),
            Err(Error::BadHex { what: "h" })
        );
        assert_eq!(
            decode_lower_hex::<2>("0af", "h"),
            Err(Error::WrongLength {
                what: "h",
                got: 1,
                want: 2
            })
        );
        assert_eq!(encode_lower_hex(&[0x0a, 0xff]), "0aff");
    }
}
