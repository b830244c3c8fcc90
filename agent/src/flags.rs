//! Where flags come from besides the command line, as osquery reads them: `--flagfile` (one flag
//! per line, `#` comments), and the config's `options`. Precedence: the command line, then the
//! flagfile (in place of `--flagfile`), then `options`.

use std::{collections::BTreeMap, ffi::OsString, path::Path};

use anyhow::{Context as _, bail};
use serde_json::Value;
use vigil_config::flagfile::parse_flagfile;

static CURRENT: std::sync::Mutex<Vec<vigil_tables::FlagInfo>> = std::sync::Mutex::new(Vec::new());

/// The flags of the running subcommand, for `vigil_flags` and `vigil_registry`.
pub fn current() -> Vec<vigil_tables::FlagInfo> {
    CURRENT.lock().map(|f| f.clone()).unwrap_or_default()
}

/// Records the running subcommand's flags and their values from the final command line.
pub fn remember(args: &[OsString]) {
    if let Some(flags) = describe(args)
        && let Ok(mut current) = CURRENT.lock()
    {
        *current = flags;
    }
}

/// The flags `vigil_flags` shows for the command line `args`. A daemon's are its own, with the
/// values it runs with. `vigil query` and the shell show the flags a daemon would have (fleet
/// managers read `distributed_interval`, `config_refresh`, `logger_tls_period` through them),
/// with this command line's value where it sets one, then their own other flags as
/// `shell_only`.
fn describe(args: &[OsString]) -> Option<Vec<vigil_tables::FlagInfo>> {
    use clap::CommandFactory as _;
    let matches = crate::cli::Cli::command().try_get_matches_from(args).ok()?;
    let (name, sub) = matches.subcommand()?;
    let command = crate::cli::Cli::command();
    let running = command.find_subcommand(name)?;
    let daemon = command.find_subcommand("daemon")?;
    let given = |long: &str| {
        let arg = running
            .get_arguments()
            .find(|arg| arg.get_long() == Some(long))?;
        let id = arg.get_id().as_str();
        match sub.value_source(id) {
            Some(clap::parser::ValueSource::DefaultValue) | None if name != "daemon" => None,
            _ => Some(joined(sub.get_raw(id))),
        }
    };
    let mut flags: Vec<_> = daemon
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            Some(flag_info(arg, long, given(long), false))
        })
        .collect();
    if name != "daemon" {
        flags.extend(running.get_arguments().filter_map(|arg| {
            let long = arg.get_long()?;
            let in_daemon = daemon.get_arguments().any(|a| a.get_long() == Some(long));
            (!in_daemon).then(|| {
                let id = arg.get_id().as_str();
                flag_info(arg, long, Some(joined(sub.get_raw(id))), true)
            })
        }));
    }
    Some(flags)
}

