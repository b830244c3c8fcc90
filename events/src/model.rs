//! What every event shares, whichever its table and publisher: the syscall behind it and the task
//! that made it (the events themselves: `crate::event_table`).

macro_rules! model_syscalls {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        /// The syscall behind an event, with the names osquery's `syscall` column uses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Syscall {
            $($Other,)*
            $($Variant,)*
        }

        impl Syscall {
            /// Every syscall, in the table's order.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$Other,)* $(Syscall::$Variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Syscall::$Other => stringify!($other_name),)*
                    $(Syscall::$Variant => stringify!($name),)*
                }
            }

            /// The number stored rows keep: the id kernel records carry.
            pub(crate) fn code(self) -> u8 {
                match self {
                    $(Syscall::$Other => $other_id,)*
                    $(Syscall::$Variant => $id,)*
                }
            }

            pub(crate) fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($other_id => Some(Syscall::$Other),)*
                    $($id => Some(Syscall::$Variant),)*
                    _ => None,
                }
            }
        }
    };
}

// Generated from the one table of syscalls, which the kernel side's ids come from too.
vigil_ebpf_common::for_each_syscall!(model_syscalls);

/// The task that made a call, as the kernel side saw it: every event has one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Task {
    pub pid: u32,
    pub tid: u32,
    /// The parent process id; 0 when unknown.
    pub parent: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: String,
}

/// [`Task`] with its `comm` borrowed (from a stored row: see `ProcessEventView`).
#[derive(Debug, Clone, Copy)]
pub struct TaskView<'a> {
    pub pid: u32,
    pub tid: u32,
    pub parent: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: StoredText<'a>,
}

impl TaskView<'_> {
    /// The owned task; a `comm` that is not UTF-8 (a damaged row) is an error.
    pub fn to_task(&self) -> Result<Task, crate::codec::DecodeError> {
        Ok(Task {
            pid: self.pid,
            tid: self.tid,
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            cgroup_id: self.cgroup_id,
            comm: self.comm.to_str()?.to_owned(),
        })
    }
}

impl Task {
    pub fn view(&self) -> TaskView<'_> {
        TaskView {
            pid: self.pid,
            tid: self.tid,
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            cgroup_id: self.cgroup_id,
            comm: StoredText::of(&self.comm),
        }
    }
}

/// [`Actor`] with its strings borrowed (from a stored row: see `ProcessEventView`).
#[derive(Debug, Clone, Copy)]
pub struct ActorView<'a> {
    pub task: TaskView<'a>,
    pub path: StoredText<'a>,
    pub cmdline: StoredText<'a>,
}

impl ActorView<'_> {
    /// The owned actor; a string that is not UTF-8 (a damaged row) is an error.
    pub fn to_actor(&self) -> Result<Actor, crate::codec::DecodeError> {
        Ok(Actor {
            task: self.task.to_task()?,
            path: self.path.to_str()?.to_owned(),
            cmdline: self.cmdline.to_str()?.to_owned(),
        })
    }
}

/// A string of a stored row, borrowed from where it is stored and checked as UTF-8 only when
/// read: a scan that reads one column of a row checks that column's string, not all of them.
#[derive(Debug, Clone, Copy)]
pub struct StoredText<'a> {
    field: &'static str,
    bytes: &'a [u8],
}

impl<'a> StoredText<'a> {
    pub(crate) fn new(field: &'static str, bytes: &'a [u8]) -> Self {
        Self { field, bytes }
    }

    /// An event's own string (always UTF-8).
    pub fn of(text: &'a str) -> Self {
        Self {
            field: "",
            bytes: text.as_bytes(),
        }
    }

    /// The string; bytes that are not UTF-8 (a damaged row) are an error naming the field.
    pub fn to_str(self) -> Result<&'a str, crate::codec::DecodeError> {
        std::str::from_utf8(self.bytes).map_err(|_| crate::codec::DecodeError::Invalid(self.field))
    }

    /// The string, with bytes that are not UTF-8 (a damaged row) shown as U+FFFD.
    pub fn to_str_lossy(self) -> std::borrow::Cow<'a, str> {
        // from_utf8 first: on valid text (every row vigil wrote) it is several times faster than
        // from_utf8_lossy's chunk iterator (perf: 5 % of a `SELECT *` over a time range).
        match std::str::from_utf8(self.bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(self.bytes),
        }
    }

    pub fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }
}

impl PartialEq<&str> for StoredText<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.bytes == other.as_bytes()
    }
}

/// Who made a socket or file call: the task, and what the process table knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub task: Task,
    /// The caller's executable and command line, from the process table.
    pub path: String,
    pub cmdline: String,
}

impl Actor {
    pub fn view(&self) -> ActorView<'_> {
        ActorView {
            task: self.task.view(),
            path: StoredText::of(&self.path),
            cmdline: StoredText::of(&self.cmdline),
        }
    }
}
