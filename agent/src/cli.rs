//! Command line, with osquery's flag names and syntax (`--flag=value` or `--flag value`;
//! booleans as `--flag` or `--flag=false`).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "vigil",
    version,
    // osquery's precedence: a flag given twice takes its last value (the command line comes after
    // the config's options and a flagfile's flags).
    args_override_self = true,
    about = "SQL over kernel event history: process events from eBPF, kept in RocksDB, read with \
             SQLite."
)]
pub struct Cli {
    /// Log more (repeat for more detail).
    #[arg(long, global = true, action = ArgAction::SetTrue)]
    pub verbose: bool,

    /// Read more flags from this file, one per line (`--flag=value`; `#` starts a comment).
    #[arg(long = "flagfile", global = true)]
    pub flagfile: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Interactive SQL shell. Events are off unless --disable_events=false; with --database_path
    /// and events off it reads a running daemon's history.
    Shell(ShellArgs),
    /// Run one SQL query and print the result (reads a daemon's history with --database_path).
    Query(QueryArgs),
    /// Collect events in the background until SIGTERM or SIGINT.
    Daemon(Box<DaemonArgs>),
    /// The daemon as a Windows service: install, uninstall, or run (as the service manager
    /// does). On Linux and macOS, packaging/ holds the systemd unit and the launchd plist.
    #[command(subcommand)]
    Service(ServiceAction),
}

