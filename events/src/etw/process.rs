//! `process_etw_events` from two sources, as osquery builds it: Microsoft-Windows-Kernel-Process's
//! ProcessStart (event 1: image path, creation time, elevation, integrity level, sequence
//! numbers) and the kernel logger's Process events (opcode 1 start, 2 end: command line, user,
//! exit status). A start becomes a row once both halves of it arrived (they come within
//! milliseconds of each other, in either order); a half whose other half has not come after
//! [`JOIN_WINDOW`] becomes a row alone, with what it has.

use std::collections::HashMap;

use super::{
    AccountNames, EtwProcessEvent, ProcessEventType, PropertyError, Provider, Record, VolumeMap,
    convert::{filetime_to_unix_ns, sid_to_string, token_elevation_type},
};

/// Kernel-Process's ProcessStart event id.
const PROCESS_START: u16 = 1;
/// The kernel logger's opcodes for a process that starts and one that ends.
const OPCODE_START: u8 = 1;
const OPCODE_END: u8 = 2;

/// How long a start waits for its other half, in FILETIME units (10 s, osquery's choice).
pub const JOIN_WINDOW: u64 = 10 * 10_000_000;

/// Images kept for stops: past this, the oldest half is forgotten (a stop then names only the
/// executable's file name, as the kernel logger gives it).
const IMAGES_KEPT: usize = 1 << 16;

/// What Kernel-Process's ProcessStart says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ManifestStart {
    header_pid: u32,
    timestamp: u64,
    create_time: u64,
    pid: u32,
    ppid: u32,
    session_id: u32,
    flags: u32,
    image: String,
    elevation_type: String,
    elevated: u32,
    mandatory_label: String,
    sequence: u64,
    parent_sequence: u64,
}

/// What the kernel logger's Process start or end says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LoggerProcess {
    header_pid: u32,
    timestamp: u64,
    pid: u32,
    ppid: u32,
    session_id: u32,
    flags: u32,
    exit_status: i32,
    user_sid: String,
    image_file_name: String,
    cmdline: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Half {
    Manifest(ManifestStart),
    Logger(LoggerProcess),
}

impl Half {
    fn timestamp(&self) -> u64 {
        match self {
            Half::Manifest(start) => start.timestamp,
            Half::Logger(logger) => logger.timestamp,
        }
    }
}

/// Joins the halves of process starts and remembers each process's image for its stop.
#[derive(Debug, Default)]
pub struct ProcessTracker {
    volumes: VolumeMap,
    /// Halves waiting for their other half, by (pid, parent pid).
    pending: HashMap<(u32, u32), Half>,
    /// Each running process's image with its drive letter, by (pid, parent pid).
    images: HashMap<(u32, u32), String>,
}

impl ProcessTracker {
    pub fn new(volumes: VolumeMap) -> Self {
        Self {
            volumes,
            ..Self::default()
        }
    }

    /// Takes one event of either source: a row when it completes a start or is a stop; nothing
    /// for the first half of a start, or an event of another kind.
    pub fn push(
        &mut self,
        record: &Record,
        accounts: &dyn AccountNames,
    ) -> Result<Option<EtwProcessEvent>, PropertyError> {
        let half = match (record.provider, record.event_id, record.opcode) {
            (Provider::KernelProcess, PROCESS_START, _) => Half::Manifest(manifest_start(record)?),
            (Provider::KernelLoggerProcess, _, OPCODE_START) => {
                Half::Logger(logger_process(record)?)
            }
            (Provider::KernelLoggerProcess, _, OPCODE_END) => {
                let stop = logger_process(record)?;
                let key = (stop.pid, stop.ppid);
                let path = self
                    .images
                    .remove(&key)
                    .unwrap_or_else(|| stop.image_file_name.clone());
                return Ok(Some(stop_row(stop, path, accounts)));
            }
            _ => return Ok(None),
        };
        let key = match &half {
            Half::Manifest(start) => (start.pid, start.ppid),
            Half::Logger(logger) => (logger.pid, logger.ppid),
        };
        let joined = match (self.pending.remove(&key), half) {
            (Some(Half::Logger(logger)), Half::Manifest(start))
            | (Some(Half::Manifest(start)), Half::Logger(logger)) => {
                self.start_row(Some(start), Some(logger), accounts)
            }
            // A second half of the same side: the process id was reused before the first
            // found its pair; the older one goes out alone.
            (Some(older), newer) => {
                self.pending.insert(key, newer);
                self.alone(older, accounts)
            }
            (None, half) => {
                self.pending.insert(key, half);
                return Ok(None);
            }
        };
        Ok(Some(joined))
    }

