//! `submit`: acknowledged submissions per second against a running log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::cpu::CpuUse;
use crate::load::{drive, presign, Load, Target};
use crate::stats::{per_second, Latency, Table};
use crate::Error;

/// Settings of a submit run.
#[derive(Debug, Clone)]
pub struct SubmitSettings {
    /// Base URL of the log.
    pub log: String,
    /// Concurrent submitters.
    pub concurrency: usize,
    /// Length of the timed window.
    pub duration: Duration,
    /// Entries signed before the window; the run stops early if it uses them all.
    pub entries: usize,
    /// Verify every n-th bundle (1: all).
    pub verify_every: usize,
    /// The server process, to measure its CPU time too.
    pub server_pid: Option<u32>,
}

/// The figures of a submit run.
#[derive(Debug, Clone, Serialize)]
pub struct SubmitReport {
    /// Concurrent submitters.
    pub concurrency: usize,
    /// Seconds from the first request to the last answer.
    pub seconds: f64,
    /// Submissions answered 201 whose bundle verified (or was not sampled).
    pub acknowledged: u64,
    /// Acknowledged submissions per second.
    pub per_second: f64,
    /// Bundles verified with `sigtrail-client`.
    pub verified: u64,
    /// Latency of acknowledged submissions, request to bundle.
    #[serde(flatten)]
    pub latency: Latency,
    /// All failures.
    pub errors: u64,
    /// Failures by HTTP status, `transport`, `bad answer` or `unverified`.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Whether every signed entry was sent before the window closed.
    pub exhausted: bool,
    /// Tree size before the run.
    pub size_before: u64,
    /// Tree size after the run.
    pub size_after: u64,
    /// CPU time the window used per acknowledged submission.
    pub cpu: CpuUse,
}

impl SubmitReport {
    /// The summary table.
    pub fn table(&self) -> Table {
        let mut table = Table::default();
        table
            .row("concurrent submitters", self.concurrency)
            .row("seconds", format!("{:.1}", self.seconds))
            .row("acknowledged submissions", self.acknowledged)
            .row("acknowledged submissions/s", per_second(self.per_second))
            .row("bundles verified", self.verified)
            .row("latency p50 (ms)", format!("{:.1}", self.latency.p50_ms))
            .row("latency p90 (ms)", format!("{:.1}", self.latency.p90_ms))
            .row("latency p99 (ms)", format!("{:.1}", self.latency.p99_ms))
            .row("latency max (ms)", format!("{:.1}", self.latency.max_ms))
            .row("errors", self.errors);
        for (kind, count) in &self.errors_by_kind {
            table.row(format!("  errors {kind}"), count);
        }
        table
            .row("signed entries exhausted", self.exhausted)
            .row("tree size before", self.size_before)
            .row("tree size after", self.size_after)
            .row(
                "load generator CPU per ack (µs)",
                format!("{:.1}", self.cpu.load_us_per_ack),
            );
        if let Some(server) = self.cpu.server_us_per_ack {
            table.row("server CPU per ack (µs)", format!("{server:.1}"));
        }
        table
            .row(
                "rest of the machine CPU per ack (µs)",
                format!("{:.1}", self.cpu.other_us_per_ack),
            )
            .row(
                "busy cores",
                format!("{:.2} of {}", self.cpu.busy_cores, self.cpu.cores),
            );
        table
    }
}

/// Signs the entries, drives the log for the window, verifies the bundles.
///
/// # Errors
///
/// When the log cannot be reached, or signing fails.
pub async fn run(settings: &SubmitSettings) -> Result<SubmitReport, Error> {
    let target = Target::open(&settings.log, settings.concurrency).await?;
    eprintln!("signing {} entries…", settings.entries);
    let entries = Arc::new(presign(settings.entries)?);
    let size_before = target.size().await?;
    eprintln!(
        "submitting from {} concurrent clients for {:?} (tree size {size_before})…",
        settings.concurrency, settings.duration
    );
    let load = Load {
        concurrency: settings.concurrency,
        duration: Some(settings.duration),
        verify_every: settings.verify_every,
        server_pid: settings.server_pid,
    };
    let mut outcome = drive(&target, entries.clone(), load).await?;
    let size_after = target.size().await?;
    let sent = outcome.acknowledged() + outcome.error_total();
    Ok(SubmitReport {
        concurrency: settings.concurrency,
        seconds: outcome.elapsed.as_secs_f64(),
        acknowledged: outcome.acknowledged(),
        per_second: outcome.per_second(),
        verified: outcome.verified,
        latency: Latency::of(&mut outcome.latencies),
        errors: outcome.error_total(),
        errors_by_kind: outcome.errors,
        exhausted: sent >= entries.len() as u64,
        size_before,
        size_after,
        cpu: outcome.cpu,
    })
}
