//! `cargo xtask check-platforms`: type-checks every default member of the workspace (libraries
//! and binaries) for Windows and macOS from this Linux machine, with clippy's lints denied as on
//! Linux, through nightly's `-Z build-std` (rust-src, installed by `cargo xtask setup`): no
//! target's standard library, linker or C compiler is needed.
//!
//! A check links nothing, but the build scripts of lz4-sys, librocksdb-sys and libsqlite3-sys
//! (bundled) still call the target's C/C++ compiler and archiver. Stand-ins that only create the
//! files asked for satisfy them; they are written here, under the target dir, so CI needs nothing
//! from outside the repository. RocksDB's bindgen still parses its C header with this machine's
//! libclang, which needs clang's builtin headers (`stdbool.h`) for a foreign target.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::Context as _;

use super::{run, target_dir, workspace_root};

/// The targets checked, and how each one's C toolchain is spelled (cc-rs picks the flag style,
/// MSVC's or the GNU one, from the compiler's name).
const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-pc-windows-msvc",
        cc: "clang-cl",
        cxx: "clang-cl",
        ar: "llvm-lib",
    },
    Target {
        triple: "x86_64-apple-darwin",
        cc: "clang",
        cxx: "clang++",
        ar: "ar",
    },
    Target {
        triple: "aarch64-apple-darwin",
        cc: "clang",
        cxx: "clang++",
        ar: "ar",
    },
];

struct Target {
    triple: &'static str,
    cc: &'static str,
    cxx: &'static str,
    ar: &'static str,
}

/// A compiler that only creates the object asked for: after `-Fo` (MSVC) or `-o` (GNU).
const COMPILER_STAND_IN: &str = r#"#!/bin/sh
# Written by `cargo xtask check-platforms`: a type-check links nothing, so the object file the
# build script asks for only has to exist.
out=
prev=
for arg in "$@"; do
    case "$prev" in -o|-Fo) out="$arg" ;; esac
    case "$arg" in -Fo?*) out="${arg#-Fo}" ;; esac
    prev="$arg"
done
if [ -n "$out" ] && [ "$out" != "-" ]; then
    mkdir -p "$(dirname "$out")" && touch "$out"
fi
"#;

/// An archiver that only creates the library asked for: after `-out:` (MSVC's lib) or its second
/// argument (`ar crs LIB OBJECTS...`).
const ARCHIVER_STAND_IN: &str = r#"#!/bin/sh
# Written by `cargo xtask check-platforms`: a type-check links nothing, so the library the build
# script asks for only has to exist.
for arg in "$@"; do
    case "$arg" in -out:*) touch "${arg#-out:}"; exit 0 ;; esac
done
if [ $# -ge 2 ]; then touch "$2"; fi
"#;

/// Where the checks build: apart from the host build (nightly compiles everything again anyway),
/// under the target dir so a second run reuses each target's standard library and dependencies.
pub fn check_dir() -> PathBuf {
    target_dir().join("platform-check")
}

/// Type-checks the workspace for each target in turn; fails at the first that does not pass.
pub fn run_all() -> anyhow::Result<()> {
    let dir = check_dir();
    let stand_ins = write_stand_ins(&dir.join("stand-ins"))?;
    let builtin_headers = clang_builtin_headers()?;
    for target in TARGETS {
        let started = Instant::now();
        run(&mut check_command(
            target,
            &dir,
            &stand_ins,
            &builtin_headers,
        ))
        .with_context(|| format!("the workspace does not type-check for {}", target.triple))?;
        eprintln!(
            "xtask: {} type-checks ({:.0} s)",
            target.triple,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

fn check_command(target: &Target, dir: &Path, stand_ins: &Path, builtin_headers: &Path) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "clippy"])
        .args(["-Z", "build-std=std,panic_abort"])
        .args(["--target", target.triple])
        .arg("--target-dir")
        .arg(dir)
        .args(["--", "-D", "warnings"])
        .current_dir(workspace_root());
    // `cargo run` hands xtask the stable toolchain's paths; nightly's cargo must pick its own.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN"] {
        cmd.env_remove(var);
    }
    let key = target.triple.replace('-', "_");
    cmd.env(format!("CC_{key}"), stand_ins.join(target.cc))
        .env(format!("CXX_{key}"), stand_ins.join(target.cxx))
        .env(format!("AR_{key}"), stand_ins.join(target.ar))
        .env(
            format!("BINDGEN_EXTRA_CLANG_ARGS_{key}"),
            format!("-I{}", builtin_headers.display()),
        );
    if target.triple.contains("apple") {
        // cc-rs asks xcrun for the SDK unless one is named; nothing reads from it.
        cmd.env("SDKROOT", stand_ins);
    }
    cmd
}

