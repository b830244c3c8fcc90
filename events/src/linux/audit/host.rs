//! The host's audit configuration: what vigil finds, what it changes (only with
//! `--audit_allow_config`), and putting it back at stop: vigil's own rules removed (no one
//! else's), and the enabled flag, backlog limit, backlog wait time and failure mode as they were.

use std::{
    io,
    sync::{Arc, Mutex, PoisonError, Weak},
};

use super::{
    found::{self, Found},
    lost::LostCounter,
    netlink::{AuditSocket, NetlinkError},
    rules,
    status::{
        AuditStatus, ENABLED_LOCKED, FAIL_SILENT, MASK_BACKLOG_LIMIT, MASK_BACKLOG_WAIT_TIME,
        MASK_ENABLED, MASK_FAILURE, MASK_PID,
    },
};

/// What vigil asks of the host's audit configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// `--audit_allow_config`: vigil may enable audit, set the backlog and failure mode, and add
    /// its rule. Without it, vigil only reads.
    pub configure: bool,
    /// The syscall numbers of vigil's rule (none: no rule).
    pub syscalls: Vec<u32>,
    pub backlog_limit: u32,
}

/// How vigil gets the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// vigil is the audit daemon (the audit pid): records are sent to it.
    Owner,
    /// Another process is (auditd, say): vigil reads the kernel's multicast copy of the records,
    /// and leaves it in charge.
    Copy { owner: u32 },
}

/// What vigil changed, to put back.
pub struct HostAudit {
    control: AuditSocket,
    before: AuditStatus,
    /// The status fields vigil changed (`MASK_*`).
    changed: u32,
    /// Rules vigil added (a rule that was there already is not vigil's to remove).
    added: Vec<Vec<u8>>,
    owns_pid: bool,
    /// The kernel's `lost` counter, as last seen.
    lost: LostCounter,
    /// The settings found are kept in `found::PATH` by this process, until they are put back.
    keeps_found: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("cannot keep the host's audit settings in {path} to put them back later: {error}")]
    Keep {
        path: &'static str,
        error: std::io::Error,
    },
}

/// The host's configuration as this process changed it, shared by the publishers that use it: a
/// new config starts a new publisher before the previous one stops, and the host must be put
/// back as it was before the first, once the last is gone.
static SHARED: Mutex<Weak<Mutex<HostAudit>>> = Mutex::new(Weak::new());

/// A publisher's hold on the host's configuration: put back when the last holder lets go.
pub type SharedHost = Arc<Mutex<HostAudit>>;

/// Applies `wanted` and takes the records on `reader`, sharing the configuration of a publisher
/// of this process that still runs.
pub fn configure_shared(
    wanted: &Wanted,
    reader: &mut AuditSocket,
) -> Result<(SharedHost, Reading), HostError> {
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(host) = shared.upgrade() {
        let reading = {
            let mut held = host.lock().unwrap_or_else(PoisonError::into_inner);
            if wanted.configure && held.before.enabled != ENABLED_LOCKED {
                held.apply(wanted)?;
            }
            held.take_records(reader)?
        };
        return Ok((host, reading));
    }
    let (host, reading) = HostAudit::configure(wanted, reader)?;
    let host = Arc::new(Mutex::new(host));
    *shared = Arc::downgrade(&host);
    Ok((host, reading))
}

impl HostAudit {
    /// Applies `wanted` and takes the records on `reader`: as the audit pid when no other
    /// process is, else as a reader of the multicast copy. What is changed is put back by
    /// [`HostAudit::restore`].
    pub fn configure(
        wanted: &Wanted,
        reader: &mut AuditSocket,
    ) -> Result<(Self, Reading), HostError> {
        let mut control = AuditSocket::open()?;
        let before = control.status()?;
        let mut host = Self {
            control,
            lost: LostCounter::new(before.lost),
            before: before.clone(),
            changed: 0,
            added: Vec::new(),
            owns_pid: false,
            keeps_found: false,
        };
        if wanted.configure {
            if before.enabled == ENABLED_LOCKED {
                tracing::warn!(
                    "audit's configuration is locked until reboot (enabled=2): vigil cannot set \
                     the backlog or add its rule, and reads what the existing rules produce"
                );
            } else {
                let applied = match host.keep_found() {
                    Ok(true) => host.apply(wanted),
                    Ok(false) => Ok(()),
                    Err(error) => Err(error),
                };
                if let Err(error) = applied {
                    // Whatever was changed before the error is put back now.
                    host.restore();
                    return Err(error);
                }
            }
        }
        let reading = match host.take_records(reader) {
            Ok(reading) => reading,
            Err(error) => {
                host.restore();
                return Err(error);
            }
        };
        Ok((host, reading))
    }

