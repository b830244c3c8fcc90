//! How a Windows process's end reads: an exit code, or an NTSTATUS when it crashed (codes with
//! the error severity, 0xC0000000 and up).

/// A worker's end, from its exit code.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn describe_exit(code: Option<i32>) -> String {
    let Some(code) = code else {
        return "ended without an exit code".to_owned();
    };
    let status = code as u32;
    if status < 0xC000_0000 {
        return format!("exited with status {code}");
    }
    let name = match status {
        0xC000_0005 => " (access violation)",
        0xC000_00FD => " (stack overflow)",
        0xC000_0409 => " (fail-fast: Rust's abort, or a stack buffer overrun)",
        0xC000_013A => " (Ctrl+C)",
        0xC000_0017 => " (no memory)",
        _ => "",
    };
    format!("crashed with NTSTATUS {status:#010x}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_read_as_statuses_and_crashes_as_ntstatus() {
        assert_eq!(describe_exit(Some(0)), "exited with status 0");
        assert_eq!(describe_exit(Some(1)), "exited with status 1");
        assert_eq!(
            describe_exit(Some(0xC000_0005_u32 as i32)),
            "crashed with NTSTATUS 0xc0000005 (access violation)"
        );
        assert_eq!(
            describe_exit(Some(0xC000_0135_u32 as i32)),
            "crashed with NTSTATUS 0xc0000135"
        );
        assert_eq!(describe_exit(None), "ended without an exit code");
    }
}
