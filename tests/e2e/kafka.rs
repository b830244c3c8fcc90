//! The Kafka logger through the real binary (built with `--features kafka`), against a real
//! Kafka-protocol broker in the test process: librdkafka's mock cluster, which listens on TCP and
//! answers produce and fetch requests as a broker does, and can be taken down and brought back.
//! Lines are read back by a real consumer.

use std::time::{Duration, Instant};

use rdkafka::{
    ClientConfig, Message as _,
    consumer::{BaseConsumer, Consumer as _},
    mocking::MockCluster,
};

use crate::{
    support::{Daemon, field, poll, query_json},
    syslog::{ticking_config, ticks_in_file},
};

const WAIT: Duration = Duration::from_secs(90);
const TOPIC: &str = "vigil_results";

/// Reads `topic` from its start: every (key, payload) so far, appended to `into`.
struct Reader(BaseConsumer);

impl Reader {
    fn new(brokers: &str) -> Self {
        Self::of(brokers, TOPIC)
    }

    fn of(brokers: &str, topic: &str) -> Self {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            // A group per topic: one reader's group does not wait for another's to leave.
            .set("group.id", format!("vigil-e2e-{topic}"))
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        Self(consumer)
    }

    fn read(&self, into: &mut Vec<(String, String)>) {
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            if let Some(Ok(message)) = self.0.poll(Duration::from_millis(100)) {
                let text =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
                into.push((text(message.key()), text(message.payload())));
            }
        }
    }
}

fn kafka_row(daemon: &Daemon) -> serde_json::Value {
    query_json(
        &daemon.db(),
        "SELECT buffered, sent, failed_attempts, last_error FROM vigil_logger \
         WHERE name = 'kafka_producer'",
    )
    .into_iter()
    .next()
    .expect("a kafka_producer row")
}

/// The flags of a daemon that logs a tick every second to the filesystem and to Kafka.
fn ticking_kafka_args(work: &std::path::Path, brokers: &str) -> Vec<String> {
    vec![
        "--disable_events".to_owned(),
        "--schedule_splay_percent=0".to_owned(),
        ticking_config(work),
        "--host_identifier=specified".to_owned(),
        "--specified_identifier=kafka-host".to_owned(),
        "--logger_plugin=filesystem,kafka_producer".to_owned(),
        format!("--logger_kafka_brokers={brokers}"),
        format!("--logger_kafka_topic={TOPIC}"),
        "--logger_kafka_compression=gzip".to_owned(),
    ]
}

#[test]
fn every_line_reaches_the_topic_with_the_host_key_through_a_broker_outage() {
    let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let work = tempfile::tempdir().expect("work");
    let args = ticking_kafka_args(work.path(), &brokers);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut daemon = Daemon::start(&args);
    let reader = Reader::new(&brokers);
    let mut received = Vec::new();
    poll("ticks in the topic", WAIT, || {
        reader.read(&mut received);
        (received
            .iter()
            .filter(|(_, p)| p.contains("\"tick\""))
            .count()
            >= 2)
            .then_some(())
    });

    // The broker goes away: lines wait, the error is reported; it comes back: they arrive.
    cluster.broker_down(1).expect("down");
    poll("the outage in vigil_logger", WAIT, || {
        let row = kafka_row(&daemon);
        (field(&row, "failed_attempts") != "0" && field(&row, "buffered") != "0").then_some(())
    });
    cluster.broker_up(1).expect("up");
    poll("ticks made after the outage in the topic", WAIT, || {
        reader.read(&mut received);
        let ticks = ticks_in_file(&daemon);
        (ticks.len() >= 2 && ticks.iter().all(|t| received.iter().any(|(_, p)| p == t)))
            .then_some(())
            .filter(|()| field(&kafka_row(&daemon), "buffered") == "0")
    });
    daemon.stop();
    let ticks = ticks_in_file(&daemon);
    poll("every tick in the topic", WAIT, || {
        reader.read(&mut received);
        ticks
            .iter()
            .all(|tick| received.iter().any(|(_, p)| p == tick))
            .then_some(())
    });
    assert!(
        received.iter().all(|(key, _)| key == "kafka-host"),
        "every message is keyed by the host identifier"
    );
}

/// Everything in the topic, in order, once the reader has read up to its end.
fn read_to_the_end(reader: &Reader, received: &mut Vec<(String, String)>) {
    poll("the whole topic read", WAIT, || {
        reader.read(received);
        let (_, end) = reader
            .0
            .fetch_watermarks(TOPIC, 0, Duration::from_secs(10))
            .ok()?;
        (usize::try_from(end).ok()? == received.len()).then_some(())
    });
}

