//! Shell history files (`.bash_history`, `.zsh_history`, ...), line by line as osquery's
//! `shell_history` reads them: bash's `#<seconds>` line gives the time of the command on the next
//! line; zsh's extended lines (`: <seconds>:<duration>;<command>`) carry their own; other lines
//! are commands with time 0.

/// One command of a history file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Seconds since the epoch; 0 when the file does not say.
    pub time: i64,
    pub command: String,
}

/// Reads a history file one line at a time (so a caller can stream a large file).
#[derive(Debug, Default)]
pub struct HistoryParser {
    /// A bash timestamp waiting for its command.
    pending_time: Option<i64>,
}

impl HistoryParser {
    /// The command `line` (without its newline) completes, if any.
    pub fn line(&mut self, line: &str) -> Option<HistoryEntry> {
        if self.pending_time.is_none()
            && let Some(time) = bash_timestamp(line)
        {
            self.pending_time = Some(time);
            return None;
        }
        if let Some(time) = self.pending_time.take() {
            return Some(HistoryEntry {
                time,
                command: line.to_owned(),
            });
        }
        if let Some((time, command)) = zsh_extended(line) {
            return Some(HistoryEntry {
                time,
                command: command.to_owned(),
            });
        }
        Some(HistoryEntry {
            time: 0,
            command: line.to_owned(),
        })
    }
}

/// Every command of a whole history file.
pub fn entries(text: &str) -> Vec<HistoryEntry> {
    let mut parser = HistoryParser::default();
    text.lines().filter_map(|l| parser.line(l)).collect()
}

/// `#1700000000`: digits only after the `#`.
fn bash_timestamp(line: &str) -> Option<i64> {
    let digits = line.strip_prefix('#')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `: 1700000000:0;command`: up to 10 spaces after the colon, up to 11 digits of time, digits
/// of duration.
fn zsh_extended(line: &str) -> Option<(i64, &str)> {
    let rest = line.strip_prefix(':')?;
    let trimmed = rest.trim_start_matches(' ');
    if rest.len() - trimmed.len() > 10 {
        return None;
    }
    let (time, rest) = trimmed.split_once(':')?;
    let (duration, command) = rest.split_once(';')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(time) || time.len() > 11 || !digits(duration) {
        return None;
    }
    Some((time.parse().ok()?, command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(i64, String)> {
        entries(text)
            .into_iter()
            .map(|e| (e.time, e.command))
            .collect()
    }

    #[test]
    fn bash_with_and_without_timestamps() {
        let text = "ls -la\n#1700000000\ncd /tmp\n#1700000005\n#not a time\nmake\n";
        assert_eq!(
            pairs(text),
            [
                (0, "ls -la".to_owned()),
                (1_700_000_000, "cd /tmp".to_owned()),
                // The line after a timestamp is its command, whatever it looks like.
                (1_700_000_005, "#not a time".to_owned()),
                (0, "make".to_owned()),
            ]
        );
    }

    #[test]
    fn zsh_extended_history() {
        let text = ": 1699999999:0;git status\n:  1700000001:12;sleep 12\n: x:0;odd\n";
        assert_eq!(
            pairs(text),
            [
                (1_699_999_999, "git status".to_owned()),
                (1_700_000_001, "sleep 12".to_owned()),
                (0, ": x:0;odd".to_owned()),
            ]
        );
    }

    #[test]
    fn a_trailing_timestamp_has_no_command() {
        assert!(entries("#1700000000").is_empty());
        assert_eq!(
            pairs("#99999999999999999999\n"),
            [(0, "#99999999999999999999".to_owned())]
        );
    }
}
