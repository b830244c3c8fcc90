//! Matching the programs to the running kernel's tracepoints before anything is attached: every
//! field a program reads is checked against (syscall records) or located in (`sched` records) the
//! tracepoint's `format`, and a feature whose tracepoint is missing or laid out otherwise is left
//! out with the reason, instead of being read at a wrong place.

use std::{collections::HashMap, path::Path};

use vigil_ebpf_common::{TracepointFields, exit_mode, syscall_record};

use super::{
    btf::Btf,
    probes::{Attachment, Feature, Reads},
    tracepoint_format::{Field, Format},
};
use crate::event_table::EventTable;

/// What the running kernel's tracepoints allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The located `sched` fields and the exit rule, for the programs' global.
    pub fields: TracepointFields,
    /// Per feature (in the order given): `Ok`, or why this kernel cannot have it.
    pub features: Vec<(Feature, Result<(), String>)>,
    /// Fallbacks that change what a table reports (not losses of a whole feature).
    pub notes: Vec<(EventTable, String)>,
}

/// Checks every attachment of `features` against the formats under `tracefs`. `btf` (the
/// running kernel's, when it has one) offers the exit probe's fallback.
pub fn plan(tracefs: &Path, btf: Option<&Btf>, features: &[Feature]) -> Layout {
    let mut formats: HashMap<(&str, &str), Result<Format, String>> = HashMap::new();
    let mut layout = Layout {
        fields: TracepointFields::DEFAULT,
        features: Vec::new(),
        notes: Vec::new(),
    };
    for feature in features {
        let mut verdict = Ok(());
        for attachment in feature.attachments {
            let format = formats
                .entry((attachment.category, attachment.tracepoint))
                .or_insert_with(|| read_format(tracefs, attachment));
            let checked = format
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|format| check(attachment, format, btf, &mut layout));
            if let Err(reason) = checked {
                verdict = Err(reason);
                break;
            }
        }
        layout.features.push((*feature, verdict));
    }
    layout
}

fn read_format(tracefs: &Path, attachment: &Attachment) -> Result<Format, String> {
    let name = format!("{}:{}", attachment.category, attachment.tracepoint);
    match Format::read(tracefs, attachment.category, attachment.tracepoint) {
        Ok(Some(Ok(format))) => Ok(format),
        Ok(Some(Err(error))) => Err(format!("the format of {name} does not parse: {error}")),
        Ok(None) if attachment.category == "syscalls" => Err(format!(
            "this kernel has no tracepoint {name} (a syscall it does not have, or syscall \
             tracepoints are not built in)"
        )),
        Ok(None) => Err(format!("this kernel has no tracepoint {name}")),
        Err(error) => Err(format!("cannot read the format of {name}: {error}")),
    }
}

/// Checks (or locates) what `attachment`'s program reads; located fields go into `layout`.
fn check(
    attachment: &Attachment,
    format: &Format,
    btf: Option<&Btf>,
    layout: &mut Layout,
) -> Result<(), String> {
    let name = format!("{}:{}", attachment.category, attachment.tracepoint);
    match attachment.reads {
        Reads::SyscallArgs(count) => {
            let args: Vec<&Field> = format.syscall_args().collect();
            if args.len() < count {
                return Err(format!(
                    "{name} has {} arguments, the program reads {count}",
                    args.len()
                ));
            }
            for (index, arg) in args.iter().take(count).enumerate() {
                let expected = syscall_record::arg(index) as u32;
                if arg.offset != expected || arg.size != syscall_record::ARG_SIZE as u32 {
                    return Err(format!(
                        "{name}: argument {index} (`{}`) is {} bytes at offset {}; the program \
                         reads {} bytes at {expected}",
                        arg.name,
                        arg.size,
                        arg.offset,
                        syscall_record::ARG_SIZE
                    ));
                }
            }
            Ok(())
        }
        Reads::SyscallReturn => {
            let ret = required(format, &name, "ret")?;
            if ret.offset != syscall_record::RET as u32 || ret.size != 8 {
                return Err(format!(
                    "{name}: `ret` is {} bytes at offset {}; the program reads 8 bytes at {}",
                    ret.size,
                    ret.offset,
                    syscall_record::RET
                ));
            }
            Ok(())
        }
        Reads::ProcessExec => {
            let filename = required(format, &name, "filename")?;
            if !filename.is_data_loc() || filename.size != 4 {
                return Err(format!(
                    "{name}: `filename` is `{}` ({} bytes), not a __data_loc string",
                    filename.declaration, filename.size
                ));
            }
            let old_pid = required(format, &name, "old_pid")?;
            if old_pid.size != 4 {
                return Err(format!(
                    "{name}: `old_pid` is {} bytes, not a pid_t",
                    old_pid.size
                ));
            }
            layout.fields.exec_filename = filename.offset;
            layout.fields.exec_old_pid = old_pid.offset;
            Ok(())
        }
        Reads::ProcessExit => {
            match format.field("group_dead") {
                Some(field) if field.size == 1 => {
                    layout.fields.exit_mode = exit_mode::GROUP_DEAD;
                    layout.fields.exit_group_dead = field.offset;
                }
                _ => match signal_live(btf) {
                    Some((task_signal, signal_live)) => {
                        layout.fields.exit_mode = exit_mode::SIGNAL_LIVE;
                        layout.fields.task_signal = task_signal;
                        layout.fields.signal_live = signal_live;
                    }
                    None => {
                        layout.fields.exit_mode = exit_mode::THREAD_LEADER;
                        layout.notes.push((
                            EventTable::BpfProcessEvents,
                            format!(
                                "exit: {name} has no `group_dead` and the kernel's BTF does not \
                                 give task_struct.signal and signal_struct.live, so a process's \
                                 exit is reported when its first thread ends"
                            ),
                        ));
                    }
                },
            }
            Ok(())
        }
    }
}

