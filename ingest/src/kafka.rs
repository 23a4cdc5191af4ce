//! Kafka client settings shared by the producer and the ingest consumer.

use rdkafka::ClientConfig;

/// Where the broker is and which topic to use, plus librdkafka settings passed through as-is.
/// Its `Debug` shows the settings' names only: their values may be secrets (`sasl.password`).
#[derive(Clone)]
pub struct KafkaOptions {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    pub brokers: String,
    /// The reviews topic.
    pub topic: String,
    /// Extra librdkafka settings (`-X key=value`), applied last so they win.
    pub extra: Vec<(String, String)>,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        Self {
            brokers: "localhost:9092".into(),
            topic: "netflix-reviews".into(),
            extra: Vec::new(),
        }
    }
}

impl std::fmt::Debug for KafkaOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaOptions")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field(
                "extra",
                &self
                    .extra
                    .iter()
                    .map(|(k, _)| format!("{k}=<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl KafkaOptions {
    /// A client configuration with the brokers, `defaults`, then the user's extra settings.
    pub(crate) fn client_config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (k, v) in defaults {
            config.set(*k, *v);
        }
        for (k, v) in &self.extra {
            config.set(k, v);
        }
        config
    }
}

/// The prefix of environment variables that carry librdkafka settings.
pub const SETTINGS_ENV_PREFIX: &str = "REVIEWLAKE_KAFKA_";

/// librdkafka settings from environment variables: `REVIEWLAKE_KAFKA_SASL_PASSWORD=x` is
/// `sasl.password=x` (the rest of the name in lower case, `_` for `.`), sorted by key.
pub fn settings_from_env(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = vars
        .into_iter()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix(SETTINGS_ENV_PREFIX)?;
            (!key.is_empty()).then(|| (key.to_ascii_lowercase().replace('_', "."), v))
        })
        .collect();
    settings.sort();
    settings
}

/// Parses a `key=value` librdkafka setting.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected key=value, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_setting_value() {
        let options = KafkaOptions {
            extra: vec![("sasl.password".into(), "hunter2".into())],
            ..Default::default()
        };
        let shown = format!("{options:?}");
        assert!(
            shown.contains("sasl.password") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn extra_settings_override_defaults() {
        let opts = KafkaOptions {
            extra: vec![("linger.ms".into(), "50".into())],
            ..Default::default()
        };
        let config = opts.client_config(&[("linger.ms", "5")]);
        assert_eq!(config.get("linger.ms"), Some("50"));
        assert_eq!(config.get("bootstrap.servers"), Some("localhost:9092"));
    }

    #[test]
    fn settings_come_from_the_environment_too() {
        let vars = [
            ("REVIEWLAKE_KAFKA_SASL_PASSWORD", "secret"),
            ("REVIEWLAKE_KAFKA_LINGER_MS", "0"),
            ("REVIEWLAKE_KAFKA_", "ignored"),
            ("KAFKA_BROKERS", "ignored"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(
            settings_from_env(vars),
            [
                ("linger.ms".to_string(), "0".to_string()),
                ("sasl.password".to_string(), "secret".to_string())
            ]
        );
    }

    #[test]
    fn settings_need_an_equals_sign() {
        assert_eq!(parse_setting("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(parse_setting("novalue").is_err());
        assert!(parse_setting("=x").is_err());
    }
}
