//! The audit publisher when it cannot keep up: the kernel drops records rather than make the
//! audited calls wait for vigil, and what it dropped (its `lost` counter) shows in
//! `vigil_events.kernel_lost` and in the status log.

use std::{
    net::UdpSocket,
    time::{Duration, Instant},
};

use vigil_events::linux::audit::status::{AuditStatus, MASK_BACKLOG_WAIT_TIME};

/// `AUDIT_STATUS_LOST`: AUDIT_SET with it resets the kernel's `lost` counter.
const MASK_LOST: u32 = 0x40;

use crate::{
    audit::{AUDIT_FLAGS, AuditHost, WAIT, audit_running},
    support::{Daemon, field, poll, query_json},
};

/// The calls of a burst must all have returned within this, losses included: a kernel that
/// waited for vigil would hold each call past the backlog for the whole wait time (set below to
/// the kernel's default, 60 s at HZ=250, as the host's own setting, which vigil replaces with 0).
const BURST_WITHIN: Duration = Duration::from_secs(30);

/// A process stopped with SIGSTOP, continued when dropped (passed or failed).
struct Stopped(u32);

impl Stopped {
    fn stop(pid: u32) -> Self {
        // SAFETY: SIGSTOP to the worker of a daemon this test started.
        let sent = unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
        assert_eq!(sent, 0, "SIGSTOP to {pid}");
        Self(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        // SAFETY: SIGCONT to the process this guard stopped.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

fn kernel_lost_in(daemon: &Daemon, table: &str) -> u64 {
    query_json(
        &daemon.db(),
        &format!("SELECT kernel_lost FROM vigil_events WHERE name = '{table}'"),
    )
    .first()
    .and_then(|row| field(row, "kernel_lost").parse().ok())
    .unwrap_or(0)
}

#[test]
fn a_stopped_reader_makes_no_call_wait_and_what_the_kernel_lost_is_counted_and_logged() {
    let mut host = AuditHost::take();
    // The host's own wait time (in jiffies: the kernel's default, 60 * HZ), which vigil must
    // replace with 0.
    host.socket
        .set_status(&AuditStatus {
            mask: MASK_BACKLOG_WAIT_TIME,
            backlog_wait_time: 15_000,
            ..AuditStatus::default()
        })
        .expect("AUDIT_SET");
    let lost_at_start = host.socket.status().expect("AUDIT_GET").lost;
    let mut flags = AUDIT_FLAGS.to_vec();
    flags.push("--audit_backlog_limit=16");
    let daemon = Daemon::start(&flags);
    audit_running(&daemon, "socket_events");
    let worker = poll("the worker to own audit", WAIT, || {
        let worker = daemon.worker_pid()?;
        (host.socket.status().expect("AUDIT_GET").pid == worker).then_some(worker)
    });

    let listener = UdpSocket::bind("127.0.0.1:0").expect("a target");
    let target = listener.local_addr().expect("its address");
    let lost_in_burst = burst_while_stopped(&mut host, worker, target, lost_at_start);

    let counted = poll(
        "vigil_events.kernel_lost to reach what the kernel dropped",
        WAIT,
        || {
            let counted = kernel_lost_in(&daemon, "socket_events");
            (counted >= u64::from(lost_in_burst)).then_some(counted)
        },
    );
    let lost_now = host.socket.status().expect("AUDIT_GET").lost;
    assert!(
        counted <= u64::from(lost_now.wrapping_sub(lost_at_start)),
        "vigil counted {counted} lost, more than the kernel's {} since it started",
        lost_now.wrapping_sub(lost_at_start)
    );
    assert!(
        kernel_lost_in(&daemon, "process_events") >= u64::from(lost_in_burst),
        "every audit table shows the kernel's losses"
    );
    let me = std::process::id();
    poll(
        "a connect of the burst, read once the reader went on",
        WAIT,
        || {
            let sql = format!(
                "SELECT count(*) AS n FROM socket_events WHERE pid = {me} AND action = 'connect' \
                 AND remote_port = {}",
                target.port()
            );
            let rows = query_json(&daemon.db(), &sql);
            rows.first()
                .is_some_and(|row| field(row, "n") != "0")
                .then_some(())
        },
    );
    poll(
        "the status log to say how many the kernel lost",
        WAIT,
        || {
            let log = daemon.log("vigil.status.log");
            log.lines()
                .filter(|line| line.contains("audit events were lost"))
                .filter_map(|line| logged_count(line, "kernel_lost="))
                .any(|logged| logged > 0)
                .then_some(())
        },
    );

    // Someone resets the kernel's counter (`auditctl --reset-lost`; the kernel answers with the
    // count it cleared, which reads as a refusal): vigil counts on from 0, not from a wrap.
    let counted = kernel_lost_in(&daemon, "socket_events");
    let lost_before_reset = host.socket.status().expect("AUDIT_GET").lost;
    let _ = host.socket.set_status(&AuditStatus {
        mask: MASK_LOST,
        ..AuditStatus::default()
    });
    let lost_after_reset = host.socket.status().expect("AUDIT_GET").lost;
    assert!(
        lost_after_reset < lost_before_reset,
        "the kernel's counter was reset"
    );
    let lost_in_second = burst_while_stopped(&mut host, worker, target, lost_after_reset);
    let recounted = poll(
        "vigil_events.kernel_lost to add the second burst's losses",
        WAIT,
        || {
            let recounted = kernel_lost_in(&daemon, "socket_events");
            (recounted >= counted + u64::from(lost_in_second)).then_some(recounted)
        },
    );
    let lost_now = host.socket.status().expect("AUDIT_GET").lost;
    let most = u64::from(lost_before_reset.wrapping_sub(lost_at_start)) + u64::from(lost_now);
    assert!(
        recounted <= most,
        "vigil counted {recounted} lost across the reset, more than the kernel's {most}"
    );
}

/// The number after `key` in a status line (`kernel_lost=123`).
fn logged_count(line: &str, key: &str) -> Option<u64> {
    let after = &line[line.find(key)? + key.len()..];
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    after[..digits].parse().ok()
}

/// Stops `worker` (the audit pid) and sends UDP connects to `target` (an audit event of four
/// records each) until the kernel's `lost` counter moves past `lost_before`: they fill the
/// stopped reader's socket, then the kernel's backlog, and the kernel drops the rest. Then the
/// worker goes on. Returns what the kernel lost; fails if the calls were made to wait.
fn burst_while_stopped(
    host: &mut AuditHost,
    worker: u32,
    target: std::net::SocketAddr,
    lost_before: u32,
) -> u32 {
    let _stopped = Stopped::stop(worker);
    let client = UdpSocket::bind("127.0.0.1:0").expect("a client");
    let started = Instant::now();
    let mut calls = 0u64;
    loop {
        client.connect(target).expect("connect");
        calls += 1;
        let took = started.elapsed();
        assert!(
            took < BURST_WITHIN,
            "{calls} connects took {took:?}: the kernel made them wait for vigil, or dropped \
             nothing"
        );
        if calls.is_multiple_of(1000) {
            let lost = host.socket.status().expect("AUDIT_GET").lost;
            if lost != lost_before {
                return lost.wrapping_sub(lost_before);
            }
        }
    }
}