    /// The halves that waited longer than [`JOIN_WINDOW`] before `now` (a FILETIME), as rows
    /// with what each has.
    pub fn expire(&mut self, now: u64, accounts: &dyn AccountNames) -> Vec<EtwProcessEvent> {
        let expired: Vec<(u32, u32)> = self
            .pending
            .iter()
            .filter(|(_, half)| half.timestamp().saturating_add(JOIN_WINDOW) < now)
            .map(|(key, _)| *key)
            .collect();
        let mut rows = Vec::with_capacity(expired.len());
        for key in expired {
            if let Some(half) = self.pending.remove(&key) {
                rows.push(self.alone(half, accounts));
            }
        }
        rows
    }

    /// Starts waiting for their other half.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn alone(&mut self, half: Half, accounts: &dyn AccountNames) -> EtwProcessEvent {
        match half {
            Half::Manifest(start) => self.start_row(Some(start), None, accounts),
            Half::Logger(logger) => self.start_row(None, Some(logger), accounts),
        }
    }

    fn start_row(
        &mut self,
        start: Option<ManifestStart>,
        logger: Option<LoggerProcess>,
        accounts: &dyn AccountNames,
    ) -> EtwProcessEvent {
        let mut row = EtwProcessEvent {
            event_type: ProcessEventType::ProcessStart,
            time_ns: 0,
            time_windows: 0,
            header_pid: 0,
            pid: 0,
            ppid: 0,
            session_id: 0,
            flags: 0,
            exit_code: 0,
            path: String::new(),
            cmdline: String::new(),
            user_sid: String::new(),
            username: String::new(),
            token_elevation_type: String::new(),
            token_elevation_status: 0,
            mandatory_label: String::new(),
            process_sequence_number: 0,
            parent_process_sequence_number: 0,
        };
        if let Some(logger) = logger {
            row.time_windows = logger.timestamp;
            row.header_pid = logger.header_pid;
            row.pid = logger.pid;
            row.ppid = logger.ppid;
            row.session_id = logger.session_id;
            row.flags = logger.flags;
            row.path = logger.image_file_name;
            row.cmdline = logger.cmdline;
            row.username = accounts.name_of(&logger.user_sid).unwrap_or_default();
            row.user_sid = logger.user_sid;
        }
        if let Some(start) = start {
            // The manifest's creation time is the start's own time, not when it was logged.
            row.time_windows = if start.create_time != 0 {
                start.create_time
            } else {
                start.timestamp
            };
            row.header_pid = start.header_pid;
            row.pid = start.pid;
            row.ppid = start.ppid;
            row.session_id = start.session_id;
            row.flags = start.flags;
            row.path = self.volumes.to_drive_path(&start.image);
            row.token_elevation_type = start.elevation_type;
            row.token_elevation_status = start.elevated;
            row.mandatory_label = start.mandatory_label;
            row.process_sequence_number = start.sequence;
            row.parent_process_sequence_number = start.parent_sequence;
        }
        row.time_ns = filetime_to_unix_ns(row.time_windows);
        if self.images.len() >= IMAGES_KEPT {
            self.images.clear();
        }
        self.images.insert((row.pid, row.ppid), row.path.clone());
        row
    }
}

fn stop_row(stop: LoggerProcess, path: String, accounts: &dyn AccountNames) -> EtwProcessEvent {
    EtwProcessEvent {
        event_type: ProcessEventType::ProcessStop,
        time_ns: filetime_to_unix_ns(stop.timestamp),
        time_windows: stop.timestamp,
        header_pid: stop.header_pid,
        pid: stop.pid,
        ppid: stop.ppid,
        session_id: stop.session_id,
        flags: stop.flags,
        exit_code: stop.exit_status,
        path,
        cmdline: stop.cmdline,
        username: accounts.name_of(&stop.user_sid).unwrap_or_default(),
        user_sid: stop.user_sid,
        token_elevation_type: String::new(),
        token_elevation_status: 0,
        mandatory_label: String::new(),
        process_sequence_number: 0,
        parent_process_sequence_number: 0,
    }
}

