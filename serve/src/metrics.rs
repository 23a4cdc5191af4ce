//! Prometheus metrics of the API, declared once with `prometheus-client`: request counts and
//! latency histograms by route, model and status, loaded models, reloads and refused connections.

use std::time::Duration;

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Latency histogram bucket bounds, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The content type of [`Metrics::render`]'s text (OpenMetrics, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of one request: the route template, the model (`""` when the route has none or the
/// model is unknown, so that request paths cannot create unbounded label values) and the status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    model: String,
    status: u16,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// Every series of the API.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pub models_loaded: Gauge,
    pub reloads: Counter,
    pub reload_failures: Counter,
    /// Connections answered 503 because `max_connections` were open.
    pub connections_refused: Counter,
    /// Requests answered 408 because their body did not arrive within the deadline.
    pub request_timeouts: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("reviewlake");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<_, _, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let (models_loaded, reloads, reload_failures, connections_refused, request_timeouts) =
            Default::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, model and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Request latency, from the request head to the answer",
            latency.clone(),
        );
        registry.register(
            "models_loaded",
            "Models currently served",
            Gauge::clone(&models_loaded),
        );
        registry.register(
            "model_reloads",
            "Model versions loaded after start-up",
            Counter::clone(&reloads),
        );
        registry.register(
            "model_reload_failures",
            "Model versions refused",
            Counter::clone(&reload_failures),
        );
        registry.register(
            "connections_refused",
            "Connections answered 503 because the connection limit was reached",
            Counter::clone(&connections_refused),
        );
        registry.register(
            "request_timeouts",
            "Requests answered 408 because the request did not arrive within its deadline",
            Counter::clone(&request_timeouts),
        );
        Self {
            registry,
            requests,
            latency,
            models_loaded,
            reloads,
            reload_failures,
            connections_refused,
            request_timeouts,
        }
    }
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, route: &str, model: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.to_string(),
            model: model.to_string(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition, in [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
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
        m.models_loaded.set(3);
        let text = m.render();
        assert!(text.contains(r#"reviewlake_http_requests_total{route="/predict/{model}",model="model_1",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"reviewlake_http_request_duration_seconds_bucket{le="0.0001",route="/predict/{model}",model="model_1",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"reviewlake_http_request_duration_seconds_bucket{le="0.005",route="/predict/{model}",model="model_1",status="200"} 2"#), "{text}");
        assert!(text.contains("reviewlake_models_loaded 3"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