/// A flag's values as one string (`filesystem,tls`).
fn joined(values: Option<clap::parser::RawValues<'_>>) -> String {
    values
        .map(|v| {
            v.map(|s| s.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// One row of `vigil_flags`: `value` when the command line gives one, the default otherwise.
fn flag_info(
    arg: &clap::Arg,
    long: &str,
    value: Option<String>,
    shell_only: bool,
) -> vigil_tables::FlagInfo {
    let default_value = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(",");
    let value = value.unwrap_or_else(|| default_value.clone());
    let kind = if !arg.get_action().takes_values() || matches!(value.as_str(), "true" | "false") {
        "bool"
    } else if !value.is_empty() && value.parse::<i64>().is_ok() {
        "int"
    } else {
        "string"
    };
    vigil_tables::FlagInfo {
        name: long.to_owned(),
        kind: kind.to_owned(),
        description: arg.get_help().map(|h| h.to_string()).unwrap_or_default(),
        default_value,
        value,
        shell_only,
    }
}

/// The arguments in the flagfile at `path` (its text parsed by `vigil_config::flagfile`).
fn flagfile_args(path: &Path) -> anyhow::Result<Vec<OsString>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading --flagfile {}", path.display()))?;
    let args = parse_flagfile(&text)
        .map_err(|error| anyhow::anyhow!("--flagfile {} {error}", path.display()))?;
    Ok(args.into_iter().map(OsString::from).collect())
}

/// Replaces each `--flagfile FILE` / `--flagfile=FILE` with the flags in FILE.
pub fn expand_flagfiles(args: Vec<OsString>) -> anyhow::Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if let Some(path) = text.strip_prefix("--flagfile=") {
            out.extend(flagfile_args(Path::new(path))?);
        } else if text == "--flagfile" {
            let Some(path) = iter.next() else {
                bail!("--flagfile needs a file name");
            };
            out.extend(flagfile_args(Path::new(&path))?);
        } else {
            out.push(arg);
        }
    }
    Ok(out)
}

/// Flags a config's `options` (a file's, or a TLS server's) may not set: they lower the daemon's
/// guard against its own host, so only whoever starts it (the command line itself) decides them.
const COMMAND_LINE_ONLY: &[&str] = &["allow_unsafe"];

/// The config's `options` as arguments for `command`, placed before the command line's so those
/// win. Options the command does not know, and those only the command line may set, are
/// returned as warnings.
pub fn options_as_args(
    options: &BTreeMap<String, Value>,
    command: &clap::Command,
) -> (Vec<OsString>, Vec<String>) {
    let mut args = Vec::new();
    let mut warnings = Vec::new();
    for (name, value) in options {
        if COMMAND_LINE_ONLY.contains(&name.as_str()) {
            warnings.push(format!(
                "options.{name}: ignored: --{name} is honoured only on the command line, never \
                 from a config (nor from a --flagfile)"
            ));
            continue;
        }
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(name.as_str()))
        else {
            warnings.push(format!(
                "options.{name}: not a flag of `vigil daemon`, ignored"
            ));
            continue;
        };
        let takes_value = arg.get_action().takes_values();
        match (value, takes_value) {
            (Value::Bool(true), false) => args.push(OsString::from(format!("--{name}"))),
            (Value::Bool(false), false) => {}
            (Value::String(s), _) => args.push(OsString::from(format!("--{name}={s}"))),
            (other, _) => args.push(OsString::from(format!("--{name}={other}"))),
        }
    }
    (args, warnings)
}

/// The daemon's command line `args` (flagfiles expanded) with a config's `options` where the
/// command line is silent, parsed; `None` when the options add nothing. Also what
/// `vigil_flags` shows from then on. The second value lists the options left out: those that are
/// not flags, those only the command line may set, and those whose value the flag does not take
/// (each is checked alone, so one bad value leaves the others applied).
pub fn with_options(
    args: &[OsString],
    options: &BTreeMap<String, Value>,
) -> anyhow::Result<(Option<crate::cli::Cli>, Vec<String>)> {
    use clap::{CommandFactory as _, Parser as _};
    let command = crate::cli::Cli::command();
    let Some(subcommand) = command.find_subcommand("daemon") else {
        return Ok((None, Vec::new()));
    };
    let (extra, mut warnings) = options_as_args(options, subcommand);
    let mut valid = Vec::new();
    for arg in extra {
        let alone = insert_after_subcommand(args, "daemon", vec![arg.clone()]);
        match crate::cli::Cli::try_parse_from(&alone) {
            Ok(_) => valid.push(arg),
            Err(error) => {
                let option = arg.to_string_lossy();
                let name = option
                    .trim_start_matches("--")
                    .split('=')
                    .next()
                    .unwrap_or_default();
                let reason = error.to_string();
                let reason = reason.lines().next().unwrap_or_default();
                warnings.push(format!(
                    "options.{name}: {}; ignored",
                    reason.trim_start_matches("error: ")
                ));
            }
        }
    }
    if valid.is_empty() {
        // The command line alone runs (also when a new config dropped the options of the last).
        remember(args);
        return Ok((None, warnings));
    }
    let merged = insert_after_subcommand(args, "daemon", valid);
    let cli = crate::cli::Cli::try_parse_from(&merged)?;
    // The options' values, not the bare command line's, are what runs.
    remember(&merged);
    Ok((Some(cli), warnings))
}