/// Writes the stand-ins under every name the targets use; returns their directory.
fn write_stand_ins(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for target in TARGETS {
        for (name, script) in [
            (target.cc, COMPILER_STAND_IN),
            (target.cxx, COMPILER_STAND_IN),
            (target.ar, ARCHIVER_STAND_IN),
        ] {
            write_executable(&dir.join(name), script)?;
        }
    }
    Ok(dir.to_path_buf())
}

fn write_executable(path: &Path, text: &str) -> anyhow::Result<()> {
    // Rewritten only when different: an unchanged mtime keeps cargo's build-script fingerprints.
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    make_executable(path).with_context(|| format!("making {} executable", path.display()))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

/// The stand-ins are shell scripts; cc-rs runs them only where a shell does.
#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the C/C++ stand-ins are shell scripts: check-platforms runs on Unix only",
    ))
}

/// clang's builtin headers, next to the libclang bindgen loads: `LIBCLANG_PATH`'s when set (as
/// clang-sys reads it), else the newest `/usr/lib/llvm-*` with a libclang (libclang-dev's).
fn clang_builtin_headers() -> anyhow::Result<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|dir| {
                    dir.file_name()
                        .and_then(|name| name.to_str())
                        .is_some_and(|name| name.starts_with("llvm-"))
                })
                .map(|dir| dir.join("lib"))
                .filter(|lib| lib.join("libclang.so").exists())
                .collect()
        })
        .unwrap_or_default();
    libs.sort();
    libs.reverse();
    if let Some(path) = std::env::var_os("LIBCLANG_PATH") {
        libs.insert(0, PathBuf::from(path));
    }
    libs.iter()
        .find_map(|lib| {
            std::fs::read_dir(lib.join("clang"))
                .ok()?
                .filter_map(|version| version.ok())
                .map(|version| version.path().join("include"))
                .find(|include| include.join("stdbool.h").exists())
        })
        .with_context(|| {
            "no clang builtin headers (clang/<version>/include/stdbool.h beside a libclang) \
             under LIBCLANG_PATH or /usr/lib/llvm-*/lib: run `cargo xtask setup` (it installs \
             libclang-dev)"
        })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Runs the stand-in `name` from `bin` with `args`; it must succeed.
    fn call(bin: &Path, name: &str, args: &[&str]) {
        let status = Command::new(bin.join(name))
            .args(args)
            .status()
            .unwrap_or_else(|e| panic!("running {name}: {e}"));
        assert!(status.success(), "{name} {args:?}: {status}");
    }

    #[test]
    fn the_stand_ins_create_the_files_build_scripts_ask_for() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = write_stand_ins(&dir.path().join("bin")).expect("stand-ins");
        let out = |name: &str| dir.path().join("out").join(name);
        let arg = |prefix: &str, name: &str| format!("{prefix}{}", out(name).display());

        // cc-rs speaking MSVC to clang-cl, then lib (the Windows target).
        call(
            &bin,
            "clang-cl",
            &["-nologo", "-c", &arg("-Fo", "a.o"), "a.c"],
        );
        call(
            &bin,
            "llvm-lib",
            &["-nologo", &arg("-out:", "a.lib"), "a.o"],
        );
        // The GNU spelling (the macOS target): `-o` with the path apart, then `ar crs`.
        call(&bin, "clang++", &["-c", "-o", &arg("", "b.o"), "b.cc"]);
        call(&bin, "ar", &["crs", &arg("", "b.a"), "b.o"]);
        for name in ["a.o", "a.lib", "b.o", "b.a"] {
            assert!(out(name).exists(), "{name} was not created");
        }
        // Asked for nothing to write, they write nothing (cc-rs probes compilers this way).
        call(&bin, "clang", &["--version"]);
        let made = std::fs::read_dir(dir.path().join("out"))
            .expect("out")
            .count();
        assert_eq!(made, 4);
    }
}
