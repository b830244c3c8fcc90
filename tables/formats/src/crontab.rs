//! Cron tables (`/etc/crontab`, `/etc/cron.d/*`, `/var/spool/cron/crontabs/*`), one entry per
//! job line, split as osquery's `crontab` splits it: the five time fields, or an `@event`, then
//! the command (in system tables the user field starts the command, as in osquery).

/// One job line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CronEntry {
    /// `@reboot`, `@daily`, ...; empty for a line with time fields.
    pub event: String,
    pub minute: String,
    pub hour: String,
    pub day_of_month: String,
    pub month: String,
    pub day_of_week: String,
    /// The rest of the line, its words joined by single spaces.
    pub command: String,
}

/// The job a line describes; `None` for comments, blank lines, environment settings
/// (`MAILTO=root`, `PATH = /bin`) and lines too short to hold a command.
pub fn line(line: &str) -> Option<CronEntry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') || is_assignment(line) {
        return None;
    }
    let mut words = line.split_whitespace();
    let first = words.next()?;
    let mut entry = CronEntry::default();
    if first.starts_with('@') {
        entry.event = first.to_owned();
    } else {
        entry.minute = first.to_owned();
        entry.hour = words.next()?.to_owned();
        entry.day_of_month = words.next()?.to_owned();
        entry.month = words.next()?.to_owned();
        entry.day_of_week = words.next()?.to_owned();
    }
    entry.command = words.collect::<Vec<_>>().join(" ");
    (!entry.command.is_empty()).then_some(entry)
}

/// `NAME = value`, as cron reads environment settings: a name of letters, digits and `_`.
fn is_assignment(line: &str) -> bool {
    let Some((name, _)) = line.split_once('=') else {
        return false;
    };
    let name = name.trim_end();
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.bytes().next().is_some_and(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines() {
        let system = line("17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly")
            .expect("a job");
        assert_eq!((system.minute.as_str(), system.hour.as_str()), ("17", "*"));
        assert_eq!(system.day_of_week, "*");
        assert_eq!(
            system.command,
            "root cd / && run-parts --report /etc/cron.hourly"
        );
        assert_eq!(system.event, "");

        let reboot = line("@reboot /usr/local/bin/start-agent --quiet").expect("an event");
        assert_eq!(reboot.event, "@reboot");
        assert_eq!(reboot.minute, "");
        assert_eq!(reboot.command, "/usr/local/bin/start-agent --quiet");

        let names = line("30 2 1-15 jan,feb mon-fri /bin/backup").expect("named fields");
        assert_eq!(names.month, "jan,feb");
        assert_eq!(names.day_of_week, "mon-fri");
    }

    #[test]
    fn lines_that_are_not_jobs() {
        for text in [
            "# m h dom mon dow user command",
            "",
            "   ",
            "SHELL=/bin/sh",
            "PATH = /usr/local/sbin:/usr/bin",
            "MAILTO=\"\"",
            "1 2 3 4 5",
            "@daily",
            "1 2",
        ] {
            assert_eq!(line(text), None, "{text:?}");
        }
        // A job whose command holds `=` is still a job.
        assert!(line("0 0 * * * env A=1 /bin/x").is_some());
    }
}
