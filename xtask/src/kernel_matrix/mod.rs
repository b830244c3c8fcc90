//! `cargo xtask kernel-matrix`: the same scenario on every kernel of [`kernels::KERNELS`], each
//! booted under qemu (software emulation) from an initramfs holding `vigil` and this xtask, and
//! on the host's own kernel; a table per kernel and per program of what loaded, what attached,
//! how many instructions the verifier processed, and whether the expected rows came.

pub mod initramfs;
pub mod kernels;
pub mod report;
pub mod scenario;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use report::Report;

/// Longest a guest may run: boot, daemon start (every program verified under emulation), the
/// scenario and the stop.
const GUEST_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The host's kernel runs the scenario directly: CI machines are Firecracker VMs whose kernel
/// image is the hypervisor's (no /boot, no modules, no package), so it cannot be booted in qemu.
const HOST_DESCRIPTION: &str = "the machine's own kernel, scenario run directly (its image is \
    the hypervisor's: not in /boot nor in any package, so it cannot be booted under qemu)";

/// Marks the README section the matrix rewrites with `--readme`.
const README_BEGIN: &str = "<!-- kernel-matrix:begin -->";
const README_END: &str = "<!-- kernel-matrix:end -->";

/// What one kernel's run gave.
struct Run {
    label: String,
    description: String,
    report: Report,
    seconds: f64,
    known_missing: &'static [&'static str],
}

pub struct Options {
    /// Only these kernels (by name); all when empty.
    pub kernels: Vec<String>,
    /// Leave out the host's kernel.
    pub no_host: bool,
    /// Write the table into README.md.
    pub readme: bool,
}

pub fn run(workspace: &Path, target: &Path, options: &Options) -> anyhow::Result<()> {
    let cache = target.join("kernels");
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    let vigil = target.join("debug").join("vigil");
    if !vigil.exists() {
        bail!(
            "{} is missing: build it first (`cargo build -p vigil`)",
            vigil.display()
        );
    }
    let xtask = std::env::current_exe().context("finding this xtask's executable")?;
    let selected: Vec<&kernels::Kernel> = kernels::KERNELS
        .iter()
        .filter(|k| options.kernels.is_empty() || options.kernels.iter().any(|n| n == k.name))
        .collect();
    if selected.is_empty() && !options.kernels.is_empty() {
        let names: Vec<&str> = kernels::KERNELS.iter().map(|k| k.name).collect();
        bail!(
            "no kernel named {}; the matrix has {}",
            options.kernels.join(", "),
            names.join(", ")
        );
    }

    let mut runs = Vec::new();
    if !selected.is_empty() {
        let initramfs =
            initramfs::build(&cache, &vigil, &xtask).context("building the initramfs")?;
        for kernel in selected {
            let image = kernels::image(&cache, kernel)?;
            eprintln!(
                "xtask: booting {} ({}) under qemu",
                kernel.name, kernel.package
            );
            let started = Instant::now();
            let report =
                boot(&cache.join(kernel.name), &image, &initramfs).unwrap_or_else(|error| {
                    Report::failed(kernel.package.to_owned(), format!("{error:#}"))
                });
            runs.push(Run {
                label: format!("{} ({})", kernel.name, report.kernel),
                description: format!("{}, `{}`, under qemu", kernel.description, kernel.package),
                report,
                seconds: started.elapsed().as_secs_f64(),
                known_missing: kernel.known_missing,
            });
        }
    }
    if !options.no_host {
        eprintln!("xtask: running the scenario on the host's kernel");
        let started = Instant::now();
        let report = scenario::run(&vigil, &cache.join("host-run"))?;
        runs.push(Run {
            label: format!("host ({})", report.kernel),
            description: HOST_DESCRIPTION.to_owned(),
            report,
            seconds: started.elapsed().as_secs_f64(),
            known_missing: &[],
        });
    }

    let table = render(&runs);
    println!("{table}");
    std::fs::write(cache.join("last-run.md"), &table)?;
    if options.readme {
        update_readme(&workspace.join("README.md"), &table)?;
    }
    let failures: Vec<String> = runs
        .iter()
        .flat_map(|run| {
            run.report
                .failures(run.known_missing)
                .into_iter()
                .map(move |f| format!("{}: {f}", run.label))
        })
        .collect();
    if !failures.is_empty() {
        bail!("the kernel matrix failed:\n  {}", failures.join("\n  "));
    }
    Ok(())
}

