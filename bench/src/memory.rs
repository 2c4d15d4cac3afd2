//! Resident memory of the server process, from `/proc/<pid>/status`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::Error;

/// Bytes in a mebibyte.
pub const MIB: f64 = 1_048_576.0;

/// `VmRSS` of process `pid`, in bytes.
///
/// # Errors
///
/// When `/proc/<pid>/status` cannot be read or has no `VmRSS` line.
pub fn resident_memory(pid: u32) -> Result<u64, Error> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or(Error::NoRss { pid })
}

/// Reads the resident memory of a process at a fixed interval in a task of
/// its own until stopped.
#[derive(Debug)]
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<Vec<(Instant, u64)>, Error>>,
}

impl Sampler {
    /// Starts reading the `VmRSS` of `pid` now and then every `every`.
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(every);
            while !stopped.load(Ordering::Relaxed) {
                tick.tick().await;
                samples.push((Instant::now(), resident_memory(pid)?));
            }
            Ok(samples)
        });
        Sampler { stop, task }
    }

    /// Stops reading and returns when each reading was taken, and the bytes.
    ///
    /// # Errors
    ///
    /// When a reading failed (the process ended, or has no `VmRSS`).
    pub async fn stop(self) -> Result<Vec<(Instant, u64)>, Error> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await?
    }
}
