use std::cell::RefCell;

use serde_json::json;

use super::*;

/// Pack files served from memory; remembers which were asked for.
#[derive(Default)]
struct MemoryPacks {
    files: BTreeMap<String, String>,
    asked: RefCell<Vec<String>>,
}

impl MemoryPacks {
    fn with(name: &str, pack: Value) -> Self {
        Self {
            files: BTreeMap::from([(name.to_owned(), pack.to_string())]),
            ..Self::default()
        }
    }
}

impl PackFiles for MemoryPacks {
    fn read(&self, name: &str) -> Result<PackFile, String> {
        self.asked.borrow_mut().push(name.to_owned());
        let shown_as = format!("/etc/vigil/{name}");
        match self.files.get(name) {
            Some(text) => Ok(PackFile {
                shown_as,
                text: text.clone(),
            }),
            None => Err(format!(
                "cannot read pack file {shown_as}: No such file or directory"
            )),
        }
    }
}

fn parse_doc(doc: Value) -> Result<Config, ConfigError> {
    parse(
        &doc,
        Origin::File {
            packs: &MemoryPacks::default(),
        },
        "_",
    )
}

#[test]
fn a_full_osquery_config_parses() {
    let packs = MemoryPacks::with(
        "hardening.conf",
        json!({"platform": "linux", "queries": {"suid": {"query": "SELECT 1", "interval": 3600}}}),
    );
    let doc = json!({
        "options": {"host_identifier": "hostname", "schedule_splay_percent": 10, "verbose": false},
        "schedule": {
            "procs": {"query": "SELECT pid FROM processes", "interval": "60", "snapshot": true},
            "diff": {"query": "SELECT path FROM file WHERE directory = '/etc'", "interval": 300,
                     "removed": false, "denylist": "false"}
        },
        "packs": {
            "hardening": "hardening.conf",
            "inline": {"queries": {"q": {"query": "SELECT 2", "interval": 10, "shard": 50}}}
        },
        "decorators": {"load": ["SELECT uuid FROM system_info"], "always": ["SELECT 1 AS one"],
                       "interval": {"3600": ["SELECT total_seconds FROM uptime"]}},
        "file_paths": {"etc": ["/etc/%%"]},
        "events": {"disable_subscribers": ["bpf_file_events"]},
        "some_future_key": 1
    });
    let config = parse(&doc, Origin::File { packs: &packs }, "_").expect("valid");
    assert_eq!(config.schedule.len(), 4);
    let procs = &config.schedule["procs"];
    assert_eq!(
        (procs.interval, procs.snapshot, procs.removed),
        (60, true, true)
    );
    assert!(!config.schedule["diff"].denylist);
    assert_eq!(
        config.schedule["pack_hardening_suid"].platform.as_deref(),
        Some("linux")
    );
    assert_eq!(config.schedule["pack_inline_q"].shard, Some(50));
    assert_eq!(config.decorators.interval[&3600].len(), 1);
    assert!(!config.events.is_enabled("bpf_file_events"));
    assert!(config.events.is_enabled("bpf_process_events"));
    assert_eq!(config.options["schedule_splay_percent"], json!(10));
    assert_eq!(
        config.warnings,
        vec!["some_future_key: unknown key, ignored".to_owned()]
    );
    // The dump is itself a config that parses to the same schedule.
    let again = parse_doc(dump(&config)).expect("the dump parses");
    assert_eq!(again.schedule.len(), 4);
}

