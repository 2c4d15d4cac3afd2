//! The submit load shared by `submit`, `scale` and `overload`: entries
//! signed before the timed window, concurrent submitters over keep-alive
//! connections, and bundle verification after the window.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rand_core::{OsRng, RngCore};
use sigtrail_client::{LogInfo, Policy};
use sigtrail_merkle::leaf_hash;
use sigtrail_note::{Algorithm, SignerKey, SigningEvent, VerifierKey};
use tokio::net::TcpStream;

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
    /// [`Error::NotPlainHttp`] unless `base` is `http://host:port`; when
    /// the log cannot be reached or announces an unusable key.
    pub async fn open(base: &str, connections: usize) -> Result<Target, Error> {
        // The load speaks plain HTTP/1.1: refuse anything else at once.
        Connection::new(base)?;
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
    pub body: Bytes,
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
    Ok(Prepared {
        body: Bytes::from(body),
        subject,
    })
}

/// How a load run should go.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent submitters.
    pub concurrency: usize,
    /// Stop sending this long after the first request (`None`: send every
    /// prepared entry).
    pub duration: Option<Duration>,
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

/// What one submitter keeps: latencies of 201 answers, with the answer's
/// body (JSON, decoded after the window) when sampled for verification.
type Answer = (Duration, Option<(usize, Bytes)>);

/// An [`Answer`] with its sampled body decoded to the bundle it holds
/// (`None`: the body was not the JSON of a 201).
type Decoded = (Duration, Option<(usize, Option<String>)>);

