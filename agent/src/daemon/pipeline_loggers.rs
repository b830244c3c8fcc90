//! The loggers that hand lines to the host's or the fleet's pipelines (`--logger_plugin=syslog`,
//! `kafka_producer`), started with the filesystem logger and stopped after it.

use std::sync::Arc;

use vigil_events::EventStore;

use super::log_plugins::LogPlugins;
use crate::cli::DaemonArgs;
#[cfg(all(unix, feature = "kafka"))]
use crate::kafka_logger::{KafkaLogger, KafkaSettings, SaslFlags};
#[cfg(unix)]
use crate::syslog_logger::{SyslogLogger, SyslogSettings};

/// The pipeline loggers that are on.
#[derive(Default)]
pub struct PipelineLoggers {
    #[cfg(unix)]
    syslog: Option<SyslogLogger>,
    #[cfg(all(unix, feature = "kafka"))]
    kafka: Option<KafkaLogger>,
}

impl PipelineLoggers {
    pub fn start(
        args: &DaemonArgs,
        plugins: LogPlugins,
        store: &Arc<EventStore>,
    ) -> anyhow::Result<Self> {
        let mut loggers = Self::default();
        if plugins.syslog {
            loggers.start_syslog(args, store)?;
        }
        #[cfg(all(unix, feature = "kafka"))]
        if plugins.kafka {
            loggers.start_kafka(args, store)?;
        }
        Ok(loggers)
    }

    #[cfg(all(unix, feature = "kafka"))]
    fn start_kafka(&mut self, args: &DaemonArgs, store: &Arc<EventStore>) -> anyhow::Result<()> {
        self.kafka = Some(KafkaLogger::spawn(store.clone(), kafka_settings(args))?);
        Ok(())
    }

    #[cfg(unix)]
    fn start_syslog(&mut self, args: &DaemonArgs, store: &Arc<EventStore>) -> anyhow::Result<()> {
        let flags = &args.pipelines;
        let settings = SyslogSettings {
            socket: flags.logger_syslog_path.clone(),
            facility: flags.logger_syslog_facility,
            prepend_cee: flags.logger_syslog_prepend_cee,
            buffered_max: args.remote.buffered_log_max,
        };
        self.syslog = Some(SyslogLogger::spawn(store.clone(), settings)?);
        Ok(())
    }

    #[cfg(not(unix))]
    fn start_syslog(&mut self, _: &DaemonArgs, _: &Arc<EventStore>) -> anyhow::Result<()> {
        anyhow::bail!("--logger_plugin=syslog: there is no syslog socket on this platform")
    }

    /// Where lines go under the config that now runs (`kafka_topics`); the Kafka logger holds
    /// its lines until the first call.
    pub fn use_config(&self, config: Option<&crate::config::Config>) {
        #[cfg(all(unix, feature = "kafka"))]
        if let Some(kafka) = &self.kafka {
            kafka.use_topics(config.map(|c| c.kafka_topics.clone()).unwrap_or_default());
        }
        #[cfg(not(all(unix, feature = "kafka")))]
        let _ = config;
    }

    /// Each sends what is left once more, then stops; what cannot go stays buffered.
    pub fn stop(self) {
        #[cfg(unix)]
        if let Some(syslog) = self.syslog {
            syslog.stop();
        }
        #[cfg(all(unix, feature = "kafka"))]
        if let Some(kafka) = self.kafka {
            kafka.stop();
        }
    }
}

/// The Kafka logger's settings from the flags.
#[cfg(all(unix, feature = "kafka"))]
fn kafka_settings(args: &DaemonArgs) -> KafkaSettings {
    let flags = &args.pipelines;
    KafkaSettings {
        brokers: flags.logger_kafka_brokers.clone(),
        topic: flags.logger_kafka_topic.clone(),
        acks: flags.logger_kafka_acks.clone(),
        compression: flags.logger_kafka_compression.clone(),
        server_certs: args.remote.tls_server_certs.clone(),
        client_cert: args.remote.tls_client_cert.clone(),
        client_key: args.remote.tls_client_key.clone(),
        sasl: SaslFlags {
            mechanism: flags.logger_kafka_sasl_mechanism.clone(),
            username: flags.logger_kafka_sasl_username.clone(),
            password_file: flags.logger_kafka_sasl_password_file.clone(),
        },
        host_identifier: super::host::host_identifier(args),
        buffered_max: args.remote.buffered_log_max,
    }
}

/// Refuses, before a watcher starts workers that would each fail on them, pipeline logger flags
/// that cannot work (a Kafka SASL mechanism without its username, ...), naming the flag.
pub fn refuse_bad_flags(args: &DaemonArgs) -> anyhow::Result<()> {
    let plugins = LogPlugins::parse(&args.remote.logger_plugin)?;
    #[cfg(all(unix, feature = "kafka"))]
    if plugins.kafka {
        kafka_settings(args).check()?;
    }
    #[cfg(not(all(unix, feature = "kafka")))]
    let _ = plugins;
    Ok(())
}