/// Boots `image` with `initramfs` under qemu and reads the report the guest writes to its second
/// serial port.
fn boot(dir: &Path, image: &Path, initramfs: &Path) -> anyhow::Result<Report> {
    std::fs::create_dir_all(dir)?;
    let console = dir.join("console.log");
    let report_path = dir.join("report.json");
    let _ = std::fs::remove_file(&report_path);
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-m", "2048", "-smp", "2"])
        .args([
            "-display",
            "none",
            "-monitor",
            "none",
            "-nic",
            "none",
            "-no-reboot",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console.display()))
        .arg("-serial")
        .arg(format!("file:{}", report_path.display()))
        .arg("-kernel")
        .arg(image)
        .arg("-initrd")
        .arg(initramfs)
        .args(["-append", "console=ttyS0 panic=-1 quiet"])
        .stdin(Stdio::null())
        .spawn()
        .context("starting qemu-system-x86_64 (run `cargo xtask setup` to install it)")?;
    let deadline = Instant::now() + GUEST_DEADLINE;
    let status = loop {
        if let Some(status) = qemu.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = qemu.kill();
            let _ = qemu.wait();
            bail!(
                "the guest did not finish within {GUEST_DEADLINE:?}; its console:\n{}",
                tail(&console, 40)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let text = std::fs::read_to_string(&report_path).unwrap_or_default();
    let json = text
        .lines()
        .find_map(|line| line.trim().strip_prefix(scenario::REPORT_PREFIX));
    match json {
        Some(json) => serde_json::from_str(json).context("the guest's report"),
        None => bail!(
            "the guest wrote no report (qemu {status}); its console:\n{}",
            tail(&console, 40)
        ),
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The matrix as Markdown: a summary per kernel, the checks, and the programs.
fn render(runs: &[Run]) -> String {
    let mut out = String::new();
    let header = |first: &str| {
        let mut line = format!("| {first} |");
        let mut rule = "|---|".to_owned();
        for run in runs {
            line.push_str(&format!(" {} |", run.label));
            rule.push_str("---|");
        }
        format!("{line}\n{rule}\n")
    };

    out.push_str(&header("kernel"));
    let mut row = |name: &str, cell: &dyn Fn(&Run) -> String| {
        out.push_str(&format!("| {name} |"));
        for run in runs {
            out.push_str(&format!(" {} |", cell(run)));
        }
        out.push('\n');
    };
    row("what", &|run| run.description.clone());
    row("result", &|run| {
        let failures = run.report.failures(run.known_missing);
        if failures.is_empty() {
            "**pass**".to_owned()
        } else {
            format!("**FAIL** ({})", failures.len())
        }
    });
    row("time (boot, daemon start, scenario, stop)", &|run| {
        format!("{:.0} s", run.seconds)
    });
    row("daemon start", &|run| {
        if run.report.startup_secs > 0.0 {
            format!("{:.1} s", run.report.startup_secs)
        } else {
            format!(
                "failed: {}",
                one_line(run.report.error.as_deref().unwrap_or("no report"))
            )
        }
    });
    row("checks passed", &|run| {
        let passed = run.report.checks.iter().filter(|c| c.passed).count();
        format!("{passed}/{}", run.report.checks.len())
    });
    row("programs loaded and attached", &|run| {
        let ok = run
            .report
            .programs
            .iter()
            .filter(|p| p.error.is_none() && !p.attached.is_empty())
            .count();
        let attachments: usize = run.report.programs.iter().map(|p| p.attached.len()).sum();
        format!(
            "{ok}/{} ({attachments} tracepoints)",
            run.report.programs.len()
        )
    });
    row("verified instructions, all programs", &|run| {
        let total: u64 = run
            .report
            .programs
            .iter()
            .filter_map(|p| p.verified_insns)
            .map(u64::from)
            .sum();
        thousands(total)
    });
    for table in ["bpf_process_events", "bpf_socket_events", "bpf_file_events"] {
        row(
            &format!("`{table}`"),
            &|run| match run.report.tables.iter().find(|t| t.name == table) {
                None => "not reported".to_owned(),
                Some(t) if t.available != Some(true) => {
                    format!("unavailable: {}", one_line(&t.unavailable_reason))
                }
                Some(t) if t.unavailable_reason.is_empty() => "complete".to_owned(),
                Some(t) => format!("without {}", t.missing_features().join(", ")),
            },
        );
    }

    out.push_str("\nExpected rows (each checked column by column through `vigil query`):\n\n");
    out.push_str(&header("check"));
    let mut checks: Vec<String> = Vec::new();
    for run in runs {
        for check in &run.report.checks {
            if !checks.contains(&check.name) {
                checks.push(check.name.clone());
            }
        }
    }
    for name in &checks {
        out.push_str(&format!("| {name} |"));
        for run in runs {
            let cell = match run.report.checks.iter().find(|c| &c.name == name) {
                Some(c) if c.passed => "✓".to_owned(),
                Some(c) => format!("✗ {}", one_line(&c.detail)),
                None => "not run".to_owned(),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }

    out.push_str(
        "\nPrograms: instructions the verifier processed; ✓ rows: the checks that exercise the \
         program found their rows; – : not loaded because this kernel lacks the feature \
         (see the table's line above).\n\n",
    );
    out.push_str(&header("program"));
    let mut programs: Vec<String> = Vec::new();
    for run in runs {
        for program in &run.report.programs {
            if !programs.contains(&program.name) {
                programs.push(program.name.clone());
            }
        }
    }
    for name in &programs {
        out.push_str(&format!("| `{name}` |"));
        for run in runs {
            let exercised: Vec<_> = run
                .report
                .checks
                .iter()
                .filter(|c| c.programs.contains(name))
                .collect();
            let rows = if exercised.is_empty() {
                ""
            } else if exercised.iter().all(|c| c.passed) {
                ", ✓ rows"
            } else {
                ", ✗ rows"
            };
            let cell = match run.report.programs.iter().find(|p| &p.name == name) {
                None => "–".to_owned(),
                Some(p) => match &p.error {
                    Some(error) => format!("✗ {}", one_line(error)),
                    None if p.attached.is_empty() => "✗ loaded, not attached".to_owned(),
                    None => format!(
                        "{}{rows}",
                        p.verified_insns
                            .map_or_else(|| "loaded".to_owned(), |n| thousands(u64::from(n)))
                    ),
                },
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

fn one_line(text: &str) -> String {
    let line = text.replace(['\n', '|'], " ");
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Replaces the README's matrix section (between its markers) with `table`.
fn update_readme(path: &Path, table: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(README_BEGIN), text.find(README_END)) else {
        bail!(
            "{} has no `{README_BEGIN}` … `{README_END}` section to write the table into",
            path.display()
        );
    };
    let updated = format!("{}{README_BEGIN}\n{table}{}", &text[..begin], &text[end..]);
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("xtask: wrote the table into {}", path.display());
    Ok(())
}

/// `xtask kernel-scenario`: runs the scenario and writes its report line to `report` (the
/// guest's report port) or stdout.
pub fn scenario_command(
    vigil: &Path,
    work: Option<PathBuf>,
    report: Option<PathBuf>,
) -> anyhow::Result<()> {
    let work = work.unwrap_or_else(default_work);
    let outcome = scenario::run(vigil, &work);
    let found = outcome.unwrap_or_else(|error| {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        report::Report::failed(
            kernel.trim().to_owned(),
            format!("the scenario failed: {error:#}"),
        )
    });
    let line = format!(
        "{}{}\n",
        scenario::REPORT_PREFIX,
        serde_json::to_string(&found)?
    );
    match report {
        Some(path) => {
            use std::io::Write as _;
            let mut port = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            port.write_all(line.as_bytes())?;
            port.flush()?;
        }
        None => print!("{line}"),
    }
    Ok(())
}

/// Where the scenario's work directory goes by default when run by hand.
pub fn default_work() -> PathBuf {
    std::env::temp_dir().join("vigil-kernel-scenario")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
