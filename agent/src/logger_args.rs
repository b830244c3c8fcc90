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
    /// SASL to the Kafka brokers: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (over TLS with
    /// `ssl://` brokers), with --logger_kafka_sasl_username and
    /// --logger_kafka_sasl_password_file.
    #[arg(long = "logger_kafka_sasl_mechanism")]
    pub logger_kafka_sasl_mechanism: Option<String>,
    /// The SASL username.
    #[arg(long = "logger_kafka_sasl_username")]
    pub logger_kafka_sasl_username: Option<String>,
    /// A file holding the SASL password (checked at start like the other secret files; the
    /// password is never given on the command line).
    #[arg(long = "logger_kafka_sasl_password_file")]
    pub logger_kafka_sasl_password_file: Option<PathBuf>,
}
