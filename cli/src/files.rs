//! Where entries and bundles live beside the files they are for.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Suffix of an entry file written by `sign`.
pub(crate) const ENTRY_SUFFIX: &str = ".sigtrail-entry";
/// Suffix of a bundle.
pub(crate) const BUNDLE_SUFFIX: &str = ".tlog-proof";

/// `path` with `suffix` appended to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The bundle path for an entry file: `FILE.sigtrail-entry` gives
/// `FILE.tlog-proof`, anything else gets `.tlog-proof` appended.
pub(crate) fn bundle_for_entry(entry: &Path) -> PathBuf {
    match entry.to_str().and_then(|s| s.strip_suffix(ENTRY_SUFFIX)) {
        Some(file) => with_suffix(Path::new(file), BUNDLE_SUFFIX),
        None => with_suffix(entry, BUNDLE_SUFFIX),
    }
}

/// Writes `data` to `path` through a temporary file and a rename, so a
/// reader never sees half a file.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

/// [`write_atomic`] with the path in the error.
pub(crate) fn write_file(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    write_atomic(path, data).with_context(|| format!("writing {}", path.display()))
}

/// The artifact name of a file: its file name.
pub(crate) fn default_name(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{} has no UTF-8 file name; give --name", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_paths() {
        assert_eq!(
            bundle_for_entry(Path::new("d/a.tgz.sigtrail-entry")),
            PathBuf::from("d/a.tgz.tlog-proof")
        );
        assert_eq!(
            bundle_for_entry(Path::new("e")),
            PathBuf::from("e.tlog-proof")
        );
        assert_eq!(with_suffix(Path::new("x/y"), ".z"), PathBuf::from("x/y.z"));
        assert_eq!(default_name(Path::new("x/y.tgz")).unwrap(), "y.tgz");
    }
}
