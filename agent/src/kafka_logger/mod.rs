//! The Kafka logger (`--logger_plugin=kafka_producer`, cargo feature `kafka`): produces the result
//! and status lines buffered for it through librdkafka, to the topic the config's `kafka_topics`
//! gives a query or else to `--logger_kafka_topic` (see `routes`), each with the
//! host identifier as its key (a topic partitioned by key keeps each host's lines in order), and
//! forgets a line only once the broker acknowledged it (`--logger_kafka_acks`, default `all`).
//! While the brokers are away or refuse, lines wait in the buffer and the error is reported.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use rdkafka::{
    ClientConfig, ClientContext,
    producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext},
};
use vigil_config::KafkaTopics;
use vigil_events::EventStore;
use vigil_state::logs::{self, LineKey, Logger, LoggerStats, Sink};

pub use self::{routes::TopicRoutes, sasl::SaslFlags};
use crate::{
    background::Background,
    forwarding::{self, Forwarding, Round, RoundError},
};

mod routes;
mod sasl;

/// Lines produced at once; each batch waits for its acknowledgements before the next.
const BATCH: usize = 1024;
/// A message's delivery opaque is its batch's number above these bits and its index below: an
/// answer that comes late, for an earlier batch, must not pass for one of this batch's lines.
const INDEX_BITS: u32 = 16;
/// Between drains while everything goes through.
const PERIOD: Duration = Duration::from_millis(500);
/// Between attempts while the brokers are away (it grows to this from `PERIOD`).
const RETRY_MAX: Duration = Duration::from_secs(10);
/// How long librdkafka keeps trying one message before it reports it failed.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `--logger_kafka_brokers`; an `ssl://` broker turns TLS on, as in osquery.
    pub brokers: String,
    /// `--logger_kafka_topic`: status lines, and results of queries `kafka_topics` does not list.
    pub topic: String,
    /// `--logger_kafka_acks`: `0`, `1` or `all`.
    pub acks: String,
    /// `--logger_kafka_compression`: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub compression: String,
    /// `--tls_server_certs`, `--tls_client_cert`, `--tls_client_key`, with `ssl://` brokers.
    pub server_certs: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// `--logger_kafka_sasl_*`.
    pub sasl: SaslFlags,
    /// Every message's key.
    pub host_identifier: String,
    /// `--buffered_log_max`.
    pub buffered_max: u64,
}

impl KafkaSettings {
    /// What is wrong with the flags, if anything (the SASL password file is read).
    pub fn check(&self) -> anyhow::Result<()> {
        self.client_config().map(drop)
    }

    /// The producer's librdkafka configuration, or what is wrong with the flags (SASL's
    /// password file is read here).
    fn client_config(&self) -> anyhow::Result<ClientConfig> {
        let login = self.sasl.login()?;
        self.client_config_with(login.as_ref())
    }

    /// The producer's librdkafka configuration with `login`, or what is wrong with the flags.
    fn client_config_with(&self, login: Option<&sasl::SaslLogin>) -> anyhow::Result<ClientConfig> {
        if self.brokers.trim().is_empty() {
            bail!("--logger_kafka_brokers is empty; give host:port[,host:port...]");
        }
        if self.topic.trim().is_empty() {
            bail!("--logger_kafka_topic is empty; give the topic result and status lines go to");
        }
        if !["0", "1", "all", "-1"].contains(&self.acks.as_str()) {
            bail!(
                "--logger_kafka_acks={} is not 0, 1 or all (all: every in-sync replica has it)",
                self.acks
            );
        }
        if !["none", "gzip", "snappy", "lz4", "zstd"].contains(&self.compression.as_str()) {
            bail!(
                "--logger_kafka_compression={} is not none, gzip, snappy, lz4 or zstd",
                self.compression
            );
        }
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.brokers.replace("ssl://", ""))
            .set("client.id", &self.host_identifier)
            .set("acks", &self.acks)
            .set("compression.codec", &self.compression)
            .set(
                "message.timeout.ms",
                MESSAGE_TIMEOUT.as_millis().to_string(),
            );
        let tls = self.brokers.to_ascii_lowercase().contains("ssl://");
        if tls {
            config.set("security.protocol", "ssl");
            let paths = [
                ("ssl.ca.location", &self.server_certs),
                ("ssl.certificate.location", &self.client_cert),
                ("ssl.key.location", &self.client_key),
            ];
            for (key, path) in paths {
                if let Some(path) = path {
                    config.set(key, path.display().to_string());
                }
            }
        }
        if let Some(login) = login {
            login.apply(&mut config, tls);
        }
        Ok(config)
    }
}

