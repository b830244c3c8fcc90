//! `vigil_registry` (alias `osquery_registry`): what osquery's registry would list for this
//! agent — its tables, and its config, logger, distributed, enroll, database, event and SQL
//! plugins — with osquery's columns. Fleet managers ask it which tables exist
//! (`SELECT 1 FROM osquery_registry WHERE active = true AND registry = 'table' AND name = 'x'`)
//! before they send a query that needs one, so a table vigil lacks is skipped, not failed.

use crate::{
    row::table_row,
    snapshot::util::rows,
    table::{Column, Row, Rows, ScanRequest, Table, TableError},
};

use super::vigil_flags::FlagSource;

table_row! {
    struct RegistryRow {
        registry: Text,
        name: Text,
        owner_uuid: Integer,
        internal: Integer,
        active: Integer,
    }
}

/// Which of a registry's plugins is active.
#[derive(Debug, Clone, Copy)]
enum Active {
    /// Every plugin (osquery: a registry without an active plugin, such as `table`).
    All,
    /// Those the flag names (comma-separated, as `--logger_plugin=filesystem,tls`).
    NamedBy(&'static str),
    /// Every plugin while events are on (`--disable_events` off).
    WithEvents,
}

/// A registry whose plugins are fixed.
struct Plugins {
    registry: &'static str,
    names: &'static [&'static str],
    active: Active,
    internal: bool,
}

/// vigil's plugins in osquery's registries (vigil has no extensions, killswitch or numeric
/// monitoring plugins).
const PLUGINS: &[Plugins] = &[
    Plugins {
        registry: "config",
        names: &["filesystem", "tls"],
        active: Active::NamedBy("config_plugin"),
        internal: false,
    },
    Plugins {
        registry: "database",
        names: &["rocksdb"],
        active: Active::All,
        internal: false,
    },
    Plugins {
        registry: "distributed",
        names: &["tls"],
        active: Active::NamedBy("distributed_plugin"),
        internal: false,
    },
    Plugins {
        registry: "enroll",
        names: &["tls"],
        active: Active::All,
        internal: false,
    },
    Plugins {
        registry: "logger",
        names: &["filesystem", "tls"],
        active: Active::NamedBy("logger_plugin"),
        internal: false,
    },
    Plugins {
        registry: "sql",
        names: &["sql"],
        active: Active::All,
        internal: true,
    },
];

pub struct VigilRegistry {
    /// Every table name and alias vigil answers to, this table's included.
    tables: Vec<&'static str>,
    /// The event tables a publisher of this platform fills (osquery's subscribers).
    subscribers: Vec<&'static str>,
    /// The publishers of this platform.
    publishers: Vec<&'static str>,
    flags: FlagSource,
}

impl VigilRegistry {
    pub const NAMES: [&'static str; 2] = ["vigil_registry", "osquery_registry"];

    /// The registry of an agent with `tables` (by name and alias; this table's own names are
    /// added), whose flags come from `flags`.
    pub fn new(tables: &[std::sync::Arc<dyn Table>], flags: FlagSource) -> Self {
        let mut names: Vec<&'static str> = tables
            .iter()
            .flat_map(|t| std::iter::once(t.name()).chain(t.aliases().iter().copied()))
            .chain(Self::NAMES)
            .collect();
        names.sort_unstable();
        names.dedup();
        let subscribers = vigil_events::EventTable::ALL
            .iter()
            .filter(|table| vigil_events::platform::source_of(**table).is_some())
            .map(|table| table.name())
            .collect();
        let publishers = vigil_events::platform::sources()
            .iter()
            .map(|source| source.name)
            .collect();
        Self {
            tables: names,
            subscribers,
            publishers,
            flags,
        }
    }

    fn is_active(&self, active: Active, plugin: &str) -> bool {
        match active {
            Active::All => true,
            Active::NamedBy(flag) => self
                .flags
                .value(flag)
                .is_some_and(|value| value.split(',').any(|named| named.trim() == plugin)),
            Active::WithEvents => self
                .flags
                .value("disable_events")
                .is_none_or(|value| value != "true"),
        }
    }

    fn rows(&self) -> Vec<Row> {
        let event_registries: [(&'static str, &[&'static str]); 2] = [
            ("event_publisher", &self.publishers),
            ("event_subscriber", &self.subscribers),
        ];
        let mut registries: Vec<(&'static str, &[&'static str], Active, bool)> = PLUGINS
            .iter()
            .map(|p| (p.registry, p.names, p.active, p.internal))
            .collect();
        registries.extend(
            event_registries
                .into_iter()
                .map(|(registry, names)| (registry, names, Active::WithEvents, false)),
        );
        registries.push(("table", &self.tables, Active::All, false));
        registries.sort_by_key(|(registry, ..)| *registry);
        registries
            .into_iter()
            .flat_map(|(registry, names, active, internal)| {
                names.iter().map(move |name| {
                    RegistryRow {
                        registry: registry.into(),
                        name: (*name).into(),
                        owner_uuid: 0.into(),
                        internal: internal.into(),
                        active: self.is_active(active, name).into(),
                    }
                    .into()
                })
            })
            .collect()
    }
}

