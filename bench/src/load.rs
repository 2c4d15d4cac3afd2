//! The submit load shared by `submit`, `scale` and `overload`: entries
//! signed before the timed window, concurrent submitters over keep-alive
//! connections, and bundle verification after the window.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_core::{OsRng, RngCore};
use sigtrail_client::{LogInfo, Policy};
use sigtrail_merkle::leaf_hash;
use sigtrail_note::{Algorithm, SignerKey, SigningEvent, VerifierKey};

use crate::cpu::{CpuClock, CpuUse};
use crate::Error;

/// The log under test: its base URL, an HTTP client with a keep-alive pool,
/// and a policy trusting the key the log announces.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, without a trailing slash.
    pub base: String,
    /// The HTTP client, shared by all tasks.
    pub http: reqwest::Client,
    /// Trusts the log's key (as `GET /api/v1/log` names it) and no witness.
    pub policy: Arc<Policy>,
}

impl Target {
    /// Connects to the log at `base` with room for `connections` idle
    /// keep-alive connections, and reads its key.
    ///
    /// # Errors
    ///
    /// When the log cannot be reached or announces an unusable key.
    pub async fn open(base: &str, connections: usize) -> Result<Target, Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(Duration::from_secs(60))
            .build()?;
        let base = base.trim_end_matches('/').to_owned();
        let info = log_info(&http, &base).await?;
        let key = VerifierKey::from_str(&info.vkey)?;
        let policy = Arc::new(Policy::k_of_n(key, Vec::new(), 0)?);
        Ok(Target { base, http, policy })
    }

    /// The log's current tree size.
    ///
    /// # Errors
    ///
    /// When the log does not answer `GET /api/v1/log`.
    pub async fn size(&self) -> Result<u64, Error> {
        Ok(log_info(&self.http, &self.base).await?.size)
    }

    /// The URL of `path` on the log.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
}

async fn log_info(http: &reqwest::Client, base: &str) -> Result<LogInfo, Error> {
    let url = format!("{base}/api/v1/log");
    let response = http.get(&url).send().await?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(Error::Status { url, status });
    }
    Ok(response.json().await?)
}

/// A signed entry ready to send: its request body and artifact digest.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// `{"entry": "<signed note>"}`.
    pub body: String,
    /// The artifact digest the entry states.
    pub subject: [u8; 32],
}

/// Signs `count` distinct entries with a signer whose seed is random for
/// this run, so a rerun never submits duplicates. Uses every core.
///
/// # Errors
///
/// When signing fails.
pub fn presign(count: usize) -> Result<Vec<Prepared>, Error> {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let signer = SignerKey::from_seed("bench.sigtrail.example", Algorithm::Ed25519, &seed)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(cores).max(1);
    let chunks: Vec<Result<Vec<Prepared>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let signer = &signer;
                scope.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(|n| prepare(signer, &seed, n as u64))
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::with_capacity(count);
    for chunk in chunks {
        out.extend(chunk?);
    }
    Ok(out)
}

fn prepare(signer: &SignerKey, seed: &[u8; 32], n: u64) -> Result<Prepared, Error> {
    let subject = leaf_hash(&[&seed[..], &n.to_be_bytes()].concat()).0;
    let entry = SigningEvent {
        subject,
        name: format!(
            "pkg:generic/bench-{:08x}@1.0.{n}",
            u32::from_be_bytes([seed[0], seed[1], seed[2], seed[3]])
        ),
        key: signer.verifier_key().clone(),
        time: 1_764_064_800 + n,
    }
    .sign(signer)?;
    let body =
        serde_json::json!({ "entry": String::from_utf8_lossy(entry.as_bytes()) }).to_string();
    Ok(Prepared { body, subject })
}

/// How a load run should go.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent submitters.
    pub concurrency: usize,
    /// Stop sending when this passes (`None`: send every prepared entry).
    pub deadline: Option<Instant>,
    /// Verify the bundle of every `verify_every`-th 201 answer (1: all).
    pub verify_every: usize,
    /// The server process, whose CPU time is measured with the window's.
    pub server_pid: Option<u32>,
}

/// What a load run saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// From the first request to the last answer.
    pub elapsed: Duration,
    /// Latency of each 201 answer whose bundle verified (or was not sampled).
    pub latencies: Vec<Duration>,
    /// Failures by kind: HTTP status, `transport`, `unverified`.
    pub errors: BTreeMap<String, u64>,
    /// Bundles verified with `sigtrail-client`.
    pub verified: u64,
    /// CPU time the window used, per 201 answer.
    pub cpu: CpuUse,
}