/// What the broker said of each message, by its delivery opaque.
#[derive(Default)]
struct Deliveries(Mutex<Vec<(usize, Result<(), String>)>>);

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((error, _)) => Err(error.to_string()),
        };
        if let Ok(mut deliveries) = self.0.lock() {
            deliveries.push((index, outcome));
        }
    }
}

struct Forwarder {
    store: Arc<EventStore>,
    settings: KafkaSettings,
    producer: BaseProducer<Deliveries>,
    routes: TopicRoutes,
    stats: LoggerStats,
    /// The number of the batch being produced.
    batch: usize,
}

impl Forwarder {
    fn new(
        store: Arc<EventStore>,
        settings: KafkaSettings,
        routes: TopicRoutes,
    ) -> anyhow::Result<Self> {
        let producer = settings
            .client_config()?
            .create_with_context(Deliveries::default())
            .context("creating the Kafka producer")?;
        let stats = logs::stats(Logger::Kafka)
            .get(&store)
            .ok()
            .flatten()
            .unwrap_or_default();
        Ok(Self {
            store,
            settings,
            producer,
            routes,
            stats,
            batch: 0,
        })
    }

    /// Produces what is buffered, batch by batch; a line is forgotten once the broker has it.
    /// Nothing goes before a config runs: its `kafka_topics` says where results belong.
    fn drain(&mut self) -> anyhow::Result<()> {
        let Some(topics) = self.routes.current() else {
            return Ok(());
        };
        loop {
            let lines =
                logs::waiting(&self.store, Sink::Kafka, BATCH).context("reading the log buffer")?;
            if lines.is_empty() {
                return Ok(());
            }
            let default = self.settings.topic.clone();
            let messages: Vec<(&str, &str)> = lines
                .iter()
                .map(|l| (routes::topic_of(l, &topics, &default), l.line.as_str()))
                .collect();
            let acked = self.produce(&messages);
            let (delivered, failure) = match acked {
                Ok(indexes) => (indexes, None),
                Err((indexes, error)) => (indexes, Some(error)),
            };
            let keys: Vec<LineKey> = delivered.iter().map(|&i| lines[i].key).collect();
            self.stats.sent += keys.len() as u64;
            if let Err(error) = logs::forget(&self.store, &keys) {
                // Acknowledged but not forgotten: they go again (at least once, never lost).
                tracing::error!(%error, "sent log lines could not be removed from the buffer");
            }
            if let Some(error) = failure {
                return Err(error);
            }
        }
    }