    /// Keeps what was found before anything changes, so it is put back even if this process is
    /// killed first; or, when a vigil that did not stop cleanly kept it, takes that over (its
    /// settings, and its rules, which carry vigil's key). False when another running vigil
    /// keeps it: that one configures audit, and this one only reads.
    fn keep_found(&mut self) -> Result<bool, HostError> {
        let path = std::path::Path::new(found::PATH);
        let me = std::process::id();
        match found::read(path) {
            Some(kept) if kept.keeper != me && found::is_running_vigil(kept.keeper) => {
                tracing::warn!(
                    keeper = kept.keeper,
                    "another vigil (pid {}) has changed the host's audit and puts it back at its \
                     stop: this one changes nothing and reads",
                    kept.keeper
                );
                return Ok(false);
            }
            Some(kept) => {
                tracing::warn!(
                    "a vigil that did not stop cleanly left the host's audit changed: what it \
                     found is put back at this one's stop, and its rules removed"
                );
                self.before.enabled = kept.enabled;
                self.before.failure = kept.failure;
                self.before.backlog_limit = kept.backlog_limit;
                self.before.backlog_wait_time = kept.backlog_wait_time;
                self.changed |=
                    MASK_ENABLED | MASK_FAILURE | MASK_BACKLOG_LIMIT | MASK_BACKLOG_WAIT_TIME;
                self.added.extend(
                    self.control
                        .rules()?
                        .into_iter()
                        .filter(|r| rules::is_vigils(r)),
                );
            }
            None => {}
        }
        let kept = Found {
            keeper: me,
            enabled: self.before.enabled,
            failure: self.before.failure,
            backlog_limit: self.before.backlog_limit,
            backlog_wait_time: self.before.backlog_wait_time,
        };
        found::write(path, &kept).map_err(|error| HostError::Keep {
            path: found::PATH,
            error,
        })?;
        self.keeps_found = true;
        Ok(true)
    }

    fn apply(&mut self, wanted: &Wanted) -> Result<(), HostError> {
        // Never make the host wait for vigil, nor panic or log to the console for it.
        let mut status = AuditStatus {
            backlog_limit: wanted.backlog_limit,
            backlog_wait_time: 0,
            failure: FAIL_SILENT,
            ..AuditStatus::default()
        };
        if self.before.backlog_limit != wanted.backlog_limit {
            status.mask |= MASK_BACKLOG_LIMIT;
        }
        if self.before.backlog_wait_time != 0 {
            status.mask |= MASK_BACKLOG_WAIT_TIME;
        }
        if self.before.failure != FAIL_SILENT {
            status.mask |= MASK_FAILURE;
        }
        if status.mask != 0 {
            self.control.set_status(&status)?;
            self.changed |= status.mask;
        }
        if !wanted.syscalls.is_empty() {
            let rule = rules::vigil_rule(&wanted.syscalls);
            match self.control.add_rule(&rule) {
                Ok(()) => self.added.push(rule),
                // The same rule is there already (a vigil that did not stop cleanly, or someone
                // who added it by hand): it serves, and is not vigil's to remove.
                Err(NetlinkError::Refused { error, .. })
                    if error.raw_os_error() == Some(libc::EEXIST) =>
                {
                    tracing::info!(
                        "vigil's audit rule is there already; it is left in place at exit"
                    );
                }
                Err(error) => return Err(error.into()),
            }
        }
        if self.before.enabled == 0 {
            self.control.set_status(&AuditStatus {
                mask: MASK_ENABLED,
                enabled: 1,
                ..AuditStatus::default()
            })?;
            self.changed |= MASK_ENABLED;
        }
        Ok(())
    }

