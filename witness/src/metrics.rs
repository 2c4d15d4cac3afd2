//! Prometheus metrics: add-checkpoint answers by status, and per log the
//! cosigned tree size and the fork evidence kept, read from the store at
//! each scrape so they survive restarts.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::store::LogSummary;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OriginLabel {
    origin: String,
}

/// The witness's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<StatusLabel, Counter>,
    tree_size: Family<OriginLabel, Gauge>,
    forks: Family<OriginLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<StatusLabel, Counter>::default();
        let tree_size = Family::<OriginLabel, Gauge>::default();
        let forks = Family::<OriginLabel, Gauge>::default();
        let mut registry = Registry::with_prefix("sigtrail_witness");
        registry.register(
            "add_checkpoint_requests",
            "add-checkpoint requests answered, by HTTP status",
            requests.clone(),
        );
        registry.register(
            "tree_size",
            "Size of the latest checkpoint cosigned, per log",
            tree_size.clone(),
        );
        registry.register(
            "fork_evidence",
            "Conflicting checkpoints kept as fork evidence, per log (alert on any)",
            forks.clone(),
        );
        Metrics {
            registry,
            requests,
            tree_size,
            forks,
        }
    }
}

impl Metrics {
    /// Counts an add-checkpoint answer.
    pub fn count_request(&self, status: u16) {
        self.requests.get_or_create(&StatusLabel { status }).inc();
    }

    /// The Prometheus text exposition, with the per-log gauges set from
    /// `logs`.
    pub fn encode(&self, logs: &[LogSummary]) -> String {
        for log in logs {
            let label = OriginLabel {
                origin: log.origin.clone(),
            };
            self.tree_size
                .get_or_create(&label)
                .set(i64::try_from(log.tree_size).unwrap_or(i64::MAX));
            self.forks
                .get_or_create(&label)
                .set(i64::try_from(log.forks).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