    /// Produces each (topic, line) and waits for each one's acknowledgement; returns the indexes
    /// the broker acknowledged, with the first error when some were not.
    fn produce(
        &mut self,
        messages: &[(&str, &str)],
    ) -> Result<Vec<usize>, (Vec<usize>, anyhow::Error)> {
        self.batch = (self.batch + 1) % (usize::MAX >> INDEX_BITS);
        let batch = self.batch;
        let of_this_batch = move |opaque: usize| {
            (opaque >> INDEX_BITS == batch).then_some(opaque & ((1 << INDEX_BITS) - 1))
        };
        let mut queued = 0;
        let mut error = None;
        for (index, (topic, line)) in messages.iter().enumerate() {
            let opaque = (batch << INDEX_BITS) | index;
            let record = BaseRecord::with_opaque_to(topic, opaque)
                .key(self.settings.host_identifier.as_str())
                .payload(*line);
            match self.producer.send(record) {
                Ok(()) => queued += 1,
                Err((e, _)) => {
                    error = Some(anyhow::anyhow!("queuing a message for Kafka: {e}"));
                    break;
                }
            }
        }
        // librdkafka gives up on a message after MESSAGE_TIMEOUT: each is answered by then.
        let deadline = Instant::now() + MESSAGE_TIMEOUT + Duration::from_secs(5);
        loop {
            self.producer.poll(Duration::from_millis(100));
            let answered = self
                .producer
                .context()
                .0
                .lock()
                .map(|d| {
                    d.iter()
                        .filter(|(o, _)| of_this_batch(*o).is_some())
                        .count()
                })
                .unwrap_or(0);
            if answered >= queued || Instant::now() >= deadline {
                break;
            }
        }
        let answers = self
            .producer
            .context()
            .0
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        let mut delivered = Vec::with_capacity(answers.len());
        for (opaque, outcome) in answers {
            // A late answer for an earlier batch: its line is still buffered and goes again.
            let Some(index) = of_this_batch(opaque) else {
                continue;
            };
            match outcome {
                Ok(()) => delivered.push(index),
                Err(e) if error.is_none() => {
                    error = Some(anyhow::anyhow!(
                        "Kafka brokers {} did not take a message for topic {}: {e}",
                        self.settings.brokers,
                        messages.get(index).map_or("?", |(topic, _)| *topic)
                    ));
                }
                Err(_) => {}
            }
        }
        delivered.sort_unstable();
        if error.is_none() && delivered.len() < queued {
            error = Some(anyhow::anyhow!(
                "Kafka brokers {} did not answer in time",
                self.settings.brokers
            ));
        }
        match error {
            None => Ok(delivered),
            Some(error) => Err((delivered, error)),
        }
    }
}

impl Forwarding for Forwarder {
    const NAME: &'static str = "Kafka logger";
    const RESUMED: &'static str = "the brokers take lines again";
    const LOGGER: Logger = Logger::Kafka;

    fn store(&self) -> &EventStore {
        &self.store
    }

    fn stats(&mut self) -> &mut LoggerStats {
        &mut self.stats
    }

    fn round(&mut self) -> Result<Round, RoundError> {
        self.drain()
            .map(|()| Round::Drained)
            .map_err(|error| RoundError::Failed(format!("{error:#}")))
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    fn retry_wait(&self, failures: u32) -> Duration {
        forwarding::linear_backoff(PERIOD, failures, RETRY_MAX)
    }

    fn enforce_buffer_limit(&mut self) -> Option<u64> {
        crate::buffer_limit::enforce(
            &self.store,
            Sink::Kafka,
            "Kafka",
            self.settings.buffered_max,
            &mut self.stats,
        )
    }
}

pub struct KafkaLogger {
    thread: Background,
    routes: TopicRoutes,
}

impl KafkaLogger {
    /// Lines wait until [`use_topics`](Self::use_topics) gives the running config's topics.
    pub fn spawn(store: Arc<EventStore>, settings: KafkaSettings) -> anyhow::Result<Self> {
        let routes = TopicRoutes::default();
        let forwarder = Forwarder::new(store, settings, routes.clone())?;
        let thread = Background::spawn("vigil-kafka-logger", move |stopping| {
            forwarding::run(forwarder, stopping)
        })
        .context("starting the Kafka logger")?;
        Ok(Self { thread, routes })
    }

    /// The running config's `kafka_topics`, from now on.
    pub fn use_topics(&self, topics: KafkaTopics) {
        self.routes.set(topics);
    }

    /// Produces what is left once more, then stops (what the brokers did not take stays).
    pub fn stop(self) {
        self.thread.stop();
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::{
        Message as _,
        consumer::{BaseConsumer, Consumer as _},
        mocking::MockCluster,
    };
    use vigil_state::{Commit, logs::LineKind};

    use super::*;

    fn settings(brokers: String) -> KafkaSettings {
        KafkaSettings {
            brokers,
            topic: "vigil_results".into(),
            acks: "all".into(),
            compression: "gzip".into(),
            server_certs: None,
            client_cert: None,
            client_key: None,
            sasl: SaslFlags::default(),
            host_identifier: "host-7".into(),
            buffered_max: 0,
        }
    }

    /// The routes of a running config without `kafka_topics`.
    fn no_topics() -> TopicRoutes {
        let routes = TopicRoutes::default();
        routes.set(KafkaTopics::default());
        routes
    }

    /// Every (key, payload) in `topic` from the start.
    fn consume(brokers: &str, topic: &str, expected: usize) -> Vec<(String, String)> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            // A group per topic: one consumer's group does not wait for another's to leave.
            .set("group.id", format!("vigil-test-{topic}"))
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.len() < expected && Instant::now() < deadline {
            if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                got.push((text(message.key()), text(message.payload())));
            }
        }
        got
    }

