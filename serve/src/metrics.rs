//! Prometheus metrics: request counts and latency histograms by route, model and status.

use std::{
    collections::HashMap,
    fmt::Write,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Histogram bucket bounds, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default)]
struct Series {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

type Key = (String, String, u16);

/// All series. Recording takes a read lock and atomics; a new label set takes the write lock once.
#[derive(Debug, Default)]
pub struct Metrics {
    series: RwLock<HashMap<Key, Arc<Series>>>,
    pub reloads: AtomicU64,
    pub reload_failures: AtomicU64,
    /// Connections answered 503 because `max_connections` were open.
    pub connections_refused: AtomicU64,
    /// Requests answered 408 because their body did not arrive within the deadline.
    pub request_timeouts: AtomicU64,
}

impl Metrics {
    /// Records one request. `model` is `""` when the route has none (or the model is unknown,
    /// so that request paths cannot create unbounded label values).
    pub fn record(&self, route: &str, model: &str, status: u16, elapsed: Duration) {
        let series = {
            let map = self.series.read().expect("metrics lock");
            map.iter()
                .find(|((r, m, s), _)| r == route && m == model && *s == status)
                .map(|(_, v)| v.clone())
        };
        let series = match series {
            Some(s) => s,
            None => self
                .series
                .write()
                .expect("metrics lock")
                .entry((route.to_string(), model.to_string(), status))
                .or_default()
                .clone(),
        };
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            series.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        series.count.fetch_add(1, Ordering::Relaxed);
        series
            .sum_nanos
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, models_loaded: usize) -> String {
        let mut out = String::new();
        let map = self.series.read().expect("metrics lock");
        let mut keys: Vec<&Key> = map.keys().collect();
        keys.sort();
        let _ = writeln!(
            out,
            "# HELP reviewlake_http_requests_total HTTP requests by route, model and status."
        );
        let _ = writeln!(out, "# TYPE reviewlake_http_requests_total counter");
        for key in &keys {
            let s = &map[*key];
            let _ = writeln!(
                out,
                "reviewlake_http_requests_total{{{}}} {}",
                labels(key),
                s.count.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP reviewlake_http_request_duration_seconds Request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE reviewlake_http_request_duration_seconds histogram"
        );
        for key in &keys {
            let s = &map[*key];
            let l = labels(key);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "reviewlake_http_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "reviewlake_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "reviewlake_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "reviewlake_http_request_duration_seconds_count{{{l}}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP reviewlake_models_loaded Models currently served."
        );
        let _ = writeln!(out, "# TYPE reviewlake_models_loaded gauge");
        let _ = writeln!(out, "reviewlake_models_loaded {models_loaded}");
        let _ = writeln!(
            out,
            "# HELP reviewlake_model_reloads_total Model versions loaded after start-up."
        );
        let _ = writeln!(out, "# TYPE reviewlake_model_reloads_total counter");
        let _ = writeln!(
            out,
            "reviewlake_model_reloads_total {}",
            self.reloads.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP reviewlake_model_reload_failures_total Model versions refused."
        );
        let _ = writeln!(out, "# TYPE reviewlake_model_reload_failures_total counter");
        let _ = writeln!(
            out,
            "reviewlake_model_reload_failures_total {}",
            self.reload_failures.load(Ordering::Relaxed)
        );
        for (name, help, value) in [
            (
                "reviewlake_connections_refused_total",
                "Connections answered 503 because the connection limit was reached.",
                &self.connections_refused,
            ),
            (
                "reviewlake_request_timeouts_total",
                "Requests answered 408 because the request did not arrive within its deadline.",
                &self.request_timeouts,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}

fn labels((route, model, status): &Key) -> String {
    format!("route=\"{route}\",model=\"{model}\",status=\"{status}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets_are_cumulative() {
        let m = Metrics::default();
        m.record(
            "/predict/{model}",
            "model_1",
            200,
            Duration::from_micros(80),
        );
        m.record("/predict/{model}", "model_1", 200, Duration::from_millis(3));
        m.record("/health", "", 200, Duration::from_micros(10));
        let text = m.render(3);
        assert!(text.contains(r#"reviewlake_http_requests_total{route="/predict/{model}",model="model_1",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"reviewlake_http_request_duration_seconds_bucket{route="/predict/{model}",model="model_1",status="200",le="0.0001"} 1"#));
        assert!(text.contains(r#"reviewlake_http_request_duration_seconds_bucket{route="/predict/{model}",model="model_1",status="200",le="0.005"} 2"#));
        assert!(text.contains("reviewlake_models_loaded 3"));
    }
}
