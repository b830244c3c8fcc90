//! Bounds on the daemon's numeric flags, whoever set them (the command line, a flagfile, a config's
//! `options`, the TLS server's): a value past its bound is brought back to it with a warning, so
//! that no `Instant + Duration`, allocation or product made from it can overflow and panic.

use crate::cli::DaemonArgs;

/// osquery's longest query interval, a week: no wait of the daemon's needs to be longer.
const WEEK: u64 = 604_800;
const HOUR: u64 = 3600;

/// The bound of each numeric flag that becomes a wait, a size or a factor.
fn bounded_flags(args: &mut DaemonArgs) -> Vec<(&'static str, &mut u64, u64)> {
    let remote = &mut args.remote;
    let watchdog = &mut args.watchdog;
    vec![
        ("config_refresh", &mut remote.config_refresh, WEEK),
        (
            "config_accelerated_refresh",
            &mut remote.config_accelerated_refresh,
            WEEK,
        ),
        (
            "distributed_interval",
            &mut remote.distributed_interval,
            WEEK,
        ),
        ("logger_tls_period", &mut remote.logger_tls_period, WEEK),
        (
            "logger_tls_backoff_max",
            &mut remote.logger_tls_backoff_max,
            WEEK,
        ),
        ("tls_request_timeout", &mut remote.tls_request_timeout, HOUR),
        (
            "tls_enroll_max_interval",
            &mut remote.tls_enroll_max_interval,
            WEEK,
        ),
        (
            "schedule_splay_percent",
            &mut args.schedule_splay_percent,
            100,
        ),
        ("watchdog_delay", &mut watchdog.watchdog_delay, WEEK),
        (
            "watchdog_forced_shutdown_delay",
            &mut watchdog.watchdog_forced_shutdown_delay,
            HOUR,
        ),
        ("watchdog_max_delay", &mut watchdog.watchdog_max_delay, WEEK),
        (
            "watchdog_latency_limit",
            &mut watchdog.watchdog_latency_limit,
            WEEK,
        ),
        // In MB: a petabyte is no limit at all, and stays far from overflowing in bytes.
        (
            "watchdog_memory_limit",
            &mut watchdog.watchdog_memory_limit,
            1 << 30,
        ),
    ]
}

/// The channel between the kernel reader and the store writer is allocated up front.
const CHANNEL_MAX: usize = 1 << 24;

/// Brings every bounded flag within its bound; returns a warning for each one that was not.
pub fn apply(args: &mut DaemonArgs) -> Vec<String> {
    let mut warnings = Vec::new();
    for (flag, value, max) in bounded_flags(args) {
        if *value > max {
            warnings.push(format!(
                "--{flag}={value} is more than {max}, the most it may be; {max} is used"
            ));
            *value = max;
        }
    }
    let channel = &mut args.events.events_channel_size;
    if *channel > CHANNEL_MAX {
        warnings.push(format!(
            "--events_channel_size={channel} is more than {CHANNEL_MAX}, the most it may be; \
             {CHANNEL_MAX} is used"
        ));
        *channel = CHANNEL_MAX;
    }
    warnings
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn daemon_args(flags: &[&str]) -> DaemonArgs {
        let cli = Cli::try_parse_from(["vigil", "daemon"].iter().chain(flags)).expect("parses");
        match cli.command {
            Command::Daemon(args) => *args,
            _ => panic!("a daemon command line"),
        }
    }

    #[test]
    fn values_past_their_bound_are_brought_back_with_a_warning() {
        let huge = u64::MAX.to_string();
        let mut args = daemon_args(&[
            &format!("--config_refresh={huge}"),
            &format!("--distributed_interval={huge}"),
            "--schedule_splay_percent=1000",
            &format!("--events_channel_size={}", usize::MAX),
            "--logger_tls_period=4",
        ]);
        let warnings = apply(&mut args);
        assert_eq!(args.remote.config_refresh, WEEK);
        assert_eq!(args.remote.distributed_interval, WEEK);
        assert_eq!(args.schedule_splay_percent, 100);
        assert_eq!(args.events.events_channel_size, CHANNEL_MAX);
        assert_eq!(args.remote.logger_tls_period, 4, "within bounds: kept");
        assert_eq!(warnings.len(), 4, "{warnings:?}");
        assert!(
            warnings[0].starts_with(&format!("--config_refresh={huge} is more than 604800")),
            "{warnings:?}"
        );
        // What the daemon does with them cannot overflow.
        let _ =
            std::time::Instant::now() + std::time::Duration::from_secs(args.remote.config_refresh);
    }
}