    #[test]
    fn lines_wait_while_the_broker_is_down_and_all_arrive_with_the_host_key() {
        let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
        cluster.create_topic("vigil_results", 1, 1).expect("topic");
        let brokers = cluster.bootstrap_servers();
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        logs::set_sinks(&store, &[Sink::Kafka]);
        let buffer = |range: std::ops::Range<u32>| {
            let mut commit = Commit::default();
            for n in range {
                commit.log(LineKind::Result, format!("{{\"n\":{n}}}"));
            }
            commit.apply(&store).expect("buffer");
        };
        let mut forwarder = Forwarder::new(store.clone(), settings(brokers.clone()), no_topics())
            .expect("producer");
        buffer(0..3);
        forwarder.drain().expect("delivered");
        assert_eq!(logs::waiting_count(&store, Sink::Kafka).expect("count"), 0);

        cluster.broker_down(1).expect("down");
        buffer(3..6);
        let error = forwarder.drain().expect_err("the broker is down");
        assert!(format!("{error:#}").contains(&brokers), "{error:#}");
        assert_eq!(
            logs::waiting_count(&store, Sink::Kafka).expect("count"),
            3,
            "nothing lost"
        );

        cluster.broker_up(1).expect("up");
        // librdkafka reconnects with a backoff: a round may time out before it is back, as the
        // logger's own loop would see; the lines stay buffered and the next round sends them.
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(error) = forwarder.drain() {
            assert!(Instant::now() < deadline, "still failing: {error:#}");
        }
        assert_eq!(logs::waiting_count(&store, Sink::Kafka).expect("count"), 0);
        let got = consume(&brokers, "vigil_results", 6);
        let mut payloads: Vec<&str> = got.iter().map(|(_, p)| p.as_str()).collect();
        payloads.sort_unstable();
        payloads.dedup();
        let expected: Vec<String> = (0..6).map(|n| format!("{{\"n\":{n}}}")).collect();
        assert_eq!(payloads, expected, "every line arrived");
        assert!(got.iter().all(|(key, _)| key == "host-7"), "{got:?}");
    }

    #[test]
    fn a_topic_the_brokers_do_not_have_is_reported_and_nothing_is_lost() {
        use rdkafka::types::RDKafkaRespErr;

        let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
        cluster
            .topic_error(
                "vigil_results",
                RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            )
            .expect("no such topic");
        let brokers = cluster.bootstrap_servers();
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        logs::set_sinks(&store, &[Sink::Kafka]);
        let mut commit = Commit::default();
        commit.log(LineKind::Result, "{\"n\":1}".to_owned());
        commit.apply(&store).expect("buffer");
        let mut forwarder = Forwarder::new(store.clone(), settings(brokers.clone()), no_topics())
            .expect("producer");
        let error = format!("{:#}", forwarder.drain().expect_err("no such topic"));
        assert!(error.contains("vigil_results"), "{error}");
        assert_eq!(logs::waiting_count(&store, Sink::Kafka).expect("count"), 1);

        cluster
            .topic_error("vigil_results", RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR)
            .expect("clear");
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(error) = forwarder.drain() {
            assert!(Instant::now() < deadline, "still failing: {error:#}");
        }
        let got = consume(&brokers, "vigil_results", 1);
        assert_eq!(got, [("host-7".to_owned(), "{\"n\":1}".to_owned())]);
    }