#[test]
fn a_sigkill_mid_batch_loses_nothing_and_repeats_exactly_the_unacknowledged_batch() {
    let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let work = tempfile::tempdir().expect("work");
    let args = ticking_kafka_args(work.path(), &brokers);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let reader = Reader::new(&brokers);
    let mut received = Vec::new();
    poll("ticks in the topic", WAIT, || {
        reader.read(&mut received);
        (received
            .iter()
            .filter(|(_, p)| p.contains("\"tick\""))
            .count()
            >= 2)
            .then_some(())
    });

    // The broker takes each produce at once but answers 8 s later: a batch produced from now on
    // is in the topic and not yet acknowledged, so still buffered, for 8 s. The logger drains
    // every 0.5 s, so by the time a second new tick is in the file, the first one has gone in
    // such a batch: the kill lands in the middle of it.
    cluster
        .broker_round_trip_time(1, Duration::from_secs(8))
        .expect("slow answers");
    let ticks_before = ticks_in_file(&daemon).len();
    poll("two more ticks made", WAIT, || {
        (ticks_in_file(&daemon).len() >= ticks_before + 2).then_some(())
    });
    let dir = daemon.kill();
    cluster
        .broker_round_trip_time(1, Duration::ZERO)
        .expect("answers at once");
    read_to_the_end(&reader, &mut received);
    let before_kill = received.len();

    let mut restarted = Daemon::start_in(dir, &args);
    poll("the next daemon's lines in the topic", WAIT, || {
        reader.read(&mut received);
        (received.len() > before_kill).then_some(())
    });
    restarted.stop();
    read_to_the_end(&reader, &mut received);
    let ticks = ticks_in_file(&restarted);
    for tick in &ticks {
        assert!(
            received.iter().any(|(_, p)| p == tick),
            "every tick arrives: {tick} is missing"
        );
    }
    assert!(
        received.iter().all(|(key, _)| key == "kafka-host"),
        "every message is keyed by the host identifier"
    );

    // At least once, and exactly: the killed daemon's last batch, produced but unacknowledged,
    // is produced again first by the next daemon, in order; nothing else is repeated.
    let (killed, next) = received.split_at(before_kill);
    let repeated: Vec<&(String, String)> = next.iter().filter(|m| killed.contains(m)).collect();
    let count = repeated.len();
    assert!(
        count >= 1,
        "the kill landed mid-batch, so that batch goes again"
    );
    assert!(count <= 1024, "at most one batch again: {count}");
    let unacknowledged: Vec<&(String, String)> = killed[killed.len() - count..].iter().collect();
    assert_eq!(
        repeated, unacknowledged,
        "the repeated lines are the killed daemon's last {count}, in order"
    );
    assert_eq!(
        next[..count].iter().collect::<Vec<_>>(),
        unacknowledged,
        "the next daemon sends them first"
    );
    assert!(
        repeated.iter().any(|(_, p)| p.contains("\"tick\"")),
        "the batch in flight held a tick: {repeated:?}"
    );
    eprintln!(
        "kafka e2e: {} ticks, {count} lines of the batch in flight at the kill repeated",
        ticks.len()
    );
}

/// How many of `messages` are result lines of the query `name`.
fn results_of(messages: &[(String, String)], name: &str) -> usize {
    let name = format!("\"name\":\"{name}\"");
    messages.iter().filter(|(_, p)| p.contains(&name)).count()
}