fn required<'f>(format: &'f Format, name: &str, field: &str) -> Result<&'f Field, String> {
    format
        .field(field)
        .ok_or_else(|| format!("{name} has no field `{field}`"))
}

/// `task_struct.signal` and `signal_struct.live` (whose `atomic_t` counter is its first member).
fn signal_live(btf: Option<&Btf>) -> Option<(u32, u32)> {
    let btf = btf?;
    Some((
        btf.member_offset("task_struct", "signal").ok()?,
        btf.member_offset("signal_struct", "live").ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::ebpf::probes::FEATURES;

    /// A tracefs tree with the given `format` texts.
    fn tracefs(formats: &[(&str, &str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (category, name, text) in formats {
            let at = dir.path().join("events").join(category).join(name);
            std::fs::create_dir_all(&at).expect("mkdir");
            std::fs::write(at.join("format"), text).expect("write");
        }
        dir
    }

    const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n";

    fn exit_format(group_dead: bool) -> String {
        let mut text = format!(
            "{COMMON}\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
             \tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\
             \tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n"
        );
        if group_dead {
            text.push_str("\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;\n");
        }
        text
    }

    fn feature(name: &str) -> Feature {
        *FEATURES
            .iter()
            .find(|f| f.name == name)
            .expect("a known feature")
    }

    #[test]
    fn locates_group_dead_where_the_kernel_has_it_and_falls_back_where_not() {
        let exit = [feature("exit")];
        let newer = tracefs(&[("sched", "sched_process_exit", &exit_format(true))]);
        let layout = plan(newer.path(), None, &exit);
        assert_eq!(layout.features[0].1, Ok(()));
        assert_eq!(layout.fields.exit_mode, exit_mode::GROUP_DEAD);
        assert_eq!(layout.fields.exit_group_dead, 32);
        assert!(layout.notes.is_empty());

        // Linux 6.1 and 6.12: no group_dead. Without BTF the leader's exit stands in, said so.
        let older = tracefs(&[("sched", "sched_process_exit", &exit_format(false))]);
        let layout = plan(older.path(), None, &exit);
        assert_eq!(layout.features[0].1, Ok(()));
        assert_eq!(layout.fields.exit_mode, exit_mode::THREAD_LEADER);
        assert_eq!(layout.notes.len(), 1);
        assert!(
            layout.notes[0].1.contains("group_dead"),
            "{:?}",
            layout.notes
        );

        // With the running kernel's BTF, signal->live tells.
        let btf = Btf::from_sys_fs()
            .expect("/sys/kernel/btf/vmlinux is readable")
            .expect("BTF parses");
        let layout = plan(older.path(), Some(&btf), &exit);
        assert_eq!(layout.fields.exit_mode, exit_mode::SIGNAL_LIVE);
        assert!(layout.fields.task_signal > 0);
        assert!(layout.notes.is_empty());
    }

    #[test]
    fn a_missing_syscall_tracepoint_loses_that_syscall_only() {
        let enter = format!(
            "{COMMON}\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
             \tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
             \tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
             \tfield:umode_t mode;\toffset:32;\tsize:8;\tsigned:0;\n"
        );
        let exit = format!(
            "{COMMON}\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
             \tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n"
        );
        let kernel = tracefs(&[
            ("syscalls", "sys_enter_fchmodat", &enter),
            ("syscalls", "sys_exit_fchmodat", &exit),
        ]);
        let layout = plan(
            kernel.path(),
            None,
            &[feature("fchmodat"), feature("fchmodat2")],
        );
        assert_eq!(layout.features[0].1, Ok(()));
        let reason = layout.features[1].1.clone().expect_err("no fchmodat2");
        assert!(reason.contains("syscalls:sys_enter_fchmodat2"), "{reason}");
    }

    #[test]
    fn a_moved_argument_or_return_value_is_refused_with_where_it_is() {
        let enter = format!(
            "{COMMON}\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
             \tfield:const char * pathname;\toffset:20;\tsize:8;\tsigned:0;\n"
        );
        let exit = format!("{COMMON}\tfield:int ret;\toffset:16;\tsize:4;\tsigned:1;\n");
        let kernel = tracefs(&[
            ("syscalls", "sys_enter_unlink", &enter),
            ("syscalls", "sys_exit_unlink", &exit),
        ]);
        let layout = plan(kernel.path(), None, &[feature("unlink")]);
        let reason = layout.features[0].1.clone().expect_err("moved");
        assert!(
            reason.contains("(`pathname`) is 8 bytes at offset 20"),
            "{reason}"
        );

        let kernel = tracefs(&[
            (
                "syscalls",
                "sys_enter_unlink",
                &enter.replace("offset:20", "offset:16"),
            ),
            ("syscalls", "sys_exit_unlink", &exit),
        ]);
        let layout = plan(kernel.path(), None, &[feature("unlink")]);
        let reason = layout.features[0].1.clone().expect_err("narrow ret");
        assert!(reason.contains("`ret` is 4 bytes"), "{reason}");
    }

    #[test]
    fn exec_fields_are_located_wherever_the_kernel_puts_them() {
        let exec = format!(
            "{COMMON}\tfield:__data_loc char[] filename;\toffset:12;\tsize:4;\tsigned:0;\n\
             \tfield:pid_t pid;\toffset:16;\tsize:4;\tsigned:1;\n\
             \tfield:pid_t old_pid;\toffset:20;\tsize:4;\tsigned:1;\n"
        );
        let kernel = tracefs(&[("sched", "sched_process_exec", &exec)]);
        let layout = plan(kernel.path(), None, &[feature("exec")]);
        assert_eq!(layout.features[0].1, Ok(()));
        assert_eq!(
            (layout.fields.exec_filename, layout.fields.exec_old_pid),
            (12, 20)
        );
    }

    #[test]
    fn every_feature_fits_the_running_kernel() {
        let tracefs = Path::new("/sys/kernel/tracing");
        let btf = Btf::from_sys_fs().ok().and_then(Result::ok);
        let layout = plan(tracefs, btf.as_ref(), FEATURES);
        let mut fitted = 0;
        for (feature, verdict) in &layout.features {
            // A syscall this kernel lacks altogether (module calls on a kernel built without
            // modules) has no tracepoint to fit; one it has must fit.
            let absent = feature.attachments.iter().all(|a| {
                !tracefs
                    .join("events")
                    .join(a.category)
                    .join(a.tracepoint)
                    .exists()
            });
            if absent {
                let reason = verdict.clone().expect_err("no tracepoint, no feature");
                assert!(reason.contains("has no tracepoint"), "{reason}");
                continue;
            }
            assert_eq!(verdict, &Ok(()), "{}", feature.name);
            fitted += 1;
        }
        assert!(fitted > FEATURES.len() / 2, "{fitted} features fit");
        // With the tracepoint's `group_dead`, or BTF's signal->live: never the approximation.
        assert_ne!(layout.fields.exit_mode, exit_mode::THREAD_LEADER);
        assert!(layout.notes.is_empty(), "{:?}", layout.notes);
    }
}