impl Table for VigilRegistry {
    fn name(&self) -> &'static str {
        Self::NAMES[0]
    }

    fn aliases(&self) -> &'static [&'static str] {
        &Self::NAMES[1..]
    }

    fn columns(&self) -> &'static [Column] {
        RegistryRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(self.rows()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{FlagInfo, Value};

    fn flag(name: &str, value: &str) -> FlagInfo {
        FlagInfo {
            name: name.to_owned(),
            value: value.to_owned(),
            ..FlagInfo::default()
        }
    }

    fn registry(flags: Vec<FlagInfo>) -> VigilRegistry {
        let tables: Vec<Arc<dyn Table>> = vec![
            Arc::new(crate::snapshot::time::Time),
            Arc::new(crate::snapshot::hash::Hash),
        ];
        VigilRegistry::new(&tables, FlagSource::fixed(flags))
    }

    /// `(registry, name, active)` of every row.
    fn listed(registry: &VigilRegistry) -> Vec<(String, String, i64)> {
        registry
            .rows()
            .into_iter()
            .map(|row| {
                let text = |i: usize| row[i].as_text().unwrap_or_default().to_owned();
                (
                    text(RegistryRow::registry),
                    text(RegistryRow::name),
                    row[RegistryRow::active].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    }

    #[test]
    fn tables_are_listed_active_with_this_one() {
        let rows = listed(&registry(Vec::new()));
        let tables: Vec<&str> = rows
            .iter()
            .filter(|(r, ..)| r == "table")
            .map(|(_, name, active)| {
                assert_eq!(*active, 1, "{name}");
                name.as_str()
            })
            .collect();
        assert_eq!(
            tables,
            ["hash", "osquery_registry", "time", "vigil_registry"]
        );
        let registries: Vec<&str> = rows.iter().map(|(r, ..)| r.as_str()).collect();
        let mut sorted = registries.clone();
        sorted.sort_unstable();
        assert_eq!(registries, sorted, "in osquery's order, by registry");
    }

    #[test]
    fn the_plugins_the_flags_choose_are_active() {
        let rows = listed(&registry(vec![
            flag("config_plugin", "tls"),
            flag("logger_plugin", "filesystem,tls"),
            flag("distributed_plugin", "tls"),
            flag("disable_events", "true"),
        ]));
        let active = |registry: &str, name: &str| {
            rows.iter()
                .find(|(r, n, _)| r == registry && n == name)
                .map(|(.., active)| *active)
        };
        assert_eq!(active("config", "tls"), Some(1));
        assert_eq!(active("config", "filesystem"), Some(0));
        assert_eq!(active("logger", "filesystem"), Some(1));
        assert_eq!(active("logger", "tls"), Some(1));
        assert_eq!(active("distributed", "tls"), Some(1));
        assert_eq!(active("database", "rocksdb"), Some(1));
        assert_eq!(active("killswitch", "tls"), None, "vigil has none");
        #[cfg(target_os = "linux")]
        {
            assert_eq!(active("event_subscriber", "bpf_process_events"), Some(0));
            assert!(rows.iter().any(|(r, ..)| r == "event_publisher"));
        }
    }

    #[test]
    fn cells_have_osquery_types() {
        for row in registry(Vec::new()).rows() {
            assert_eq!(crate::table::row_mismatch(RegistryRow::COLUMNS, &row), None);
            assert_eq!(row[RegistryRow::owner_uuid], Value::Int(0));
        }
    }
}