#[test]
fn a_query_listed_in_kafka_topics_goes_to_its_topic_and_the_rest_to_the_default() {
    const LISTED_TOPIC: &str = "vigil_ticks";
    let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    cluster.create_topic(LISTED_TOPIC, 1, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let work = tempfile::tempdir().expect("work");
    let config = work.path().join("vigil.conf");
    let every_second = serde_json::json!({
        "query": "SELECT CAST(strftime('%s','now') AS INTEGER) AS second",
        "interval": 1, "snapshot": true,
    });
    let document = serde_json::json!({
        "schedule": {"tick": every_second, "tock": every_second},
        "kafka_topics": {LISTED_TOPIC: ["tick"]},
    });
    std::fs::write(&config, document.to_string()).expect("config");
    let args = [
        "--disable_events".to_owned(),
        "--schedule_splay_percent=0".to_owned(),
        format!("--config_path={}", config.display()),
        "--host_identifier=specified".to_owned(),
        "--specified_identifier=kafka-host".to_owned(),
        "--logger_plugin=kafka_producer".to_owned(),
        format!("--logger_kafka_brokers={brokers}"),
        format!("--logger_kafka_topic={TOPIC}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut daemon = Daemon::start(&args);
    let listed = Reader::of(&brokers, LISTED_TOPIC);
    let default = Reader::new(&brokers);
    let (mut in_listed, mut in_default) = (Vec::new(), Vec::new());
    poll(
        "tick results in their topic, tock results and status lines in the default",
        WAIT,
        || {
            listed.read(&mut in_listed);
            default.read(&mut in_default);
            let status_lines = in_default
                .iter()
                .filter(|(_, p)| p.contains("\"severity\""))
                .count();
            (results_of(&in_listed, "tick") >= 2
                && results_of(&in_default, "tock") >= 2
                && status_lines >= 1)
                .then_some(())
        },
    );
    daemon.stop();
    assert_eq!(
        results_of(&in_listed, "tick"),
        in_listed.len(),
        "only tick's results in {LISTED_TOPIC}: {in_listed:?}"
    );
    assert_eq!(
        results_of(&in_default, "tick"),
        0,
        "no tick result in the default topic: {in_default:?}"
    );
    assert!(
        in_listed
            .iter()
            .chain(&in_default)
            .all(|(key, _)| key == "kafka-host"),
        "every message is keyed by the host identifier"
    );
}

#[test]
fn sasl_flags_that_do_not_go_together_are_refused_at_start_naming_the_flag() {
    let dir = tempfile::tempdir().expect("dir");
    let password = dir.path().join("kafka-password");
    std::fs::write(&password, "s3cret\n").expect("password");
    let kafka = [
        "--logger_plugin=kafka_producer".to_owned(),
        format!("--logger_kafka_topic={TOPIC}"),
    ];
    let password_flag = format!("--logger_kafka_sasl_password_file={}", password.display());
    let cases = [
        (
            vec![
                "--logger_kafka_sasl_mechanism=SCRAM-SHA-256".to_owned(),
                password_flag.clone(),
            ],
            "--logger_kafka_sasl_mechanism=SCRAM-SHA-256 needs --logger_kafka_sasl_username",
        ),
        (
            vec![
                "--logger_kafka_sasl_username=vigil".to_owned(),
                password_flag.clone(),
            ],
            "need --logger_kafka_sasl_mechanism",
        ),
        (
            vec![
                "--logger_kafka_sasl_mechanism=PLAIN".to_owned(),
                "--logger_kafka_sasl_username=vigil".to_owned(),
            ],
            "needs --logger_kafka_sasl_password_file",
        ),
        (
            vec![
                "--logger_kafka_sasl_mechanism=GSSAPI".to_owned(),
                "--logger_kafka_sasl_username=vigil".to_owned(),
                password_flag,
            ],
            "--logger_kafka_sasl_mechanism=GSSAPI is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
        ),
    ];
    for (sasl, expected) in cases {
        let args: Vec<String> = kafka.iter().cloned().chain(sasl).collect();
        let stderr = crate::safe_start::refused(dir.path(), &args);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("s3cret"),
            "the password is never shown: {stderr}"
        );
    }
}

#[test]
fn filesystem_tls_kafka_and_syslog_at_once_each_get_every_line_and_have_their_own_row() {
    use crate::{
        syslog::{SyslogListener, logger_rows, reached_all},
        tls_server::{Pki, TlsServer, remote_args},
    };

    let cluster = MockCluster::new(1).expect("a mock Kafka cluster");
    cluster.create_topic(TOPIC, 1, 1).expect("topic");
    let brokers = cluster.bootstrap_servers();
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    let work = tempfile::tempdir().expect("work");
    let socket = work.path().join("log.sock");
    let listener = SyslogListener::bind(&socket);
    let ca = pki.ca_file();
    let mut args = remote_args(&server, &pki, &ca);
    args.extend([
        "--disable_events".to_owned(),
        "--schedule_splay_percent=0".to_owned(),
        ticking_config(work.path()),
        "--logger_plugin=filesystem,tls,kafka_producer,syslog".to_owned(),
        "--logger_tls_endpoint=/log".to_owned(),
        "--logger_tls_period=1".to_owned(),
        format!("--logger_syslog_path={}", socket.display()),
        format!("--logger_kafka_brokers={brokers}"),
        format!("--logger_kafka_topic={TOPIC}"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut daemon = Daemon::start(&args);
    let reader = Reader::new(&brokers);
    let mut received = Vec::new();
    poll(
        "ticks in the file, the TLS server, syslog and Kafka",
        WAIT,
        || {
            reader.read(&mut received);
            let ticks = ticks_in_file(&daemon);
            let messages = listener.received();
            (ticks.len() >= 3
                && ticks.iter().all(|t| {
                    reached_all(&messages, &server, t) && received.iter().any(|(_, p)| p == t)
                }))
            .then_some(())
        },
    );
    daemon.stop();
    let rows = logger_rows(&daemon);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "distributed",
            "filesystem",
            "kafka_producer",
            "syslog",
            "tls"
        ]
    );
    for (name, _, sent, _) in &rows {
        if name != "distributed" {
            assert!(*sent >= 3, "{name} sent what it was given: {rows:?}");
        }
    }
}
