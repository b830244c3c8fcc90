//! A process event read in place: its strings borrowed from where it is stored (a store page, a
//! record), so reading one allocates nothing. SQL scans read rows this way and copy (and check as
//! UTF-8) only the cells a query uses.

use std::borrow::Cow;

use super::{ProcessAction, ProcessEvent};
use crate::{
    codec::{DecodeError, wire::Reader},
    model::{StoredText, Syscall, TaskView},
};

#[derive(Debug, Clone, Copy)]
pub struct ProcessEventView<'a> {
    pub action: ProcessAction,
    pub syscall: Syscall,
    pub time_ns: u64,
    pub task: TaskView<'a>,
    pub path: StoredText<'a>,
    pub filename: StoredText<'a>,
    pub cwd: StoredText<'a>,
    pub argv: Args<'a>,
    pub argv_truncated: bool,
    pub exit_code: i64,
    pub exit_signal: u32,
    pub child_pid: u32,
    pub duration_ns: u64,
    pub probe_error: u32,
    pub parent_path: StoredText<'a>,
}

/// A process's arguments, still encoded (each one's length checked when the event was read, its
/// UTF-8 when it is read) or an event's own.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a>(ArgsSource<'a>);

#[derive(Debug, Clone, Copy)]
enum ArgsSource<'a> {
    Encoded { count: usize, bytes: &'a [u8] },
    Owned(&'a [String]),
}

impl<'a> Args<'a> {
    /// Arguments a stored row holds: `count` strings in `bytes`, each already read once.
    pub(crate) fn encoded(count: usize, bytes: &'a [u8]) -> Self {
        Args(ArgsSource::Encoded { count, bytes })
    }

    pub fn len(&self) -> usize {
        match self.0 {
            ArgsSource::Encoded { count, .. } => count,
            ArgsSource::Owned(args) => args.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each argument; bytes that are not UTF-8 (a damaged row) are shown as U+FFFD.
    pub fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + use<'a> {
        self.texts().map(StoredText::to_str_lossy)
    }

    fn texts(&self) -> impl Iterator<Item = StoredText<'a>> + use<'a> {
        let (encoded, owned) = match self.0 {
            ArgsSource::Encoded { count, bytes } => (Some((count, Reader(bytes))), None),
            ArgsSource::Owned(args) => (None, Some(args.iter().map(|a| StoredText::of(a)))),
        };
        let encoded = encoded.into_iter().flat_map(|(count, mut reader)| {
            // Every argument's length was read once already: none fails here.
            (0..count).map_while(move |_| reader.text_ref("argv").ok())
        });
        encoded.chain(owned.into_iter().flatten())
    }

    /// The command line as osquery shows it: arguments joined by single spaces.
    pub fn cmdline(&self) -> String {
        // Sized once: pushing into an empty string reallocated it as it grew.
        let bytes: usize = self.texts().map(|arg| arg.as_bytes().len() + 1).sum();
        let mut line = String::with_capacity(bytes);
        self.write_cmdline(&mut line);
        line
    }

    /// Appends the command line to `out` (a scan writes it into a buffer it reuses row after row).
    pub fn write_cmdline(&self, out: &mut String) {
        for (i, arg) in self.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&arg);
        }
    }
}

impl ProcessEventView<'_> {
    /// The owned event; a string that is not UTF-8 (a damaged row) is an error naming its field.
    pub fn to_event(&self) -> Result<ProcessEvent, DecodeError> {
        Ok(ProcessEvent {
            action: self.action,
            syscall: self.syscall,
            time_ns: self.time_ns,
            task: self.task.to_task()?,
            path: self.path.to_str()?.to_owned(),
            filename: self.filename.to_str()?.to_owned(),
            cwd: self.cwd.to_str()?.to_owned(),
            argv: self
                .argv
                .texts()
                .map(|arg| arg.to_str().map(str::to_owned))
                .collect::<Result<_, _>>()?,
            argv_truncated: self.argv_truncated,
            exit_code: self.exit_code,
            exit_signal: self.exit_signal,
            child_pid: self.child_pid,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
            parent_path: self.parent_path.to_str()?.to_owned(),
        })
    }
}

impl ProcessEvent {
    pub fn view(&self) -> ProcessEventView<'_> {
        ProcessEventView {
            action: self.action,
            syscall: self.syscall,
            time_ns: self.time_ns,
            task: self.task.view(),
            path: StoredText::of(&self.path),
            filename: StoredText::of(&self.filename),
            cwd: StoredText::of(&self.cwd),
            argv: Args(ArgsSource::Owned(&self.argv)),
            argv_truncated: self.argv_truncated,
            exit_code: self.exit_code,
            exit_signal: self.exit_signal,
            child_pid: self.child_pid,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
            parent_path: StoredText::of(&self.parent_path),
        }
    }
}
