//! `/etc/hosts` (hosts(5)): an address, then names, `#` starting a comment.

/// One mapping line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsEntry {
    pub address: String,
    /// The names, separated by single spaces.
    pub hostnames: String,
}

/// The mapping a line holds; `None` for comments, blank lines and an address without names.
pub fn line(line: &str) -> Option<HostsEntry> {
    let line = line.split('#').next().unwrap_or("");
    let mut words = line.split_whitespace();
    let address = words.next()?;
    let names: Vec<&str> = words.collect();
    if names.is_empty() {
        return None;
    }
    Some(HostsEntry {
        address: address.to_owned(),
        hostnames: names.join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_and_comments() {
        let entry =
            line("127.0.1.1\tvm.example.internal   vm # set by cloud-init").expect("a line");
        assert_eq!(entry.address, "127.0.1.1");
        assert_eq!(entry.hostnames, "vm.example.internal vm");
        assert_eq!(line("# 10.0.0.1 gone"), None);
        assert_eq!(line("10.0.0.1"), None);
        assert_eq!(line("  "), None);
        assert_eq!(
            line("::1 localhost ip6-localhost").map(|e| e.address),
            Some("::1".to_owned())
        );
    }
}