    fn take_records(&mut self, reader: &mut AuditSocket) -> Result<Reading, HostError> {
        let me = std::process::id();
        let owner = self.before.pid;
        // A dead owner (a killed vigil) is let go by the kernel when it is replaced.
        let dead = !std::path::Path::new(&format!("/proc/{owner}")).exists();
        if owner == 0 || owner == me || dead {
            let claim = AuditStatus {
                mask: MASK_PID,
                pid: me,
                ..AuditStatus::default()
            };
            match reader.set_status(&claim) {
                Ok(()) => {
                    self.owns_pid = true;
                    return Ok(Reading::Owner);
                }
                // Someone took it in the meantime: read the copy, as below.
                Err(NetlinkError::Refused { error, .. })
                    if error.raw_os_error() == Some(libc::EEXIST) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let owner = self.control.status().map(|s| s.pid).unwrap_or(owner);
        if owner == me {
            tracing::info!(
                "vigil's previous audit reader owns audit until it stops: this one reads the \
                 kernel's multicast copy of the records"
            );
            reader.join_read_log()?;
            return Ok(Reading::Copy { owner });
        }
        tracing::warn!(
            owner,
            owner_name = %process_name(owner),
            "audit is owned by another process (pid {owner}); vigil leaves it in charge (the \
             kernel does not let a live audit daemon be replaced) and reads the kernel's \
             multicast copy of the records instead"
        );
        reader.join_read_log()?;
        Ok(Reading::Copy { owner })
    }

    /// The kernel's audit status now.
    pub fn status(&mut self) -> Result<AuditStatus, NetlinkError> {
        self.control.status()
    }

    /// Records the kernel dropped since the last call (its `lost` counter), and whether vigil
    /// still owns audit when it did.
    pub fn poll(&mut self) -> Result<(u64, bool), NetlinkError> {
        let status = self.control.status()?;
        let lost = self.lost.since(status.lost);
        let still_owner = !self.owns_pid || status.pid == std::process::id();
        Ok((lost, still_owner))
    }

    /// The kernel reset its `lost` counter from `old` (its `CONFIG_CHANGE` record said so).
    pub fn lost_counter_reset(&mut self, old: u32) {
        self.lost.reset(old);
    }

    /// Puts back what vigil changed: its rules removed, then the status fields it set, then the
    /// audit pid let go. Each step is tried whatever the others did; failures are logged.
    pub fn restore(&mut self) {
        for rule in std::mem::take(&mut self.added) {
            if let Err(error) = self.control.delete_rule(&rule) {
                tracing::error!(%error, "vigil's audit rule could not be removed");
            }
        }
        let settings = self.changed
            & (MASK_ENABLED | MASK_FAILURE | MASK_BACKLOG_LIMIT | MASK_BACKLOG_WAIT_TIME);
        if settings != 0 {
            let status = AuditStatus {
                mask: settings,
                ..self.before.clone()
            };
            if let Err(error) = self.control.set_status(&status) {
                tracing::error!(%error, "the host's audit settings could not be put back");
            }
            self.changed = 0;
        }
        if self.owns_pid {
            let release = AuditStatus {
                mask: MASK_PID,
                pid: 0,
                ..AuditStatus::default()
            };
            if let Err(error) = self.control.set_status(&release) {
                tracing::error!(%error, "vigil could not let go of the audit pid");
            }
            self.owns_pid = false;
        }
        if self.keeps_found {
            found::remove(std::path::Path::new(found::PATH));
            self.keeps_found = false;
        }
    }
}

impl Drop for HostAudit {
    fn drop(&mut self) {
        self.restore();
    }
}

/// A process's name, for messages.
fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|error: io::Error| format!("unknown: {error}"))
}
