//! The flags of the loggers that hand lines to the host's or the fleet's pipelines (syslog,
//! Kafka), with osquery's names and defaults.

use std::path::PathBuf;

use clap::{ArgAction, Args};

#[derive(Debug, Args, Clone)]
pub struct PipelineLoggerArgs {
    /// Syslog facility of result and status lines (0-23; 19 is local3), with
    /// --logger_plugin=syslog.
    #[arg(long = "logger_syslog_facility", default_value_t = 19,
          value_parser = clap::value_parser!(u8).range(0..=23))]
    pub logger_syslog_facility: u8,
    /// Prepend `@cee:` to result lines sent to syslog (JSON for rsyslog's mmjsonparse).
    #[arg(long = "logger_syslog_prepend_cee", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub logger_syslog_prepend_cee: bool,
    /// The local syslog socket (a datagram socket, as glibc's syslog(3) uses).
    #[arg(long = "logger_syslog_path", default_value = "/dev/log")]
    pub logger_syslog_path: PathBuf,
    /// Kafka bootstrap brokers, `host[:port],...` (an `ssl://` broker turns TLS on, with the
    /// --tls_server_certs, --tls_client_cert and --tls_client_key files), with
    /// --logger_plugin=kafka_producer.
    #[arg(long = "logger_kafka_brokers", default_value = "localhost")]
    pub logger_kafka_brokers: String,
    /// The Kafka topic result and status lines go to.
    #[arg(long = "logger_kafka_topic", default_value = "")]
    pub logger_kafka_topic: String,
    /// Acknowledgements a message needs before it leaves the buffer: 0, 1 or all.
    #[arg(long = "logger_kafka_acks", default_value = "all")]
    pub logger_kafka_acks: String,
    /// Compression of Kafka message sets: none, gzip, snappy, lz4 or zstd.
    #[arg(long = "logger_kafka_compression", default_value = "none")]
    pub logger_kafka_compression: String,
}
