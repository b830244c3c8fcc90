//! osquery's table specs as `cargo xtask osquery-specs` extracted them (`specs.tsv`): each
//! table's Linux columns, their types and whether they are hidden.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecColumn {
    pub name: String,
    pub ty: String,
    pub hidden: bool,
}

/// Table name to its columns, in the spec's order.
pub fn specs() -> BTreeMap<String, Vec<SpecColumn>> {
    let mut specs: BTreeMap<String, Vec<SpecColumn>> = BTreeMap::new();
    for line in include_str!("specs.tsv").lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [table, name, ty, hidden, ..] = fields[..] else {
            panic!("specs.tsv: a line of {} fields: {line}", fields.len());
        };
        specs.entry(table.to_owned()).or_default().push(SpecColumn {
            name: name.to_owned(),
            ty: ty.to_owned(),
            hidden: hidden == "hidden",
        });
    }
    specs
}

/// The SQL type vigil declares for a spec's type: osquery's unsigned 64-bit integers are
/// SQLite BIGINTs like the others.
pub fn sql_type(spec_type: &str) -> &str {
    match spec_type {
        "UNSIGNED_BIGINT" => "BIGINT",
        other => other,
    }
}
