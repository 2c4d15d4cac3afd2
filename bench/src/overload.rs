//! `overload`: an open-loop submit load above what the log sustains, then a
//! lower one, to see how the log refuses what it cannot take and how soon
//! it serves at its target latency again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::load::{presign, verify_sampled, Prepared, Target};
use crate::memory::{resident_memory, Sampler, MIB};
use crate::stats::{per_second, Latency, Table};
use crate::Error;

/// How often the server's resident memory is read.
const RSS_EVERY: Duration = Duration::from_millis(100);

/// Settings of an overload run.
#[derive(Debug, Clone)]
pub struct OverloadSettings {
    /// Base URL of the log.
    pub log: String,
    /// Requests per second offered in the overload phase.
    pub rate: f64,
    /// Length of the overload phase.
    pub duration: Duration,
    /// Requests per second offered in the recovery phase.
    pub recovery_rate: f64,
    /// Length of the recovery phase.
    pub recovery: Duration,
    /// The p99 latency of 201 answers that counts as recovered.
    pub target_p99: Duration,
    /// Requests outstanding at most; a request due beyond it is not sent.
    pub max_in_flight: usize,
    /// The server process, for its resident memory.
    pub server_pid: Option<u32>,
    /// Verify the bundle of every n-th 201 answer (1: all).
    pub verify_every: usize,
}

impl OverloadSettings {
    /// The two phases with their rate and length.
    fn phases(&self) -> [(Phase, f64, Duration); 2] {
        [
            (Phase::Overload, self.rate, self.duration),
            (Phase::Recovery, self.recovery_rate, self.recovery),
        ]
    }
}

/// A phase of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// The offered rate is `--rate`.
    Overload,
    /// The offered rate is `--recovery-rate`.
    Recovery,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Overload => "overload",
            Phase::Recovery => "recovery",
        }
    }
}

/// The figures of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// Requests per second offered.
    pub rate: f64,
    /// Length of the phase.
    pub seconds: f64,
    /// Requests sent.
    pub sent: u64,
    /// Requests due while `--max-in-flight` were outstanding, not sent.
    pub not_sent: u64,
    /// Requests answered 201 whose bundle verified (or was not sampled).
    pub acknowledged: u64,
    /// Acknowledged requests per second of the phase.
    pub per_second: f64,
    /// Bundles verified with `sigtrail-client`.
    pub verified: u64,
    /// Requests answered 503 with a Retry-After header.
    pub rejected_503: u64,
    /// Every other failure.
    pub errors: u64,
    /// Other failures by kind: HTTP status, `503 without Retry-After`,
    /// `transport`, `bad answer`, `unverified`.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Latency of acknowledged requests, request to bundle.
    #[serde(flatten)]
    pub latency: Latency,
    /// Highest resident memory of the server during the phase, if its pid
    /// was given.
    pub max_rss_mib: Option<f64>,
}

/// The requests sent in one second of a phase, with what became of them.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    /// The phase.
    pub phase: Phase,
    /// Seconds from the start of the phase to the start of this one.
    pub second: u64,
    /// Requests sent.
    pub sent: u64,
    /// Requests due but not sent (`--max-in-flight` outstanding).
    pub not_sent: u64,
    /// Acknowledged (201, bundle verified or not sampled).
    pub acknowledged: u64,
    /// Answered 503 with Retry-After.
    pub rejected_503: u64,
    /// Every other failure.
    pub errors: u64,
    /// 99th percentile latency of the acknowledged ones (`None`: none).
    pub p99_ms: Option<f64>,
}

impl Second {
    /// Whether this second meets the target: no refusal or failure of any
    /// kind, and the p99 of its 201 answers at most `target_ms`.
    fn on_target(&self, target_ms: f64) -> bool {
        self.errors == 0
            && self.rejected_503 == 0
            && self.not_sent == 0
            && self.p99_ms.is_none_or(|p99| p99 <= target_ms)
    }
}

