//! `sigtrail verify`: files against their bundles, offline, and optionally
//! the bundles' checkpoints against the log's current one.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sigtrail_client::{artifact_digest, verify_bundle, Client, Policy, VerifiedBundle};
use sigtrail_note::Checkpoint;

use crate::args::VerifyArgs;
use crate::files::{with_suffix, BUNDLE_SUFFIX};
use crate::{classify, VerificationFailed};

/// The outcome for one file.
enum Outcome {
    Verified(Box<VerifiedBundle>),
    Failed(String),
    Error(anyhow::Error),
}

/// `sigtrail verify`.
pub(crate) async fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    if args.bundle.is_some() && args.files.len() != 1 {
        anyhow::bail!("--bundle needs exactly one FILE, got {}", args.files.len());
    }
    let policy = crate::trust::policy(&args.trust)?;
    let online = match &args.log {
        Some(url) => {
            let client = Client::new(url)?;
            let current = current_checkpoint(&client, &policy).await?;
            Some((client, current))
        }
        None => None,
    };
    let (mut failed, mut errors) = (0, 0);
    for file in &args.files {
        let bundle = args
            .bundle
            .clone()
            .unwrap_or_else(|| with_suffix(file, BUNDLE_SUFFIX));
        let mut outcome = check_file(&policy, file, &bundle);
        if let (Some((client, current)), Outcome::Verified(v)) = (&online, &outcome) {
            if let Err(e) = check_online(client, &v.checkpoint, current).await {
                outcome = match classify(e).downcast::<VerificationFailed>() {
                    Ok(failure) => Outcome::Failed(failure.0),
                    Err(e) => Outcome::Error(e),
                };
            }
        }
        match &outcome {
            Outcome::Verified(_) => {}
            Outcome::Failed(_) => failed += 1,
            Outcome::Error(_) => errors += 1,
        }
        print_outcome(args.json, file, &outcome);
    }
    if failed > 0 {
        return Err(VerificationFailed(format!("{failed} of {} files", args.files.len())).into());
    }
    if errors > 0 {
        anyhow::bail!(
            "{errors} of {} files could not be checked",
            args.files.len()
        );
    }
    Ok(())
}

fn check_file(policy: &Policy, file: &Path, bundle: &Path) -> Outcome {
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    let (artifact, bundle) = match (read(file), read(bundle)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Outcome::Error(e),
    };
    match verify_bundle(policy, &bundle, &artifact_digest(&artifact)) {
        Ok(verified) => Outcome::Verified(Box::new(verified)),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// The log's current checkpoint, verified.
async fn current_checkpoint(client: &Client, policy: &Policy) -> anyhow::Result<Checkpoint> {
    let signed = client.checkpoint().await?;
    policy.verify_checkpoint(&signed).map_err(classify)
}

/// The bundle's checkpoint is consistent with the log's current one.
async fn check_online(
    client: &Client,
    bundle: &Checkpoint,
    current: &Checkpoint,
) -> Result<(), sigtrail_client::Error> {
    let (old, new) = (bundle.head, current.head);
    let proof = if old.size == 0 || old.size >= new.size {
        Vec::new()
    } else {
        client.consistency_proof(old.size, new.size).await?
    };
    sigtrail_client::verify_consistency(&old, &new, &proof)
}

fn print_outcome(json: bool, file: &Path, outcome: &Outcome) {
    let file: PathBuf = file.to_path_buf();
    match (json, outcome) {
        (true, Outcome::Verified(v)) => println!(
            "{}",
            serde_json::json!({
                "file": file, "verified": true, "index": v.index,
                "size": v.checkpoint.head.size, "origin": v.checkpoint.origin,
                "name": v.entry.event().name, "key": v.entry.event().key.to_string(),
            })
        ),
        (true, Outcome::Failed(reason)) => println!(
            "{}",
            serde_json::json!({ "file": file, "verified": false, "reason": reason })
        ),
        (true, Outcome::Error(e)) => println!(
            "{}",
            serde_json::json!({ "file": file, "verified": false, "error": format!("{e:#}") })
        ),
        (false, Outcome::Verified(v)) => println!(
            "{}: verified: {} signed by {} at index {} of {} (tree size {})",
            file.display(),
            v.entry.event().name,
            v.entry.event().key.name(),
            v.index,
            v.checkpoint.origin,
            v.checkpoint.head.size
        ),
        (false, Outcome::Failed(reason)) => println!("{}: FAILED: {reason}", file.display()),
        (false, Outcome::Error(e)) => println!("{}: could not check: {e:#}", file.display()),
    }
}
