//! Logging and metrics set-up shared by every binary.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::RuntimeSettings;

/// Installs the global `tracing` subscriber of a server: JSON lines in production (or with `LOG_FORMAT=json`),
/// readable text otherwise, on standard output. Safe to call more than once (later calls are ignored), which the
/// test harness relies on.
pub fn init_tracing(runtime: &RuntimeSettings) {
    install(runtime, BoxMakeWriter::new(std::io::stdout), std::io::stdout().is_terminal());
}

/// The same for a command whose standard output is its result (`api jobs status --json`, `worker dead list`):
/// logs go to standard error, so they never mix with what a script reads.
pub fn init_command_tracing(runtime: &RuntimeSettings) {
    install(runtime, BoxMakeWriter::new(std::io::stderr), std::io::stderr().is_terminal());
}

fn install(runtime: &RuntimeSettings, writer: BoxMakeWriter, terminal: bool) {
    let filter = runtime
        .rust_log
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info,lapin=warn,tokio_postgres=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if runtime.json_logs() {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(writer),
            )
            .try_init()
    } else {
        // Colours only on a terminal: log files and pipes get plain text.
        registry.with(tracing_subscriber::fmt::layer().compact().with_ansi(terminal).with_writer(writer)).try_init()
    };
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A job waits in the outbox and the queue for minutes when workers fall behind; the alert on queue lag over a minute
/// needs buckets past the request latencies' 10 s, or every slow job would land in `+Inf` alike.
const QUEUE_LAG_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0];

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| {
            // A full name wins over a suffix, whatever the order of the calls.
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("job_queue_lag_seconds".into()), QUEUE_LAG_BUCKETS)
                })
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test binary); the handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_lag_buckets_reach_past_a_minute_and_request_latencies_stop_at_ten_seconds() {
        let handle = metrics_handle();
        metrics::histogram!("job_queue_lag_seconds", "kind" => "bucket_test").record(90.0);
        metrics::histogram!("http_request_duration_seconds", "route" => "/bucket-test/").record(0.2);
        let text = handle.render();
        assert!(text.contains(r#"job_queue_lag_seconds_bucket{kind="bucket_test",le="60"} 0"#), "{text}");
        assert!(text.contains(r#"job_queue_lag_seconds_bucket{kind="bucket_test",le="120"} 1"#), "{text}");
        let latency_buckets: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("http_request_duration_seconds_bucket{route=\"/bucket-test/\""))
            .collect();
        assert_eq!(latency_buckets.len(), LATENCY_BUCKETS.len() + 1, "{text}");
    }
}
