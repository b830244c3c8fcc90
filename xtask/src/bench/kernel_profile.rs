//! Where each vigil program's kernel time goes: `perf record -a -g -e cpu-clock` while a load
//! runs, and every sample whose call chain passes through a vigil program (its JIT image's
//! symbol, `bpf_prog_<tag>_<name>`) counted for the function the sample was in: the program's
//! own code, or the helper or kernel function it had called. `cpu-clock`, not `cycles`: it works
//! in VMs without hardware counters, as here.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, bail};

use super::figures::ProgramProfile;

/// Samples per second and CPU: enough for a few hundred samples in a program that runs 2,000
/// times a round at about 1 µs each.
const FREQUENCY: &str = "9999";
/// Functions listed per program.
pub const HOTTEST: usize = 8;

/// Whether `perf` runs here (Debian: the `linux-perf` package).
pub fn available() -> bool {
    Command::new("perf")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `perf record` of every CPU, from `start` until `finish`.
pub struct Recording {
    child: Child,
    out: PathBuf,
}

impl Recording {
    pub fn start(out: &Path) -> anyhow::Result<Self> {
        let child = Command::new("perf")
            .args([
                "record",
                "-a",
                "-g",
                "-e",
                "cpu-clock",
                "-F",
                FREQUENCY,
                "-o",
            ])
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("running perf (Debian: apt-get install linux-perf)")?;
        // perf opens its events before it records: samples of the load's first moments would
        // otherwise be missed.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Self {
            child,
            out: out.to_owned(),
        })
    }

    /// Stops the recording and attributes its samples to the vigil programs. By name: every
    /// vigil on the host counts (the bench runs no other; a program's JIT image is named by the
    /// tag of its main function alone, not the program's tag its descriptor shows, so the
    /// programs of one process cannot be told apart from another's this way).
    pub fn finish(mut self) -> anyhow::Result<Vec<ProgramProfile>> {
        let pid = libc::pid_t::try_from(self.child.id()).context("perf's pid")?;
        // SAFETY: a signal to the child this recording started and has not reaped yet.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            bail!("stopping perf: {}", std::io::Error::last_os_error());
        }
        let status = self.child.wait().context("waiting for perf")?;
        // perf record exits with the signal's status after writing its file.
        if !status.success() && status.code().is_some() {
            bail!("perf record failed: {status}");
        }
        let script = Command::new("perf")
            .args(["script", "-F", "ip,sym", "-i"])
            .arg(&self.out)
            .stderr(Stdio::null())
            .output()
            .context("running perf script")?;
        if !script.status.success() {
            bail!("perf script failed: {}", script.status);
        }
        Ok(attribute(&String::from_utf8_lossy(&script.stdout), HOTTEST))
    }
}

/// The name of a vigil program from a JIT image's symbol (`bpf_prog_<16 hex>_vigil_…`); `None`
/// for anything else, subprograms included (they count for the program that called them).
fn program_of(symbol: &str) -> Option<&str> {
    let rest = symbol.strip_prefix("bpf_prog_")?;
    let (tag, name) = rest.split_at_checked(16)?;
    let name = name.strip_prefix('_')?;
    (tag.bytes().all(|b| b.is_ascii_hexdigit()) && name.starts_with("vigil_")).then_some(name)
}

/// How many vigil program images `/proc/kallsyms`' text lists (`<address> t <symbol> [bpf]`).
pub fn vigil_programs_in(kallsyms: &str) -> usize {
    kallsyms
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .filter(|symbol| program_of(symbol).is_some())
        .count()
}