impl Cli {
    /// A sentence for each flag given that does nothing on this platform.
    pub fn flags_without_effect_here(&self) -> Vec<String> {
        let events = match &self.command {
            Command::Daemon(args) => &args.events,
            Command::Shell(args) => &args.events,
            _ => return Vec::new(),
        };
        events.es.without_effect_on(std::env::consts::OS)
    }
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Register the `vigil` service (automatic start, LocalSystem), running
    /// `vigil service run -- DAEMON_FLAGS...`.
    Install {
        /// The daemon's flags, after `--` (for example `-- --database_path C:\ProgramData\vigil`).
        #[arg(last = true)]
        daemon_flags: Vec<String>,
    },
    /// Stop the `vigil` service if it runs, and remove it.
    Uninstall,
    /// Run the daemon under the service manager (what the installed service runs).
    Run {
        #[arg(last = true)]
        daemon_flags: Vec<String>,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputMode {
    Table,
    Json,
    Csv,
    Line,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Print results as a JSON array of objects.
    #[arg(long, conflicts_with_all = ["csv", "line"])]
    pub json: bool,
    /// Print results as comma-separated values with a header line.
    #[arg(long, conflicts_with_all = ["json", "line"])]
    pub csv: bool,
    /// Print each row as `column = value` lines.
    #[arg(long, conflicts_with_all = ["json", "csv"])]
    pub line: bool,
    /// In JSON output, print integers and reals as JSON numbers instead of strings.
    #[arg(long = "logger_numerics", default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub logger_numerics: bool,
}

impl OutputArgs {
    pub fn mode(&self) -> OutputMode {
        if self.json {
            OutputMode::Json
        } else if self.csv {
            OutputMode::Csv
        } else if self.line {
            OutputMode::Line
        } else {
            OutputMode::Table
        }
    }
}

/// Event collection settings shared by the shell and the daemon.
#[derive(Debug, Args, Clone)]
pub struct EventArgs {
    /// Seconds events are kept (0: no time limit).
    #[arg(long = "events_expiry", default_value_t = 3600)]
    pub events_expiry: u64,
    /// Rows kept per event table, oldest removed first (0: no limit).
    #[arg(long = "events_max", default_value_t = 1_000_000)]
    pub events_max: u64,
    /// Size of the kernel ring buffer in bytes (a power of two, at least 4096). The worker's
    /// resident memory holds it twice (the kernel maps it so), used or not; 2 MiB by default
    /// (8 MiB before), a quarter of which is enough for the bench's storms.
    #[arg(long = "bpf_ringbuf_size", default_value_t = vigil_events::DEFAULT_RINGBUF_BYTES)]
    pub bpf_ringbuf_size: u32,
    /// Bytes of each exec's argv kept; longer command lines are cut and marked `truncated`.
    #[arg(long = "bpf_argv_limit", default_value_t = 4096)]
    pub bpf_argv_limit: u32,
    /// An osquery-format JSON config; its `file_paths`, `exclude_paths` and `file_accesses` choose
    /// which file events are reported (without it, everything but /proc, /sys and /dev writes).
    #[arg(long = "config_path")]
    pub config_path: Option<PathBuf>,
    /// Joins pack and query names in scheduled query names (`pack_<pack>_<query>`).
    #[arg(long = "pack_delimiter", default_value = "_")]
    pub pack_delimiter: String,
    /// Capacity of the channel between the kernel reader and the store writer, in events.
    #[arg(long = "events_channel_size", default_value_t = 65536)]
    pub events_channel_size: usize,
    #[command(flatten)]
    pub audit: AuditArgs,
    #[command(flatten)]
    pub es: EsArgs,
}

/// The Endpoint Security publisher (macOS: `es_process_events`, `es_process_file_events`), with
/// osquery's flags: off unless --disable_endpointsecurity=false. Accepted everywhere, so one
/// flagfile or config serves every platform; elsewhere they do nothing, and say so.
#[derive(Debug, Args, Clone)]
pub struct EsArgs {
    /// Leave Endpoint Security alone (the default); false starts its process events (macOS).
    #[arg(long = "disable_endpointsecurity", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub disable_endpointsecurity: bool,
    /// No Endpoint Security file events (the default); false starts them, with
    /// --disable_endpointsecurity=false (macOS).
    #[arg(long = "disable_endpointsecurity_fim", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub disable_endpointsecurity_fim: bool,
    /// Comma-separated paths whose Endpoint Security file events are muted (macOS).
    #[arg(long = "es_fim_mute_path_literal", default_value = "")]
    pub es_fim_mute_path_literal: String,
    /// Comma-separated path prefixes whose Endpoint Security file events are muted (macOS).
    #[arg(long = "es_fim_mute_path_prefix", default_value = "")]
    pub es_fim_mute_path_prefix: String,
    /// File opens in es_process_file_events too (many; macOS).
    #[arg(long = "es_fim_enable_open_events", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub es_fim_enable_open_events: bool,
}

impl EsArgs {
    pub fn settings(&self) -> vigil_events::EsSettings {
        vigil_events::EsSettings {
            enabled: !self.disable_endpointsecurity,
            fim_enabled: !self.disable_endpointsecurity_fim,
            mute_path_literal: self.es_fim_mute_path_literal.clone(),
            mute_path_prefix: self.es_fim_mute_path_prefix.clone(),
            open_events: self.es_fim_enable_open_events,
        }
    }

    /// The flags set away from their defaults, each with a sentence saying it does nothing on
    /// `os` when that is not macOS (as on Linux and Windows, which have no Endpoint Security).
    pub fn without_effect_on(&self, os: &str) -> Vec<String> {
        if os == "macos" {
            return Vec::new();
        }
        let set = [
            ("disable_endpointsecurity", !self.disable_endpointsecurity),
            (
                "disable_endpointsecurity_fim",
                !self.disable_endpointsecurity_fim,
            ),
            (
                "es_fim_mute_path_literal",
                !self.es_fim_mute_path_literal.is_empty(),
            ),
            (
                "es_fim_mute_path_prefix",
                !self.es_fim_mute_path_prefix.is_empty(),
            ),
            ("es_fim_enable_open_events", self.es_fim_enable_open_events),
        ];
        set.into_iter()
            .filter(|(_, set)| *set)
            .map(|(flag, _)| {
                format!("--{flag} is a macOS flag (Endpoint Security); it does nothing on {os}")
            })
            .collect()
    }
}

/// The audit publisher (`process_events`, `socket_events`, `user_events`), with osquery's
/// flags: off unless --disable_audit=false.
#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// Leave the kernel's audit netlink socket alone (the default); false reads audit records.
    #[arg(long = "disable_audit", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_audit: bool,
    /// Let vigil enable audit, set the backlog and failure mode, and add its rule (all put back
    /// at exit); without it vigil reads what the host's own rules produce.
    #[arg(long = "audit_allow_config", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_config: bool,
    /// execve and execveat in process_events (and in vigil's rule).
    #[arg(long = "audit_allow_process_events", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_process_events: bool,
    /// fork, vfork and clone in process_events (and in vigil's rule).
    #[arg(long = "audit_allow_fork_process_events", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_fork_process_events: bool,
    /// bind and connect (and accept, accept4) in socket_events (and in vigil's rule).
    #[arg(long = "audit_allow_sockets", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_sockets: bool,
    /// accept and accept4 with --audit_allow_sockets.
    #[arg(long = "audit_allow_accept_socket_events", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_accept_socket_events: bool,
    /// Rows for failed socket calls too.
    #[arg(long = "audit_allow_failed_socket_events", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_failed_socket_events: bool,
    /// UNIX-domain sockets in socket_events.
    #[arg(long = "audit_allow_unix", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_unix: bool,
    /// User-space audit messages (logins, PAM, sudo) in user_events.
    #[arg(long = "audit_allow_user_events", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub audit_allow_user_events: bool,
    /// Records the kernel queues for vigil before it drops (and counts) them; set with
    /// --audit_allow_config. The kernel never waits for vigil (backlog wait time 0). 0, which
    /// the kernel takes for no limit at all, is refused.
    #[arg(long = "audit_backlog_limit", default_value_t = 4096, value_parser = audit_backlog_limit)]
    pub audit_backlog_limit: u32,
}

/// `--audit_backlog_limit`: a number of records, not 0 (no limit: the kernel's queue would grow
/// without bound while vigil falls behind, which is how audit hurts a host).
fn audit_backlog_limit(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(0) => Err(
            "0 means no limit to the kernel, whose audit backlog would then grow \
                      without bound while vigil falls behind; give a number of records, such \
                      as the default 4096"
                .to_owned(),
        ),
        Ok(records) => Ok(records),
        Err(error) => Err(format!(
            "{error}; give a number of records from 1 to {}",
            u32::MAX
        )),
    }
}

