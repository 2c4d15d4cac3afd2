//! Monitoring a log for signings with watched keys: follows the log
//! through its tiles from a saved position, verifies every checkpoint (log
//! signature, witness policy, consistency with the last one seen) and every
//! entry, and turns what the key owner did not expect into [`Alert`]s.

mod expect;
mod hooks;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use sigtrail_note::utc_time::format_utc;
use sigtrail_note::{SignedEntry, VerifierKey};

pub use expect::{glob_match, parse_manifest, parse_window, Expectations};
pub use hooks::{run_command, Webhook};

use crate::audit::{consistency_from_tiles, walk};
use crate::verify::verify_consistency;
use crate::{AuditState, Client, Error, Policy};

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// A watched key signed something the expectations do not allow.
    Unexpected,
    /// An entry names a watched key's name with another key.
    Impersonation,
    /// A logged entry does not parse or its signature does not verify.
    InvalidEntry,
    /// The log's new checkpoint is not consistent with the last one seen.
    Fork,
}

/// One alert, printed as a JSON line and sent to the hooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What happened.
    pub kind: AlertKind,
    /// The verifier key the entry names.
    pub key: Option<String>,
    /// The entry's leaf index.
    pub index: Option<u64>,
    /// The entry's subject, `sha256:<hex>`.
    pub subject: Option<String>,
    /// The entry's artifact name.
    pub name: Option<String>,
    /// The entry's signing time, RFC 3339 UTC.
    pub time: Option<String>,
    /// Why this is an alert.
    pub reason: String,
    /// Where the evidence was written (fork alarms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// An expected signing that was seen in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The entry's leaf index.
    pub index: u64,
    /// The entry's subject, `sha256:<hex>`.
    pub subject: String,
    /// The entry's artifact name.
    pub name: String,
    /// The watched key that signed it.
    pub key: String,
}

/// Proof that the log showed two inconsistent histories: both signed
/// checkpoints and the consistency proof that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkEvidence {
    /// The last checkpoint seen, verbatim.
    pub old_checkpoint: String,
    /// The new checkpoint, verbatim.
    pub new_checkpoint: String,
    /// The consistency proof from the log's tiles, base64 hashes.
    pub proof: Vec<String>,
    /// Why it failed.
    pub error: String,
}

impl ForkEvidence {
    /// The fork alarm for this evidence, saved at `path`.
    pub fn alert(&self, path: Option<String>) -> Alert {
        Alert {
            kind: AlertKind::Fork,
            key: None,
            index: None,
            subject: None,
            name: None,
            time: None,
            reason: format!(
                "the log's checkpoint is not consistent with the last one seen: {}",
                self.error
            ),
            evidence: path,
        }
    }
}

/// What a monitor remembers between runs, saved as JSON in a state file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorState {
    /// The log position and last verified checkpoint.
    pub log: AuditState,
    /// Expected signings seen so far.
    pub seen: Vec<Seen>,
    /// Set once a fork was seen: the monitor never advances past it.
    pub fork: Option<ForkEvidence>,
}

/// The keys watched and what they are expected to sign.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// The watched verifier keys.
    pub keys: Vec<VerifierKey>,
    /// What they are expected to sign.
    pub expect: Expectations,
}

/// What [`Watch::classify`] makes of one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Neither signed by nor claiming a watched key.
    Ignored,
    /// An expected signing by a watched key.
    Seen(Seen),
    /// Something to alert on.
    Alert(Alert),
}

impl Watch {
    /// Classifies the entry at `index`. It counts as signed by a watched
    /// key only when it verifies under that exact key; an entry naming a
    /// watched key's name with another key is impersonation.
    pub fn classify(&self, index: u64, bytes: &[u8]) -> Verdict {
        let entry = match SignedEntry::parse(bytes) {
            Ok(entry) => entry,
            Err(e) => {
                return Verdict::Alert(Alert {
                    kind: AlertKind::InvalidEntry,
                    key: None,
                    index: Some(index),
                    subject: None,
                    name: None,
                    time: None,
                    reason: format!("the logged entry does not verify: {e}"),
                    evidence: None,
                })
            }
        };
        let event = entry.event();
        let alert = |kind, reason| {
            Verdict::Alert(Alert {
                kind,
                key: Some(event.key.to_string()),
                index: Some(index),
                subject: Some(event.subject_text()),
                name: Some(event.name.clone()),
                time: format_utc(event.time).ok(),
                reason,
                evidence: None,
            })
        };
        if self.keys.contains(&event.key) {
            return match self.expect.unexpected(event) {
                Some(reason) => alert(AlertKind::Unexpected, reason),
                None => Verdict::Seen(Seen {
                    index,
                    subject: event.subject_text(),
                    name: event.name.clone(),
                    key: event.key.to_string(),
                }),
            };
        }
        match self.keys.iter().find(|k| k.name() == event.key.name()) {
            Some(watched) => alert(
                AlertKind::Impersonation,
                format!(
                    "signed as {:?} with key {:08x}, not the watched key {:08x}",
                    event.key.name(),
                    event.key.key_id(),
                    watched.key_id()
                ),
            ),
            None => Verdict::Ignored,
        }
    }
}

