//! Prometheus metrics: tree size, batches, submissions by outcome.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label of the submission counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

/// The server's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    /// Leaves in the latest checkpoint.
    pub tree_size: Gauge,
    batch_entries: Histogram,
    batch_seconds: Histogram,
    submissions: Family<Outcome, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let tree_size = Gauge::default();
        let batch_entries = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        let batch_seconds = Histogram::new(exponential_buckets(0.000_5, 2.0, 16));
        let submissions = Family::<Outcome, Counter>::default();
        let mut registry = Registry::with_prefix("sigtrail");
        registry.register(
            "tree_size",
            "Leaves in the latest checkpoint",
            tree_size.clone(),
        );
        registry.register(
            "batch_entries",
            "Submissions per integrated batch",
            batch_entries.clone(),
        );
        registry.register(
            "batch_seconds",
            "Time to integrate and commit one batch",
            batch_seconds.clone(),
        );
        registry.register(
            "submissions",
            "Submissions answered, by outcome (new, duplicate, rejected, overloaded, unavailable, unwitnessed)",
            submissions.clone(),
        );
        Self {
            registry,
            tree_size,
            batch_entries,
            batch_seconds,
            submissions,
        }
    }
}

impl Metrics {
    /// Records one integrated batch.
    pub fn observe_batch(&self, entries: usize, elapsed: Duration) {
        self.batch_entries.observe(entries as f64);
        self.batch_seconds.observe(elapsed.as_secs_f64());
    }

    /// Counts one answered submission.
    pub fn count_submission(&self, outcome: &'static str) {
        self.submissions.get_or_create(&Outcome { outcome }).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