/// Drives the log with `entries` under `load`, printing progress to stderr
/// every second, then verifies the sampled bundles on every core. Every
/// submitter opens its connection before the clock starts, so the window
/// measures a log under load, not the set-up of hundreds of connections.
///
/// # Errors
///
/// When a submitter cannot connect, or a submitter task fails.
pub async fn drive(
    target: &Target,
    entries: Arc<Vec<Prepared>>,
    load: Load,
) -> Result<Outcome, Error> {
    let concurrency = load.concurrency.max(1);
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(BTreeMap::new()));
    let start = Arc::new(tokio::sync::Barrier::new(concurrency + 1));
    let connections = connect_all(&target.base, concurrency).await?;
    let workers: Vec<_> = connections
        .into_iter()
        .map(|connection| {
            let submitter = Submitter {
                entries: entries.clone(),
                next: next.clone(),
                acked: acked.clone(),
                errors: errors.clone(),
                load,
            };
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                submitter.run(connection).await
            })
        })
        .collect();
    let clock = CpuClock::start(load.server_pid)?;
    let started = Instant::now();
    start.wait().await;
    let progress = tokio::spawn(report_progress(acked.clone(), started));
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
    let answers: Vec<Decoded> = answers
        .into_iter()
        .map(|(latency, sampled)| (latency, sampled.map(|(i, body)| (i, proof_of(&body)))))
        .collect();
    let verdicts = verify_sampled(&target.policy, &entries, &answers, |(_, sampled)| {
        sampled
            .as_ref()
            .map(|(i, proof)| (*i, proof.as_deref().unwrap_or_default()))
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

/// The bundle in a 201 answer's body, `{"index": N, "proof": "…"}`.
fn proof_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Created {
        proof: String,
    }
    serde_json::from_slice::<Created>(body)
        .ok()
        .map(|c| c.proof)
}

/// How many connections [`connect_all`] opens at once: a listen backlog
/// overflowed by a burst of connections costs a second-long SYN retry.
const CONNECT_AT_ONCE: usize = 64;

/// Opens `count` connections to the log at `base`.
pub(crate) async fn connect_all(base: &str, count: usize) -> Result<Vec<Connection>, Error> {
    let mut connections = Vec::with_capacity(count);
    while connections.len() < count {
        let mut opening = tokio::task::JoinSet::new();
        for _ in 0..CONNECT_AT_ONCE.min(count - connections.len()) {
            let mut connection = Connection::new(base)?;
            opening.spawn(async move {
                connection.sender = Some(connection.connect().await?);
                Ok::<_, Error>(connection)
            });
        }
        while let Some(opened) = opening.join_next().await {
            connections.push(opened??);
        }
    }
    Ok(connections)
}

struct Submitter {
    entries: Arc<Vec<Prepared>>,
    next: Arc<AtomicUsize>,
    acked: Arc<AtomicU64>,
    errors: Arc<Mutex<BTreeMap<String, u64>>>,
    load: Load,
}

impl Submitter {
    async fn run(self, mut connection: Connection) -> Vec<Answer> {
        let deadline = self.load.duration.map(|d| Instant::now() + d);
        let mut answers = Vec::new();
        while deadline.is_none_or(|d| Instant::now() < d) {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(entry) = self.entries.get(i) else {
                break;
            };
            let sent = Instant::now();
            match connection.post(ENTRIES_PATH, entry.body.clone()).await {
                Ok((201, body)) => {
                    let latency = sent.elapsed();
                    self.acked.fetch_add(1, Ordering::Relaxed);
                    // A copy: the answer's bytes share the connection's read
                    // buffer, several times their size, which a kept answer
                    // would pin (gigabytes over a long run).
                    let sampled = i
                        .is_multiple_of(self.load.verify_every.max(1))
                        .then(|| (i, Bytes::copy_from_slice(&body)));
                    answers.push((latency, sampled));
                }
                Ok((status, _)) => {
                    let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                    *errors.entry(status.to_string()).or_default() += 1;
                }
                Err(kind) => {
                    let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
                    *errors.entry(kind).or_default() += 1;
                }
            }
        }
        answers
    }
}

/// The path submissions are posted to.
const ENTRIES_PATH: &str = "/api/v1/entries";

/// One task's own keep-alive HTTP/1.1 connection to the log: no pool
/// shared between tasks and no copy of the request body, so that the load
/// generator spends as little of the machine as it can. Reconnects after
/// a failure.
pub(crate) struct Connection {
    /// `host:port` of the log.
    authority: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    /// A connection to the log at `base`, opened on first use.
    ///
    /// # Errors
    ///
    /// [`Error::NotPlainHttp`] unless `base` is `http://host:port`.
    fn new(base: &str) -> Result<Connection, Error> {
        let not_plain = || Error::NotPlainHttp {
            base: base.to_owned(),
        };
        let authority = base.strip_prefix("http://").ok_or_else(not_plain)?;
        let authority = authority.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(not_plain());
        }
        Ok(Connection {
            authority: authority.to_owned(),
            sender: None,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, Error> {
        let failed = |source| Error::Connect {
            authority: self.authority.clone(),
            source,
        };
        let stream = TcpStream::connect(&self.authority).await.map_err(failed)?;
        stream.set_nodelay(true).map_err(failed)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed(std::io::Error::other(e)))?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Posts a JSON `body` to `path`; returns the status and the whole
    /// answer, or `transport` when the connection failed.
    async fn post(&mut self, path: &str, body: Bytes) -> Result<(u16, Bytes), String> {
        let request = Request::post(path)
            .header(HOST, &self.authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body));
        self.send(request).await
    }

    /// Gets `path`; returns the status and the whole answer, or
    /// `transport` when the connection failed.
    pub(crate) async fn get(&mut self, path: &str) -> Result<(u16, Bytes), String> {
        let request = Request::get(path)
            .header(HOST, &self.authority)
            .body(Full::new(Bytes::new()));
        self.send(request).await
    }

    async fn send(
        &mut self,
        request: Result<Request<Full<Bytes>>, hyper::http::Error>,
    ) -> Result<(u16, Bytes), String> {
        let transport = |_| "transport".to_owned();
        let request = request.map_err(|_| "bad request".to_owned())?;
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await.map_err(|_| "transport".to_owned())?,
        };
        sender.ready().await.map_err(transport)?;
        let response = sender.send_request(request).await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        self.sender = Some(sender);
        Ok((status, body))
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
