//! `file_paths`, `exclude_paths` and `file_accesses`: which file events are reported.

use std::collections::BTreeMap;

use serde_json::Value;
use vigil_events::file_filter::FileFilter;

/// The first problem in the file keys, named by its JSON path.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FileFilterError {
    path: String,
    problem: String,
}

fn problem(path: impl Into<String>, problem: impl Into<String>) -> FileFilterError {
    FileFilterError {
        path: path.into(),
        problem: problem.into(),
    }
}

/// `{ "category": ["pattern", ...], ... }`, with errors naming the JSON path.
fn categories(value: &Value, key: &str) -> Result<BTreeMap<String, Vec<String>>, FileFilterError> {
    let Some(object) = value.as_object() else {
        return Err(problem(
            key,
            "expected an object of categories, each a list of path patterns",
        ));
    };
    let mut out = BTreeMap::new();
    for (category, patterns) in object {
        let Some(list) = patterns.as_array() else {
            return Err(problem(
                format!("{key}.{category}"),
                "expected a list of path patterns",
            ));
        };
        let mut strings = Vec::with_capacity(list.len());
        for (i, pattern) in list.iter().enumerate() {
            let path = || format!("{key}.{category}[{i}]");
            match pattern.as_str() {
                Some(p) if p.starts_with('/') => strings.push(p.to_owned()),
                Some(p) => {
                    return Err(problem(
                        path(),
                        format!("`{p}` is not an absolute path pattern"),
                    ));
                }
                None => return Err(problem(path(), "expected a string")),
            }
        }
        out.insert(category.clone(), strings);
    }
    Ok(out)
}

/// The file-event filter from a config document.
pub fn file_filter(document: &Value) -> Result<FileFilter, FileFilterError> {
    let file_paths = match document.get("file_paths") {
        Some(v) => categories(v, "file_paths")?,
        None => BTreeMap::new(),
    };
    let exclude_paths = match document.get("exclude_paths") {
        Some(v) => Some(categories(v, "exclude_paths")?),
        None => None,
    };
    let file_accesses = match document.get("file_accesses") {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.as_str().map(str::to_owned).ok_or_else(|| {
                    problem(format!("file_accesses[{i}]"), "expected a category name")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(problem(
                "file_accesses",
                "expected a list of category names",
            ));
        }
    };
    for category in &file_accesses {
        if !file_paths.contains_key(category) {
            return Err(problem(
                "file_accesses",
                format!("`{category}` is not a category of file_paths"),
            ));
        }
    }
    Ok(FileFilter::from_config(
        &file_paths,
        exclude_paths.as_ref(),
        &file_accesses,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_osquery_keys() {
        let doc = serde_json::json!({
            "file_paths": {"etc": ["/etc/%%"], "keys": ["/home/%/.ssh/%%"]},
            "exclude_paths": {"etc": ["/etc/cache/%%"]},
            "file_accesses": ["keys"],
            "schedule": {}
        });
        let filter = file_filter(&doc).expect("valid");
        assert_eq!(filter.include.len(), 2);
        assert_eq!(filter.exclude.len(), 1);
        assert_eq!(filter.accesses.len(), 1);
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = file_filter(&serde_json::json!({"file_paths": {"etc": "/etc"}}))
            .expect_err("not a list");
        assert!(err.to_string().contains("file_paths.etc"), "{err}");
        let err = file_filter(&serde_json::json!({"file_paths": {"etc": ["etc/%%"]}}))
            .expect_err("relative");
        assert!(err.to_string().contains("file_paths.etc[0]"), "{err}");
        let err = file_filter(&serde_json::json!({"file_accesses": ["nope"]}))
            .expect_err("unknown category");
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
