//! `version` of a pack or a query: the least agent version it needs (osquery's
//! `versionAtLeast`), compared with the version this agent reports as `osquery_info.version`.

use serde_json::Value;

use crate::Problems;

/// What `osquery_info.version` reports, and what `version` requirements are held against (every
/// crate of the workspace shares its version, the agent's).
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The numbers of a dotted version (`5.12.1`), or `None` when it is not one.
fn numbers(version: &str) -> Option<Vec<u64>> {
    version
        .trim()
        .split('.')
        .map(|chunk| chunk.parse().ok())
        .collect()
}

/// Whether `agent` is at least `required`; `0.0.0` passes everything (osquery's rule).
pub fn at_least(required: &[u64], agent: &[u64]) -> bool {
    if required.iter().all(|n| *n == 0) {
        return true;
    }
    for (index, have) in agent.iter().enumerate() {
        let Some(need) = required.get(index) else {
            return true;
        };
        if have != need {
            return have > need;
        }
    }
    required.len() <= agent.len() || required[agent.len()..].iter().all(|n| *n == 0)
}

/// Whether the pack or query `object` at `path` applies to this agent by its `version`: a
/// requirement it does not meet leaves it out with a warning; one that is not a version is an
/// error.
pub(crate) fn applies(object: &Value, path: &str, problems: &mut Problems) -> bool {
    let Some(value) = object.get("version") else {
        return true;
    };
    let required = match value {
        Value::Null => return true,
        Value::String(text) if text.is_empty() || text == "null" => return true,
        Value::String(text) => text,
        _ => {
            problems.error(
                &format!("{path}.version"),
                "expected a version such as \"5.2.0\"",
            );
            return true;
        }
    };
    let (Some(need), Some(have)) = (numbers(required), numbers(AGENT_VERSION)) else {
        problems.error(
            &format!("{path}.version"),
            format!("`{required}` is not a version such as \"5.2.0\""),
        );
        return true;
    };
    let fits = at_least(&need, &have);
    if !fits {
        problems.warn(
            &format!("{path}.version"),
            format!(
                "needs version {required}; this agent is vigil {AGENT_VERSION} (the version \
                 osquery_info reports), so it is left out"
            ),
        );
    }
    fits
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn versions_compare_number_by_number() {
        assert!(at_least(&[0, 1, 0], &[0, 1, 0]));
        assert!(at_least(&[0, 0, 9], &[0, 1, 0]));
        assert!(at_least(&[0, 1], &[0, 1, 3]));
        assert!(!at_least(&[0, 2], &[0, 1, 3]));
        assert!(!at_least(&[5, 0, 0], &[0, 1, 0]));
        assert!(!at_least(&[0, 1, 0, 1], &[0, 1, 0]));
        assert!(at_least(&[0, 0, 0], &[0, 1, 0]), "0.0.0 always passes");
        assert!(at_least(&[10, 0], &[10, 0, 0]));
    }

    #[test]
    fn a_requirement_left_unmet_is_a_warning_and_a_bad_one_an_error() {
        let mut problems = Problems::default();
        assert!(applies(&json!({}), "p", &mut problems));
        assert!(applies(&json!({"version": "0.0.1"}), "p", &mut problems));
        assert!(!applies(
            &json!({"version": "99.0.0"}),
            "packs.new",
            &mut problems
        ));
        assert!(problems.errors.is_empty());
        assert_eq!(problems.warnings.len(), 1);
        assert!(problems.warnings[0].starts_with("packs.new.version: needs version 99.0.0"));
        applies(&json!({"version": "five"}), "q", &mut problems);
        applies(&json!({"version": 5}), "r", &mut problems);
        assert_eq!(problems.errors.len(), 2, "{:?}", problems.errors);
    }
}
