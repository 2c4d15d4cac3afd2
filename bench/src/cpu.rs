//! Where the CPU time of a run went: the load generator's own, the
//! server's and the whole machine's, from `/proc`.

use serde::Serialize;

use crate::Error;

/// Clock ticks per second of the times in `/proc/<pid>/stat` and
/// `/proc/stat` (`USER_HZ`, 100 on every Linux architecture this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU seconds spent so far by process `pid` (all its
/// threads), from fields 14 and 15 of `/proc/<pid>/stat`.
///
/// # Errors
///
/// When the file cannot be read or does not have those fields.
pub fn process_seconds(pid: u32) -> Result<f64, Error> {
    let path = format!("/proc/{pid}/stat");
    let stat = read(&path)?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name come field 3 (state) onwards: utime is field 14.
    let ticks = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    match (ticks(14), ticks(15)) {
        (Some(user), Some(system)) => Ok((user + system) as f64 / TICKS_PER_SECOND),
        _ => Err(Error::Proc { path }),
    }
}

/// Busy and total CPU seconds of the whole machine so far, summed over its
/// cores, from the `cpu` line of `/proc/stat` (idle and iowait count as
/// not busy).
///
/// # Errors
///
/// When the file cannot be read or has no `cpu` line.
pub fn machine_seconds() -> Result<(f64, f64), Error> {
    let path = "/proc/stat".to_owned();
    let stat = read(&path)?;
    let ticks: Vec<u64> = stat
        .lines()
        .find_map(|line| line.strip_prefix("cpu "))
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    if ticks.len() < 5 {
        return Err(Error::Proc { path });
    }
    let total: u64 = ticks.iter().sum();
    let idle = ticks[3] + ticks[4];
    Ok((
        (total - idle) as f64 / TICKS_PER_SECOND,
        total as f64 / TICKS_PER_SECOND,
    ))
}

fn read(path: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// CPU readings taken at the start of a timed window.
#[derive(Debug, Clone, Copy)]
pub struct CpuClock {
    load: f64,
    server: Option<(u32, f64)>,
    machine: (f64, f64),
}

/// The CPU time a window used, in microseconds per acknowledged
/// submission, and how many cores the machine kept busy.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuUse {
    /// The load generator's own CPU time per acknowledged submission.
    pub load_us_per_ack: f64,
    /// The server's CPU time per acknowledged submission (with
    /// `--server-pid`).
    pub server_us_per_ack: Option<f64>,
    /// Everything else on the machine (the database, other processes) per
    /// acknowledged submission.
    pub other_us_per_ack: f64,
    /// Busy cores, on average over the window.
    pub busy_cores: f64,
    /// Cores of the machine.
    pub cores: f64,
}

impl CpuClock {
    /// Reads the clocks of this process, of `server` if given, and of the
    /// machine.
    ///
    /// # Errors
    ///
    /// When a `/proc` file cannot be read.
    pub fn start(server: Option<u32>) -> Result<CpuClock, Error> {
        Ok(CpuClock {
            load: process_seconds(std::process::id())?,
            server: server
                .map(|pid| process_seconds(pid).map(|s| (pid, s)))
                .transpose()?,
            machine: machine_seconds()?,
        })
    }

    /// What was used since [`CpuClock::start`], over `acknowledged`
    /// submissions.
    ///
    /// # Errors
    ///
    /// When a `/proc` file cannot be read (the server ended).
    pub fn stop(&self, acknowledged: u64) -> Result<CpuUse, Error> {
        let per_ack = 1e6 / acknowledged.max(1) as f64;
        let load = process_seconds(std::process::id())? - self.load;
        let server = self
            .server
            .map(|(pid, before)| process_seconds(pid).map(|now| now - before))
            .transpose()?;
        let (busy, total) = machine_seconds()?;
        let busy = busy - self.machine.0;
        let total = total - self.machine.1;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let wall = total / cores;
        Ok(CpuUse {
            load_us_per_ack: load * per_ack,
            server_us_per_ack: server.map(|s| s * per_ack),
            other_us_per_ack: (busy - load - server.unwrap_or(0.0)).max(0.0) * per_ack,
            busy_cores: if wall > 0.0 { busy / wall } else { 0.0 },
            cores,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_spends_cpu_time() {
        let before = process_seconds(std::process::id()).expect("own stat");
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed().as_millis() < 100 {
            x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
        }
        let after = process_seconds(std::process::id()).expect("own stat");
        assert!(after >= before + 0.05, "{before} -> {after}");
        let (busy, total) = machine_seconds().expect("/proc/stat");
        assert!(busy > 0.0 && total >= busy, "{busy} of {total}");
    }

    #[test]
    fn a_missing_process_is_an_error() {
        assert!(matches!(process_seconds(u32::MAX), Err(Error::Io { .. })));
    }
}
