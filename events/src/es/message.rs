//! An Endpoint Security message as a publisher hands it to the mapping: the fields of
//! `es_message_t` and `es_process_t` the rows need, copied out of the client's callback (the
//! macOS publisher fills it through endpoint-sec; tests from recorded messages).

/// `audit_token_t`: eight 32-bit words, in the order libbsm's `audit_token_to_*` read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditToken(pub [u32; 8]);

impl AuditToken {
    pub fn auid(&self) -> u32 {
        self.0[0]
    }
    pub fn euid(&self) -> u32 {
        self.0[1]
    }
    pub fn egid(&self) -> u32 {
        self.0[2]
    }
    pub fn ruid(&self) -> u32 {
        self.0[3]
    }
    pub fn rgid(&self) -> u32 {
        self.0[4]
    }
    pub fn pid(&self) -> u32 {
        self.0[5]
    }
    /// The audit session id.
    pub fn asid(&self) -> u32 {
        self.0[6]
    }
    /// How many times this pid was reused: (pid, pidversion) names one process for good.
    pub fn pidversion(&self) -> u32 {
        self.0[7]
    }
}

/// `es_process_t`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Process {
    pub audit_token: AuditToken,
    pub ppid: u32,
    pub original_ppid: u32,
    /// From message version 4 on; `None` before.
    pub parent_audit_token: Option<AuditToken>,
    pub responsible_audit_token: Option<AuditToken>,
    pub session_id: u32,
    pub executable: String,
    pub signing_id: String,
    pub team_id: String,
    pub cdhash: [u8; 20],
    pub is_platform_binary: bool,
    /// `CS_*` flags from `<kern/cs_blobs.h>`.
    pub codesigning_flags: u32,
}

/// Where a create or rename puts its file (`es_destination_type_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Over a file that exists.
    ExistingFile(String),
    /// A new name in a directory.
    NewPath { dir: String, filename: String },
}

impl Destination {
    pub fn path(&self) -> String {
        match self {
            Destination::ExistingFile(path) => path.clone(),
            Destination::NewPath { dir, filename } => {
                format!("{}/{filename}", dir.trim_end_matches('/'))
            }
        }
    }
}

/// The events vigil subscribes to, with what each carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Exec {
        /// The process after the exec: the new image.
        target: Process,
        args: Vec<String>,
        env: Vec<String>,
        /// From message version 3 on.
        cwd: Option<String>,
    },
    Fork {
        child: Process,
    },
    Exit {
        /// The wait(2) status.
        stat: i32,
    },
    Create {
        destination: Destination,
    },
    Rename {
        source: String,
        destination: Destination,
    },
    Write {
        target: String,
    },
    Truncate {
        target: String,
    },
    Unlink {
        target: String,
    },
    Open {
        target: String,
        /// The open's `FREAD`/`FWRITE`/... flags.
        fflag: i32,
    },
}

impl Event {
    /// The message's `es_event_type_t`: sequence numbers count per type.
    pub fn type_code(&self) -> u32 {
        match self {
            Event::Exec { .. } => 9,
            Event::Open { .. } => 10,
            Event::Fork { .. } => 11,
            Event::Create { .. } => 13,
            Event::Exit { .. } => 15,
            Event::Rename { .. } => 25,
            Event::Unlink { .. } => 32,
            Event::Write { .. } => 33,
            Event::Truncate { .. } => 41,
        }
    }

    /// osquery's `event_type` text.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Exec { .. } => "exec",
            Event::Fork { .. } => "fork",
            Event::Exit { .. } => "exit",
            Event::Create { .. } => "create",
            Event::Rename { .. } => "rename",
            Event::Write { .. } => "write",
            Event::Truncate { .. } => "truncate",
            Event::Unlink { .. } => "unlink",
            Event::Open { .. } => "open",
        }
    }
}

/// `es_message_t` (notify messages only: vigil subscribes to no AUTH events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub version: u32,
    /// The message's `time` (wall clock) in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// Per client and event type, from version 2 on (0 before).
    pub seq_num: u64,
    /// Per client across every type, from version 4 on (0 before).
    pub global_seq_num: u64,
    /// The process that caused the event.
    pub process: Process,
    pub event: Event,
}
