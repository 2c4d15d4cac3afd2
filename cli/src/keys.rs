//! Signing keys on disk: `keygen` and reading key files.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use sigtrail_note::{Algorithm, SignerKey};

use crate::args::KeygenArgs;

/// `sigtrail keygen`: writes a new key with mode 0600 and prints its vkey.
pub(crate) fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = SignerKey::generate(&args.name, Algorithm::Ed25519, &mut rand_core::OsRng)
        .context("creating the key")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.out)
        .with_context(|| {
            format!(
                "creating {} (an existing key is never overwritten)",
                args.out.display()
            )
        })?;
    file.write_all(format!("{}\n", key.to_text()).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let vkey = key.verifier_key().to_string();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "vkey": vkey, "key_file": args.out })
        );
    } else {
        println!("{vkey}");
    }
    Ok(())
}

/// Reads a private key file written by `keygen`.
pub(crate) fn read_signer_key(path: &Path) -> anyhow::Result<SignerKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    text.trim_end()
        .parse()
        .with_context(|| format!("key file {} does not hold a signer key", path.display()))
}
