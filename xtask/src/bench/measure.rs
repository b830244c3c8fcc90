//! Measurements from `/proc`: the CPU and peak memory of a tool's processes, the load average,
//! and the facts of the machine.

use std::path::Path;

use super::figures::{RssBreakdown, ThreadCpu};

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    /// utime + stime + cutime + cstime, in clock ticks: its own CPU and that of the children
    /// it waited for.
    pub cpu_ticks: u64,
    /// utime + stime alone: its own CPU (for a thread's stat, the thread's).
    pub own_ticks: u64,
}

/// Parses one `/proc/<pid>/stat` line. The command name sits in parentheses and may hold
/// spaces and parentheses itself: the fields start after the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    let number = |i: usize| fields.get(i).and_then(|f| f.parse::<i64>().ok());
    let ticks = |fields: &[usize]| {
        fields
            .iter()
            .map(|&i| number(i).map(|n| n.max(0) as u64))
            .sum::<Option<u64>>()
    };
    Some(ProcStat {
        pid,
        ppid: number(1)? as i32,
        comm,
        cpu_ticks: ticks(&[11, 12, 13, 14])?,
        own_ticks: ticks(&[11, 12])?,
    })
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn all_processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// `roots` and every process below them.
pub fn trees(processes: &[ProcStat], roots: &[i32]) -> Vec<ProcStat> {
    let mut found: Vec<ProcStat> = processes
        .iter()
        .filter(|p| roots.contains(&p.pid))
        .cloned()
        .collect();
    let mut i = 0;
    while i < found.len() {
        let parent = found[i].pid;
        for child in processes.iter().filter(|p| p.ppid == parent) {
            if !found.iter().any(|f| f.pid == child.pid) {
                found.push(child.clone());
            }
        }
        i += 1;
    }
    found
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The CPU (seconds) of the processes under `roots` and of `also` (kernel threads), now.
pub fn cpu_s(roots: &[i32], also: &[i32]) -> f64 {
    let processes = all_processes();
    let mut ticks: u64 = trees(&processes, roots).iter().map(|p| p.cpu_ticks).sum();
    ticks += processes
        .iter()
        .filter(|p| also.contains(&p.pid))
        .map(|p| p.cpu_ticks)
        .sum::<u64>();
    ticks as f64 / clock_ticks_per_second()
}

/// The CPU of one process and of each of its threads, at one moment (clock ticks).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThreadSample {
    /// The process's own CPU (its children left out).
    pub process_ticks: u64,
    /// (tid, name, CPU) of each thread alive.
    pub threads: Vec<(i32, String, u64)>,
}

pub fn thread_sample(pid: i32) -> Option<ThreadSample> {
    let process_ticks = stat(pid)?.own_ticks;
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|tid| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
            let thread = parse_stat(&text)?;
            Some((tid, thread.comm, thread.own_ticks))
        })
        .collect();
    Some(ThreadSample {
        process_ticks,
        threads,
    })
}

/// Where a process's CPU went between two samples: its total, and per thread name (threads of
/// one name together, busiest first; threads that ended meanwhile under `(ended threads)`).
pub fn thread_cpu(before: &ThreadSample, after: &ThreadSample) -> (f64, Vec<ThreadCpu>) {
    let per_tick = 1.0 / clock_ticks_per_second();
    let mut by_name: Vec<ThreadCpu> = Vec::new();
    let mut add = |name: &str, ticks: u64| {
        if ticks == 0 {
            return;
        }
        match by_name.iter_mut().find(|t| t.name == name) {
            Some(entry) => entry.cpu_s += ticks as f64 * per_tick,
            None => by_name.push(ThreadCpu {
                name: name.to_owned(),
                cpu_s: ticks as f64 * per_tick,
            }),
        }
    };
    let mut alive_ticks = 0;
    for (tid, name, ticks) in &after.threads {
        let earlier = before
            .threads
            .iter()
            .find(|(t, _, _)| t == tid)
            .map_or(0, |(_, _, ticks)| *ticks);
        let delta = ticks.saturating_sub(earlier);
        alive_ticks += delta;
        add(name, delta);
    }
    let total = after.process_ticks.saturating_sub(before.process_ticks);
    add("(ended threads)", total.saturating_sub(alive_ticks));
    by_name.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s));
    (total as f64 * per_tick, by_name)
}