    #[test]
    fn results_wait_for_the_config_then_a_listed_query_goes_to_its_topic() {
        let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
        cluster.create_topic("vigil_results", 1, 1).expect("topic");
        cluster
            .create_topic("process_results", 1, 1)
            .expect("topic");
        let brokers = cluster.bootstrap_servers();
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        logs::set_sinks(&store, &[Sink::Kafka]);
        let mut commit = Commit::default();
        commit.log(LineKind::Result, r#"{"name":"procs","n":1}"#.to_owned());
        commit.log(LineKind::Result, r#"{"name":"users","n":2}"#.to_owned());
        commit.log(LineKind::Status, r#"{"message":"started"}"#.to_owned());
        commit.apply(&store).expect("buffer");
        let routes = TopicRoutes::default();
        let mut forwarder =
            Forwarder::new(store.clone(), settings(brokers.clone()), routes.clone())
                .expect("producer");
        forwarder.drain().expect("nothing to do yet");
        assert_eq!(
            logs::waiting_count(&store, Sink::Kafka).expect("count"),
            3,
            "no config runs yet: the lines wait"
        );

        let config = crate::config::parse(
            &serde_json::json!({"kafka_topics": {"process_results": ["procs"]}}),
            crate::config::Origin::Server,
            "_",
        )
        .expect("config");
        routes.set(config.kafka_topics);
        forwarder.drain().expect("delivered");
        assert_eq!(logs::waiting_count(&store, Sink::Kafka).expect("count"), 0);
        let listed = consume(&brokers, "process_results", 1);
        assert_eq!(
            listed,
            [("host-7".to_owned(), r#"{"name":"procs","n":1}"#.to_owned())]
        );
        let default = consume(&brokers, "vigil_results", 2);
        let payloads: Vec<&str> = default.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            payloads,
            [r#"{"name":"users","n":2}"#, r#"{"message":"started"}"#]
        );
    }

    #[test]
    fn sasl_over_tls_or_plaintext_and_its_refusals_come_from_the_flags() {
        let password = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(password.path(), "s3cret\n").expect("password");
        let mut tls = settings("ssl://kafka-1:9093,ssl://kafka-2:9093".into());
        tls.server_certs = Some("/etc/vigil/kafka-ca.pem".into());
        tls.sasl = SaslFlags {
            mechanism: Some("SCRAM-SHA-256".into()),
            username: Some("vigil".into()),
            password_file: Some(password.path().to_path_buf()),
        };
        let config = tls.client_config().expect("SASL over TLS");
        assert_eq!(
            config.get("bootstrap.servers"),
            Some("kafka-1:9093,kafka-2:9093")
        );
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(
            config.get("ssl.ca.location"),
            Some("/etc/vigil/kafka-ca.pem")
        );
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-256"));
        assert_eq!(config.get("sasl.username"), Some("vigil"));
        assert_eq!(config.get("sasl.password"), Some("s3cret"));
        // librdkafka takes it: the property names and values are its own (it loads the CA
        // file at once, so this one goes without).
        let mut system_ca = tls.clone();
        system_ca.server_certs = None;
        system_ca
            .client_config()
            .expect("config")
            .create::<BaseProducer>()
            .expect("librdkafka accepts the SASL_SSL configuration");

        let mut plain = tls.clone();
        plain.brokers = "kafka-1:9092".into();
        let config = plain.client_config().expect("SASL without TLS");
        assert_eq!(config.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(config.get("ssl.ca.location"), None);
        config
            .create::<BaseProducer>()
            .expect("librdkafka accepts the SASL_PLAINTEXT configuration");

        let mut no_user = tls;
        no_user.sasl.username = None;
        let error = format!("{:#}", no_user.client_config().expect_err("no username"));
        assert!(error.contains("--logger_kafka_sasl_username"), "{error}");
        assert!(
            settings("kafka-1:9092".into())
                .client_config()
                .expect("no SASL")
                .get("security.protocol")
                .is_none()
        );
    }

    #[test]
    fn flags_osquery_does_not_know_are_refused_with_the_choices() {
        let mut bad = settings("localhost:9092".into());
        bad.acks = "most".into();
        let error = bad.client_config().expect_err("acks").to_string();
        assert!(error.contains("0, 1 or all"), "{error}");
        let mut bad = settings("localhost:9092".into());
        bad.compression = "brotli".into();
        let error = bad.client_config().expect_err("codec").to_string();
        assert!(error.contains("zstd"), "{error}");
    }
}