#[test]
fn every_error_names_its_json_path() {
    let doc = json!({
        "schedule": {
            "procs": {"query": "SELECT 1", "interval": 0},
            "noquery": {"interval": 10},
            "bad": {"query": "SELECT 1", "interval": 10, "snapshot": "maybe", "shard": 500}
        },
        "packs": {"missing": "no-such-pack.conf", "empty": {"platform": "linux"}},
        "decorators": {"interval": {"45": ["SELECT 1"], "18446744073709551600": ["SELECT 1"]}},
        "options": {"nested": {"a": 1}}
    });
    let error = parse_doc(doc).expect_err("invalid");
    let text = error.to_string();
    for expected in [
        "schedule.procs.interval: expected a number from 1 to 604800",
        "schedule.noquery.query: expected the query's SQL text",
        "schedule.bad.snapshot: expected true or false",
        "schedule.bad.shard: expected a number from 1 to 100",
        "packs.missing: cannot read pack file",
        "packs.empty: a pack needs `queries`",
        "decorators.interval.45: expected an interval in seconds that is a multiple of 60",
        "decorators.interval.18446744073709551600: expected an interval in seconds that is a \
         multiple of 60, at most 604800",
        "options.nested: expected a string, number or boolean",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn pack_delimiter_and_platform_filter() {
    let doc = json!({"packs": {"p": {"queries": {
        "mac": {"query": "SELECT 1", "interval": 10, "platform": "darwin"},
        "all": {"query": "SELECT 1", "interval": 10, "platform": "posix"}
    }}}});
    let config = parse(
        &doc,
        Origin::File {
            packs: &MemoryPacks::default(),
        },
        "-",
    )
    .expect("valid");
    assert!(!config.schedule["pack-p-mac"].runs_on_linux());
    assert!(config.schedule["pack-p-all"].runs_on_linux());
}

#[test]
fn not_an_object_is_an_error_not_a_panic() {
    assert!(parse_doc(json!([1, 2])).is_err());
    assert!(parse_doc(json!({"schedule": [1]})).is_err());
}

#[test]
fn a_server_config_cannot_make_vigil_read_a_local_pack_file() {
    let packs = MemoryPacks::with(
        "/etc/vigil/pack.conf",
        json!({"queries": {"local": {"query": "SELECT 1", "interval": 10}}}),
    );
    let doc = json!({"packs": {
        "from_disk": "/etc/vigil/pack.conf",
        "inline": {"queries": {"q": {"query": "SELECT 2", "interval": 10}}}
    }});

    let from_server = parse(&doc, Origin::Server, "_").expect("the rest of the config stands");
    assert!(
        !from_server.schedule.contains_key("pack_from_disk_local"),
        "the local file was read: {:?}",
        from_server.schedule.keys()
    );
    assert!(from_server.schedule.contains_key("pack_inline_q"));
    assert!(
        from_server
            .warnings
            .iter()
            .any(|w| w.starts_with("packs.from_disk:") && w.contains("refused")),
        "{:?}",
        from_server.warnings
    );

    assert!(packs.asked.borrow().is_empty(), "no pack file was read");

    // The same document read from a local file may name the pack file.
    let from_file = parse(&doc, Origin::File { packs: &packs }, "_").expect("valid");
    assert!(from_file.schedule.contains_key("pack_from_disk_local"));
    assert_eq!(*packs.asked.borrow(), ["/etc/vigil/pack.conf"]);
}

#[test]
fn pack_shard_and_version_and_query_version_apply() {
    let doc = json!({
        "schedule": {
            "old_enough": {"query": "SELECT 1", "interval": 10, "version": "0.0.1"},
            "too_new": {"query": "SELECT 1", "interval": 10, "version": "99.1.0"}
        },
        "packs": {
            "sharded": {"shard": 20, "queries": {
                "own_less": {"query": "SELECT 1", "interval": 10, "shard": 5},
                "own_more": {"query": "SELECT 1", "interval": 10, "shard": 90},
                "none": {"query": "SELECT 1", "interval": 10}
            }},
            "future": {"version": "99.0.0", "queries": {"q": {"query": "SELECT 1", "interval": 10}}},
            "mixed": {"version": "0.0.0", "queries": {
                "fits": {"query": "SELECT 1", "interval": 10},
                "later": {"query": "SELECT 1", "interval": 10, "version": "100"}
            }}
        }
    });
    let config = parse_doc(doc).expect("valid");
    let names: Vec<&str> = config.schedule.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        vec![
            "old_enough",
            "pack_mixed_fits",
            "pack_sharded_none",
            "pack_sharded_own_less",
            "pack_sharded_own_more"
        ]
    );
    // Both the pack's and the query's shard must fit: the smaller one decides.
    assert_eq!(config.schedule["pack_sharded_own_less"].shard, Some(5));
    assert_eq!(config.schedule["pack_sharded_own_more"].shard, Some(20));
    assert_eq!(config.schedule["pack_sharded_none"].shard, Some(20));
    for left_out in [
        "schedule.too_new.version: needs version 99.1.0",
        "packs.future.version: needs version 99.0.0",
        "packs.mixed.queries.later.version: needs version 100",
    ] {
        assert!(
            config.warnings.iter().any(|w| w.starts_with(left_out)),
            "no `{left_out}` in {:?}",
            config.warnings
        );
    }

    let error = parse_doc(json!({"packs": {"p": {"shard": 101, "version": "x.y", "queries": {}}}}))
        .expect_err("invalid");
    let text = error.to_string();
    assert!(
        text.contains("packs.p.shard: expected a number from 1 to 100"),
        "{text}"
    );
    assert!(
        text.contains("packs.p.version: `x.y` is not a version"),
        "{text}"
    );
}

#[test]
fn event_switches_name_vigils_event_tables() {
    let config = parse_doc(json!({"events": {
        "enable_subscribers": ["bpf_process_events", "file_events"],
        "disable_subscribers": ["bpf_socket_events", "bpf_process_events", "yara_events"]
    }}))
    .expect("valid");
    assert!(
        !config.events.is_enabled("bpf_process_events"),
        "disable wins over enable"
    );
    assert!(!config.events.is_enabled("bpf_socket_events"));
    assert!(config.events.is_enabled("bpf_file_events"), "on by default");
    assert_eq!(config.warnings.len(), 2, "{:?}", config.warnings);
    assert!(
        config.warnings[0].starts_with(
            "events.enable_subscribers[1]: `file_events` is not an event table of vigil (bpf_"
        ),
        "{:?}",
        config.warnings
    );
    assert!(config.warnings[1].starts_with("events.disable_subscribers[2]: `yara_events`"));
}