/// Where a process's resident memory is, from its `/proc/<pid>/smaps`.
pub fn rss_breakdown(pid: i32) -> Option<RssBreakdown> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    Some(parse_smaps(&smaps, &exe.to_string_lossy()))
}

/// Sums the `Rss:` of each mapping of `smaps` by kind, and every mapping's `Pss:`; `exe` is the
/// executable's path.
pub fn parse_smaps(smaps: &str, exe: &str) -> RssBreakdown {
    let mut out = RssBreakdown::default();
    let mut name = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // A mapping's header: range, permissions, offset, device, inode, then the name.
            name = fields.skip(4).collect::<Vec<_>>().join(" ");
            continue;
        }
        if first == "Pss:" {
            out.pss_kb += fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            continue;
        }
        if first != "Rss:" {
            continue;
        }
        let kb: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let slot = if name.starts_with("anon_inode:bpf") {
            &mut out.bpf_maps_kb
        } else if name == exe {
            &mut out.executable_kb
        } else if name.is_empty() || name.starts_with('[') {
            &mut out.anonymous_kb
        } else {
            &mut out.other_kb
        };
        *slot += kb;
    }
    out
}

/// Peak resident memory (kB) of one process.
pub fn peak_rss_kb_of(pid: i32) -> Option<u64> {
    status_kb(
        &std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmHWM",
    )
}

/// Peak resident memory (kB) of each process under `roots`.
pub fn peak_rss_kb(roots: &[i32]) -> Vec<(i32, u64)> {
    trees(&all_processes(), roots)
        .iter()
        .filter_map(|p| Some((p.pid, peak_rss_kb_of(p.pid)?)))
        .collect()
}

/// A `kB` field of `/proc/<pid>/status` or `/proc/meminfo`.
pub fn status_kb(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut values = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [
        values.next().unwrap_or(0.0),
        values.next().unwrap_or(0.0),
        values.next().unwrap_or(0.0),
    ]
}

/// Pids of kernel threads named `comm` (kauditd).
pub fn kernel_threads(comm: &str) -> Vec<i32> {
    all_processes()
        .into_iter()
        .filter(|p| p.comm == comm && p.ppid == 2)
        .map(|p| p.pid)
        .collect()
}

/// The first direct child of `parent` (a daemon's worker), if any.
pub fn child_of(parent: i32) -> Option<i32> {
    all_processes()
        .into_iter()
        .find(|p| p.ppid == parent)
        .map(|p| p.pid)
}

