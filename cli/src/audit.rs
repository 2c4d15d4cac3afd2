//! `sigtrail audit`: the whole log, re-verified from its tiles.

use std::path::Path;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sigtrail_client::{AuditState, Client};

use crate::args::AuditArgs;
use crate::classify;
use crate::files::write_atomic;

/// `sigtrail audit`.
pub(crate) async fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    let policy = crate::trust::policy(&args.trust)?;
    let client = Client::new(&args.log)?;
    let mut state = read_state(&args.state)?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries audited {elapsed}")
            .context("progress bar template")?,
    );
    let state_path = &args.state;
    let report = sigtrail_client::audit(
        &client,
        &policy,
        &mut state,
        |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
        |state| save_state(state_path, state),
    )
    .await;
    bar.finish_and_clear();
    let report = report.map_err(classify)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "audited tree size {} (previously {}): {} new entries verified, root {} recomputed, consistent with the last audit",
            report.size, report.previous_size, report.entries_checked, report.root
        );
    }
    Ok(())
}

fn read_state(path: &Path) -> anyhow::Result<AuditState> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("state file {} is not an audit state", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuditState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_state(path: &Path, state: &AuditState) -> Result<(), sigtrail_client::Error> {
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| sigtrail_client::Error::SaveState(e.into()))?;
    write_atomic(path, &json).map_err(sigtrail_client::Error::SaveState)
}
