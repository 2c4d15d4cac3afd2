//! The log's identity: its origin and the key that signs its checkpoints.

use std::path::Path;

use anyhow::{bail, Context as _};
use sigtrail_merkle::TreeHead;
use sigtrail_note::{Algorithm, Checkpoint, Note, SignerKey, VerifierKey};

use crate::store::LogMeta;

/// The version of the log's data formats (entries, entry bundles, tiles and
/// checkpoints as the log serves them) written into `log_meta`. The layout
/// of the tables that hold them is versioned by the schema migrations
/// instead, which carry a log over without changing what it serves.
pub const FORMAT_VERSION: u32 = 1;

/// A log's origin and signing key.
pub struct LogIdentity {
    key: SignerKey,
    vkey: VerifierKey,
}

impl LogIdentity {
    /// Wraps a signer key; the key's name is the log's origin.
    ///
    /// # Errors
    ///
    /// When the key is not an Ed25519 (type 0x01) note key.
    pub fn new(key: SignerKey) -> anyhow::Result<Self> {
        let vkey = key.verifier_key().clone();
        if vkey.algorithm() != Algorithm::Ed25519 {
            bail!("the log key must be an Ed25519 note key (type 0x01)");
        }
        Ok(Self { key, vkey })
    }

    /// Reads a signer key file (`PRIVATE+KEY+…`).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or does not hold an Ed25519 signer key.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the log key {}", path.display()))?;
        let key: SignerKey = text
            .trim_end()
            .parse()
            .with_context(|| format!("parsing the log key {}", path.display()))?;
        Self::new(key)
    }

    /// Makes a new random key for `origin` and writes it to `path` with mode
    /// 0600, refusing to overwrite an existing file.
    ///
    /// # Errors
    ///
    /// When `origin` is not a valid key name or the file cannot be created.
    pub fn create(origin: &str, path: &Path) -> anyhow::Result<Self> {
        let key = SignerKey::generate(origin, Algorithm::Ed25519, &mut rand_core::OsRng)
            .with_context(|| format!("{origin:?} is not a valid log origin"))?;
        write_secret(path, &key.to_text())?;
        Self::new(key)
    }

    /// The log's origin, which is also its key name.
    pub fn origin(&self) -> &str {
        self.vkey.name()
    }

    /// The log's verifier key.
    pub fn vkey(&self) -> &VerifierKey {
        &self.vkey
    }

    /// The `log_meta` record this identity must match.
    pub fn meta(&self) -> LogMeta {
        LogMeta {
            origin: self.origin().to_owned(),
            vkey: self.vkey.to_string(),
            format_version: FORMAT_VERSION,
        }
    }

    /// Signs the checkpoint for a tree head, as C2SP signed-note text.
    ///
    /// # Errors
    ///
    /// Only if the origin could not be a checkpoint's first line, which
    /// [`LogIdentity::new`] already rules out for a key name.
    pub fn sign_checkpoint(&self, head: TreeHead) -> Result<Vec<u8>, sigtrail_note::Error> {
        let body = Checkpoint {
            origin: self.origin().to_owned(),
            head,
            extensions: Vec::new(),
        };
        Ok(Note::sign(&body.to_text(), &[&self.key])?
            .to_text()
            .into_bytes())
    }
}

/// Writes a new file readable only by its owner; never overwrites.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the key file {}", path.display()))?;
    writeln!(file, "{text}").with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))
}
