//! What fleet managers ask a host before and while they query it, through the real binary:
//! `osquery_flags` with the flags a daemon has (in `vigil query`, and in a daemon whose TLS
//! config changed them), and `osquery_registry` discovery queries that skip what vigil lacks.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    support::{Daemon, field, poll, text, vigil},
    tls_server::{Pki, TlsServer, remote_args},
};

const WAIT: Duration = Duration::from_secs(60);

/// Fleet's own detail query for the host's intervals (server/service/osquery_utils).
const FLEET_FLAGS_QUERY: &str = "select name, value from osquery_flags where name in \
    (\"distributed_interval\", \"config_tls_refresh\", \"config_refresh\", \"logger_tls_period\")";

/// Fleet's discovery query for a table (`discoveryTable` in the same file).
fn discovery(table: &str) -> String {
    format!(
        "SELECT 1 FROM osquery_registry WHERE active = true AND registry = 'table' AND name = \
         '{table}'"
    )
}

fn query(sql: &str) -> Vec<Value> {
    let out = vigil()
        .args(["query", "--json", sql])
        .output()
        .expect("vigil query runs");
    assert!(out.status.success(), "{sql}: {}", text(&out.stderr));
    serde_json::from_str(&text(&out.stdout)).expect("json")
}

fn values(rows: &[Value]) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                field(row, "name").to_owned(),
                field(row, "value").to_owned(),
            )
        })
        .collect();
    values.sort();
    values
}

#[test]
fn vigil_query_shows_the_flags_a_daemon_would_have_and_what_the_registry_lists() {
    assert_eq!(
        values(&query(FLEET_FLAGS_QUERY)),
        [
            ("config_refresh".to_owned(), "0".to_owned()),
            ("distributed_interval".to_owned(), "60".to_owned()),
            ("logger_tls_period".to_owned(), "4".to_owned()),
        ]
    );
    assert_eq!(query(&discovery("processes")).len(), 1);
    assert_eq!(query(&discovery("osquery_registry")).len(), 1);
    assert!(query(&discovery("kubernetes_info")).is_empty());
    let plugins = query(
        "SELECT registry, name, active FROM osquery_registry WHERE registry IN ('config', \
         'logger') ORDER BY registry, name",
    );
    let listed: Vec<String> = plugins
        .iter()
        .map(|r| {
            format!(
                "{}/{}={}",
                field(r, "registry"),
                field(r, "name"),
                field(r, "active")
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "config/filesystem=1",
            "config/tls=0",
            "logger/filesystem=1",
            "logger/tls=0"
        ]
    );
}

/// Hands `server`'s distributed reads Fleet's flags query and two queries behind discovery
/// queries, under new names each round, until a result shows `logger_tls_period` at
/// `period`; returns that write's body and the round's number.
fn distributed_round_showing(
    server: &TlsServer,
    period: &str,
    next_round: &mut u32,
) -> (Value, u32) {
    let first = *next_round;
    poll(
        &format!("a distributed result with logger_tls_period {period}"),
        WAIT,
        || {
            let round = *next_round;
            let handed_out = server.with(|s| {
                if s.distributed.is_some() {
                    return false;
                }
                s.distributed = Some(json!({
                    "queries": {
                        format!("flags{round}"): FLEET_FLAGS_QUERY,
                        format!("k8s{round}"): "SELECT * FROM kubernetes_info",
                        format!("procs{round}"): "SELECT count(*) AS n FROM processes",
                    },
                    "discovery": {
                        format!("k8s{round}"): discovery("kubernetes_info"),
                        format!("procs{round}"): discovery("processes"),
                    },
                }));
                true
            });
            if handed_out {
                *next_round += 1;
            }
            let wanted = json!({"name": "logger_tls_period", "value": period});
            server
                .received("/distributed/write")
                .into_iter()
                .map(|write| write.body)
                .find_map(|body| {
                    let answered = (first..*next_round).find(|r| {
                        body["queries"][format!("flags{r}")]
                            .as_array()
                            .is_some_and(|rows| rows.contains(&wanted))
                    })?;
                    Some((body, answered))
                })
        },
    )
}

#[test]
fn a_daemon_shows_the_flags_its_tls_config_sets_and_skips_queries_discovery_rules_out() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = json!({"options": {"logger_tls_period": 9}}));
    let ca = pki.ca_file();
    let mut args = remote_args(&server, &pki, &ca);
    args.extend(
        [
            "--disable_events",
            "--config_plugin=tls",
            "--config_tls_endpoint=/config",
            "--config_refresh=1",
            "--disable_distributed=false",
            "--distributed_tls_read_endpoint=/distributed/read",
            "--distributed_tls_write_endpoint=/distributed/write",
            "--distributed_interval=1",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let mut next_round = 0;
    let (body, round) = distributed_round_showing(&server, "9", &mut next_round);
    let rows = body["queries"][format!("flags{round}")]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        values(&rows),
        [
            ("config_refresh".to_owned(), "1".to_owned()),
            ("distributed_interval".to_owned(), "1".to_owned()),
            ("logger_tls_period".to_owned(), "9".to_owned()),
        ],
        "{body}"
    );
    assert!(
        body["queries"].get(format!("k8s{round}")).is_none(),
        "discovery ruled kubernetes_info out: {body}"
    );
    assert!(
        body["queries"][format!("procs{round}")][0]["n"]
            .as_str()
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0)),
        "{body}"
    );
    // A config that changes the option while the daemon runs: flags apply at the next start,
    // and osquery_flags goes on showing the value in force.
    server.with(|s| s.config = json!({"options": {"logger_tls_period": 7}}));
    poll("the status log saying the options wait", WAIT, || {
        daemon
            .log("vigil.status.log")
            .contains("config options changed (logger_tls_period)")
            .then_some(())
    });
    distributed_round_showing(&server, "9", &mut next_round);
}
