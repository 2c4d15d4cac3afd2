//! What a key owner expects to be signed: a manifest of artifact digests in
//! `sha256sum` output format, allowed name globs, allowed time windows.

use std::collections::HashMap;

use sigtrail_note::utc_time::parse_utc;
use sigtrail_note::SigningEvent;

use crate::Error;

/// The signings a key owner expects. An event is expected when it passes
/// every check that is configured; with none configured, nothing is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Digests meant to be signed, with the names the manifest gives them.
    pub manifest: Option<HashMap<[u8; 32], Vec<String>>>,
    /// Globs (`*` any run, `?` one character) the artifact name must match.
    pub names: Vec<String>,
    /// Inclusive `[start, end]` windows, in Unix seconds, the signing time
    /// must fall in.
    pub windows: Vec<(u64, u64)>,
}

impl Expectations {
    /// Why `event` is unexpected, or `None` when it is expected.
    pub fn unexpected(&self, event: &SigningEvent) -> Option<String> {
        if self.manifest.is_none() && self.names.is_empty() && self.windows.is_empty() {
            return Some("no expectations are configured for this key".to_owned());
        }
        if let Some(manifest) = &self.manifest {
            if !manifest.contains_key(&event.subject) {
                return Some(format!(
                    "subject {} is not in the expectations manifest",
                    event.subject_text()
                ));
            }
        }
        if !self.names.is_empty() && !self.names.iter().any(|g| glob_match(g, &event.name)) {
            return Some(format!(
                "name {:?} matches no allowed name glob",
                event.name
            ));
        }
        if !self.windows.is_empty()
            && !self
                .windows
                .iter()
                .any(|&(start, end)| (start..=end).contains(&event.time))
        {
            return Some("signing time is outside every allowed window".to_owned());
        }
        None
    }
}

/// Parses `sha256sum` output: `<64 hex>  <name>` lines (`<64 hex> *<name>`
/// in binary mode); blank lines are skipped.
///
/// # Errors
///
/// [`Error::Manifest`] with the first malformed line's number.
pub fn parse_manifest(text: &str) -> Result<HashMap<[u8; 32], Vec<String>>, Error> {
    let mut manifest: HashMap<[u8; 32], Vec<String>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || Error::Manifest { line: i + 1 };
        let (digest, rest) = line.split_at_checked(64).ok_or_else(bad)?;
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .filter(|n| !n.is_empty())
            .ok_or_else(bad)?;
        let digest = parse_hex32(digest).ok_or_else(bad)?;
        manifest.entry(digest).or_default().push(name.to_owned());
    }
    Ok(manifest)
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    text.bytes().all(|b| b.is_ascii_hexdigit()).then_some(out)
}

/// Parses an allowed window `START/END` (RFC 3339 UTC,
/// `YYYY-MM-DDTHH:MM:SSZ`), inclusive, START not after END.
///
/// # Errors
///
/// [`Error::Window`].
pub fn parse_window(text: &str) -> Result<(u64, u64), Error> {
    let bad = || Error::Window(text.to_owned());
    let (start, end) = text.split_once('/').ok_or_else(bad)?;
    let start = parse_utc(start).map_err(|_| bad())?;
    let end = parse_utc(end).map_err(|_| bad())?;
    if start > end {
        return Err(bad());
    }
    Ok((start, end))
}

/// Whether `name` matches `glob`: `*` matches any run of characters
/// (including none), `?` exactly one, anything else itself.
pub fn glob_match(glob: &str, name: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut g, mut n) = (0, 0);
    // Where the last `*` was, and the name position it is matched up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match glob.get(g) {
            Some('*') => {
                star = Some((g, n));
                g += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                g += 1;
                n += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    g = sg + 1;
                    n = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}