impl AuditArgs {
    pub fn settings(&self) -> vigil_events::AuditSettings {
        vigil_events::AuditSettings {
            enabled: !self.disable_audit,
            allow_config: self.audit_allow_config,
            process_events: self.audit_allow_process_events,
            fork_events: self.audit_allow_fork_process_events,
            socket_events: self.audit_allow_sockets,
            accept_events: self.audit_allow_accept_socket_events,
            failed_socket_events: self.audit_allow_failed_socket_events,
            unix_socket_events: self.audit_allow_unix,
            user_events: self.audit_allow_user_events,
            backlog_limit: self.audit_backlog_limit,
        }
    }
}

/// Bounds on ad-hoc queries (shell, `vigil query`) and distributed queries; a query past one is
/// stopped with an error naming the flag. Scheduled queries are bounded by the watchdog instead.
#[derive(Debug, Args, Clone)]
pub struct QueryLimitArgs {
    /// Seconds a shell, `vigil query` or distributed query may run before it is stopped (0: no
    /// limit).
    #[arg(long = "query_timeout", default_value_t = 300)]
    pub query_timeout: u64,
    /// Rows such a query may return (0: no limit).
    #[arg(long = "query_max_rows", default_value_t = 1_000_000)]
    pub query_max_rows: u64,
    /// Bytes of values such a query may return (0: no limit).
    #[arg(long = "query_max_bytes", default_value_t = 64 * 1024 * 1024)]
    pub query_max_bytes: u64,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    /// The event database. With events on, this shell collects into it; with events off, it reads
    /// (read-only) the history a daemon collects there.
    #[arg(long = "database_path")]
    pub database_path: Option<PathBuf>,
    /// Turn kernel event collection off (the shell's default) or on (`--disable_events=false`).
    #[arg(long = "disable_events", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_events: bool,
    #[command(flatten)]
    pub events: EventArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: QueryLimitArgs,
    /// Where line-editing history is kept (default: ~/.vigil_history).
    #[arg(long = "history_file")]
    pub history_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Read the event history of the daemon that collects into this database (read-only).
    #[arg(long = "database_path")]
    pub database_path: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: QueryLimitArgs,
    /// The SQL to run.
    pub sql: String,
}

