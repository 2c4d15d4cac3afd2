//! Latency summaries, rate loops and the summary table.

use std::time::{Duration, Instant};

use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

impl Latency {
    /// The percentiles of `samples` (nearest rank); all zero when empty.
    pub fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        let at = |p: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            let rank = ((samples.len() - 1) as f64 * p).round() as usize;
            samples[rank].as_secs_f64() * 1000.0
        };
        Latency {
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: at(1.0),
        }
    }
}

/// Runs `work` in rounds of 64 calls until `window` has passed and returns
/// calls per second.
pub fn rate(window: Duration, work: &mut dyn FnMut()) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < window {
        for _ in 0..64 {
            work();
        }
        calls += 64;
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// A table printed at the end of a run: a name and one or more values per
/// row.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<(String, Vec<String>)>,
}

impl Table {
    /// Adds a row with one value.
    pub fn row(&mut self, name: impl Into<String>, value: impl ToString) -> &mut Self {
        self.cells(name, [value])
    }

    /// Adds a row with a value per column.
    pub fn cells<V: ToString>(
        &mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        let values = values.into_iter().map(|v| v.to_string()).collect();
        self.rows.push((name.into(), values));
        self
    }

    /// The table as text, names left-aligned and each column of values
    /// right-aligned.
    pub fn render(&self) -> String {
        let name_width = self.rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        let columns = self.rows.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|(_, v)| v.get(c).map(String::len))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (name, values) in &self.rows {
            out.push_str(&format!("{name:<name_width$}"));
            for (value, width) in values.iter().zip(&widths) {
                out.push_str(&format!("  {value:>width$}"));
            }
            out.push('\n');
        }
        out
    }
}

/// A rate with no decimals, for tables.
pub fn per_second(rate: f64) -> String {
    format!("{rate:.0}/s")
}

/// A small, fast pseudo-random generator (xorshift64*) for picking indexes;
/// not for anything secret.
#[derive(Debug, Clone)]
pub struct Picker(u64);

impl Picker {
    /// A generator seeded by `seed` (zero is replaced by a constant).
    pub fn new(seed: u64) -> Picker {
        Picker(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// A number below `bound` (which must be above zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % bound.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let latency = Latency::of(&mut samples);
        assert_eq!(latency.p50_ms, 51.0);
        assert_eq!(latency.p99_ms, 99.0);
        assert_eq!(latency.max_ms, 100.0);
        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn picker_stays_below_its_bound() {
        let mut picker = Picker::new(0);
        let picks: Vec<u64> = (0..1000).map(|_| picker.below(7)).collect();
        assert!(picks.iter().all(|&p| p < 7));
        assert!((0..7).all(|v| picks.contains(&v)));
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::default();
        table.row("a", 1).row("longer", "22");
        assert_eq!(table.render(), "a        1\nlonger  22\n");
        table.cells("", ["x", "yyy"]);
        assert_eq!(table.render(), "a        1\nlonger  22\n         x  yyy\n");
    }
}
