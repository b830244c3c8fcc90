use super::*;
use crate::model::{
    Actor, AuditIds, AuditProcessEvent, AuditSocketEvent, FileEvent, FileOperation,
    KernelModuleEvent, ProcessAction, ProcessEvent, SocketEvent, Syscall, Task, UserEvent,
};

pub(crate) fn sample_event(time_ns: u64) -> ProcessEvent {
    ProcessEvent {
        action: ProcessAction::Exec,
        syscall: Syscall::Execve,
        time_ns,
        task: Task {
            pid: 4242,
            tid: 4242,
            parent: 1,
            uid: 1000,
            gid: 1000,
            euid: 0,
            egid: 0,
            cgroup_id: 77,
            comm: "true".into(),
        },
        path: "/usr/bin/true".into(),
        filename: "/bin/true".into(),
        cwd: "/tmp".into(),
        argv: vec!["/bin/true".into(), "a b".into(), String::new()],
        argv_truncated: false,
        exit_code: -2,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 12_345,
        probe_error: 0,
        parent_path: "/usr/bin/bash".into(),
    }
}

#[test]
fn round_trips() {
    let event = sample_event(1_700_000_000_123_456_789);
    let bytes = encode_process_event(&event);
    assert_eq!(decode_process_event(&bytes), Ok(event));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = encode_process_event(&sample_event(1));
    for len in 0..bytes.len() {
        assert!(
            decode_process_event(&bytes[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
}

pub(crate) fn sample_socket_event(time_ns: u64) -> SocketEvent {
    SocketEvent {
        syscall: Syscall::Connect,
        time_ns,
        actor: Actor {
            task: Task {
                pid: 7,
                tid: 8,
                parent: 1,
                uid: 1000,
                gid: 1000,
                euid: 1000,
                egid: 1000,
                cgroup_id: 3,
                comm: "curl".into(),
            },
            path: "/usr/bin/curl".into(),
            cmdline: "curl https://example.com".into(),
        },
        fd: 5,
        result: -115,
        family: 10,
        sock_type: 1,
        protocol: 6,
        local_address: "::1".into(),
        local_port: 40000,
        remote_address: "::1".into(),
        remote_port: 443,
        socket_path: String::new(),
        duration_ns: 99,
        probe_error: 0,
    }
}

#[test]
fn file_events_round_trip_and_reject_truncation() {
    let event = FileEvent {
        operation: FileOperation::Rename,
        syscall: Syscall::Renameat2,
        time_ns: 9,
        actor: sample_socket_event(1).actor,
        path: "/tmp/a".into(),
        path_resolved: true,
        dest_path: "/tmp/b/c".into(),
        mode: 0o644,
        flags: 1,
        inode: 1234,
        device: 2049,
        fd: -1,
        result: -2,
        new_uid: u32::MAX,
        new_gid: u32::MAX,
        size: -7,
        duration_ns: 3,
        probe_error: 0,
    };
    let bytes = encode_file_event(&event);
    assert_eq!(decode_file_event(&bytes), Ok(event));
    for len in 0..bytes.len() {
        assert!(decode_file_event(&bytes[..len]).is_err(), "prefix {len}");
    }
}

#[test]
fn socket_events_round_trip_and_reject_truncation() {
    let event = sample_socket_event(5);
    let bytes = encode_socket_event(&event);
    assert_eq!(decode_socket_event(&bytes), Ok(event));
    for len in 0..bytes.len() {
        assert!(decode_socket_event(&bytes[..len]).is_err(), "prefix {len}");
    }
}

#[test]
fn kernel_module_events_round_trip_and_reject_truncation() {
    let event = KernelModuleEvent {
        syscall: Syscall::FinitModule,
        time_ns: 11,
        actor: sample_socket_event(1).actor,
        name: String::new(),
        module_path: "/tmp/rootkit.ko".into(),
        size: 0,
        params: "hide=1".into(),
        flags: 2,
        fd: 4,
        result: -8,
        duration_ns: 1_500,
        probe_error: 0,
    };
    let bytes = encode_kernel_module_event(&event);
    assert_eq!(decode_kernel_module_event(&bytes), Ok(event));
    for len in 0..bytes.len() {
        assert!(
            decode_kernel_module_event(&bytes[..len]).is_err(),
            "prefix {len}"
        );
    }
}

#[test]
fn rejects_unknown_versions_and_garbage() {
    assert_eq!(decode_process_event(&[9]), Err(DecodeError::Version(9)));
    assert!(decode_process_event(b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    let mut bytes = encode_process_event(&sample_event(1));
    bytes.push(0);
    assert!(decode_process_event(&bytes).is_err());
}

pub(crate) fn sample_audit_process_event(time_ns: u64) -> AuditProcessEvent {
    AuditProcessEvent {
        syscall: Syscall::Execve,
        time_ns,
        audit_id: 77,
        pid: 10,
        parent: 9,
        path: "/usr/bin/dash".into(),
        mode: "0100755".into(),
        argv: vec!["sh".into(), "a b".into(), "\u{fffd}".into()],
        cwd: "/tmp".into(),
        ids: AuditIds {
            auid: u32::MAX,
            uid: 1000,
            ..AuditIds::default()
        },
        owner_uid: 0,
        owner_gid: 0,
        tty: "pts1".into(),
        session: u32::MAX,
        comm: "sh".into(),
        uptime: 42,
        atime: 1,
        mtime: -2,
        ctime: 3,
        incomplete: true,
    }
}

#[test]
fn audit_events_round_trip_and_reject_truncation() {
    let process = sample_audit_process_event(5);
    let bytes = encode_audit_process_event(&process);
    assert_eq!(decode_audit_process_event(&bytes), Ok(process));
    for len in 0..bytes.len() {
        assert!(
            decode_audit_process_event(&bytes[..len]).is_err(),
            "prefix {len}"
        );
    }
    let socket = AuditSocketEvent {
        syscall: Syscall::Connect,
        time_ns: 6,
        audit_id: 8,
        pid: 1,
        parent: 0,
        ids: AuditIds::default(),
        path: "/usr/bin/curl".into(),
        comm: "curl".into(),
        fd: 3,
        result: -115,
        status: "in_progress".into(),
        family: 2,
        local_address: String::new(),
        local_port: 0,
        remote_address: "127.0.0.1".into(),
        remote_port: 443,
        socket_path: String::new(),
        uptime: 1,
        incomplete: false,
    };
    let bytes = encode_audit_socket_event(&socket);
    assert_eq!(decode_audit_socket_event(&bytes), Ok(socket));
    for len in 0..bytes.len() {
        assert!(
            decode_audit_socket_event(&bytes[..len]).is_err(),
            "prefix {len}"
        );
    }
    let user = UserEvent {
        time_ns: 1,
        audit_id: 2,
        message_type: 1112,
        pid: 3,
        uid: 0,
        auid: 1000,
        session: 4,
        message: "op=login res=success".into(),
        path: "/usr/bin/login".into(),
        address: String::new(),
        terminal: "tty1".into(),
        hostname: String::new(),
        result: "success".into(),
        uptime: 9,
    };
    let bytes = encode_user_event(&user);
    assert_eq!(decode_user_event(&bytes), Ok(user));
    for len in 0..bytes.len() {
        assert!(decode_user_event(&bytes[..len]).is_err(), "prefix {len}");
    }
}