#[derive(Debug, Args, Clone)]
pub struct DaemonArgs {
    /// Where events are stored.
    #[arg(long = "database_path", default_value_os_t = crate::default_paths::database_path())]
    pub database_path: PathBuf,
    /// Where logs are written.
    #[arg(long = "logger_path", default_value_os_t = crate::default_paths::logger_path())]
    pub logger_path: PathBuf,
    /// The daemon's pid file; a second daemon with the same file refuses to start.
    #[arg(long = "pidfile", default_value_os_t = crate::default_paths::pidfile())]
    pub pidfile: PathBuf,
    /// Turn kernel event collection off; the daemon's default is on.
    #[arg(long = "disable_events", default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_events: bool,
    /// What identifies this host in result lines: `hostname`, `uuid` or `specified`.
    #[arg(long = "host_identifier", default_value = "hostname", value_parser = ["hostname", "uuid", "specified"])]
    pub host_identifier: String,
    /// The identifier when --host_identifier=specified.
    #[arg(long = "specified_identifier", default_value = "")]
    pub specified_identifier: String,
    /// Integer columns as JSON numbers in result lines (strings otherwise).
    #[arg(long = "logger_numerics", default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub logger_numerics: bool,
    /// One result line per row (true) or one line per run with `diffResults` (false).
    #[arg(long = "logger_event_type", default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub logger_event_type: bool,
    /// Snapshot results as one line per row (`columns`, `action: snapshot`) instead of one line.
    #[arg(long = "logger_snapshot_event_type", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub logger_snapshot_event_type: bool,
    /// Decoration columns as top-level keys of result lines instead of under `decorations`.
    #[arg(long = "decorations_top_level", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub decorations_top_level: bool,
    /// The epoch written in result lines; changing it restarts differential results.
    #[arg(long = "schedule_epoch", default_value_t = 0)]
    pub schedule_epoch: u64,
    /// Each query's interval varies by up to this percentage, so hosts do not query in step.
    #[arg(long = "schedule_splay_percent", default_value_t = 10)]
    pub schedule_splay_percent: u64,
    /// New events a scheduled query reads per event table in one run, at most; a larger backlog
    /// is read by runs in a row, each logged and committed on its own (bounds memory).
    #[arg(long = "schedule_max_event_rows", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub schedule_max_event_rows: u64,
    /// Permissions of new log files, in octal.
    #[arg(long = "logger_mode", default_value = "0640")]
    pub logger_mode: String,
    /// Rotate log files by size.
    #[arg(long = "logger_rotate", default_value_t = false, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub logger_rotate: bool,
    /// Size in bytes at which a log file is rotated (with --logger_rotate).
    #[arg(long = "logger_rotate_size", default_value_t = 25 * 1024 * 1024)]
    pub logger_rotate_size: u64,
    /// Rotated files kept per log.
    #[arg(long = "logger_rotate_max_files", default_value_t = 25)]
    pub logger_rotate_max_files: u32,
    /// Validate --config_path (structure and every query's SQL), print what is wrong, and exit:
    /// 0 when it is valid, 1 when not.
    #[arg(long = "config_check")]
    pub config_check: bool,
    /// Print the effective configuration as JSON and exit.
    #[arg(long = "config_dump")]
    pub config_dump: bool,
    #[command(flatten)]
    pub events: EventArgs,
    #[command(flatten)]
    pub watchdog: WatchdogArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub pipelines: crate::logger_args::PipelineLoggerArgs,
    #[command(flatten)]
    pub limits: QueryLimitArgs,
}

