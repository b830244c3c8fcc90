//! `processes` on Windows, as osquery's `genProcesses` there: the Tool Help snapshot for the list
//! (pid, parent, name, threads), then per process what a handle with limited query rights gives
//! (image path, times, memory, I/O, handles, the token's user and elevation). A column that
//! cannot be read is -1, as in osquery; `cmdline`, `cwd` and `root` (other processes' memory) and
//! the protection columns are not read.

use super::rows::ProcessRow;
use windows_sys::Win32::{
    Foundation::{CloseHandle, FILETIME, HANDLE, INVALID_HANDLE_VALUE, STILL_ACTIVE},
    Security::{
        GetLengthSid, GetTokenInformation, TOKEN_ELEVATION, TOKEN_QUERY, TOKEN_USER,
        TokenElevation, TokenUser,
    },
    System::{
        Diagnostics::ToolHelp::{
            CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW,
            TH32CS_SNAPPROCESS,
        },
        ProcessStatus::{
            GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS, PROCESS_MEMORY_COUNTERS_EX,
        },
        SystemInformation::GetSystemTimeAsFileTime,
        Threading::{
            GetExitCodeProcess, GetPriorityClass, GetProcessHandleCount, GetProcessIoCounters,
            GetProcessTimes, IO_COUNTERS, OpenProcess, OpenProcessToken, PROCESS_NAME_WIN32,
            PROCESS_QUERY_LIMITED_INFORMATION, QueryFullProcessImageNameW,
        },
    },
};

use super::convert::{
    filetime_span_ms, filetime_ticks, filetime_to_unix_seconds, rid, wide_to_string,
};
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "processes";

pub struct Processes;

impl Table for Processes {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        ProcessRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        // SAFETY: no pointers; the handle is closed below.
        let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0) };
        if snapshot == INVALID_HANDLE_VALUE {
            return Err(failed(
                NAME,
                format!(
                    "CreateToolhelp32Snapshot failed: {}",
                    std::io::Error::last_os_error()
                ),
            ));
        }
        let now = now_unix_seconds();
        let mut found = Vec::new();
        let mut entry = PROCESSENTRY32W {
            dwSize: size_of::<PROCESSENTRY32W>() as u32,
            ..Default::default()
        };
        // SAFETY: a valid snapshot handle and an entry whose dwSize is set.
        let mut more = unsafe { Process32FirstW(snapshot, &mut entry) } != 0;
        while more {
            found.push(process_row(&entry, now));
            // SAFETY: as above.
            more = unsafe { Process32NextW(snapshot, &mut entry) } != 0;
        }
        // SAFETY: the snapshot handle, closed once.
        unsafe { CloseHandle(snapshot) };
        Ok(rows(found))
    }
}

fn now_unix_seconds() -> i64 {
    let mut now = FILETIME::default();
    // SAFETY: writes the current time into `now`.
    unsafe { GetSystemTimeAsFileTime(&mut now) };
    filetime_to_unix_seconds(filetime_ticks(now.dwLowDateTime, now.dwHighDateTime))
}

fn process_row(entry: &PROCESSENTRY32W, now: i64) -> Row {
    let unknown = || Value::Int(-1);
    let mut row = ProcessRow {
        pid: entry.th32ProcessID.into(),
        name: wide_to_string(&entry.szExeFile).into(),
        path: "".into(),
        cmdline: "".into(),
        state: "".into(),
        cwd: "".into(),
        root: "".into(),
        uid: unknown(),
        gid: unknown(),
        euid: unknown(),
        egid: unknown(),
        suid: unknown(),
        sgid: unknown(),
        on_disk: unknown(),
        wired_size: unknown(),
        resident_size: unknown(),
        total_size: unknown(),
        user_time: unknown(),
        system_time: unknown(),
        disk_bytes_read: unknown(),
        disk_bytes_written: unknown(),
        start_time: unknown(),
        parent: entry.th32ParentProcessID.into(),
        pgroup: unknown(),
        threads: entry.cntThreads.into(),
        nice: unknown(),
        elevated_token: unknown(),
        secure_process: unknown(),
        protection_type: "".into(),
        virtual_process: unknown(),
        elapsed_time: unknown(),
        handle_count: unknown(),
        percent_processor_time: unknown(),
    };
    if entry.th32ProcessID == 0 {
        return Row::from(row);
    }
    // SAFETY: no pointers; a null handle is checked, a valid one closed below.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, entry.th32ProcessID) };
    if process.is_null() {
        return Row::from(row);
    }
    if let Some(path) = image_path(process) {
        row.on_disk = Value::from(std::path::Path::new(&path).exists());
        row.path = path.into();
    }
    if let Some((created, kernel, user)) = times(process) {
        let start = filetime_to_unix_seconds(created);
        row.start_time = start.into();
        row.elapsed_time = (now - start).max(0).into();
        row.user_time = filetime_span_ms(user).into();
        row.system_time = filetime_span_ms(kernel).into();
    }
    let mut memory = PROCESS_MEMORY_COUNTERS_EX {
        cb: size_of::<PROCESS_MEMORY_COUNTERS_EX>() as u32,
        ..Default::default()
    };
    // SAFETY: the EX counters start with the plain ones; `cb` gives the size written.
    if unsafe {
        GetProcessMemoryInfo(
            process,
            (&raw mut memory).cast::<PROCESS_MEMORY_COUNTERS>(),
            memory.cb,
        )
    } != 0
    {
        // osquery's choice of counters for these columns on Windows.
        row.wired_size = (memory.QuotaNonPagedPoolUsage as u64).into();
        row.resident_size = (memory.PrivateUsage as u64).into();
        row.total_size = (memory.WorkingSetSize as u64).into();
    }
    let mut io = IO_COUNTERS::default();
    // SAFETY: `io` is writable for the call.
    if unsafe { GetProcessIoCounters(process, &mut io) } != 0 {
        row.disk_bytes_read = io.ReadTransferCount.into();
        row.disk_bytes_written = io.WriteTransferCount.into();
    }
    let mut handles = 0u32;
    // SAFETY: `handles` is writable for the call.
    if unsafe { GetProcessHandleCount(process, &mut handles) } != 0 {
        row.handle_count = handles.into();
    }
    // SAFETY: the process handle is valid; 0 means failure.
    let priority = unsafe { GetPriorityClass(process) };
    if priority != 0 {
        row.nice = priority.into();
    }
    let mut exit_code = 0u32;
    // SAFETY: `exit_code` is writable for the call.
    if unsafe { GetExitCodeProcess(process, &mut exit_code) } != 0 {
        row.state = if exit_code == STILL_ACTIVE as u32 {
            "STILL_ACTIVE"
        } else {
            "EXITED"
        }
        .into();
    }
    if let Some((uid, elevated)) = token_facts(process) {
        row.uid = uid.map_or_else(unknown, Value::Int);
        row.elevated_token = elevated.map_or_else(unknown, Value::from);
    }
    // SAFETY: the handle opened above, closed once.
    unsafe { CloseHandle(process) };
    Row::from(row)
}

