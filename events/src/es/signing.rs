//! A process's code signature as osquery's columns show it.

use std::fmt::Write;

/// `<kern/cs_blobs.h>`'s flags that osquery reports.
const CS_VALID: u32 = 0x0000_0001;
const CS_ADHOC: u32 = 0x0000_0002;
const CS_INSTALLER: u32 = 0x0000_0008;
const CS_RUNTIME: u32 = 0x0001_0000;

/// The flags that make a process stand out, as osquery words them: the usual ones (valid,
/// hardened runtime) reported by their absence.
pub fn codesigning_flags(flags: u32) -> String {
    let mut words = Vec::new();
    if flags & CS_VALID == 0 {
        words.push("NOT_VALID");
    }
    if flags & CS_ADHOC != 0 {
        words.push("ADHOC");
    }
    if flags & CS_RUNTIME == 0 {
        words.push("NOT_RUNTIME");
    }
    if flags & CS_INSTALLER != 0 {
        words.push("INSTALLER");
    }
    words.join(", ")
}

/// The code directory hash in lowercase hex; empty for a process without one (ES gives all
/// zero bytes).
pub fn cdhash_hex(cdhash: &[u8; 20]) -> String {
    if cdhash.iter().all(|byte| *byte == 0) {
        return String::new();
    }
    cdhash
        .iter()
        .fold(String::with_capacity(40), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Arguments joined by spaces, one with a space or a double quote in double quotes with its
/// quotes and backslashes escaped (as osquery's `appendQuotedString`, without its trailing
/// space).
pub fn quoted_join(args: &[String]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if arg.contains(' ') || arg.contains('"') {
            out.push('"');
            for c in arg.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(arg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_name_what_is_unusual() {
        // A hardened, validly signed app: nothing to say.
        assert_eq!(codesigning_flags(0x2661_0301), "");
        // Ad hoc signed, without the hardened runtime (a local build).
        assert_eq!(codesigning_flags(0x2000_0003), "ADHOC, NOT_RUNTIME");
        assert_eq!(codesigning_flags(0), "NOT_VALID, NOT_RUNTIME");
        assert_eq!(
            codesigning_flags(CS_VALID | CS_RUNTIME | CS_INSTALLER),
            "INSTALLER"
        );
    }

    #[test]
    fn cdhash_is_lowercase_hex_or_empty() {
        let cdhash = [
            0x5f, 0x2e, 0x64, 0x9b, 0x0c, 0xd1, 0x83, 0x47, 0xaa, 0x10, 0xe9, 0x3b, 0x7c, 0x52,
            0x06, 0xf8, 0x91, 0xd4, 0x3e, 0xb0,
        ];
        assert_eq!(
            cdhash_hex(&cdhash),
            "5f2e649b0cd18347aa10e93b7c5206f891d43eb0"
        );
        assert_eq!(cdhash_hex(&[0; 20]), "");
    }

    #[test]
    fn arguments_with_spaces_or_quotes_are_quoted() {
        let args: Vec<String> = ["/bin/sh", "-c", "echo \"hi\" > /tmp/a b", "plain"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            quoted_join(&args),
            r#"/bin/sh -c "echo \"hi\" > /tmp/a b" plain"#
        );
        assert_eq!(quoted_join(&[]), "");
    }
}