/// A TLS server speaking osquery's remote API: enrollment, config, logs, distributed queries.
#[derive(Debug, Args, Clone)]
pub struct RemoteArgs {
    /// The TLS server, `host[:port]`; every endpoint is `https://<this><endpoint>`.
    #[arg(long = "tls_hostname", default_value = "")]
    pub tls_hostname: String,
    /// PEM bundle of the certificate authorities to trust for the server, instead of the
    /// system's.
    #[arg(long = "tls_server_certs")]
    pub tls_server_certs: Option<PathBuf>,
    /// PEM client certificate (mutual TLS), with --tls_client_key.
    #[arg(long = "tls_client_cert")]
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of --tls_client_cert.
    #[arg(long = "tls_client_key")]
    pub tls_client_key: Option<PathBuf>,
    /// Seconds a request may take before it counts as failed.
    #[arg(long = "tls_request_timeout", default_value_t = 16)]
    pub tls_request_timeout: u64,
    /// Enrollment endpoint (e.g. /api/v1/osquery/enroll).
    #[arg(long = "enroll_tls_endpoint", default_value = "")]
    pub enroll_tls_endpoint: String,
    /// File holding the enrollment secret.
    #[arg(long = "enroll_secret_path")]
    pub enroll_secret_path: Option<PathBuf>,
    /// Environment variable holding the enrollment secret.
    #[arg(long = "enroll_secret_env")]
    pub enroll_secret_env: Option<String>,
    /// Enrollment attempts before a request gives up (0: no limit).
    #[arg(long = "tls_enroll_max_attempts", default_value_t = 12)]
    pub tls_enroll_max_attempts: u32,
    /// Longest wait between enrollment attempts, in seconds.
    #[arg(long = "tls_enroll_max_interval", default_value_t = 600)]
    pub tls_enroll_max_interval: u64,
    /// Where the config comes from: `filesystem` (--config_path) or `tls`.
    #[arg(long = "config_plugin", default_value = "filesystem",
          value_parser = ["filesystem", "tls"])]
    pub config_plugin: String,
    /// Config endpoint (with --config_plugin=tls).
    #[arg(long = "config_tls_endpoint", default_value = "")]
    pub config_tls_endpoint: String,
    /// Seconds between config fetches (0: only at start).
    #[arg(
        long = "config_refresh",
        alias = "config_tls_refresh",
        default_value_t = 0
    )]
    pub config_refresh: u64,
    /// Seconds before the next config fetch after a failed one.
    #[arg(long = "config_accelerated_refresh", default_value_t = 300)]
    pub config_accelerated_refresh: u64,
    /// Where result and status lines go, a comma list of `filesystem`, `tls`, `syslog`,
    /// `kafka_producer`.
    #[arg(long = "logger_plugin", default_value = "filesystem")]
    pub logger_plugin: String,
    /// Log endpoint (with --logger_plugin=tls).
    #[arg(long = "logger_tls_endpoint", default_value = "")]
    pub logger_tls_endpoint: String,
    /// Seconds between log uploads.
    #[arg(long = "logger_tls_period", default_value_t = 4)]
    pub logger_tls_period: u64,
    /// Lines per upload, at most.
    #[arg(long = "logger_tls_max_lines", default_value_t = 1024)]
    pub logger_tls_max_lines: usize,
    /// Lines longer than this many bytes are dropped (and counted) instead of sent.
    #[arg(long = "logger_tls_max_linesize", default_value_t = 1024 * 1024)]
    pub logger_tls_max_linesize: usize,
    /// Compress upload bodies with gzip.
    #[arg(long = "logger_tls_compress", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub logger_tls_compress: bool,
    /// Longest wait between failed uploads, in seconds (the wait grows as period × failures²).
    #[arg(long = "logger_tls_backoff_max", default_value_t = 3600)]
    pub logger_tls_backoff_max: u64,
    /// Do not send status lines to the TLS server.
    #[arg(long = "tls_disable_status_log", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub tls_disable_status_log: bool,
    /// Lines kept waiting for each logger but the filesystem one (TLS, syslog), at most (0: no
    /// limit); beyond it the oldest are dropped, counted in vigil_logger and reported.
    #[arg(long = "buffered_log_max", default_value_t = 1_000_000)]
    pub buffered_log_max: u64,
    /// Turn distributed (on-demand) queries off; `--disable_distributed=false` turns them on.
    #[arg(long = "disable_distributed", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub disable_distributed: bool,
    /// Where distributed queries come from (only `tls`).
    #[arg(long = "distributed_plugin", default_value = "tls", value_parser = ["tls"])]
    pub distributed_plugin: String,
    /// Endpoint that hands out distributed queries.
    #[arg(long = "distributed_tls_read_endpoint", default_value = "")]
    pub distributed_tls_read_endpoint: String,
    /// Endpoint that receives distributed query results.
    #[arg(long = "distributed_tls_write_endpoint", default_value = "")]
    pub distributed_tls_write_endpoint: String,
    /// Seconds between checks for distributed queries.
    #[arg(long = "distributed_interval", default_value_t = 60)]
    pub distributed_interval: u64,
}

