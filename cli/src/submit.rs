//! `sigtrail submit`: log signing events concurrently and write bundles.

use std::path::PathBuf;

use anyhow::Context as _;
use futures::stream::{self, StreamExt as _};
use indicatif::{ProgressBar, ProgressStyle};
use sigtrail_client::Client;
use sigtrail_note::{SignedEntry, TlogProof};

use crate::args::SubmitArgs;
use crate::files::{bundle_for_entry, with_suffix, write_file, BUNDLE_SUFFIX};
use crate::keys::read_signer_key;
use crate::sign::{check_name, sign_file};

/// Attempts per entry while the log answers 503.
const ATTEMPTS: u32 = 20;

/// One entry to log and where its bundle goes.
struct Job {
    source: PathBuf,
    entry: SignedEntry,
    bundle: PathBuf,
}

/// `sigtrail submit`.
pub(crate) async fn submit(args: &SubmitArgs) -> anyhow::Result<()> {
    let jobs = jobs(args)?;
    let client = Client::new(&args.log)?;
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} submitted {elapsed} {msg}")
            .context("progress bar template")?,
    );
    let mut results = stream::iter(jobs)
        .map(|job| {
            let client = &client;
            async move {
                let outcome = client.submit_with_retry(&job.entry, ATTEMPTS).await;
                (job, outcome)
            }
        })
        .buffer_unordered(args.concurrency.max(1));
    let mut failures = 0;
    while let Some((job, outcome)) = results.next().await {
        bar.inc(1);
        match outcome
            .map_err(anyhow::Error::new)
            .and_then(|s| finish(&job, &s.proof).map(|()| s))
        {
            Ok(submitted) => {
                bar.suspend(|| report(args.json, &job, submitted.index, submitted.new))
            }
            Err(e) => {
                failures += 1;
                bar.suspend(|| eprintln!("{}: {e:#}", job.source.display()));
            }
        }
    }
    bar.finish_and_clear();
    if failures > 0 {
        anyhow::bail!("{failures} of the entries were not logged");
    }
    Ok(())
}

/// Signs the files, or reads the entry files.
fn jobs(args: &SubmitArgs) -> anyhow::Result<Vec<Job>> {
    if let Some(key) = &args.key {
        check_name(args.name.as_deref(), args.files.len())?;
        if args.files.is_empty() {
            anyhow::bail!("give FILEs to sign and submit");
        }
        let key = read_signer_key(key)?;
        return args
            .files
            .iter()
            .map(|file| {
                Ok(Job {
                    entry: sign_file(&key, file, args.name.as_deref())?,
                    bundle: with_suffix(file, BUNDLE_SUFFIX),
                    source: file.clone(),
                })
            })
            .collect();
    }
    args.entry
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let entry = SignedEntry::parse(&bytes)
                .with_context(|| format!("{} is not a valid signed entry", path.display()))?;
            Ok(Job {
                entry,
                bundle: bundle_for_entry(path),
                source: path.clone(),
            })
        })
        .collect()
}

/// Checks the bundle carries the entry, then writes it.
fn finish(job: &Job, proof: &str) -> anyhow::Result<()> {
    let parsed =
        TlogProof::parse(proof.as_bytes()).context("the log answered an invalid bundle")?;
    if parsed.extra.as_deref() != Some(job.entry.as_bytes()) {
        anyhow::bail!("the log answered a bundle for another entry");
    }
    write_file(&job.bundle, proof.as_bytes())
}

fn report(json: bool, job: &Job, index: u64, new: bool) {
    if json {
        let line = serde_json::json!({
            "file": job.source, "bundle": job.bundle, "index": index, "new": new,
        });
        println!("{line}");
    } else {
        let status = if new { "logged" } else { "already logged" };
        println!("{}: {status} at index {index}", job.bundle.display());
    }
}