/// The figures of an overload run.
#[derive(Debug, Clone, Serialize)]
pub struct OverloadReport {
    /// Requests per second offered in the overload phase.
    pub rate: f64,
    /// Requests per second offered in the recovery phase.
    pub recovery_rate: f64,
    /// The p99 latency that counts as recovered.
    pub target_p99_ms: f64,
    /// The overload phase.
    pub overload: PhaseReport,
    /// The recovery phase.
    pub recovery: PhaseReport,
    /// Each second of both phases.
    pub timeline: Vec<Second>,
    /// Seconds from the start of the recovery phase to the first second
    /// from which on every second is on target (`None`: none is).
    pub recovered_after_s: Option<u64>,
    /// Whether every failure in both phases was a 503 with Retry-After.
    pub only_503_retry_after: bool,
    /// Requests not sent in both phases.
    pub not_sent: u64,
    /// The latest a request was sent after its scheduled time: above a few
    /// milliseconds the load generator did not keep to the rate.
    pub max_send_lag_ms: f64,
    /// Resident memory of the server after the last answer, if its pid was
    /// given.
    pub rss_end_mib: Option<f64>,
    /// Tree size before the run.
    pub size_before: u64,
    /// Tree size after the run.
    pub size_after: u64,
}

impl OverloadReport {
    /// The summary table, the timeline and the verdict line.
    pub fn render(&self) -> String {
        let phases = [&self.overload, &self.recovery];
        let each = |f: &dyn Fn(&PhaseReport) -> String| phases.map(f);
        let mib = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |m| format!("{m:.1}"));
        let mut table = Table::default();
        table
            .cells("", ["overload", "recovery"])
            .cells("offered", each(&|p| per_second(p.rate)))
            .cells("seconds", each(&|p| format!("{:.1}", p.seconds)))
            .cells("sent", each(&|p| p.sent.to_string()))
            .cells(
                "not sent (max in flight)",
                each(&|p| p.not_sent.to_string()),
            )
            .cells("acknowledged", each(&|p| p.acknowledged.to_string()))
            .cells("acknowledged/s", each(&|p| per_second(p.per_second)))
            .cells("bundles verified", each(&|p| p.verified.to_string()))
            .cells(
                "503 with Retry-After",
                each(&|p| p.rejected_503.to_string()),
            )
            .cells("errors", each(&|p| p.errors.to_string()));
        let kinds: std::collections::BTreeSet<&String> = phases
            .iter()
            .flat_map(|p| p.errors_by_kind.keys())
            .collect();
        for kind in kinds {
            let count = |p: &PhaseReport| p.errors_by_kind.get(kind).copied().unwrap_or(0);
            table.cells(format!("  errors {kind}"), each(&|p| count(p).to_string()));
        }
        table
            .cells(
                "latency p50 (ms)",
                each(&|p| format!("{:.1}", p.latency.p50_ms)),
            )
            .cells(
                "latency p99 (ms)",
                each(&|p| format!("{:.1}", p.latency.p99_ms)),
            )
            .cells(
                "latency max (ms)",
                each(&|p| format!("{:.1}", p.latency.max_ms)),
            )
            .cells("max RSS (MiB)", each(&|p| mib(p.max_rss_mib)))
            .row("RSS at the end (MiB)", mib(self.rss_end_mib))
            .row("max send lag (ms)", format!("{:.1}", self.max_send_lag_ms))
            .row("tree size before", self.size_before)
            .row("tree size after", self.size_after);
        let mut out = table.render();
        out.push_str(&format!(
            "\n{:<8}  {:>6}  {:>7}  {:>8}  {:>7}  {:>7}  {:>6}  {:>8}\n",
            "phase", "second", "sent", "not sent", "201", "503", "errors", "p99 ms"
        ));
        for s in &self.timeline {
            out.push_str(&format!(
                "{:<8}  {:>6}  {:>7}  {:>8}  {:>7}  {:>7}  {:>6}  {:>8}\n",
                s.phase.name(),
                s.second,
                s.sent,
                s.not_sent,
                s.acknowledged,
                s.rejected_503,
                s.errors,
                s.p99_ms
                    .map_or_else(|| "-".to_owned(), |p| format!("{p:.1}")),
            ));
        }
        out.push_str(&format!("\n{}\n", self.verdict()));
        out
    }

    /// One line: how the log refused, and when it was back on target.
    pub fn verdict(&self) -> String {
        let refusals = if self.only_503_retry_after {
            "every failure was a 503 with Retry-After"
        } else {
            "NOT every failure was a 503 with Retry-After"
        };
        let recovered = match self.recovered_after_s {
            Some(s) => format!(
                "on target (p99 <= {:.0} ms, no refusal) {s} s into recovery",
                self.target_p99_ms
            ),
            None => format!(
                "NOT back on target (p99 <= {:.0} ms, no refusal) by the end of recovery",
                self.target_p99_ms
            ),
        };
        let held = if self.not_sent > 0 {
            format!(
                "; {} requests not sent: the log held too many open",
                self.not_sent
            )
        } else {
            String::new()
        };
        format!("verdict: {refusals}; {recovered}{held}")
    }
}

