//! What an evented table spends on each stored row it returns: decoding the stored value, and
//! building the row from the event (`row`), for the widest table (`bpf_file_events`, 31 columns)
//! and `bpf_process_events`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use vigil_events::{
    Actor, FileEvent, FileOperation, ProcessAction, ProcessEvent, Syscall, Task,
    event_table::{
        file::{decode_file_event, encode_file_event},
        process::{decode_process_event, encode_process_event},
    },
};
use vigil_tables::evented::{bpf_file_events, bpf_process_events};

fn task() -> Task {
    Task {
        pid: 4242,
        tid: 4243,
        parent: 1,
        uid: 1000,
        gid: 1000,
        euid: 0,
        egid: 0,
        cgroup_id: 9,
        comm: "curl".into(),
    }
}

fn process_event() -> ProcessEvent {
    ProcessEvent {
        action: ProcessAction::Exec,
        syscall: Syscall::Execve,
        time_ns: 1_700_000_000_123_456_789,
        task: task(),
        path: "/usr/bin/curl".into(),
        filename: "/usr/bin/curl".into(),
        cwd: "/home/user/src".into(),
        argv: vec!["curl".into(), "-s".into(), "https://example.org/".into()],
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 10,
        probe_error: 0,
        parent_path: "/usr/bin/bash".into(),
    }
}

fn file_event() -> FileEvent {
    FileEvent {
        operation: FileOperation::Open,
        syscall: Syscall::Openat,
        time_ns: 1_700_000_000_123_456_789,
        actor: Actor {
            task: task(),
            path: "/usr/bin/curl".into(),
            cmdline: "curl -s -o /tmp/page.html https://example.org/".into(),
        },
        path: "/tmp/page.html".into(),
        path_resolved: true,
        dest_path: String::new(),
        mode: 0o644,
        flags: 0o1101,
        inode: 77,
        device: 2049,
        fd: 3,
        result: 3,
        new_uid: u32::MAX,
        new_gid: u32::MAX,
        size: -1,
        duration_ns: 30,
        probe_error: 0,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("evented_rows");
    group.throughput(Throughput::Elements(1));
    let file = encode_file_event(&file_event());
    let process = encode_process_event(&process_event());
    group.bench_function("file_decode_and_row", |b| {
        b.iter(|| decode_file_event(black_box(&file)).map(|event| bpf_file_events::row(&event, 7)))
    });
    group.bench_function("process_decode_and_row", |b| {
        b.iter(|| {
            decode_process_event(black_box(&process))
                .map(|event| bpf_process_events::row(&event, 7))
        })
    });
    let event = file_event();
    group.bench_function("file_row", |b| {
        b.iter(|| bpf_file_events::row(black_box(&event), 7))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
