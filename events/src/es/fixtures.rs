//! Endpoint Security messages as macOS 14 delivers them to a client (message version 7): audit
//! tokens of eight words (auid, euid, egid, ruid, rgid, pid, asid, pidversion), Apple's signing
//! ids without a team id for platform binaries, a 20-byte cdhash, per-type and global sequence
//! numbers.

use super::{AuditToken, Destination, Event, Message, Process};

fn token(pid: u32, pidversion: u32, uid: u32, gid: u32) -> AuditToken {
    AuditToken([501, uid, gid, uid, gid, pid, 100_006, pidversion])
}

/// Terminal's zsh (48200), responsible process Terminal.app (612).
fn zsh() -> Process {
    Process {
        audit_token: token(48_200, 112_880, 501, 20),
        ppid: 48_199,
        original_ppid: 48_199,
        parent_audit_token: Some(token(48_199, 112_879, 0, 20)),
        responsible_audit_token: Some(token(612, 1_734, 501, 20)),
        session_id: 100_006,
        executable: "/bin/zsh".to_owned(),
        signing_id: "com.apple.zsh".to_owned(),
        team_id: String::new(),
        cdhash: [
            0x0b, 0x6f, 0x1e, 0x73, 0x9d, 0x22, 0xc4, 0x5a, 0x81, 0x3f, 0x47, 0xe0, 0x92, 0xd6,
            0x18, 0x0c, 0x6b, 0xa5, 0x73, 0x2e,
        ],
        is_platform_binary: true,
        // CS_VALID | CS_KILL | CS_RESTRICT | CS_ENFORCEMENT | CS_REQUIRE_LV | CS_RUNTIME |
        // CS_DYLD_PLATFORM | CS_PLATFORM_BINARY | CS_SIGNED.
        codesigning_flags: 0x2661_0301,
    }
}

/// curl as zsh's child (48213) execs it.
fn curl() -> Process {
    Process {
        audit_token: token(48_213, 112_907, 501, 20),
        ppid: 48_200,
        original_ppid: 48_200,
        parent_audit_token: Some(token(48_200, 112_880, 501, 20)),
        responsible_audit_token: Some(token(612, 1_734, 501, 20)),
        session_id: 100_006,
        executable: "/usr/bin/curl".to_owned(),
        signing_id: "com.apple.curl".to_owned(),
        team_id: String::new(),
        cdhash: [
            0x5f, 0x2e, 0x64, 0x9b, 0x0c, 0xd1, 0x83, 0x47, 0xaa, 0x10, 0xe9, 0x3b, 0x7c, 0x52,
            0x06, 0xf8, 0x91, 0xd4, 0x3e, 0xb0,
        ],
        is_platform_binary: true,
        codesigning_flags: 0x2661_0301,
    }
}

pub fn exec_curl() -> Message {
    Message {
        version: 7,
        time_ns: 1_700_000_000_250_000_000,
        seq_num: 412,
        global_seq_num: 90_211,
        process: zsh(),
        event: Event::Exec {
            target: curl(),
            args: ["curl", "-s", "-H", "Accept: */*", "https://example.com"]
                .map(String::from)
                .to_vec(),
            env: ["PATH=/usr/bin:/bin", "HOME=/Users/alice"]
                .map(String::from)
                .to_vec(),
            cwd: Some("/Users/alice/src".to_owned()),
        },
    }
}

pub fn fork_zsh() -> Message {
    Message {
        version: 7,
        time_ns: 1_700_000_000_240_000_000,
        seq_num: 388,
        global_seq_num: 90_210,
        process: zsh(),
        event: Event::Fork {
            child: Process {
                audit_token: token(48_213, 112_906, 501, 20),
                ppid: 48_200,
                ..zsh()
            },
        },
    }
}

/// An ad hoc signed local build (no team id, no cdhash recorded) exits with status 1, from a
/// version 3 client (no parent token).
pub fn exit_unsigned() -> Message {
    Message {
        version: 3,
        time_ns: 1_700_000_003_000_000_000,
        seq_num: 77,
        global_seq_num: 0,
        process: Process {
            audit_token: token(48_400, 113_002, 502, 20),
            ppid: 48_200,
            original_ppid: 48_200,
            parent_audit_token: None,
            responsible_audit_token: Some(token(612, 1_734, 501, 20)),
            session_id: 100_006,
            executable: "/Users/alice/src/tool/target/debug/tool".to_owned(),
            signing_id: "tool-55554944a2b1c6e0".to_owned(),
            team_id: String::new(),
            cdhash: [0; 20],
            is_platform_binary: false,
            // CS_VALID | CS_ADHOC | CS_LINKER_SIGNED.
            codesigning_flags: 0x2000_0003,
        },
        event: Event::Exit { stat: 256 },
    }
}

pub fn create_new_plist() -> Message {
    Message {
        version: 7,
        time_ns: 1_700_000_000_300_000_000,
        seq_num: 55,
        global_seq_num: 90_215,
        process: curl(),
        event: Event::Create {
            destination: Destination::NewPath {
                dir: "/Users/alice/Library/LaunchAgents".to_owned(),
                filename: "com.example.agent.plist".to_owned(),
            },
        },
    }
}

pub fn rename_over_existing() -> Message {
    Message {
        version: 7,
        time_ns: 1_700_000_000_400_000_000,
        seq_num: 19,
        global_seq_num: 90_230,
        process: zsh(),
        event: Event::Rename {
            source: "/Users/alice/.zshrc.tmp".to_owned(),
            destination: Destination::ExistingFile("/Users/alice/.zshrc".to_owned()),
        },
    }
}

pub fn write_log() -> Message {
    Message {
        version: 7,
        time_ns: 1_700_000_000_500_000_000,
        seq_num: 1_021,
        global_seq_num: 90_240,
        process: Process {
            executable: "/usr/sbin/installer".to_owned(),
            signing_id: "com.apple.installer".to_owned(),
            ..zsh()
        },
        event: Event::Write {
            target: "/private/var/log/install.log".to_owned(),
        },
    }
}