/// What became of one request.
#[derive(Debug)]
enum Answer {
    /// 201, with the bundle when sampled for verification.
    Created(Option<String>),
    /// 503, with or without Retry-After.
    Unavailable { retry_after: bool },
    /// Any other status, a transport failure or an unreadable 201 body.
    Failed(String),
    /// Due while `--max-in-flight` requests were outstanding.
    NotSent,
}

/// One scheduled request.
#[derive(Debug)]
struct Record {
    phase: Phase,
    /// The second of the phase it was sent in (or, not sent, was due in).
    second: u64,
    latency: Duration,
    entry: usize,
    answer: Answer,
}

/// What the scheduler, the request tasks and the progress lines share.
struct Shared {
    target: Target,
    url: String,
    entries: Arc<Vec<Prepared>>,
    records: Mutex<Vec<Record>>,
    in_flight: AtomicUsize,
    created: AtomicU64,
    sent: [AtomicU64; 2],
    verify_every: u64,
}

impl Shared {
    fn record(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record);
    }

    async fn submit(self: Arc<Self>, phase: Phase, second: u64, entry: usize) {
        let sent = Instant::now();
        let answer = self.send(entry).await;
        let latency = sent.elapsed();
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.record(Record {
            phase,
            second,
            latency,
            entry,
            answer,
        });
    }

    async fn send(&self, entry: usize) -> Answer {
        #[derive(serde::Deserialize)]
        struct Created {
            proof: String,
        }
        let sent = self
            .target
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(self.entries[entry].body.clone())
            .send()
            .await;
        let Ok(response) = sent else {
            return Answer::Failed("transport".to_owned());
        };
        match response.status().as_u16() {
            201 => match response.json::<Created>().await {
                Ok(created) => {
                    let n = self.created.fetch_add(1, Ordering::Relaxed);
                    Answer::Created(n.is_multiple_of(self.verify_every).then_some(created.proof))
                }
                Err(_) => Answer::Failed("bad answer".to_owned()),
            },
            status => {
                let retry_after = response
                    .headers()
                    .contains_key(reqwest::header::RETRY_AFTER);
                // Read the body so that the connection can be reused.
                let body = response.bytes().await;
                match (status, body) {
                    (_, Err(_)) => Answer::Failed("transport".to_owned()),
                    (503, Ok(_)) => Answer::Unavailable { retry_after },
                    (_, Ok(_)) => Answer::Failed(status.to_string()),
                }
            }
        }
    }

    /// The requests answered so far that were sent in `second` of `phase`.
    fn progress_line(&self, phase: Phase, second: u64, sent: u64) -> String {
        let records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        let (mut created, mut rejected, mut failed, mut not_sent) = (0, 0, 0, 0);
        let mut latencies = Vec::new();
        for r in records
            .iter()
            .filter(|r| r.phase == phase && r.second == second)
        {
            match r.answer {
                Answer::Created(_) => {
                    created += 1;
                    latencies.push(r.latency);
                }
                Answer::Unavailable { .. } => rejected += 1,
                Answer::Failed(_) => failed += 1,
                Answer::NotSent => not_sent += 1,
            }
        }
        drop(records);
        let p99 = if latencies.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.1} ms", Latency::of(&mut latencies).p99_ms)
        };
        format!(
            "  {:<8} {second:>3} s  sent {sent}  201 {created}  503 {rejected}  errors {failed}  \
             not sent {not_sent}  p99 {p99}  in flight {}",
            phase.name(),
            self.in_flight.load(Ordering::Relaxed)
        )
    }
}