fn read_trimmed(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

pub fn kernel() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

pub fn cpu_model() -> String {
    read_trimmed("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

pub fn memory_mib() -> u64 {
    status_kb(&read_trimmed("/proc/meminfo"), "MemTotal").unwrap_or(0) / 1024
}

pub fn os() -> String {
    read_trimmed("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn unix_now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_and_parentheses_in_the_name_parses() {
        let line = "4242 (my (odd) name) S 17 4242 4242 0 -1 4194560 100 0 0 0 \
                    250 50 7 3 20 0 1 0 100 1000 200";
        let stat = parse_stat(line).expect("parses");
        assert_eq!(stat.pid, 4242);
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.comm, "my (odd) name");
        assert_eq!(stat.cpu_ticks, 250 + 50 + 7 + 3);
        assert_eq!(stat.own_ticks, 250 + 50);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_tree_holds_its_root_and_every_descendant_only() {
        let p = |pid, ppid| ProcStat {
            pid,
            ppid,
            comm: String::new(),
            cpu_ticks: 1,
            own_ticks: 1,
        };
        let all = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(20, 1), p(21, 20)];
        let mut pids: Vec<i32> = trees(&all, &[10]).iter().map(|p| p.pid).collect();
        pids.sort();
        assert_eq!(pids, vec![10, 11, 12]);
    }

    #[test]
    fn thread_cpu_is_split_by_name_and_ended_threads_are_kept_apart() {
        let hz = clock_ticks_per_second();
        let before = ThreadSample {
            process_ticks: 100,
            threads: vec![
                (1, "vigil".into(), 50),
                (2, "vigil-ebpf".into(), 20),
                (3, "rocksdb:low".into(), 10),
                (4, "gone".into(), 20),
            ],
        };
        let after = ThreadSample {
            process_ticks: 100 + 60,
            threads: vec![
                (1, "vigil".into(), 50),
                (2, "vigil-ebpf".into(), 50),
                (3, "rocksdb:low".into(), 15),
                (5, "rocksdb:low".into(), 5),
            ],
        };
        let (total, threads) = thread_cpu(&before, &after);
        assert!((total - 60.0 / hz).abs() < 1e-9);
        let names: Vec<(&str, f64)> = threads
            .iter()
            .map(|t| (t.name.as_str(), t.cpu_s * hz))
            .collect();
        // 30 in vigil-ebpf, 5 + 5 in the two rocksdb:low threads, the other 20 in threads that
        // ended (60 - 40); the idle main thread is left out.
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(names[0].0, "vigil-ebpf");
        assert!((names[0].1 - 30.0).abs() < 1e-6);
        assert_eq!(names[1].0, "(ended threads)");
        assert!((names[1].1 - 20.0).abs() < 1e-6);
        assert_eq!(names[2].0, "rocksdb:low");
        assert!((names[2].1 - 10.0).abs() < 1e-6);
    }

    #[test]
    fn smaps_rss_is_summed_by_kind_of_mapping() {
        let smaps = "\
55a3097fe000-55a309f55000 r--p 00000000 fd:01 123 /usr/bin/vigil
Size:               7516 kB
Rss:                2568 kB
55a309f55000-55a30aeca000 r-xp 00757000 fd:01 123 /usr/bin/vigil
Rss:               11236 kB
Pss:                5618 kB
55a30fd78000-55a31063c000 rw-p 00000000 00:00 0                          [heap]
Rss:                4872 kB
Pss:                4872 kB
7f5d156f6000-7f5d166f7000 r--s 00000000 00:0f 1066                       anon_inode:bpf-map
Rss:               16388 kB
7f5d18000000-7f5d18021000 rw-p 00000000 00:00 0 
Rss:                 132 kB
7f5d18564000-7f5d186ba000 r-xp 00028000 fd:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1136 kB
";
        let rss = parse_smaps(smaps, "/usr/bin/vigil");
        assert_eq!(
            rss,
            RssBreakdown {
                bpf_maps_kb: 16388,
                executable_kb: 2568 + 11236,
                anonymous_kb: 4872 + 132,
                other_kb: 1136,
                pss_kb: 5618 + 4872,
            }
        );
    }

    #[test]
    fn this_process_has_threads_and_a_peak_rss() {
        let own = std::process::id() as i32;
        let sample = thread_sample(own).expect("own threads");
        assert!(sample.threads.iter().any(|(tid, _, _)| *tid == own));
        assert!(peak_rss_kb_of(own).is_some_and(|kb| kb > 0));
    }

    #[test]
    fn this_process_has_a_peak_rss() {
        let own = std::process::id() as i32;
        let peaks = peak_rss_kb(&[own]);
        assert!(peaks.iter().any(|(pid, kb)| *pid == own && *kb > 0));
        assert_eq!(status_kb("VmHWM:\t  1234 kB\n", "VmHWM"), Some(1234));
    }
}