/// What one [`poll`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PollReport {
    /// Tree size of the previous checkpoint (0 on the first run).
    pub previous_size: u64,
    /// Tree size of the checkpoint verified now.
    pub size: u64,
    /// Entries checked in this poll.
    pub entries_checked: u64,
    /// Alerts raised in this poll.
    pub alerts: u64,
    /// Expected signings seen in this poll.
    pub seen: u64,
}

/// How a [`poll`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The log was followed up to its new checkpoint.
    Advanced(PollReport),
    /// The log forked, now or in an earlier run: nothing was read past it.
    Forked(ForkEvidence),
}

/// Follows the log behind `client` from `state` up to its checkpoint.
///
/// 1. A fork recorded in `state` ends the poll at once.
/// 2. The checkpoint must verify under `policy` and be consistent (by a
///    proof from the log's tiles) with the last one seen; if not, the
///    evidence is recorded in `state`, saved, and returned.
/// 3. Every new entry is verified and classified by `watch`; after each
///    entry bundle (checked against the level 0 tile) its alerts go to
///    `alert`, its expected signings into `state.seen`, then `save` runs,
///    so a restart resumes there without alerting again.
/// 4. The root recomputed from the leaves must be the checkpoint's.
///
/// # Errors
///
/// Transient and state-file errors, checkpoint verification errors, and
/// [`Error::RootMismatch`] / [`Error::TileMismatch`] when the tiles
/// disagree with the checkpoint.
pub async fn poll(
    client: &Client,
    policy: &Policy,
    watch: &Watch,
    state: &mut MonitorState,
    mut progress: impl FnMut(u64, u64),
    mut save: impl FnMut(&MonitorState) -> Result<(), Error>,
    mut alert: impl FnMut(Alert),
) -> Result<Outcome, Error> {
    if let Some(fork) = &state.fork {
        return Ok(Outcome::Forked(fork.clone()));
    }
    let signed = client.checkpoint().await?;
    let head = policy.verify_checkpoint(&signed)?.head;
    let signed = String::from_utf8_lossy(&signed).into_owned();
    let old = state.log.audited_head(policy)?;
    if let Some(fork) = check_fork(client, state, old, &head, &signed).await? {
        state.fork = Some(fork.clone());
        save(state)?;
        return Ok(Outcome::Forked(fork));
    }
    let start = state.log.size;
    let (alerts, seen) = (RefCell::new(Vec::new()), RefCell::new(Vec::new()));
    let mut visit = |index, bytes: &[u8]| {
        match watch.classify(index, bytes) {
            Verdict::Ignored => {}
            Verdict::Seen(s) => seen.borrow_mut().push(s),
            Verdict::Alert(a) => alerts.borrow_mut().push(a),
        }
        Ok(())
    };
    let mut all_seen = std::mem::take(&mut state.seen);
    let (mut alerted, mut seen_now) = (0, 0);
    let mut flush = |log: &AuditState| {
        for a in alerts.borrow_mut().drain(..) {
            alerted += 1;
            alert(a);
        }
        let mut new = seen.borrow_mut();
        seen_now += new.len() as u64;
        all_seen.append(&mut new);
        save(&MonitorState {
            log: log.clone(),
            seen: all_seen.clone(),
            fork: None,
        })
    };
    let mut log = std::mem::take(&mut state.log);
    let walked = walk(
        client,
        &mut log,
        &head,
        &mut visit,
        &mut progress,
        &mut flush,
    )
    .await;
    state.log = log;
    state.seen = all_seen;
    walked?;
    state.log.checkpoint = Some(signed);
    save(state)?;
    Ok(Outcome::Advanced(PollReport {
        previous_size: old.map_or(0, |h| h.size),
        size: head.size,
        entries_checked: head.size - start,
        alerts: alerted,
        seen: seen_now,
    }))
}

/// Checks `head` against the last checkpoint seen (and the leaves already
/// read); evidence of a fork if they are not consistent.
async fn check_fork(
    client: &Client,
    state: &MonitorState,
    old: Option<sigtrail_merkle::TreeHead>,
    head: &sigtrail_merkle::TreeHead,
    signed: &str,
) -> Result<Option<ForkEvidence>, Error> {
    let Some(old) = old else {
        return Ok(None);
    };
    let (proof, result) = if head.size < state.log.size {
        let rollback = Error::Rollback {
            old: state.log.size,
            new: head.size,
        };
        (Vec::new(), Err(rollback))
    } else {
        match consistency_from_tiles(client, old.size, head.size).await {
            Ok(proof) => {
                let result = verify_consistency(&old, head, &proof);
                (proof, result)
            }
            Err(e) if e.is_evidence() => (Vec::new(), Err(e)),
            Err(e) => return Err(e),
        }
    };
    match result {
        Ok(()) => Ok(None),
        Err(e) => Ok(Some(ForkEvidence {
            old_checkpoint: state.log.checkpoint.clone().unwrap_or_default(),
            new_checkpoint: signed.to_owned(),
            proof: proof.iter().map(ToString::to_string).collect(),
            error: e.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests;
