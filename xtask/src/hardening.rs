//! What the release binary's ELF says of its hardening: a position-independent executable (so
//! ASLR moves it), full RELRO (relocations resolved at start, then read-only: the GOT cannot be
//! overwritten), a non-executable stack, and a stack protector in the C and C++ parts (RocksDB,
//! SQLite, lz4, ring's C; stable Rust has no stack protector, `-Z stack-protector` is nightly's).
//! Rust's linker defaults give the first three; the release build adds `-fstack-protector-strong`
//! to the C and C++ flags ([`C_FLAGS`]).

use std::path::Path;

use anyhow::{Context as _, bail};
use object::{
    elf,
    read::elf::{Dyn as _, FileHeader as _, ProgramHeader as _},
};

/// What a release build passes to the C and C++ compilers (cc-rs reads `CFLAGS`/`CXXFLAGS`).
pub const C_FLAGS: &str = "-fstack-protector-strong";

/// The hardening an ELF executable shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// `ET_DYN` with an interpreter: a position-independent executable.
    pub pie: bool,
    /// A `PT_GNU_RELRO` segment, and every symbol bound at start (`BIND_NOW`).
    pub full_relro: bool,
    /// A `PT_GNU_STACK` segment without execute permission.
    pub nx_stack: bool,
    /// Code compiled with a stack protector calls `__stack_chk_fail`.
    pub stack_protector: bool,
}

impl Hardening {
    /// What is missing, in words; empty when everything is there.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.pie, "PIE (position-independent executable)"),
            (self.full_relro, "full RELRO (PT_GNU_RELRO and BIND_NOW)"),
            (
                self.nx_stack,
                "a non-executable stack (PT_GNU_STACK without X)",
            ),
            (self.stack_protector, "a stack protector (__stack_chk_fail)"),
        ]
        .into_iter()
        .filter(|(present, _)| !present)
        .map(|(_, what)| what)
        .collect()
    }
}

/// Reads the hardening of a 64-bit little-endian ELF executable.
pub fn inspect(data: &[u8]) -> anyhow::Result<Hardening> {
    let header =
        elf::FileHeader64::<object::Endianness>::parse(data).context("not a 64-bit ELF file")?;
    let endian = header.endian().context("the ELF header's byte order")?;
    let segments = header
        .program_headers(endian, data)
        .context("the program headers")?;
    let has_segment = |kind: u32| segments.iter().any(|s| s.p_type(endian) == kind);
    let mut bind_now = false;
    for segment in segments {
        let Some(dynamic) = segment
            .dynamic(endian, data)
            .context("the dynamic segment")?
        else {
            continue;
        };
        for entry in dynamic {
            let (tag, value) = (entry.d_tag(endian), entry.d_val(endian));
            bind_now |= tag == elf::DT_BIND_NOW
                || (tag == elf::DT_FLAGS && value & u64::from(elf::DF_BIND_NOW) != 0)
                || (tag == elf::DT_FLAGS_1 && value & u64::from(elf::DF_1_NOW) != 0);
        }
    }
    let nx_stack = segments
        .iter()
        .any(|s| s.p_type(endian) == elf::PT_GNU_STACK && s.p_flags(endian) & elf::PF_X == 0);
    let sections = header
        .sections(endian, data)
        .context("the section headers")?;
    let dynamic_symbols = sections
        .symbols(endian, data, elf::SHT_DYNSYM)
        .context("the dynamic symbols")?;
    let stack_protector = dynamic_symbols.iter().any(|symbol| {
        dynamic_symbols.symbol_name(endian, symbol) == Ok(b"__stack_chk_fail".as_slice())
    });
    Ok(Hardening {
        pie: header.e_type(endian) == elf::ET_DYN && has_segment(elf::PT_INTERP),
        full_relro: has_segment(elf::PT_GNU_RELRO) && bind_now,
        nx_stack,
        stack_protector,
    })
}

/// Fails, naming what is missing, unless `binary` has all four; without `stack_protector`, the
/// first three (a development build compiles the C and C++ parts without the release's flags).
pub fn check(binary: &Path, stack_protector: bool) -> anyhow::Result<()> {
    let data = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let mut hardening =
        inspect(&data).with_context(|| format!("reading {} as ELF", binary.display()))?;
    if !stack_protector {
        hardening.stack_protector = true;
    }
    let missing = hardening.missing();
    if !missing.is_empty() {
        bail!(
            "{} lacks {}: build it with `cargo xtask build --release` (which sets CFLAGS and \
             CXXFLAGS to `{C_FLAGS}`)",
            binary.display(),
            missing.join(", ")
        );
    }
    eprintln!(
        "xtask: {} is PIE, full RELRO, with a non-executable stack{}",
        binary.display(),
        if stack_protector {
            " and a stack protector"
        } else {
            " (a development build: the stack protector is not asked of it)"
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    /// A C program built by gcc with `flags` (with a buffer, so a protector has work to do).
    fn c_program(dir: &Path, name: &str, flags: &[&str]) -> Vec<u8> {
        let source = dir.join("p.c");
        std::fs::write(
            &source,
            "#include <string.h>\n#include <stdio.h>\n\
             int main(int c, char **v) { char b[64]; strcpy(b, v[0]); puts(b); return c; }\n",
        )
        .expect("source");
        let out = dir.join(name);
        let status = Command::new("gcc")
            .args(flags)
            .arg("-o")
            .arg(&out)
            .arg(&source)
            .status()
            .expect("gcc runs");
        assert!(status.success(), "gcc {flags:?}");
        std::fs::read(&out).expect("binary")
    }

    #[test]
    fn a_hardened_c_program_has_everything() {
        let dir = tempfile::tempdir().expect("dir");
        let hardened = c_program(
            dir.path(),
            "hardened",
            &[
                "-fPIE",
                "-pie",
                "-Wl,-z,relro,-z,now",
                "-fstack-protector-all",
            ],
        );
        let found = inspect(&hardened).expect("ELF");
        assert_eq!(found.missing(), Vec::<&str>::new(), "{found:?}");
    }

    #[test]
    fn each_missing_protection_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let bare = c_program(
            dir.path(),
            "bare",
            &[
                "-no-pie",
                "-Wl,-z,norelro",
                "-Wl,-z,lazy",
                "-Wl,-z,execstack",
                "-fno-stack-protector",
            ],
        );
        let found = inspect(&bare).expect("ELF");
        assert_eq!(
            found,
            Hardening {
                pie: false,
                full_relro: false,
                nx_stack: false,
                stack_protector: false
            }
        );
        assert_eq!(found.missing().len(), 4);
        // Partial RELRO (the segment, but lazy binding) is not full RELRO.
        let partial = c_program(dir.path(), "partial", &["-Wl,-z,relro,-z,lazy"]);
        assert!(!inspect(&partial).expect("ELF").full_relro);
        assert!(inspect(b"not an ELF file").is_err());
    }

    /// Rust's own linker defaults give this very test binary the first three.
    #[test]
    fn rust_binaries_are_pie_full_relro_and_nx_by_default() {
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        let found = inspect(&me).expect("ELF");
        assert!(found.pie && found.full_relro && found.nx_stack, "{found:?}");
    }
}
