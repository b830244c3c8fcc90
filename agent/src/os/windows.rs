//! What the agent asks of Windows: the host name, the log directory and files, the daemon's stop
//! requests (the service manager's Stop and Shutdown, a console's Ctrl+C), a process's memory and
//! CPU time (for the scheduler's measures and the watchdog), and random UUIDs.

use std::{
    fs::File,
    os::windows::{fs::OpenOptionsExt as _, io::AsRawHandle as _},
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use windows_sys::Win32::{
    Foundation::{FILETIME, HANDLE},
    Security::Cryptography::{BCRYPT_USE_SYSTEM_PREFERRED_RNG, BCryptGenRandom},
    Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT,
    System::{
        ProcessStatus::{GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS},
        Threading::{GetCurrentProcess, GetCurrentThread, GetProcessTimes, GetThreadTimes},
    },
};

use super::filetime::filetime_span;

/// The computer's name as Windows sets it for every process (`COMPUTERNAME`); empty without it.
pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// Creates `--logger_path` and its parents. Windows has no mode bits: the folder inherits the
/// access rules of its parent (`%ProgramData%`'s by default).
pub fn create_log_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

/// Opens a log file for appending, creating it. `--logger_mode` (POSIX permissions) has no
/// meaning here: the file inherits its folder's access rules. Never through a symbolic link or
/// junction (as `O_NOFOLLOW` on Unix): the reparse point itself is opened, not its target.
pub fn open_log_file(path: &Path, _mode: u32) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// Set by [`request_stop`]: Windows has no SIGTERM; the service manager's Stop and Shutdown
/// controls, a console's Ctrl+C and the watcher's stop request stand for it.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the daemon to stop, as SIGTERM does on Unix.
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether the daemon was asked to stop ([`request_stop`]).
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::SeqCst)
}

/// The daemon's stop requests: [`request_stop`]'s and a console's Ctrl+C.
pub struct StopSignals(tokio::signal::windows::CtrlC);

impl StopSignals {
    /// Inside a tokio runtime.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self(tokio::signal::windows::ctrl_c()?))
    }

    /// Waits for a stop request (checked every 200 ms: a service has 20 s to stop).
    pub async fn recv(&mut self) -> &'static str {
        let requested = async {
            while !stop_requested() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            () = requested => "a stop request",
            _ = self.0.recv() => "Ctrl+C",
        }
    }
}

/// Windows has no SIGHUP: a config is reloaded when its file changes (or the TLS server sends
/// another), so this never fires.
pub struct Hangups(());

impl Hangups {
    pub async fn recv(&mut self) -> Option<()> {
        std::future::pending().await
    }
}

pub fn hangups() -> std::io::Result<Hangups> {
    Ok(Hangups(()))
}

/// Windows' heap has no per-thread arenas or mmap threshold to tune.
pub fn tune_malloc() {}

/// See `tune_malloc`.
pub fn tune_malloc_for_start() {}

/// See `tune_malloc`.
pub fn tune_malloc_for_events() {}

/// Windows' heap gives back what is freed on its own terms; nothing to trim.
pub fn release_free_heap() -> bool {
    false
}

/// CPU time of the calling thread, in milliseconds: (user, system); zeros if it cannot be read.
pub fn thread_cpu_ms() -> (i64, i64) {
    // SAFETY: the pseudo handle of the calling thread, valid for the call.
    let times = thread_or_process_times(|c, e, k, u| unsafe {
        GetThreadTimes(GetCurrentThread(), c, e, k, u)
    });
    times.map_or((0, 0), |(user, kernel)| {
        (user.as_millis() as i64, kernel.as_millis() as i64)
    })
}

/// This process's resident memory (its working set) in bytes; 0 if it cannot be read.
pub fn resident_bytes() -> i64 {
    // SAFETY: the pseudo handle of this process, valid for the call.
    resident_bytes_of(unsafe { GetCurrentProcess() }).map_or(0, |bytes| bytes as i64)
}

/// The working set of the process behind `process` (a handle with query access), in bytes.
pub fn resident_bytes_of(process: HANDLE) -> Option<u64> {
    let mut counters = PROCESS_MEMORY_COUNTERS {
        cb: size_of::<PROCESS_MEMORY_COUNTERS>() as u32,
        ..Default::default()
    };
    // SAFETY: `counters` is writable and `cb` gives its size.
    let ok = unsafe { GetProcessMemoryInfo(process, &mut counters, counters.cb) };
    (ok != 0).then_some(counters.WorkingSetSize as u64)
}

/// User plus kernel time of the process behind `process` (a handle with query access).
pub fn cpu_of(process: HANDLE) -> Option<Duration> {
    // SAFETY: the caller's handle, valid for the call.
    thread_or_process_times(|c, e, k, u| unsafe { GetProcessTimes(process, c, e, k, u) })
        .map(|(user, kernel)| user + kernel)
}

/// (user, kernel) time through `GetThreadTimes` or `GetProcessTimes`.
fn thread_or_process_times(
    read: impl FnOnce(*mut FILETIME, *mut FILETIME, *mut FILETIME, *mut FILETIME) -> i32,
) -> Option<(Duration, Duration)> {
    let [mut created, mut exited, mut kernel, mut user] = [FILETIME::default(); 4];
    if read(&mut created, &mut exited, &mut kernel, &mut user) == 0 {
        return None;
    }
    let span = |t: FILETIME| filetime_span(t.dwLowDateTime, t.dwHighDateTime);
    Some((span(user), span(kernel)))
}

/// A new random (version 4) UUID, from the system's preferred random generator.
pub fn random_uuid() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    // SAFETY: `bytes` is writable for the length given; no algorithm handle with this flag.
    let status = unsafe {
        BCryptGenRandom(
            std::ptr::null_mut(),
            bytes.as_mut_ptr(),
            bytes.len() as u32,
            BCRYPT_USE_SYSTEM_PREFERRED_RNG,
        )
    };
    if status < 0 {
        return Err(std::io::Error::other(format!(
            "BCryptGenRandom failed with NTSTATUS {status:#010x}"
        )));
    }
    Ok(super::uuid::format_v4(bytes))
}

/// The raw handle of an open file, for the file APIs std does not wrap.
pub fn file_handle(file: &File) -> HANDLE {
    file.as_raw_handle()
}
