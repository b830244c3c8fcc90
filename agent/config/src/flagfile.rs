//! The text of a `--flagfile`, as osquery reads it: one flag per line (`--flag=value`,
//! `--flag value` or `--flag`), blank lines and `#` comments skipped. Reading the file, and
//! putting its flags in place of `--flagfile`, is the agent's.

/// A line of a flagfile that is not a flag; `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagfileError {
    #[error("line {line}: `{text}` is not a flag (flags start with --)")]
    NotAFlag { line: usize, text: String },
    #[error("line {line}: a flagfile cannot name another flagfile")]
    NestedFlagfile { line: usize },
}

impl FlagfileError {
    /// The line (from 1) the error is about.
    pub fn line(&self) -> usize {
        match self {
            Self::NotAFlag { line, .. } | Self::NestedFlagfile { line } => *line,
        }
    }
}

/// The command-line arguments a flagfile's `text` stands for, in order: `--flag value` becomes
/// two arguments, the other forms one.
pub fn parse_flagfile(text: &str) -> Result<Vec<String>, FlagfileError> {
    let mut args = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with("--") {
            return Err(FlagfileError::NotAFlag {
                line: index + 1,
                text: line.to_owned(),
            });
        }
        if line.starts_with("--flagfile") {
            return Err(FlagfileError::NestedFlagfile { line: index + 1 });
        }
        match line.split_once(char::is_whitespace) {
            Some((flag, value)) if !flag.contains('=') => {
                args.push(flag.to_owned());
                args.push(value.trim().to_owned());
            }
            _ => args.push(line.to_owned()),
        }
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syntax_comments_and_blank_lines() {
        let args = parse_flagfile(
            "# comment\n--events_expiry=60\n\n  --database_path   /tmp/db  \n--disable_events\r\n\
             --config_path=/etc/vigil conf\n",
        )
        .expect("parses");
        assert_eq!(
            args,
            [
                "--events_expiry=60",
                "--database_path",
                "/tmp/db",
                "--disable_events",
                "--config_path=/etc/vigil conf"
            ]
        );
        assert_eq!(parse_flagfile(""), Ok(Vec::new()));
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse_flagfile("--ok=1\nnot-a-flag\n").expect_err("bad line");
        assert_eq!(error.line(), 2);
        assert_eq!(
            error.to_string(),
            "line 2: `not-a-flag` is not a flag (flags start with --)"
        );
        let error = parse_flagfile("\n\n--flagfile=/etc/other.flags").expect_err("nested");
        assert_eq!(
            error.to_string(),
            "line 3: a flagfile cannot name another flagfile"
        );
    }
}