/// How many seconds, the last one maybe partial, a phase of `length` has.
fn seconds(length: Duration) -> u64 {
    length.as_secs_f64().ceil() as u64
}

/// The second of a phase of `length` that `at` into it falls in; a request
/// sent late, after the phase's end, counts in its last second.
fn second_of(at: Duration, length: Duration) -> u64 {
    at.as_secs().min(seconds(length).saturating_sub(1))
}

/// How many requests a phase offers.
fn requests(rate: f64, length: Duration) -> usize {
    (rate * length.as_secs_f64()).round() as usize
}

/// Signs the entries, offers the two phases on schedule, waits for every
/// answer, verifies the sampled bundles and sums up.
///
/// # Errors
///
/// When the log cannot be reached, signing fails, or the server's memory
/// cannot be read.
pub async fn run(settings: &OverloadSettings) -> Result<OverloadReport, Error> {
    if let Some(pid) = settings.server_pid {
        resident_memory(pid)?;
    }
    let target = Target::open(&settings.log, settings.max_in_flight).await?;
    let count: usize = settings
        .phases()
        .iter()
        .map(|&(_, rate, length)| requests(rate, length))
        .sum();
    eprintln!("signing {count} entries…");
    let entries = Arc::new(presign(count)?);
    let size_before = target.size().await?;
    eprintln!(
        "offering {}/s for {:?}, then {}/s for {:?} (tree size {size_before})…",
        settings.rate, settings.duration, settings.recovery_rate, settings.recovery
    );
    let shared = Arc::new(Shared {
        url: target.url("api/v1/entries"),
        target: target.clone(),
        entries: entries.clone(),
        records: Mutex::new(Vec::with_capacity(count)),
        in_flight: AtomicUsize::new(0),
        created: AtomicU64::new(0),
        sent: [AtomicU64::new(0), AtomicU64::new(0)],
        verify_every: settings.verify_every.max(1) as u64,
    });
    let start = Instant::now() + Duration::from_millis(50);
    let recovery_start = start + settings.duration;
    let sampler = settings
        .server_pid
        .map(|pid| Sampler::start(pid, RSS_EVERY));
    let progress = tokio::spawn(report_progress(shared.clone(), settings.clone(), start));
    let lag = offer(&shared, settings, start).await;
    progress.abort();
    let lag = lag?;
    let rss = match sampler {
        Some(sampler) => Some(sampler.stop().await?),
        None => None,
    };
    let rss_end = settings.server_pid.map(resident_memory).transpose()?;
    let size_after = target.size().await?;
    let records = std::mem::take(&mut *shared.records.lock().unwrap_or_else(|p| p.into_inner()));
    eprintln!("verifying the sampled bundles…");
    let verdicts = verify_sampled(&target.policy, &entries, &records, |r| match &r.answer {
        Answer::Created(Some(proof)) => Some((r.entry, proof.as_str())),
        _ => None,
    });
    let max_rss = |phase: Phase| {
        rss.as_ref().map(|samples| {
            let in_phase = |at: &Instant| (*at >= recovery_start) == (phase == Phase::Recovery);
            samples
                .iter()
                .filter(|(at, _)| in_phase(at))
                .map(|&(_, bytes)| bytes)
                .max()
                .unwrap_or(0) as f64
                / MIB
        })
    };
    let [(_, rate, length), (_, recovery_rate, recovery_length)] = settings.phases();
    let mut overload = phase_report(Phase::Overload, rate, length, &records, &verdicts);
    overload.max_rss_mib = max_rss(Phase::Overload);
    let mut recovery = phase_report(
        Phase::Recovery,
        recovery_rate,
        recovery_length,
        &records,
        &verdicts,
    );
    recovery.max_rss_mib = max_rss(Phase::Recovery);
    let timeline = timeline(settings, &records, &verdicts);
    let target_ms = settings.target_p99.as_secs_f64() * 1000.0;
    let recovered_after_s = recovered_after(&timeline, target_ms);
    Ok(OverloadReport {
        rate,
        recovery_rate,
        target_p99_ms: target_ms,
        only_503_retry_after: overload.errors == 0 && recovery.errors == 0,
        not_sent: overload.not_sent + recovery.not_sent,
        overload,
        recovery,
        timeline,
        recovered_after_s,
        max_send_lag_ms: lag.as_secs_f64() * 1000.0,
        rss_end_mib: rss_end.map(|b| b as f64 / MIB),
        size_before,
        size_after,
    })
}

