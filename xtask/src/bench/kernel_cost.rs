//! What each vigil program costs in the kernel: with `kernel.bpf_stats_enabled=1` the kernel
//! counts each program's runs and the time they took. The worker holds one descriptor per
//! program; its fdinfo has the counts and the program's tag, and `/proc/kallsyms` names each
//! tag's program (`bpf_prog_<tag>_<function>`).

use std::collections::HashMap;

use anyhow::Context as _;

use super::figures::ProgramCost;

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Turns the kernel's program statistics on, and puts the setting back as it was when dropped.
pub struct StatsEnabled {
    before: String,
}

impl StatsEnabled {
    pub fn enable() -> anyhow::Result<Self> {
        let before = std::fs::read_to_string(STATS_SYSCTL)
            .with_context(|| format!("reading {STATS_SYSCTL}"))?;
        std::fs::write(STATS_SYSCTL, "1")
            .with_context(|| format!("writing 1 to {STATS_SYSCTL}"))?;
        Ok(Self {
            before: before.trim().to_owned(),
        })
    }
}

impl Drop for StatsEnabled {
    fn drop(&mut self) {
        if let Err(error) = std::fs::write(STATS_SYSCTL, &self.before) {
            eprintln!(
                "bench: could not put {STATS_SYSCTL} back to {}: {error}",
                self.before
            );
        }
    }
}

/// One program descriptor's fdinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u64,
    pub tag: String,
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

pub fn parse_fdinfo(text: &str) -> Option<ProgInfo> {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            Some(rest.trim().to_owned())
        })
    };
    Some(ProgInfo {
        id: field("prog_id")?.parse().ok()?,
        tag: field("prog_tag")?,
        run_time_ns: field("run_time_ns")?.parse().ok()?,
        run_cnt: field("run_cnt")?.parse().ok()?,
    })
}

/// Program names by tag, from `/proc/kallsyms` lines `... bpf_prog_<tag>_<name>\t[bpf]`.
pub fn names_by_tag(kallsyms: &str) -> HashMap<String, String> {
    kallsyms
        .lines()
        .filter_map(|line| {
            let symbol = line.split_whitespace().nth(2)?;
            let rest = symbol.strip_prefix("bpf_prog_")?;
            let (tag, name) = rest.split_once('_')?;
            Some((tag.to_owned(), name.to_owned()))
        })
        .collect()
}

/// The programs `pid` holds, with their counts so far.
pub fn programs_of(pid: i32) -> anyhow::Result<Vec<ProgramCost>> {
    let names =
        names_by_tag(&std::fs::read_to_string("/proc/kallsyms").context("reading /proc/kallsyms")?);
    Ok(infos_of(pid)?
        .into_iter()
        .map(|info| ProgramCost {
            program: names
                .get(&info.tag)
                .cloned()
                .unwrap_or_else(|| format!("tag {}", info.tag)),
            run_cnt: info.run_cnt,
            run_time_ns: info.run_time_ns,
        })
        .collect())
}

/// Each program process `pid` holds a descriptor of, once.
fn infos_of(pid: i32) -> anyhow::Result<Vec<ProgInfo>> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("listing the descriptors of process {pid}"))?;
    let mut infos: Vec<ProgInfo> = Vec::new();
    for fd in fds.flatten() {
        let is_prog = std::fs::read_link(fd.path())
            .is_ok_and(|target| target.to_string_lossy() == "anon_inode:bpf-prog");
        if !is_prog {
            continue;
        }
        let info_path = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
        let Some(info) = std::fs::read_to_string(&info_path)
            .ok()
            .and_then(|t| parse_fdinfo(&t))
        else {
            continue;
        };
        if !infos.iter().any(|known| known.id == info.id) {
            infos.push(info);
        }
    }
    Ok(infos)
}

/// The run time (ns) of every program the processes `pids` hold, so far.
pub fn run_time_ns(pids: &[i32]) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in pids {
        total += programs_of(*pid)?
            .iter()
            .map(|p| p.run_time_ns)
            .sum::<u64>();
    }
    Ok(total)
}

/// What each program ran between two readings of the same process's programs.
pub fn since(before: &[ProgramCost], after: &[ProgramCost]) -> Vec<ProgramCost> {
    after
        .iter()
        .map(|now| {
            let earlier = before.iter().find(|b| b.program == now.program);
            ProgramCost {
                program: now.program.clone(),
                run_cnt: now.run_cnt - earlier.map_or(0, |b| b.run_cnt.min(now.run_cnt)),
                run_time_ns: now.run_time_ns
                    - earlier.map_or(0, |b| b.run_time_ns.min(now.run_time_ns)),
            }
        })
        .collect()
}

/// Adds `more` into `total`, program by program.
pub fn accumulate(total: &mut Vec<ProgramCost>, more: &[ProgramCost]) {
    for cost in more {
        match total.iter_mut().find(|t| t.program == cost.program) {
            Some(t) => {
                t.run_cnt += cost.run_cnt;
                t.run_time_ns += cost.run_time_ns;
            }
            None => total.push(cost.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_of_a_program_gives_its_counts() {
        let text = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2071\nprog_type:\t5\n\
                    prog_jited:\t1\nprog_tag:\tf72111889194c127\nmemlock:\t4096\nprog_id:\t93\n\
                    run_time_ns:\t123456\nrun_cnt:\t789\nrecursion_misses:\t0\n\
                    verified_insns:\t77\n";
        assert_eq!(
            parse_fdinfo(text),
            Some(ProgInfo {
                id: 93,
                tag: "f72111889194c127".into(),
                run_time_ns: 123_456,
                run_cnt: 789,
            })
        );
        assert_eq!(parse_fdinfo("pos:\t0\n"), None);
    }

    #[test]
    fn kallsyms_names_programs_by_tag_in_full() {
        let text = "ffffffffc00019a8 t bpf_prog_f72111889194c127_vigil_enter_execve\t[bpf]\n\
                    ffffffffc0001bbc t bpf_prog_9d8110431bc30b6f_vigil_enter_execveat\t[bpf]\n\
                    ffffffff81000000 T _stext\n";
        let names = names_by_tag(text);
        assert_eq!(names["f72111889194c127"], "vigil_enter_execve");
        assert_eq!(names["9d8110431bc30b6f"], "vigil_enter_execveat");
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn costs_add_up_by_program() {
        let cost = |p: &str, n, t| ProgramCost {
            program: p.into(),
            run_cnt: n,
            run_time_ns: t,
        };
        let mut total = vec![cost("a", 1, 100)];
        accumulate(&mut total, &[cost("a", 3, 300), cost("b", 2, 50)]);
        assert_eq!(total.len(), 2);
        assert_eq!((total[0].run_cnt, total[0].run_time_ns), (4, 400));
        let grown = since(&[cost("a", 1, 100)], &[cost("a", 5, 900), cost("b", 2, 50)]);
        assert_eq!((grown[0].run_cnt, grown[0].run_time_ns), (4, 800));
        assert_eq!((grown[1].run_cnt, grown[1].run_time_ns), (2, 50));
        assert_eq!(total[1].mean_ns(), Some(25.0));
    }
}