impl Outcome {
    /// Acknowledged submissions.
    pub fn acknowledged(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// Acknowledged submissions per second.
    pub fn per_second(&self) -> f64 {
        self.acknowledged() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// All failures.
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// What one submitter keeps: latencies of 201 answers, with the bundle
/// when sampled for verification.
type Answer = (Duration, Option<(usize, String)>);

/// Drives the log with `entries` under `load`, printing progress to stderr
/// every second, then verifies the sampled bundles on every core.
///
/// # Errors
///
/// When a submitter task fails.
pub async fn drive(
    target: &Target,
    entries: Arc<Vec<Prepared>>,
    load: Load,
) -> Result<Outcome, Error> {
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(BTreeMap::new()));
    let clock = CpuClock::start(load.server_pid)?;
    let started = Instant::now();
    let progress = tokio::spawn(report_progress(acked.clone(), started));
    let workers: Vec<_> = (0..load.concurrency.max(1))
        .map(|_| {
            let submitter = Submitter {
                target: target.clone(),
                entries: entries.clone(),
                next: next.clone(),
                acked: acked.clone(),
                errors: errors.clone(),
                load,
            };
            tokio::spawn(submitter.run())
        })
        .collect();
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await?);
    }
    let elapsed = started.elapsed();
    let cpu = clock.stop(acked.load(Ordering::Relaxed))?;
    progress.abort();
    let errors = std::mem::take(&mut *errors.lock().unwrap_or_else(|p| p.into_inner()));
    let mut outcome = Outcome {
        elapsed,
        errors,
        cpu,
        ..Outcome::default()
    };
    let verdicts = verify_sampled(&target.policy, &entries, &answers, |(_, sampled)| {
        sampled.as_ref().map(|(i, proof)| (*i, proof.as_str()))
    });
    for ((latency, sampled), ok) in answers.into_iter().zip(verdicts) {
        outcome.verified += u64::from(sampled.is_some() && ok);
        if ok {
            outcome.latencies.push(latency);
        } else {
            *outcome.errors.entry("unverified".to_owned()).or_default() += 1;
        }
    }
    Ok(outcome)
}

async fn report_progress(acked: Arc<AtomicU64>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let n = acked.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "  {secs:5.1} s  {n} answered 201  ({:.0}/s)",
            n as f64 / secs
        );
    }
}

struct Submitter {
    target: Target,
    entries: Arc<Vec<Prepared>>,
    next: Arc<AtomicUsize>,
    acked: Arc<AtomicU64>,
    errors: Arc<Mutex<BTreeMap<String, u64>>>,
    load: Load,
}

impl Submitter {
    async fn run(self) -> Vec<Answer> {
        let url = self.target.url("api/v1/entries");
        let mut answers = Vec::new();
        while self.load.deadline.is_none_or(|d| Instant::now() < d) {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = self.entries.get(i) else {
                break;
            };
            let sent = Instant::now();
            match self.send(&url, &entry.body).await {
                Ok(proof) => {
                    self.acked.fetch_add(1, Ordering::Relaxed);
                    let sampled = (i % self.load.verify_every.max(1) == 0).then_some((i, proof));
                    answers.push((sent.elapsed(), sampled));
                }
                Err(kind) => {
                    let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                    *errors.entry(kind).or_default() += 1;
                }
            }
        }
        answers
    }

    /// The bundle of a 201 answer, or the kind of failure.
    async fn send(&self, url: &str, body: &str) -> Result<String, String> {
        #[derive(serde::Deserialize)]
        struct Answer {
            proof: String,
        }
        let response = self
            .target
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .map_err(|_| "transport".to_owned())?;
        let status = response.status().as_u16();
        if status != 201 {
            return Err(status.to_string());
        }
        let answer: Answer = response.json().await.map_err(|_| "bad answer".to_owned())?;
        Ok(answer.proof)
    }
}

/// Whether each answer is acknowledged: unsampled answers are, sampled
/// ones only if their bundle verifies for the entry that was sent.
/// `sample` gives the entry's index and the bundle of a sampled answer.
/// Uses every core.
pub fn verify_sampled<A: Sync>(
    policy: &Policy,
    entries: &[Prepared],
    answers: &[A],
    sample: impl Fn(&A) -> Option<(usize, &str)> + Sync,
) -> Vec<bool> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = answers.len().div_ceil(cores).max(1);
    let sample = &sample;
    std::thread::scope(|scope| {
        let handles: Vec<_> = answers
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|answer| match sample(answer) {
                            None => true,
                            Some((i, proof)) => entries.get(i).is_some_and(|e| {
                                sigtrail_client::verify_bundle(policy, proof.as_bytes(), &e.subject)
                                    .is_ok()
                            }),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
