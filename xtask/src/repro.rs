//! `cargo xtask repro`: is the release binary reproducible? Two clean release builds, one after
//! the other in the same place (`$CARGO_TARGET_DIR/repro/target`, emptied before each, so the
//! paths compiled into the binary are the same), with the release build's flags; their `vigil`
//! compared byte for byte. Each build compiles RocksDB's C++ from nothing: see README.md for
//! what that costs and why CI does not run it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// Builds twice and compares; says where the two differ when they do.
pub fn run(target: &Path) -> anyhow::Result<()> {
    let dir = target.join("repro");
    let build_dir = dir.join("target");
    let mut binaries = Vec::new();
    for round in 1..=2 {
        if build_dir.exists() {
            std::fs::remove_dir_all(&build_dir)
                .with_context(|| format!("clearing {}", build_dir.display()))?;
        }
        let started = Instant::now();
        crate::run(
            crate::cargo()
                .args(["build", "--release", "--package", "vigil"])
                .env("CARGO_TARGET_DIR", &build_dir)
                .env("CFLAGS", crate::hardening::C_FLAGS)
                .env("CXXFLAGS", crate::hardening::C_FLAGS),
        )?;
        let took = started.elapsed();
        let built = build_dir.join("release").join("vigil");
        let kept = dir.join(format!("vigil.{round}"));
        std::fs::copy(&built, &kept)
            .with_context(|| format!("keeping {} as {}", built.display(), kept.display()))?;
        eprintln!("xtask: clean release build {round} took {}", minutes(took));
        binaries.push(std::fs::read(&kept)?);
    }
    std::fs::remove_dir_all(&build_dir).ok();
    match first_difference(&binaries[0], &binaries[1]) {
        None => {
            eprintln!(
                "xtask: the two clean release builds are identical ({} bytes): {} and {}",
                binaries[0].len(),
                dir.join("vigil.1").display(),
                dir.join("vigil.2").display()
            );
            Ok(())
        }
        Some(offset) => bail!(
            "the two clean release builds differ (sizes {} and {}, first at byte {offset}): \
             compare {} and {} (`cmp -l`, `diffoscope`)",
            binaries[0].len(),
            binaries[1].len(),
            dir.join("vigil.1").display(),
            dir.join("vigil.2").display()
        ),
    }
}

fn minutes(d: Duration) -> String {
    format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
}

/// The first offset where `a` and `b` differ (or where the shorter ends), if they do.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_found() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
    }
}