fn image_path(process: HANDLE) -> Option<String> {
    let mut buffer = vec![0u16; 32_768];
    let mut len = buffer.len() as u32;
    // SAFETY: `buffer` holds `len` characters; `len` is updated to what was written.
    if unsafe {
        QueryFullProcessImageNameW(process, PROCESS_NAME_WIN32, buffer.as_mut_ptr(), &mut len)
    } == 0
    {
        return None;
    }
    Some(String::from_utf16_lossy(buffer.get(..len as usize)?))
}

/// (creation FILETIME, kernel ticks, user ticks).
fn times(process: HANDLE) -> Option<(u64, u64, u64)> {
    let [mut created, mut exited, mut kernel, mut user] = [FILETIME::default(); 4];
    // SAFETY: four writable FILETIMEs.
    if unsafe { GetProcessTimes(process, &mut created, &mut exited, &mut kernel, &mut user) } == 0 {
        return None;
    }
    let ticks = |t: FILETIME| filetime_ticks(t.dwLowDateTime, t.dwHighDateTime);
    Some((ticks(created), ticks(kernel), ticks(user)))
}

/// The token's user (its RID, osquery's `uid`) and whether the token is elevated.
fn token_facts(process: HANDLE) -> Option<(Option<i64>, Option<bool>)> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: `token` receives a handle, closed below.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return None;
    }
    let uid = token_user_sid(token).and_then(|sid| rid(&sid));
    let mut elevation = TOKEN_ELEVATION::default();
    let mut len = 0u32;
    // SAFETY: `elevation` is writable for its size.
    let elevated = (unsafe {
        GetTokenInformation(
            token,
            TokenElevation,
            (&raw mut elevation).cast(),
            size_of::<TOKEN_ELEVATION>() as u32,
            &mut len,
        )
    } != 0)
        .then_some(elevation.TokenIsElevated != 0);
    // SAFETY: the token handle opened above, closed once.
    unsafe { CloseHandle(token) };
    Some((uid, elevated))
}

/// The token user's SID as text (`S-1-5-21-…`).
fn token_user_sid(token: HANDLE) -> Option<String> {
    let mut len = 0u32;
    // SAFETY: asking for the size only (a null buffer of length 0).
    unsafe { GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len) };
    // u64 cells keep the TOKEN_USER at the start aligned.
    let mut buffer = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: `buffer` holds at least `len` bytes.
    if unsafe { GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len) }
        == 0
    {
        return None;
    }
    // SAFETY: the call filled the buffer with a TOKEN_USER, whose SID points into it.
    let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    sid_text(sid)
}

/// A SID in memory as text, through vigil's one SID formatter.
pub(super) fn sid_text(sid: windows_sys::Win32::Security::PSID) -> Option<String> {
    if sid.is_null() {
        return None;
    }
    // SAFETY: a valid SID; its length comes from its own header.
    let len = unsafe { GetLengthSid(sid) } as usize;
    // SAFETY: the SID's bytes, `len` of them.
    let bytes = unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), len) };
    vigil_events::etw::convert::sid_to_string(bytes).ok()
}
