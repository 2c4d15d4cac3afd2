//! `sigtrail sign`: signing events made offline.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use sigtrail_client::artifact_digest;
use sigtrail_note::{SignedEntry, SignerKey, SigningEvent};

use crate::args::SignArgs;
use crate::files::{default_name, with_suffix, write_file, ENTRY_SUFFIX};
use crate::keys::read_signer_key;

/// `sigtrail sign`: writes `FILE.sigtrail-entry` for each file.
pub(crate) fn sign(args: &SignArgs) -> anyhow::Result<()> {
    check_name(args.name.as_deref(), args.files.len())?;
    let key = read_signer_key(&args.key)?;
    for file in &args.files {
        let entry = sign_file(&key, file, args.name.as_deref())?;
        let out = with_suffix(file, ENTRY_SUFFIX);
        write_file(&out, entry.as_bytes())?;
        let event = entry.event();
        if args.json {
            let line = serde_json::json!({
                "file": file, "entry": out, "subject": event.subject_text(), "name": event.name,
            });
            println!("{line}");
        } else {
            println!("{}: {} {}", out.display(), event.subject_text(), event.name);
        }
    }
    Ok(())
}

/// `--name` names one artifact: refuse it with several files.
pub(crate) fn check_name(name: Option<&str>, files: usize) -> anyhow::Result<()> {
    if name.is_some() && files != 1 {
        anyhow::bail!("--name needs exactly one FILE, got {files}");
    }
    Ok(())
}

/// Signs the SHA-256 of `file` now, named `name` or the file name.
pub(crate) fn sign_file(
    key: &SignerKey,
    file: &Path,
    name: Option<&str>,
) -> anyhow::Result<SignedEntry> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = match name {
        Some(name) => name.to_owned(),
        None => default_name(file)?,
    };
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_secs();
    SigningEvent {
        subject: artifact_digest(&bytes),
        name,
        key: key.verifier_key().clone(),
        time,
    }
    .sign(key)
    .with_context(|| format!("signing {}", file.display()))
}
