//! `--config_check` and `--config_dump`: read the config, report, and stop.

use std::process::ExitCode;

use anyhow::bail;

use crate::{
    cli::DaemonArgs,
    config,
    session::{Events, Session},
    sql,
};

/// Every scheduled query and decorator, prepared against vigil's tables: SQL errors named by the
/// config path of the query.
fn sql_problems(config: &config::Config) -> anyhow::Result<Vec<String>> {
    let session = Session::open(Events::None, sql::Limits::NONE)?;
    let mut problems = Vec::new();
    let mut check = |path: String, text: &str| {
        if let Err(error) = sql::prepare_all(&session.conn, text) {
            problems.push(format!("{path}: {}", sql::message(&error)));
        }
    };
    for (name, query) in &config.schedule {
        check(format!("schedule.{name}.query"), &query.query);
    }
    let d = &config.decorators;
    for (i, sql) in d.load.iter().enumerate() {
        check(format!("decorators.load[{i}]"), sql);
    }
    for (i, sql) in d.always.iter().enumerate() {
        check(format!("decorators.always[{i}]"), sql);
    }
    for (seconds, queries) in &d.interval {
        for (i, sql) in queries.iter().enumerate() {
            check(format!("decorators.interval.{seconds}[{i}]"), sql);
        }
    }
    Ok(problems)
}

/// `--config_check` and `--config_dump`: read the config, report, and stop.
pub fn check_or_dump(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = args.events.config_path.as_deref() else {
        bail!("--config_check and --config_dump need --config_path");
    };
    let config = match config::load(path, &args.events.pack_delimiter) {
        Ok(config) => config,
        Err(error) => {
            for line in &error.errors {
                eprintln!("error: {line}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    if args.config_dump {
        println!("{}", serde_json::to_string_pretty(&config::dump(&config))?);
        return Ok(ExitCode::SUCCESS);
    }
    let problems = sql_problems(&config)?;
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if problems.is_empty() {
        let here = config
            .schedule
            .values()
            .filter(|q| q.runs_on_linux())
            .count();
        println!(
            "{}: valid ({} scheduled queries, {here} for this platform)",
            path.display(),
            config.schedule.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