/// Sends each phase's requests at their scheduled times, each in a task of
/// its own, then waits for every answer. Returns the latest a request was
/// sent after its time.
async fn offer(
    shared: &Arc<Shared>,
    settings: &OverloadSettings,
    start: Instant,
) -> Result<Duration, Error> {
    let mut tasks = JoinSet::new();
    let mut entry = 0;
    let mut lag = Duration::ZERO;
    let mut phase_start = start;
    for (phase, rate, length) in settings.phases() {
        for k in 0..requests(rate, length) {
            let due = phase_start + Duration::from_secs_f64(k as f64 / rate);
            if due > Instant::now() {
                tokio::time::sleep_until(due.into()).await;
            }
            let now = Instant::now();
            lag = lag.max(now - due);
            if shared.in_flight.load(Ordering::Relaxed) >= settings.max_in_flight {
                shared.record(Record {
                    phase,
                    second: second_of(due - phase_start, length),
                    latency: Duration::ZERO,
                    entry,
                    answer: Answer::NotSent,
                });
            } else {
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
                shared.sent[phase as usize].fetch_add(1, Ordering::Relaxed);
                let second = second_of(now - phase_start, length);
                tasks.spawn(shared.clone().submit(phase, second, entry));
            }
            entry += 1;
            while let Some(done) = tasks.try_join_next() {
                done?;
            }
        }
        phase_start += length;
    }
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    Ok(lag)
}

/// Prints one line at the end of each second of each phase, with the
/// answers in so far to the requests sent in it.
async fn report_progress(shared: Arc<Shared>, settings: OverloadSettings, start: Instant) {
    let mut phase_start = start;
    for (phase, _, length) in settings.phases() {
        let mut sent_before = 0;
        for second in 0..seconds(length) {
            let end = Duration::from_secs(second + 1).min(length);
            tokio::time::sleep_until((phase_start + end).into()).await;
            let sent = shared.sent[phase as usize].load(Ordering::Relaxed);
            eprintln!(
                "{}",
                shared.progress_line(phase, second, sent - sent_before)
            );
            sent_before = sent;
        }
        phase_start += length;
    }
}

/// The failure kind of a record, `None` for an acknowledged request, a 503
/// with Retry-After, or a request not sent.
fn failure(record: &Record, verified: bool) -> Option<&str> {
    match &record.answer {
        Answer::Created(_) if !verified => Some("unverified"),
        Answer::Unavailable { retry_after: false } => Some("503 without Retry-After"),
        Answer::Failed(kind) => Some(kind),
        Answer::Created(_) | Answer::Unavailable { retry_after: true } | Answer::NotSent => None,
    }
}

