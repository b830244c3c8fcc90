//! Keeping the kernel side alive across a worker restart. The ring buffer, the counters and one
//! link per tracepoint are pinned in bpffs: when a worker dies, its programs keep recording into
//! the pinned ring buffer, and the next worker reads what they buffered, counts what they could
//! not (a full ring), attaches its own programs and only then detaches the old ones.

use std::{
    io,
    path::{Path, PathBuf},
};

use aya::programs::{
    links::{FdLink, LinkError, PinnedLink},
    trace_point::TracePointLink,
};

/// bpffs's mount point and magic number.
pub const BPFFS: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(
        "bpffs is not mounted at {BPFFS} and mounting it failed ({0}); mount it with \
             `mount -t bpf bpf {BPFFS}`"
    )]
    Bpffs(io::Error),
    #[error("preparing the pin directory {path}: {source}")]
    Directory { path: PathBuf, source: io::Error },
    #[error(
        "the kernel attached {0} without a BPF link (kernels before 5.15); it cannot be pinned"
    )]
    NotALink(String),
    #[error("pinning {name}: {detail}")]
    Pin { name: String, detail: String },
}

fn is_bpffs(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `stats` is plain data; statfs only writes into it.
    let mut stats: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut stats) };
    rc == 0 && stats.f_type as i64 == BPF_FS_MAGIC
}

/// Mounts bpffs at its usual place if a fresh machine has not.
fn ensure_bpffs() -> Result<(), PinError> {
    if is_bpffs(Path::new(BPFFS)) {
        return Ok(());
    }
    crate::linux::mount::mount_pseudo_fs(c"bpf", c"/sys/fs/bpf").map_err(PinError::Bpffs)
}

/// The pins of one collector: `<base>/<layout>/{EVENTS,COUNTERS,links/<tracepoint>-<pid>-<n>}`
/// (bpffs refuses names with a dot).
pub struct Pins {
    /// One directory per database (`base`), so daemons on different databases never share.
    base: PathBuf,
    /// One directory per layout of the shared maps: a worker with another eBPF object or ring
    /// size starts afresh.
    dir: PathBuf,
    /// The links a previous worker left, detached once this one's are attached.
    predecessors: Vec<PathBuf>,
    /// Whether a previous worker's ring buffer and counters are taken over.
    pub reused: bool,
    generation: u32,
}