/// The watcher that supervises the worker process (osquery's watchdog flags).
#[derive(Debug, Args, Clone)]
pub struct WatchdogArgs {
    /// Run everything in one process, without a watcher (prefer --watchdog_level=-1, which keeps
    /// the restarts but lifts the limits).
    #[arg(long = "disable_watchdog", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub disable_watchdog: bool,
    /// Limits for the worker: 0 normal (200 MB, 10 % CPU sustained 12 s), 1 restrictive (100 MB,
    /// 5 % sustained 6 s), -1 no limits (restarts only).
    #[arg(long = "watchdog_level", default_value_t = 0, allow_hyphen_values = true,
          value_parser = clap::value_parser!(i32).range(-1..=1))]
    pub watchdog_level: i32,
    /// Resident memory of the worker in MB above which it is restarted (0: the level's).
    #[arg(long = "watchdog_memory_limit", default_value_t = 0)]
    pub watchdog_memory_limit: u64,
    /// CPU use of the worker, in percent of all CPUs, that may not be sustained (0: the level's).
    #[arg(long = "watchdog_utilization_limit", default_value_t = 0)]
    pub watchdog_utilization_limit: u64,
    /// Seconds the worker may stay over the CPU limit before it is restarted (0: the level's).
    #[arg(long = "watchdog_latency_limit", default_value_t = 0)]
    pub watchdog_latency_limit: u64,
    /// Seconds after a worker starts before its limits are enforced.
    #[arg(long = "watchdog_delay", default_value_t = 60)]
    pub watchdog_delay: u64,
    /// Seconds a stopping worker has before it is killed with SIGKILL.
    #[arg(long = "watchdog_forced_shutdown_delay", default_value_t = 4)]
    pub watchdog_forced_shutdown_delay: u64,
    /// Longest wait, in seconds, before restarting a worker that keeps failing.
    #[arg(long = "watchdog_max_delay", default_value_t = 600)]
    pub watchdog_max_delay: u64,
    /// Workers in a row that may fail within seconds of starting before the daemon gives up
    /// (0: the level's, 4; 1000 at level -1).
    #[arg(long = "watchdog_restart_limit", default_value_t = 0)]
    pub watchdog_restart_limit: u32,
    /// Log the worker's measured memory and CPU at every check.
    #[arg(long = "enable_watchdog_debug", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_watchdog_debug: bool,
    /// Start the worker even when the executable's permissions are unsafe (writable by others,
    /// owned by another user, or in a sticky directory such as /tmp). For tests only.
    #[arg(long = "allow_unsafe", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub allow_unsafe: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daemon(flags: &[&str]) -> DaemonArgs {
        let argv = ["vigil", "daemon"].iter().chain(flags);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Daemon(args) => *args,
            _ => unreachable!("a daemon command line"),
        }
    }

    #[test]
    fn endpoint_security_flags_parse_into_the_publishers_settings() {
        let args = daemon(&[
            "--disable_endpointsecurity=false",
            "--disable_endpointsecurity_fim=false",
            "--es_fim_mute_path_literal=/private/var/log/install.log",
            "--es_fim_mute_path_prefix",
            "/tmp/,/Users/alice/Library/",
            "--es_fim_enable_open_events",
        ]);
        assert_eq!(
            args.events.es.settings(),
            vigil_events::EsSettings {
                enabled: true,
                fim_enabled: true,
                mute_path_literal: "/private/var/log/install.log".to_owned(),
                mute_path_prefix: "/tmp/,/Users/alice/Library/".to_owned(),
                open_events: true,
            }
        );
    }

    #[test]
    fn endpoint_security_is_off_by_default_as_in_osquery() {
        let args = daemon(&[]);
        assert_eq!(
            args.events.es.settings(),
            vigil_events::EsSettings::default()
        );
        assert!(!args.events.es.settings().enabled);
        assert_eq!(
            args.events.es.without_effect_on("linux"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn endpoint_security_flags_say_they_do_nothing_off_macos() {
        let args = daemon(&[
            "--disable_endpointsecurity=false",
            "--es_fim_mute_path_prefix=/tmp/",
        ]);
        assert_eq!(
            args.events.es.without_effect_on("linux"),
            [
                "--disable_endpointsecurity is a macOS flag (Endpoint Security); it does \
                 nothing on linux",
                "--es_fim_mute_path_prefix is a macOS flag (Endpoint Security); it does nothing \
                 on linux",
            ]
        );
        assert_eq!(
            args.events.es.without_effect_on("macos"),
            Vec::<String>::new()
        );
        let windows = args.events.es.without_effect_on("windows");
        assert!(
            windows[0].ends_with("does nothing on windows"),
            "{windows:?}"
        );
    }
}