/// Kernel-Process's ProcessStart, versions 0 to 3: flags from version 1, elevation, integrity
/// level and sequence numbers from version 3.
fn manifest_start(record: &Record) -> Result<ManifestStart, PropertyError> {
    let optional_u32 = |name: &'static str| {
        if record.has(name) {
            record.u32(name)
        } else {
            Ok(0)
        }
    };
    let optional_u64 = |name: &'static str| {
        if record.has(name) {
            record.u64(name)
        } else {
            Ok(0)
        }
    };
    let elevation_type = if record.has("ProcessTokenElevationType") {
        token_elevation_type(record.u32("ProcessTokenElevationType")?).to_owned()
    } else {
        String::new()
    };
    let mandatory_label = if record.has("MandatoryLabel") {
        let bytes = record.bytes("MandatoryLabel")?;
        sid_to_string(bytes).map_err(|e| record.sid_error("MandatoryLabel", e.reason()))?
    } else {
        String::new()
    };
    Ok(ManifestStart {
        header_pid: record.process_id,
        timestamp: record.timestamp,
        create_time: record.u64("CreateTime")?,
        pid: record.u32("ProcessID")?,
        ppid: record.u32("ParentProcessID")?,
        session_id: record.u32("SessionID")?,
        flags: optional_u32("Flags")?,
        image: record.text("ImageName")?.to_owned(),
        elevation_type,
        elevated: optional_u32("ProcessTokenIsElevated")?,
        mandatory_label,
        sequence: optional_u64("ProcessSequenceNumber")?,
        parent_sequence: optional_u64("ParentProcessSequenceNumber")?,
    })
}

/// The kernel logger's Process start or end (classes Process_V3 and V4; `Flags` from V4).
fn logger_process(record: &Record) -> Result<LoggerProcess, PropertyError> {
    let flags = if record.has("Flags") {
        record.u32("Flags")?
    } else {
        0
    };
    Ok(LoggerProcess {
        header_pid: record.process_id,
        timestamp: record.timestamp,
        pid: record.u32("ProcessId")?,
        ppid: record.u32("ParentId")?,
        session_id: record.u32("SessionId")?,
        flags,
        // A signed 32-bit property, delivered as its bits: NTSTATUS codes read negative.
        exit_status: record.u32("ExitStatus")? as i32,
        user_sid: wbem_sid(record, "UserSID")?,
        image_file_name: record.text("ImageFileName")?.to_owned(),
        cmdline: record.text("CommandLine")?.to_owned(),
    })
}

