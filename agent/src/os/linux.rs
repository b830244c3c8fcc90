//! Facts only Linux (and glibc) give.

/// glibc gives each thread that allocates its own arena, and keeps what each freed: with a
/// dozen threads (reader, writer, scheduler, loggers, RocksDB's) that alone is tens of MB of a
/// worker's resident memory under the watchdog's limit. Two arenas serve them well enough.
///
/// glibc also raises its mmap threshold to the size of any mmapped block freed (up to 32 MiB),
/// and its trim threshold to twice that: once the kernel's BTF (5.5 MB on 6.18) has been read
/// and freed at start, the BTF parses' vectors of several MB came from the heap, and up to 11
/// MB freed there stayed resident. Fixed thresholds map such blocks on their own and give them
/// back when freed; below them (RocksDB's 1 MB memtable arena blocks, write batches) the heap
/// serves as before: a 128 KiB threshold mapped every arena block afresh, and the store ingest
/// bench lost a quarter to a half of its rate.
pub fn tune_malloc() {
    // SAFETY: mallopt only changes allocator settings; called first, before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    set_thresholds(EVENTS_MMAP_THRESHOLD);
}

/// While a worker starts, the kernel's BTF is parsed twice (aya's loader, then vigil's offsets),
/// vectors of several MB grown by doubling: with glibc's initial 128 KiB threshold they grow in
/// mappings of their own (mremap, no copy left behind in the heap) and go back when freed. The
/// worker's peak RSS at start: 35.2 MB with 2 MiB, 34.1 MB with 128 KiB.
pub fn tune_malloc_for_start() {
    set_thresholds(128 * 1024);
}

/// Once events flow: see [`tune_malloc`].
pub fn tune_malloc_for_events() {
    set_thresholds(EVENTS_MMAP_THRESHOLD);
}

/// Blocks this size and larger are mapped on their own and unmapped when freed; up to twice
/// that stays free at the top of the heap.
fn set_thresholds(mmap: libc::c_int) {
    // SAFETY: mallopt only changes allocator settings, under glibc's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * mmap);
    }
}

/// Above RocksDB's 1 MiB memtable arena blocks.
const EVENTS_MMAP_THRESHOLD: libc::c_int = 2 * 1024 * 1024;

/// Gives the heap's free pages back to the kernel (`malloc_trim`). Below the mmap threshold,
/// what a burst of events left freed in glibc's arenas (flushed memtables above all) stays
/// resident until reused: after a file storm, 14 MB of the worker's 24. Whether glibc gave
/// anything back.
pub fn release_free_heap() -> bool {
    // SAFETY: malloc_trim only returns free memory of glibc's arenas to the kernel.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// CPU time of the calling thread, in milliseconds: (user, system); zeros if it cannot be read.
pub fn thread_cpu_ms() -> (i64, i64) {
    // SAFETY: `usage` is plain data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return (0, 0);
    }
    let ms = |t: libc::timeval| t.tv_sec * 1000 + t.tv_usec / 1000;
    (ms(usage.ru_utime), ms(usage.ru_stime))
}

/// This process's resident memory in bytes; 0 if it cannot be read.
pub fn resident_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// A new random UUID, from the kernel.
pub fn random_uuid() -> std::io::Result<String> {
    Ok(std::fs::read_to_string("/proc/sys/kernel/random/uuid")?
        .trim()
        .to_owned())
}

#[cfg(test)]
mod tests {
    use super::release_free_heap;

    #[test]
    fn freed_heap_blocks_are_given_back() {
        // 16 MB in blocks below the mmap threshold, then one more that stays: the freed ones
        // sit in the heap below it, where only malloc_trim gives them back.
        let blocks: Vec<Vec<u8>> = (0..256).map(|_| vec![1u8; 64 * 1024]).collect();
        let kept = vec![1u8; 64 * 1024];
        drop(blocks);
        assert!(release_free_heap());
        assert_eq!(kept.len(), 64 * 1024);
    }
}
