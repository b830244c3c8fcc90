//! `--logger_plugin`: which loggers get result and status lines.

use anyhow::bail;
use vigil_state::logs::Sink;

/// The names `--logger_plugin` takes, each with its sink, in the order they are listed.
const PLUGINS: [(&str, Sink); 4] = [
    ("filesystem", Sink::Filesystem),
    ("tls", Sink::Tls),
    ("kafka_producer", Sink::Kafka),
    ("syslog", Sink::Syslog),
];

/// `--logger_plugin`: which sinks get result and status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPlugins {
    pub filesystem: bool,
    pub tls: bool,
    pub syslog: bool,
    pub kafka: bool,
}

impl LogPlugins {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut plugins = Self {
            filesystem: false,
            tls: false,
            syslog: false,
            kafka: false,
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "filesystem" => plugins.filesystem = true,
                "tls" => plugins.tls = true,
                "syslog" => plugins.syslog = true,
                "kafka_producer" if cfg!(all(unix, feature = "kafka")) => plugins.kafka = true,
                "kafka_producer" => bail!(
                    "--logger_plugin=kafka_producer: this vigil was built without Kafka; build it \
                     with `cargo build --features kafka` (it links the system's librdkafka, \
                     Debian's librdkafka-dev)"
                ),
                other => bail!(
                    "--logger_plugin: unknown plugin `{other}`; vigil has {} (several: a comma \
                     list, `filesystem,tls`)",
                    known()
                ),
            }
        }
        if plugins.sinks().is_empty() {
            bail!("--logger_plugin is empty; give one or more of {}", known());
        }
        Ok(plugins)
    }

    fn has(self, sink: Sink) -> bool {
        match sink {
            Sink::Filesystem => self.filesystem,
            Sink::Tls => self.tls,
            Sink::Syslog => self.syslog,
            Sink::Kafka => self.kafka,
        }
    }

    pub fn sinks(self) -> Vec<Sink> {
        PLUGINS
            .iter()
            .map(|(_, sink)| *sink)
            .filter(|sink| self.has(*sink))
            .collect()
    }
}

/// "`filesystem`, `tls`, `syslog`"
fn known() -> String {
    PLUGINS
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_plugins_are_a_comma_list_of_known_names() {
        let both = LogPlugins::parse("filesystem,tls").expect("both");
        assert_eq!(both.sinks(), vec![Sink::Filesystem, Sink::Tls]);
        assert_eq!(
            LogPlugins::parse(" tls ").expect("tls").sinks(),
            vec![Sink::Tls]
        );
        assert_eq!(
            LogPlugins::parse("syslog,filesystem")
                .expect("syslog")
                .sinks(),
            vec![Sink::Filesystem, Sink::Syslog]
        );
        let unknown = LogPlugins::parse("filesystem,splunk").expect_err("unknown");
        assert!(unknown.to_string().contains("`splunk`"), "{unknown}");
        assert!(unknown.to_string().contains("`syslog`"), "{unknown}");
        assert!(LogPlugins::parse("").is_err());
        let kafka = LogPlugins::parse("kafka_producer");
        if cfg!(all(unix, feature = "kafka")) {
            assert_eq!(kafka.expect("kafka").sinks(), vec![Sink::Kafka]);
        } else {
            let error = kafka.expect_err("built without Kafka").to_string();
            assert!(error.contains("--features kafka"), "{error}");
        }
    }
}
