//! `read`: proofs, tiles and entry bundles served per second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sigtrail_merkle::{BundleId, TileId};

use crate::cpu::CpuClock;
use crate::load::{connect_all, Target};
use crate::stats::{per_second, Latency, Picker, Table};
use crate::Error;

/// Settings of a read run.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    /// Base URL of the log.
    pub log: String,
    /// Concurrent readers.
    pub concurrency: usize,
    /// Time spent on each of the four kinds of request.
    pub duration: Duration,
    /// The server process, whose CPU time is measured for each kind.
    pub server_pid: Option<u32>,
}

/// The figures of one kind of request.
#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    /// Requests answered 200.
    pub ok: u64,
    /// Answers of 200 per second.
    pub per_second: f64,
    /// 99th percentile latency of the 200 answers.
    pub p99_ms: f64,
    /// Requests that failed or were not answered 200.
    pub errors: u64,
    /// The server's CPU time per 200 answer (with `--server-pid`).
    pub server_us_per_request: Option<f64>,
    /// Answers per second of server CPU time: what one core of the server
    /// serves (with `--server-pid`).
    pub per_server_core: Option<f64>,
}

/// The figures of a read run.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    /// Tree size the requests were drawn from.
    pub size: u64,
    /// Concurrent readers.
    pub concurrency: usize,
    /// `GET /api/v1/proof/inclusion` for random leaves of the current tree.
    pub inclusion: KindReport,
    /// `GET /api/v1/proof/consistency` from a random size to the current one.
    pub consistency: KindReport,
    /// `GET /tile/0/…` for random full level-0 tiles (the partial tile when
    /// the tree has no full one; see `tiles_full`).
    pub tiles: KindReport,
    /// Whether `tiles` and `bundles` fetched full (immutable) ones.
    pub tiles_full: bool,
    /// `GET /tile/entries/…` for random entry bundles.
    pub bundles: KindReport,
}

impl ReadReport {
    /// The summary table.
    pub fn table(&self) -> Table {
        let mut table = Table::default();
        table
            .row("tree size", self.size)
            .row("concurrent readers", self.concurrency);
        let tile = if self.tiles_full { "full" } else { "partial" };
        for (name, kind) in [
            ("inclusion proofs".to_owned(), &self.inclusion),
            ("consistency proofs".to_owned(), &self.consistency),
            (format!("{tile} tiles"), &self.tiles),
            (format!("{tile} entry bundles"), &self.bundles),
        ] {
            table
                .row(format!("{name}/s"), per_second(kind.per_second))
                .row("  p99 (ms)", format!("{:.2}", kind.p99_ms))
                .row("  errors", kind.errors);
            if let Some(rate) = kind.per_server_core {
                table.row("  per core of server CPU", per_second(rate));
            }
        }
        table
    }
}

/// Measures the four kinds of read one after the other.
///
/// # Errors
///
/// When the log cannot be reached or is empty.
pub async fn run(settings: &ReadSettings) -> Result<ReadReport, Error> {
    let target = Target::open(&settings.log, settings.concurrency).await?;
    let size = target.size().await?;
    if size == 0 {
        return Err(Error::LogTooSmall { size, need: 1 });
    }
    let full = size / 256;
    let tiles_full = full > 0;
    let partial = (size % 256) as u16;
    let measure = |name: &'static str, path: Arc<dyn Fn(&mut Picker) -> String + Send + Sync>| {
        eprintln!("{name} for {:?}…", settings.duration);
        let window = Window {
            concurrency: settings.concurrency,
            duration: settings.duration,
            server_pid: settings.server_pid,
        };
        measure(&target, window, path)
    };
    let inclusion = measure(
        "inclusion proofs",
        Arc::new(move |p| {
            format!(
                "/api/v1/proof/inclusion?index={}&size={size}",
                p.below(size)
            )
        }),
    )
    .await?;
    let consistency = measure(
        "consistency proofs",
        Arc::new(move |p| {
            format!(
                "/api/v1/proof/consistency?old={}&new={size}",
                1 + p.below(size)
            )
        }),
    )
    .await?;
    let tile = move |p: &mut Picker| match full {
        0 => TileId {
            level: 0,
            index: 0,
            width: partial,
        },
        _ => TileId {
            level: 0,
            index: p.below(full),
            width: 256,
        },
    };
    let tiles = measure("tiles", Arc::new(move |p| format!("/{}", tile(p).path()))).await?;
    let bundle = move |p: &mut Picker| match full {
        0 => BundleId {
            index: 0,
            width: partial,
        },
        _ => BundleId {
            index: p.below(full),
            width: 256,
        },
    };
    let bundles = measure(
        "entry bundles",
        Arc::new(move |p| format!("/{}", bundle(p).path())),
    )
    .await?;
    Ok(ReadReport {
        size,
        concurrency: settings.concurrency,
        inclusion,
        consistency,
        tiles,
        tiles_full,
        bundles,
    })
}

/// How one kind of read is driven.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Concurrent readers, each on a connection of its own, opened before
    /// the clock starts.
    pub concurrency: usize,
    /// How long they read.
    pub duration: Duration,
    /// The server process, whose CPU time is measured with the window's.
    pub server_pid: Option<u32>,
}

/// Readers fetching `path(…)` (an absolute path) for a window.
pub(crate) async fn measure(
    target: &Target,
    window: Window,
    path: Arc<dyn Fn(&mut Picker) -> String + Send + Sync>,
) -> Result<KindReport, Error> {
    let connections = connect_all(&target.base, window.concurrency.max(1)).await?;
    let clock = CpuClock::start(window.server_pid)?;
    let started = Instant::now();
    let deadline = started + window.duration;
    let workers: Vec<_> = connections
        .into_iter()
        .zip(0u64..)
        .map(|(mut connection, n)| {
            let path = path.clone();
            tokio::spawn(async move {
                let mut picker = Picker::new(n.wrapping_mul(0x9e37_79b9) ^ 0x5eed);
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match connection.get(&path(&mut picker)).await {
                        Ok((200, _)) => latencies.push(sent.elapsed()),
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for worker in workers {
        let (l, e) = worker.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = latencies.len() as u64;
    let cpu = clock.stop(ok)?;
    Ok(KindReport {
        ok,
        per_second: ok as f64 / elapsed,
        p99_ms: Latency::of(&mut latencies).p99_ms,
        errors,
        server_us_per_request: cpu.server_us_per_ack,
        per_server_core: cpu.server_us_per_ack.map(|us| 1e6 / us.max(1e-9)),
    })
}