/// A MOF `WBEMSID`: a `TOKEN_USER` (a pointer and its attributes, two pointers wide) followed
/// by the SID; only the header (no SID) for a process without a user.
fn wbem_sid(record: &Record, name: &'static str) -> Result<String, PropertyError> {
    let bytes = record.bytes(name)?;
    let header = 2 * usize::from(record.pointer_bytes);
    match bytes.get(header..) {
        None | Some([]) => Ok(String::new()),
        Some(sid) => sid_to_string(sid).map_err(|e| record.sid_error(name, e.reason())),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn accounts(sid: &str) -> Option<String> {
        match sid {
            "S-1-5-21-3623811015-3361044348-30300820-1013" => Some(r"CONTOSO\alice".to_owned()),
            "S-1-5-18" => Some(r"NT AUTHORITY\SYSTEM".to_owned()),
            _ => None,
        }
    }

    fn tracker() -> ProcessTracker {
        ProcessTracker::new(volumes())
    }

    #[test]
    fn a_start_is_one_row_from_both_halves_in_either_order() {
        for manifest_first in [true, false] {
            let mut tracker = tracker();
            let (first, second) = if manifest_first {
                (manifest_process_start(), logger_process_start())
            } else {
                (logger_process_start(), manifest_process_start())
            };
            assert_eq!(tracker.push(&first, &accounts), Ok(None));
            assert_eq!(tracker.pending(), 1);
            let row = tracker
                .push(&second, &accounts)
                .expect("maps")
                .expect("joined");
            assert_eq!(tracker.pending(), 0);
            assert_eq!(row.event_type, ProcessEventType::ProcessStart);
            assert_eq!(row.pid, 7464);
            assert_eq!(row.ppid, 5932);
            assert_eq!(row.session_id, 1);
            assert_eq!(
                row.path,
                r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
            );
            assert_eq!(
                row.cmdline,
                r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -Command Get-Date"#
            );
            assert_eq!(row.user_sid, "S-1-5-21-3623811015-3361044348-30300820-1013");
            assert_eq!(row.username, r"CONTOSO\alice");
            assert_eq!(row.token_elevation_type, "TokenElevationTypeFull");
            assert_eq!(row.token_elevation_status, 1);
            assert_eq!(row.mandatory_label, "S-1-16-12288");
            assert_eq!(row.process_sequence_number, 4_307);
            assert_eq!(row.parent_process_sequence_number, 4_121);
            // The creation time, not the logging time: 2023-11-14 22:13:20.1234567 UTC.
            assert_eq!(row.time_windows, 133_444_736_001_234_567);
            assert_eq!(row.time_ns, 1_700_000_000_123_456_700);
            assert_eq!(row.header_pid, 5932);
        }
    }

    #[test]
    fn a_stop_names_the_image_its_start_had() {
        let mut tracker = tracker();
        tracker
            .push(&manifest_process_start(), &accounts)
            .expect("maps");
        tracker
            .push(&logger_process_start(), &accounts)
            .expect("maps");
        let stop = tracker
            .push(&logger_process_end(), &accounts)
            .expect("maps")
            .expect("a stop is a row");
        assert_eq!(stop.event_type, ProcessEventType::ProcessStop);
        assert_eq!(stop.pid, 7464);
        assert_eq!(stop.ppid, 5932);
        assert_eq!(
            stop.path,
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        // STATUS_CONTROL_C_EXIT (0xC000013A), signed as osquery shows it.
        assert_eq!(stop.exit_code, -1_073_741_510);
        assert_eq!(stop.username, r"CONTOSO\alice");
        assert_eq!(stop.time_ns, 1_700_000_002_500_000_000);
        // Without its start, a stop names the file the kernel logger gives.
        let stop = tracker
            .push(&logger_process_end(), &accounts)
            .expect("maps")
            .expect("a stop is a row");
        assert_eq!(stop.path, "powershell.exe");
    }

    #[test]
    fn a_half_alone_becomes_a_row_after_the_join_window() {
        let mut tracker = tracker();
        let start = manifest_process_start();
        tracker.push(&start, &accounts).expect("maps");
        assert_eq!(tracker.expire(start.timestamp + JOIN_WINDOW, &accounts), []);
        let rows = tracker.expire(start.timestamp + JOIN_WINDOW + 1, &accounts);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].path,
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
        );
        assert_eq!(rows[0].cmdline, "");
        assert_eq!(tracker.pending(), 0);
    }

    #[test]
    fn older_versions_and_system_processes_map_with_what_they_have() {
        let mut tracker = tracker();
        // Version 0 of ProcessStart: no flags, elevation or label.
        let mut start = manifest_process_start();
        start.version = 0;
        for name in [
            "Flags",
            "ProcessTokenElevationType",
            "ProcessTokenIsElevated",
            "MandatoryLabel",
            "ProcessSequenceNumber",
            "ParentProcessSequenceNumber",
        ] {
            start.properties.remove(name);
        }
        tracker.push(&start, &accounts).expect("maps");
        let rows = tracker.expire(u64::MAX, &accounts);
        assert_eq!(rows[0].token_elevation_type, "");
        assert_eq!(rows[0].mandatory_label, "");
        // A kernel logger start of a process without a user: the WBEMSID is its header alone.
        let mut system = logger_process_start();
        system
            .properties
            .insert("UserSID".into(), vec![0u8; 16].into());
        tracker.push(&system, &accounts).expect("maps");
        let rows = tracker.expire(u64::MAX, &accounts);
        assert_eq!(rows[0].user_sid, "");
        assert_eq!(rows[0].username, "");
    }

    #[test]
    fn a_record_missing_what_its_version_promises_is_an_error_naming_it() {
        let mut start = manifest_process_start();
        start.properties.remove("ImageName");
        let error = tracker()
            .push(&start, &accounts)
            .expect_err("missing image");
        assert_eq!(
            error.to_string(),
            "Microsoft-Windows-Kernel-Process event 1 version 3 has no property `ImageName`"
        );
        let mut start = manifest_process_start();
        start
            .properties
            .insert("MandatoryLabel".into(), vec![1, 1, 0].into());
        let error = tracker().push(&start, &accounts).expect_err("bad sid");
        assert!(
            error
                .to_string()
                .contains("`MandatoryLabel` is not a valid SID"),
            "{error}"
        );
    }

    #[test]
    fn events_of_other_kinds_are_no_rows() {
        let mut thread_start = manifest_process_start();
        thread_start.event_id = 3;
        assert_eq!(tracker().push(&thread_start, &accounts), Ok(None));
        let mut dc_start = logger_process_start();
        dc_start.opcode = 3;
        assert_eq!(tracker().push(&dc_start, &accounts), Ok(None));
    }
}