/// Publishers started in this process, for unique link names.
static GENERATION: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Pins {
    pub fn prepare(base: &Path, layout: u64) -> Result<Self, PinError> {
        ensure_bpffs()?;
        let layout_name = format!("{layout:016x}");
        let dir = base.join(&layout_name);
        let directory = |path: &Path| {
            let path = path.to_owned();
            move |source| PinError::Directory { path, source }
        };
        std::fs::create_dir_all(dir.join("links")).map_err(directory(&dir))?;
        for entry in std::fs::read_dir(base).map_err(directory(base))?.flatten() {
            let name = entry.file_name();
            if name != layout_name.as_str() && !name.to_string_lossy().starts_with(DATABASE_MARK) {
                tracing::warn!(
                    path = %entry.path().display(),
                    "the previous worker's kernel programs had another layout (an upgrade, or a \
                     new --bpf_ringbuf_size): detaching them; what they buffered is dropped"
                );
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let predecessors = std::fs::read_dir(dir.join("links"))
            .map_err(directory(&dir))?
            .flatten()
            .map(|e| e.path())
            .collect();
        let reused = dir.join(vigil_ebpf_common::names::EVENTS_MAP).exists();
        Ok(Self {
            base: base.to_owned(),
            dir,
            predecessors,
            reused,
            generation: GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Where the shared map `name` is pinned.
    pub fn map_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Pins a freshly attached link under its tracepoint's name.
    pub fn pin_link(
        &mut self,
        link: TracePointLink,
        tracepoint: &str,
    ) -> Result<PinnedLink, PinError> {
        let fd_link = FdLink::try_from(link).map_err(|error| match error {
            LinkError::InvalidLink => PinError::NotALink(tracepoint.to_owned()),
            other => PinError::Pin {
                name: tracepoint.to_owned(),
                detail: other.to_string(),
            },
        })?;
        // The pid and a per-process generation: a publisher restarted in this process (a new
        // config) pins its links beside those it takes over from.
        let path = self.dir.join("links").join(format!(
            "{tracepoint}-{}-{}",
            std::process::id(),
            self.generation
        ));
        let pinned = fd_link.pin(&path).map_err(|error| PinError::Pin {
            name: tracepoint.to_owned(),
            detail: match std::error::Error::source(&error) {
                Some(source) => format!("{error}: {source}"),
                None => error.to_string(),
            },
        })?;
        Ok(pinned)
    }

    /// Detaches the previous worker's programs: this worker's are attached by now.
    pub fn detach_predecessors(&mut self) {
        for path in self.predecessors.drain(..) {
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %error, "cannot detach an old kernel program");
            }
        }
    }

    /// The daemon stops for good: once this process closes its links, the programs are gone.
    pub fn release(self) {
        if let Err(error) = std::fs::remove_dir_all(&self.base) {
            tracing::warn!(path = %self.base.display(), %error, "cannot remove the pinned kernel programs");
        }
    }
}

/// Names the database a pin directory serves: `db-<hex of its path>`, a directory (bpffs holds no
/// plain files).
const DATABASE_MARK: &str = "db-";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Notes, under `base`, which database its pins serve, so they can be swept once it is gone.
/// Paths too long for one bpffs name are not noted (their pins are never swept).
pub fn mark_database(base: &Path, database: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let name = format!("{DATABASE_MARK}{}", hex(database.as_os_str().as_bytes()));
    if name.len() <= 255 {
        let _ = std::fs::create_dir_all(base.join(name));
    }
}

/// The database the pins under `base` serve, if noted.
fn marked_database(base: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt as _;
    std::fs::read_dir(base).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = unhex(name.strip_prefix(DATABASE_MARK)?)?;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    })
}

/// Removes the pins (detaching their programs) of databases that no longer exist: no daemon will
/// ever take those over. Returns how many were removed.
pub fn sweep_abandoned(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let Some(database) = marked_database(&entry.path()) else {
            continue;
        };
        if database.exists() {
            continue;
        }
        tracing::info!(
            database = %database.display(),
            "removing kernel programs left running for a database that no longer exists"
        );
        if std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// An attached program's link, pinned or owned by this process alone.
pub enum Attachment {
    Pinned(PinnedLink),
    Owned(TracePointLink),
}

/// Closes every link at once. Detaching a tracepoint program waits for an RCU grace period in
/// the kernel (about 0.1 s here); one after the other, the 76 attachments took 8 s to stop.
/// Closed from many threads together, the waits overlap.
pub fn detach_all(links: Vec<Attachment>) {
    let closing: Vec<_> = links
        .into_iter()
        .filter_map(|link| {
            std::thread::Builder::new()
                .name("vigil-detach".into())
                .spawn(move || drop(link))
                .ok()
        })
        .collect();
    for thread in closing {
        let _ = thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_pins_are_swept_and_live_ones_kept() {
        // Plain directories stand in for bpffs here: the sweep only reads names.
        let root = tempfile::tempdir().expect("root");
        let live_db = tempfile::tempdir().expect("db");
        let live = root.path().join("live");
        let gone = root.path().join("gone");
        let unmarked = root.path().join("unmarked");
        for dir in [&live, &gone, &unmarked] {
            std::fs::create_dir_all(dir.join("0123456789abcdef/links")).expect("mkdir");
        }
        mark_database(&live, live_db.path());
        mark_database(&gone, Path::new("/nonexistent/vigil-db"));
        assert_eq!(marked_database(&live).as_deref(), Some(live_db.path()));
        assert_eq!(sweep_abandoned(root.path()), 1);
        assert!(live.exists() && unmarked.exists());
        assert!(!gone.exists());
        assert_eq!(unhex("0"), None);
    }
}