/// Per vigil program, its samples and the functions they were in (share of its samples),
/// hottest first, from `perf script -F ip,sym` output: one sample per block of frame lines
/// (`<ip> <symbol>`, the leaf first), blocks apart by blank lines.
pub fn attribute(script: &str, hottest: usize) -> Vec<ProgramProfile> {
    let mut by_program: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for sample in script.split("\n\n") {
        let frames: Vec<&str> = sample
            .lines()
            .filter_map(|line| {
                let (_ip, symbol) = line.trim().split_once(char::is_whitespace)?;
                Some(symbol.trim())
            })
            .collect();
        let (Some(leaf), Some(program)) = (
            frames.first(),
            frames.iter().find_map(|frame| program_of(frame)),
        ) else {
            continue;
        };
        *by_program
            .entry(program)
            .or_default()
            .entry(short_name(leaf))
            .or_default() += 1;
    }
    let mut profiles: Vec<ProgramProfile> = by_program
        .into_iter()
        .map(|(program, leaves)| {
            let samples: u64 = leaves.values().sum();
            let mut leaves: Vec<(String, u64)> = leaves.into_iter().collect();
            leaves.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            ProgramProfile {
                program: program.to_owned(),
                samples,
                hottest: leaves
                    .into_iter()
                    .take(hottest)
                    .map(|(leaf, n)| (leaf, 100.0 * n as f64 / samples as f64))
                    .collect(),
            }
        })
        .collect();
    profiles.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.program.cmp(&b.program)));
    profiles
}

/// A JIT image's symbol as its program or subprogram name (the tag says nothing to a reader,
/// and one program may have several images).
fn short_name(symbol: &str) -> String {
    match symbol.strip_prefix("bpf_prog_") {
        Some(rest) if rest.len() > 17 => format!("{} (BPF code)", &rest[17..]),
        _ => symbol.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_count_for_the_vigil_program_on_their_chain_and_the_function_they_were_in() {
        let script = "\
\tffffffff81000001 native_write_msr
\tffffffff81000002 irq_work_queue
\tffffffffc0000003 bpf_prog_bf9488d28598fd5a_vigil_sched_process_exit
\tffffffff81000004 do_exit

\tffffffffc0000010 bpf_prog_bf9488d28598fd5a_vigil_sched_process_exit
\tffffffff81000004 do_exit

\tffffffff81000001 native_write_msr
\tffffffffc0000011 bpf_prog_8bdde6becc9184cd_walk_step_into_3C_vigil_process_3A_
\tffffffffc0000012 bpf_prog_b92434e79459465c_vigil_sched_process_exec

\tffffffff81000020 copy_page
\tffffffff81000021 do_syscall_64

\tffffffff81000001 native_write_msr
\tffffffffc0000003 bpf_prog_bf9488d28598fd5a_vigil_sched_process_exit

\tffffffffc0000030 bpf_prog_0123456789abcdef_vigil_sched_process_exit
\tffffffff81000004 do_exit
";
        let profiles = attribute(script, 8);
        let names: Vec<(&str, u64)> = profiles
            .iter()
            .map(|p| (p.program.as_str(), p.samples))
            .collect();
        assert_eq!(
            names,
            vec![
                ("vigil_sched_process_exit", 4),
                ("vigil_sched_process_exec", 1)
            ],
            "a sample outside vigil's programs counts for none; two images of one program count \
             as one"
        );
        let exit = &profiles[0].hottest;
        assert_eq!(exit[0].0, "native_write_msr");
        assert_eq!(exit[0].1, 50.0, "{exit:?}");
        assert_eq!(exit[1].0, "vigil_sched_process_exit (BPF code)");
        assert_eq!(exit[1].1, 50.0, "{exit:?}");
        // A subprogram's samples count for the program that called it.
        assert_eq!(profiles[1].hottest[0].0, "native_write_msr");
    }

    #[test]
    fn vigil_programs_are_counted_in_kallsyms() {
        let kallsyms = "\
ffffffffc0015810 t bpf_prog_2479c1f062d19391_vigil_exit_file\t[bpf]
ffffffffc0015990 t bpf_prog_8bdde6becc9184cd_walk_step_into_3C_vigil_process\t[bpf]
ffffffffc0016000 t bpf_prog_6deef7357e7b4530_sd_fw_egress\t[bpf]
ffffffff81000000 T _stext
ffffffffc002828c t bpf_prog_2479c1f062d19391_vigil_exit_file\t[bpf]
";
        assert_eq!(vigil_programs_in(kallsyms), 2);
    }

    #[test]
    fn only_jit_images_of_vigil_programs_are_programs() {
        assert_eq!(
            program_of("bpf_prog_b92434e79459465c_vigil_enter_execve"),
            Some("vigil_enter_execve")
        );
        assert_eq!(program_of("bpf_prog_8bdde6becc9184cd_walk_step"), None);
        assert_eq!(program_of("bpf_prog_xyz_vigil_enter_execve"), None);
        assert_eq!(program_of("vigil_enter_execve"), None);
    }
}
