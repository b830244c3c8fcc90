//! sysctl configuration files (`/etc/sysctl.conf`, `sysctl.d/*.conf`): `name = value` lines, for
//! `system_controls.config_value`. Read as osquery reads them (a line with exactly one `=`,
//! both sides trimmed; `#` and `;` start comments), and as systemd-sysctl takes a leading `-`
//! (set it if it exists): the name without it.

/// The `(name, value)` settings of a file, in order (a later one for the same name wins when
/// the caller collects them into a map).
pub fn settings(text: &str) -> Vec<(String, String)> {
    text.lines().filter_map(setting).collect()
}

fn setting(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.starts_with(['#', ';']) {
        return None;
    }
    let (name, value) = line.split_once('=')?;
    if value.contains('=') {
        return None;
    }
    let name = name.trim();
    let name = name.strip_prefix('-').unwrap_or(name).trim();
    if name.is_empty() {
        return None;
    }
    Some((name.to_owned(), value.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        let text = "# comment\n; other comment\nnet.ipv4.ip_forward = 1\n\
                    -vm.swappiness=10\nkernel.core_pattern = a=b\n= 3\nno value line\n";
        assert_eq!(
            settings(text),
            [
                ("net.ipv4.ip_forward".to_owned(), "1".to_owned()),
                ("vm.swappiness".to_owned(), "10".to_owned()),
            ]
        );
    }
}
