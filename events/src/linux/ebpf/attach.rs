//! Loading and attaching the programs feature by feature: a program the kernel rejects, or a
//! tracepoint it cannot attach to, costs the features that need it and no more. What each program
//! did (verified instructions, where it is attached, why it failed) goes to the status log, and
//! what each table can do on this kernel to its counters (`vigil_events`).

use aya::{Ebpf, programs::TracePoint, programs::trace_point::TracePointLink};

use super::{
    layout::Layout,
    pins::{Attachment, PinError, Pins},
    probes::Feature,
    source::SOURCE,
};
use crate::{counters::Availability, event_table::EventTable};

/// What one program did on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramReport {
    pub program: &'static str,
    /// Instructions the verifier processed (Linux 5.16 and later say).
    pub verified_insns: Option<u32>,
    /// `category:tracepoint` of each attachment.
    pub attached: Vec<String>,
    /// Why it was not loaded or not attached, when it was not.
    pub error: Option<String>,
}

/// The links of every feature that attached, and what the kernel allowed.
pub struct Attached {
    pub links: Vec<Attachment>,
    pub programs: Vec<ProgramReport>,
    pub tables: Vec<(EventTable, Availability)>,
}

/// Loads and attaches every feature of `layout` whose table is not disabled. `notes` are what
/// the tables lack for other reasons (BTF) and go into their availability.
pub fn attach_features(
    ebpf: &mut Ebpf,
    layout: &Layout,
    disabled: &[EventTable],
    mut pins: Option<&mut Pins>,
    notes: &[(EventTable, String)],
) -> Attached {
    let mut programs: Vec<ProgramReport> = Vec::new();
    let mut links = Vec::new();
    let mut working: Vec<EventTable> = Vec::new();
    let mut missing: Vec<(EventTable, String)> = notes.to_vec();
    missing.extend(layout.notes.iter().cloned());
    for (feature, verdict) in &layout.features {
        if disabled.contains(&feature.table) {
            continue;
        }
        if let Err(reason) = verdict {
            missing.push((feature.table, format!("{}: {reason}", feature.name)));
            continue;
        }
        let attached = attach_feature(ebpf, feature, &mut programs)
            .and_then(|attached| keep(attached, pins.as_deref_mut()));
        match attached {
            Ok(kept) => {
                working.push(feature.table);
                links.extend(kept);
            }
            Err(reason) => missing.push((feature.table, format!("{}: {reason}", feature.name))),
        }
    }
    for report in &programs {
        match &report.error {
            None => tracing::info!(
                program = report.program,
                verified_insns = report
                    .verified_insns
                    .map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
                attached = report.attached.join(","),
                "eBPF program loaded and attached"
            ),
            Some(error) => tracing::warn!(
                program = report.program,
                error = error.as_str(),
                "eBPF program not in use on this kernel"
            ),
        }
    }
    // The eBPF publisher's tables only: another publisher's are not this one's to judge.
    let tables = SOURCE
        .tables
        .iter()
        .filter(|table| !disabled.contains(table))
        .map(|&table| {
            let reasons: Vec<&str> = missing
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, reason)| reason.as_str())
                .collect();
            let availability = Availability {
                available: working.contains(&table),
                reason: reasons.join("; "),
            };
            log_availability(table, &availability);
            (table, availability)
        })
        .collect();
    Attached {
        links,
        programs,
        tables,
    }
}

fn log_availability(table: EventTable, availability: &Availability) {
    let name = table.name();
    let reason = availability.reason.as_str();
    match (availability.available, reason.is_empty()) {
        (false, _) => tracing::error!(
            table = name,
            reason,
            "event table unavailable on this kernel: it will get no events"
        ),
        (true, false) => tracing::warn!(
            table = name,
            reason,
            "event table partly available on this kernel"
        ),
        (true, true) => {}
    }
}

/// Pins a feature's links (when the publisher pins), or keeps them owned by this process.
fn keep(
    attached: Vec<(&'static str, TracePointLink)>,
    mut pins: Option<&mut Pins>,
) -> Result<Vec<Attachment>, String> {
    let mut kept = Vec::with_capacity(attached.len());
    for (tracepoint, link) in attached {
        kept.push(match pins.as_deref_mut() {
            Some(pins) => Attachment::Pinned(
                pins.pin_link(link, tracepoint)
                    .map_err(|error: PinError| error.to_string())?,
            ),
            None => Attachment::Owned(link),
        });
    }
    Ok(kept)
}

/// Loads (once) and attaches each program of `feature`; on any failure the feature's links made
/// so far are dropped (detached) and the reason returned.
fn attach_feature(
    ebpf: &mut Ebpf,
    feature: &Feature,
    programs: &mut Vec<ProgramReport>,
) -> Result<Vec<(&'static str, TracePointLink)>, String> {
    let mut links = Vec::new();
    for attachment in feature.attachments {
        let index = match programs
            .iter()
            .position(|r| r.program == attachment.program)
        {
            Some(index) => index,
            None => {
                programs.push(load(ebpf, attachment.program));
                programs.len() - 1
            }
        };
        if let Some(error) = &programs[index].error {
            return Err(format!(
                "program {} not loaded: {error}",
                attachment.program
            ));
        }
        let name = format!("{}:{}", attachment.category, attachment.tracepoint);
        let program: &mut TracePoint = ebpf
            .program_mut(attachment.program)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| format!("the eBPF object has no program {}", attachment.program))?;
        let link = program
            .attach(attachment.category, attachment.tracepoint)
            .and_then(|id| program.take_link(id))
            .map_err(|error| {
                format!("attaching {} to {name} failed: {error}", attachment.program)
            })?;
        programs[index].attached.push(name);
        links.push((attachment.tracepoint, link));
    }
    Ok(links)
}

fn load(ebpf: &mut Ebpf, name: &'static str) -> ProgramReport {
    let mut report = ProgramReport {
        program: name,
        verified_insns: None,
        attached: Vec::new(),
        error: None,
    };
    let program: Option<&mut TracePoint> = ebpf.program_mut(name).and_then(|p| p.try_into().ok());
    let Some(program) = program else {
        report.error = Some("the eBPF object has no such tracepoint program".to_owned());
        return report;
    };
    match program.load() {
        Ok(()) => {
            report.verified_insns = program
                .info()
                .ok()
                .and_then(|info| info.verified_instruction_count());
        }
        Err(error) => report.error = Some(load_error(&error)),
    }
    report
}

/// The kernel's answer, and the verifier's last words (where it names what it refused).
fn load_error(error: &aya::programs::ProgramError) -> String {
    match error {
        aya::programs::ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            let log = format!("{verifier_log:?}");
            tracing::debug!(%io_error, "the verifier's log:\n{log}");
            let tail = verifier_tail(&log);
            if tail.is_empty() {
                format!("the kernel refused it ({io_error})")
            } else {
                format!("the verifier refused it ({io_error}): {tail}")
            }
        }
        other => other.to_string(),
    }
}

/// The verifier's last few lines, without its statistics line, joined into one.
pub fn verifier_tail(log: &str) -> String {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("processed ") && !l.starts_with("verification time")
        })
        .collect();
    let start = lines.len().saturating_sub(3);
    lines[start..].join(" | ")
}
