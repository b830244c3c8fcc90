//! Tracepoint record layouts, read from the running kernel's tracefs `format` files.
//!
//! A tracepoint program gets the raw record of its tracepoint; where each field sits is the
//! kernel's to say, in `events/<category>/<name>/format`. vigil's programs read a few fields of
//! each record: every one of them is checked (syscall arguments, return values) or located (the
//! `sched:*` fields, which change between kernels) here before anything is attached.

use std::path::Path;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("line {line} of the format does not parse: `{text}`")]
    Malformed { line: usize, text: String },
    #[error("the format lists no fields")]
    Empty,
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// The C declaration, e.g. `const char * filename` or `__data_loc char[] filename`.
    pub declaration: String,
    pub offset: u32,
    pub size: u32,
}

impl Field {
    /// A variable-length field whose record slot holds `offset | length << 16`, the offset from
    /// the record's start (`__rel_loc` fields count from the slot's end instead: not this).
    pub fn is_data_loc(&self) -> bool {
        self.declaration.starts_with("__data_loc")
    }
}

/// The fields of one tracepoint record, in the order the kernel lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    pub fields: Vec<Field>,
}

impl Format {
    /// Reads `<tracefs>/events/<category>/<name>/format`; `Ok(None)` when this kernel has no
    /// such tracepoint.
    pub fn read(
        tracefs: &Path,
        category: &str,
        name: &str,
    ) -> std::io::Result<Option<Result<Self, FormatError>>> {
        let path = tracefs
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(Self::parse(&text))),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Parses a `format` file's text (`field:<declaration>;\toffset:<n>;\tsize:<n>;...` lines).
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let mut fields = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            let Some(rest) = line.strip_prefix("field:") else {
                continue;
            };
            let malformed = || FormatError::Malformed {
                line: index + 1,
                text: line.to_owned(),
            };
            let mut parts = rest.split(';').map(str::trim);
            let declaration = parts.next().ok_or_else(malformed)?;
            let mut offset = None;
            let mut size = None;
            for part in parts {
                if let Some(value) = part.strip_prefix("offset:") {
                    offset = value.parse::<u32>().ok();
                } else if let Some(value) = part.strip_prefix("size:") {
                    size = value.parse::<u32>().ok();
                }
            }
            let (Some(offset), Some(size)) = (offset, size) else {
                return Err(malformed());
            };
            let name = field_name(declaration).ok_or_else(malformed)?;
            fields.push(Field {
                name: name.to_owned(),
                declaration: declaration.to_owned(),
                offset,
                size,
            });
        }
        if fields.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(Self { fields })
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A `syscalls:sys_enter_*` record's arguments: the fields after `__syscall_nr`.
    pub fn syscall_args(&self) -> impl Iterator<Item = &Field> {
        self.fields
            .iter()
            .skip_while(|f| f.name != "__syscall_nr")
            .skip(1)
    }
}

/// The declared name: the last identifier, before any array brackets
/// (`char comm[16]` → `comm`, `__data_loc char[] filename` → `filename`).
fn field_name(declaration: &str) -> Option<&str> {
    let last = declaration.split_whitespace().last()?;
    let name = last.split('[').next()?.trim_start_matches('*');
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sched:sched_process_exit` on Linux 6.1 (no `group_dead`), as tracefs prints it.
    const EXIT_6_1: &str = "name: sched_process_exit
ID: 311
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d prio=%d\", REC->comm, REC->pid, REC->prio
";

    #[test]
    fn parses_fields_with_offsets_and_sizes() {
        let format = Format::parse(EXIT_6_1).expect("parses");
        assert_eq!(format.fields.len(), 7);
        let comm = format.field("comm").expect("comm");
        assert_eq!((comm.offset, comm.size), (8, 16));
        assert_eq!(format.field("prio").map(|f| f.offset), Some(28));
        assert!(format.field("group_dead").is_none());
    }

    #[test]
    fn finds_data_loc_fields_and_syscall_arguments() {
        let exec = "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
                    \tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n";
        let format = Format::parse(exec).expect("parses");
        let filename = format.field("filename").expect("filename");
        assert!(filename.is_data_loc());
        assert_eq!(filename.offset, 8);

        let enter = "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
                     \tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;\n\
                     \tfield:const char *const * argv;\toffset:24;\tsize:8;\tsigned:0;\n";
        let format = Format::parse(enter).expect("parses");
        let args: Vec<(&str, u32)> = format
            .syscall_args()
            .map(|f| (f.name.as_str(), f.offset))
            .collect();
        assert_eq!(args, vec![("filename", 16), ("argv", 24)]);
    }

    #[test]
    fn names_a_malformed_line() {
        let error = Format::parse("\tfield:int x;\toffset:eight;\tsize:4;\n").expect_err("bad");
        assert!(error.to_string().contains("line 1"), "{error}");
        assert_eq!(Format::parse("name: x\n"), Err(FormatError::Empty));
    }

    #[test]
    fn reads_the_running_kernels_formats() {
        let tracefs = Path::new("/sys/kernel/tracing");
        let exec = Format::read(tracefs, "sched", "sched_process_exec")
            .expect("tracefs is readable")
            .expect("sched_process_exec exists")
            .expect("its format parses");
        assert!(exec.field("filename").is_some_and(Field::is_data_loc));
        assert!(
            Format::read(tracefs, "sched", "no_such_tracepoint")
                .expect("tracefs is readable")
                .is_none()
        );
    }
}
