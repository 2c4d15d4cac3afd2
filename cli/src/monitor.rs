//! `sigtrail monitor`: follow a log, alert on unexpected signings with
//! watched keys, and stop for good on a fork.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use sigtrail_client::monitor::{
    parse_manifest, parse_window, poll, run_command, Alert, Expectations, ForkEvidence,
    MonitorState, Outcome, PollReport, Watch, Webhook,
};
use sigtrail_client::{Client, Policy};

use crate::args::MonitorArgs;
use crate::files::write_atomic;
use crate::{classify, VerificationFailed};

/// Webhook attempts per alert, and the first pause between them.
const WEBHOOK_ATTEMPTS: u32 = 5;
const WEBHOOK_BACKOFF: Duration = Duration::from_millis(200);

/// `sigtrail monitor`.
pub(crate) async fn monitor(args: &MonitorArgs) -> anyhow::Result<()> {
    let policy = crate::trust::policy(&args.trust)?;
    let watch = watch(args)?;
    let client = Client::new(&args.log)?;
    let mut state = read_state(&args.state)?;
    let webhook = args
        .webhook
        .as_deref()
        .map(|url| Webhook::new(url, Duration::from_secs(10)))
        .transpose()?;
    let mut alerts = 0u64;
    loop {
        let mut raised = Vec::new();
        match poll_once(&client, &policy, &watch, &mut state, args, &mut raised).await {
            Ok(Outcome::Advanced(report)) => summary(&report),
            Ok(Outcome::Forked(evidence)) => {
                let alert = fork_alarm(args, &evidence)?;
                emit(&alert);
                raised.push(alert);
                deliver(args, webhook.as_ref(), &raised).await;
                return Err(VerificationFailed(format!(
                    "the log forked; evidence in {}",
                    evidence_path(args).display()
                ))
                .into());
            }
            Err(e) if args.once => return Err(classify(e)),
            Err(e) => eprintln!(
                "sigtrail: monitor: {e}; trying again in {:?}",
                args.interval
            ),
        }
        alerts += raised.len() as u64;
        deliver(args, webhook.as_ref(), &raised).await;
        if args.once {
            break;
        }
        tokio::time::sleep(args.interval).await;
    }
    if alerts > 0 {
        return Err(VerificationFailed(format!("{alerts} alerts")).into());
    }
    Ok(())
}

/// One poll with a progress bar; alerts are printed as they come and
/// collected in `raised` for the hooks.
async fn poll_once(
    client: &Client,
    policy: &Policy,
    watch: &Watch,
    state: &mut MonitorState,
    args: &MonitorArgs,
    raised: &mut Vec<Alert>,
) -> Result<Outcome, sigtrail_client::Error> {
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries checked {elapsed}")
    {
        bar.set_style(style);
    }
    let outcome = poll(
        client,
        policy,
        watch,
        state,
        |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
        |state| save_state(&args.state, state),
        |alert| {
            emit(&alert);
            raised.push(alert);
        },
    )
    .await;
    bar.finish_and_clear();
    outcome
}

fn summary(report: &PollReport) {
    if report.entries_checked > 0 || report.previous_size == 0 {
        eprintln!(
            "sigtrail: monitor: tree size {} (was {}): {} entries checked, {} alerts, {} expected signings seen",
            report.size, report.previous_size, report.entries_checked, report.alerts, report.seen
        );
    }
}

/// Prints an alert as one JSON line on stdout, flushed at once.
fn emit(alert: &Alert) {
    let mut out = std::io::stdout().lock();
    if let Ok(line) = serde_json::to_string(alert) {
        // Nothing sensible is left to do when stdout is gone.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
}

/// Sends alerts to the webhook and the command; a failure is reported on
/// stderr and does not stop the monitor.
async fn deliver(args: &MonitorArgs, webhook: Option<&Webhook>, alerts: &[Alert]) {
    for alert in alerts {
        if let Some(webhook) = webhook {
            if let Err(e) = webhook.post(alert, WEBHOOK_ATTEMPTS, WEBHOOK_BACKOFF).await {
                eprintln!("sigtrail: monitor: {e}");
            }
        }
        if let Some(command) = &args.exec {
            if let Err(e) = run_command(command, alert) {
                eprintln!("sigtrail: monitor: {e}");
            }
        }
    }
}

fn evidence_path(args: &MonitorArgs) -> std::path::PathBuf {
    args.evidence_dir.join("sigtrail-fork-evidence.json")
}

/// Writes the fork evidence and returns the alarm naming it.
fn fork_alarm(args: &MonitorArgs, evidence: &ForkEvidence) -> anyhow::Result<Alert> {
    let path = evidence_path(args);
    std::fs::create_dir_all(&args.evidence_dir)
        .with_context(|| format!("creating {}", args.evidence_dir.display()))?;
    let json = serde_json::json!({
        "log": args.log,
        "old_checkpoint": evidence.old_checkpoint,
        "new_checkpoint": evidence.new_checkpoint,
        "consistency_proof": evidence.proof,
        "error": evidence.error,
    });
    write_atomic(&path, &serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(evidence.alert(Some(path.display().to_string())))
}

/// The watched keys and expectations the flags describe.
fn watch(args: &MonitorArgs) -> anyhow::Result<Watch> {
    let mut keys = args
        .watch
        .iter()
        .map(|k| crate::trust::verifier_key(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(path) = &args.watch_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = line.parse().with_context(|| {
                format!("{} line {}: not a verifier key", path.display(), i + 1)
            })?;
            keys.push(key);
        }
    }
    let manifest = match &args.expect {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(parse_manifest(&text).with_context(|| path.display().to_string())?)
        }
        None => None,
    };
    let windows = args
        .allow_window
        .iter()
        .map(|w| parse_window(w))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Watch {
        keys,
        expect: Expectations {
            manifest,
            names: args.allow_name.clone(),
            windows,
        },
    })
}

fn read_state(path: &Path) -> anyhow::Result<MonitorState> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("state file {} is not a monitor state", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(MonitorState::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn save_state(path: &Path, state: &MonitorState) -> Result<(), sigtrail_client::Error> {
    let json = serde_json::to_vec_pretty(state)
        .map_err(|e| sigtrail_client::Error::SaveState(e.into()))?;
    write_atomic(path, &json).map_err(sigtrail_client::Error::SaveState)
}