fn phase_report(
    phase: Phase,
    rate: f64,
    length: Duration,
    records: &[Record],
    verdicts: &[bool],
) -> PhaseReport {
    let mut report = PhaseReport {
        rate,
        seconds: length.as_secs_f64(),
        sent: 0,
        not_sent: 0,
        acknowledged: 0,
        per_second: 0.0,
        verified: 0,
        rejected_503: 0,
        errors: 0,
        errors_by_kind: BTreeMap::new(),
        latency: Latency::default(),
        max_rss_mib: None,
    };
    let mut latencies = Vec::new();
    for (r, &ok) in records
        .iter()
        .zip(verdicts)
        .filter(|(r, _)| r.phase == phase)
    {
        if let Some(kind) = failure(r, ok) {
            report.errors += 1;
            *report.errors_by_kind.entry(kind.to_owned()).or_default() += 1;
        }
        match r.answer {
            Answer::NotSent => report.not_sent += 1,
            Answer::Created(ref sampled) if ok => {
                report.verified += u64::from(sampled.is_some());
                latencies.push(r.latency);
            }
            Answer::Unavailable { retry_after: true } => report.rejected_503 += 1,
            _ => {}
        }
    }
    report.sent = records.iter().filter(|r| r.phase == phase).count() as u64 - report.not_sent;
    report.acknowledged = latencies.len() as u64;
    report.per_second = report.acknowledged as f64 / report.seconds.max(1e-9);
    report.latency = Latency::of(&mut latencies);
    report
}

/// Each second of each phase, by the time its requests were sent.
fn timeline(settings: &OverloadSettings, records: &[Record], verdicts: &[bool]) -> Vec<Second> {
    let mut seconds: BTreeMap<(Phase, u64), (Second, Vec<Duration>)> = settings
        .phases()
        .into_iter()
        .flat_map(|(phase, _, length)| (0..seconds(length)).map(move |second| (phase, second)))
        .map(|(phase, second)| {
            let empty = Second {
                phase,
                second,
                sent: 0,
                not_sent: 0,
                acknowledged: 0,
                rejected_503: 0,
                errors: 0,
                p99_ms: None,
            };
            ((phase, second), (empty, Vec::new()))
        })
        .collect();
    for (r, &ok) in records.iter().zip(verdicts) {
        let Some((s, latencies)) = seconds.get_mut(&(r.phase, r.second)) else {
            continue;
        };
        if failure(r, ok).is_some() {
            s.errors += 1;
        }
        match r.answer {
            Answer::NotSent => s.not_sent += 1,
            Answer::Created(_) if ok => latencies.push(r.latency),
            Answer::Unavailable { retry_after: true } => s.rejected_503 += 1,
            _ => {}
        }
        s.sent += u64::from(!matches!(r.answer, Answer::NotSent));
    }
    seconds
        .into_values()
        .map(|(mut s, mut latencies)| {
            s.acknowledged = latencies.len() as u64;
            s.p99_ms = (!latencies.is_empty()).then(|| Latency::of(&mut latencies).p99_ms);
            s
        })
        .collect()
}

/// The first second of the recovery phase from which on every second is on
/// target.
fn recovered_after(timeline: &[Second], target_ms: f64) -> Option<u64> {
    let recovery: Vec<&Second> = timeline
        .iter()
        .filter(|s| s.phase == Phase::Recovery)
        .collect();
    let bad = recovery.iter().rposition(|s| !s.on_target(target_ms));
    match bad {
        None => recovery.first().map(|s| s.second),
        Some(i) => recovery.get(i + 1).map(|s| s.second),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(n: u64, rejected_503: u64, p99_ms: Option<f64>) -> Second {
        Second {
            phase: Phase::Recovery,
            second: n,
            sent: 10,
            not_sent: 0,
            acknowledged: 10 - rejected_503,
            rejected_503,
            errors: 0,
            p99_ms,
        }
    }

    #[test]
    fn recovery_starts_after_the_last_second_off_target() {
        let seconds = vec![
            second(0, 5, Some(10.0)),
            second(1, 0, Some(10.0)),
            second(2, 0, Some(2000.0)),
            second(3, 0, Some(10.0)),
            second(4, 0, None),
        ];
        assert_eq!(recovered_after(&seconds, 1000.0), Some(3));
        assert_eq!(recovered_after(&seconds, 5000.0), Some(1));
        assert_eq!(recovered_after(&seconds[1..2], 1000.0), Some(1));
        assert_eq!(recovered_after(&seconds[..3], 1000.0), None);
        assert_eq!(recovered_after(&[], 1000.0), None);
    }
}
