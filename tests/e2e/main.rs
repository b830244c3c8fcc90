//! End-to-end tests: the real `vigil` binary, real eBPF programs in the running kernel, real
//! RocksDB on disk. The kernel-event tests need root (CI runs as root).

mod support;

mod audit;
mod audit_losses;
mod config;
mod daemon_history;
mod faults;
mod files;
mod fleet;
mod inet_sockets;
// With `--features kafka` (links the system's librdkafka).
#[cfg(feature = "kafka")]
mod kafka;
mod kernel_modules;
mod least_privilege;
mod osquery_checks;
mod permissions;
mod promises;
mod ptrace;
mod query_and_shell;
mod read_only_sql;
mod safe_start;
mod schedule;
mod snapshot;
mod sockets;
mod syslog;
mod tls;
mod tls_server;
mod watchdog;