/// `args` with `extra` inserted right after the subcommand `name` (so global flags before the
/// subcommand stay where they are).
pub fn insert_after_subcommand(
    args: &[OsString],
    name: &str,
    extra: Vec<OsString>,
) -> Vec<OsString> {
    let at = args
        .iter()
        .skip(1)
        .position(|a| a == name)
        .map_or(args.len(), |i| i + 2);
    let mut out = args[..at.min(args.len())].to_vec();
    out.extend(extra);
    out.extend_from_slice(&args[at.min(args.len())..]);
    out
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;
    use crate::cli::Cli;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn flagfiles_expand_in_place_with_both_syntaxes() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("vigil.flags");
        std::fs::write(
            &file,
            "# comment\n--events_expiry=60\n\n--database_path /tmp/db\n--disable_events\n",
        )
        .expect("write");
        let expanded = expand_flagfiles(os(&[
            "vigil",
            "daemon",
            &format!("--flagfile={}", file.display()),
            "--events_max=5",
        ]))
        .expect("expands");
        assert_eq!(
            expanded,
            os(&[
                "vigil",
                "daemon",
                "--events_expiry=60",
                "--database_path",
                "/tmp/db",
                "--disable_events",
                "--events_max=5"
            ])
        );
    }

    #[test]
    fn flagfile_errors_name_the_line() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("bad.flags");
        std::fs::write(&file, "--ok=1\nnot-a-flag\n").expect("write");
        let error = expand_flagfiles(os(&["vigil", "--flagfile", &file.to_string_lossy()]))
            .expect_err("bad line");
        assert!(error.to_string().contains("line 2"), "{error}");
        assert!(expand_flagfiles(os(&["vigil", "--flagfile"])).is_err());
    }

    #[test]
    fn options_become_flags_the_command_line_overrides() {
        let command = Cli::command();
        let daemon = command
            .find_subcommand("daemon")
            .expect("daemon subcommand")
            .clone();
        let mut options = BTreeMap::new();
        options.insert("events_expiry".to_owned(), Value::from(60));
        options.insert("disable_events".to_owned(), Value::Bool(true));
        options.insert("config_check".to_owned(), Value::Bool(false));
        options.insert("no_such_flag".to_owned(), Value::from("x"));
        let (args, warnings) = options_as_args(&options, &daemon);
        assert_eq!(args, os(&["--disable_events=true", "--events_expiry=60"]));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("options.no_such_flag"));
        let merged = insert_after_subcommand(
            &os(&["vigil", "--verbose", "daemon", "--events_expiry=5"]),
            "daemon",
            args,
        );
        assert_eq!(
            merged,
            os(&[
                "vigil",
                "--verbose",
                "daemon",
                "--disable_events=true",
                "--events_expiry=60",
                "--events_expiry=5"
            ])
        );
        let cli = Cli::try_parse_from(&merged).expect("later flags override earlier ones");
        let crate::cli::Command::Daemon(args) = cli.command else {
            panic!("daemon");
        };
        assert_eq!(args.events.events_expiry, 5, "the command line wins");
        assert!(
            args.disable_events,
            "the option applies where the command line is silent"
        );
    }

    #[test]
    fn allow_unsafe_is_never_taken_from_a_configs_options() {
        let mut options = BTreeMap::new();
        options.insert("allow_unsafe".to_owned(), Value::Bool(true));
        options.insert("events_expiry".to_owned(), Value::from(60));
        let argv = os(&["vigil", "daemon"]);
        let (cli, warnings) = with_options(&argv, &options).expect("parses");
        let cli = cli.expect("events_expiry applies");
        let crate::cli::Command::Daemon(args) = cli.command else {
            panic!("daemon");
        };
        assert!(
            !args.watchdog.allow_unsafe,
            "the config cannot switch it on"
        );
        assert_eq!(args.events.events_expiry, 60);
        assert_eq!(
            warnings,
            [
                "options.allow_unsafe: ignored: --allow_unsafe is honoured only on the command \
              line, never from a config (nor from a --flagfile)"
            ]
        );

        let only = BTreeMap::from([("allow_unsafe".to_owned(), Value::Bool(true))]);
        let (_, warnings) = with_options(&argv, &only).expect("parses");
        assert_eq!(warnings.len(), 1, "{warnings:?}");

        // A flagfile's parses like the command line's; the daemon then ignores it, with a
        // warning (safe_files::at_start::allowed_on_command_line).
        let dir = tempfile::tempdir().expect("dir");
        let flagfile = dir.path().join("vigil.flags");
        std::fs::write(&flagfile, "--allow_unsafe\n").expect("flagfile");
        let argv = expand_flagfiles(os(&[
            "vigil",
            "daemon",
            &format!("--flagfile={}", flagfile.display()),
        ]))
        .expect("expands");
        let (cli, _) = with_options(&argv, &options).expect("parses");
        let cli = cli.expect("events_expiry applies");
        let crate::cli::Command::Daemon(args) = cli.command else {
            panic!("daemon");
        };
        assert!(args.watchdog.allow_unsafe);
    }

    #[test]
    fn an_option_with_a_bad_value_is_left_out_alone() {
        let mut options = BTreeMap::new();
        options.insert("distributed_interval".to_owned(), Value::from(-5));
        options.insert("logger_tls_period".to_owned(), Value::from("soon"));
        options.insert("logger_tls_max_lines".to_owned(), Value::from(3));
        let (cli, warnings) = with_options(&os(&["vigil", "daemon"]), &options).expect("parses");
        let cli = cli.expect("an option applies");
        let crate::cli::Command::Daemon(args) = cli.command else {
            panic!("daemon");
        };
        assert_eq!(
            args.remote.logger_tls_max_lines, 3,
            "the good option applies"
        );
        assert_eq!(args.remote.distributed_interval, 60, "the default stays");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("options.distributed_interval: ")
                && warnings[0].contains("-5")
                && warnings[0].ends_with("; ignored"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("options.logger_tls_period: ") && warnings[1].contains("soon"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_distributed_plugin_vigil_does_not_have_is_refused_by_name() {
        use clap::Parser as _;
        let error =
            crate::cli::Cli::try_parse_from(["vigil", "daemon", "--distributed_plugin=kafka"])
                .expect_err("only tls exists");
        let text = error.to_string();
        assert!(text.contains("'kafka'") && text.contains("tls"), "{text}");
        let mut options = BTreeMap::new();
        options.insert("distributed_plugin".to_owned(), Value::from("kafka"));
        let (_, warnings) = options_as_args(&options, &daemon_command());
        assert!(warnings.is_empty(), "a known flag: {warnings:?}");
        let (cli, warnings) = with_options(&os(&["vigil", "daemon"]), &options).expect("parses");
        assert!(cli.is_none(), "the option is left out");
        assert!(
            warnings.len() == 1 && warnings[0].starts_with("options.distributed_plugin: "),
            "and said so: {warnings:?}"
        );
    }

    fn described(args: &[&str]) -> Vec<vigil_tables::FlagInfo> {
        describe(&os(args)).expect("a subcommand")
    }

    fn value_of(flags: &[vigil_tables::FlagInfo], name: &str) -> Option<(String, bool)> {
        flags
            .iter()
            .find(|f| f.name == name)
            .map(|f| (f.value.clone(), f.shell_only))
    }

    #[test]
    fn query_and_shell_show_the_flags_a_daemon_would_have() {
        for args in [&["vigil", "query", "SELECT 1"][..], &["vigil", "shell"]] {
            let flags = described(args);
            for (name, value) in [
                ("distributed_interval", "60"),
                ("config_refresh", "0"),
                ("logger_tls_period", "4"),
                ("pack_delimiter", "_"),
                ("config_plugin", "filesystem"),
                ("disable_events", "false"),
            ] {
                assert_eq!(
                    value_of(&flags, name),
                    Some((value.to_owned(), false)),
                    "{args:?}: {name}"
                );
            }
        }
        let shell = described(&["vigil", "shell", "--events_expiry=77", "--json"]);
        assert_eq!(
            value_of(&shell, "events_expiry"),
            Some(("77".into(), false))
        );
        assert_eq!(value_of(&shell, "json"), Some(("true".into(), true)));
        assert_eq!(
            value_of(&shell, "history_file"),
            Some((String::new(), true))
        );
        let names: Vec<&str> = shell.iter().map(|f| f.name.as_str()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "each flag once: {names:?}");
    }

    #[test]
    fn a_daemon_shows_the_values_it_runs_with() {
        let flags = described(&[
            "vigil",
            "daemon",
            "--distributed_interval=15",
            "--logger_plugin=filesystem,tls",
        ]);
        assert_eq!(
            value_of(&flags, "distributed_interval"),
            Some(("15".into(), false))
        );
        assert_eq!(
            value_of(&flags, "logger_plugin"),
            Some(("filesystem,tls".into(), false))
        );
        assert_eq!(
            value_of(&flags, "logger_tls_period"),
            Some(("4".into(), false))
        );
        assert!(flags.iter().all(|f| !f.shell_only));
    }

    fn daemon_command() -> clap::Command {
        Cli::command()
            .find_subcommand("daemon")
            .expect("daemon subcommand")
            .clone()
    }
}
