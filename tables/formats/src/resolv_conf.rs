//! `/etc/resolv.conf` (resolv.conf(5)) as glibc's resolver reads it, for `dns_resolvers`:
//! nameservers (at most 3), the search list (at most 6 domains; `domain` and `search` replace
//! each other, the last one wins), the sortlist (at most 10) and the options as glibc's
//! `_res.options` bits.

/// glibc's `MAXNS`, `MAXDNSRCH` and `MAXRESOLVSORT`.
const MAX_NAMESERVERS: usize = 3;
const MAX_SEARCH: usize = 6;
const MAX_SORTLIST: usize = 10;

/// `RES_INIT | RES_RECURSE | RES_DEFNAMES | RES_DNSRCH`: what `_res.options` holds after
/// `res_init` with no `options` line.
pub const DEFAULT_OPTIONS: i64 = 0x1 | 0x40 | 0x80 | 0x200;

/// The `options` keywords that set a bit (glibc's resolv.h values).
const OPTION_BITS: &[(&str, i64)] = &[
    ("debug", 0x2),
    ("use-vc", 0x8),
    ("inet6", 0x2000),
    ("rotate", 0x4000),
    ("edns0", 0x0010_0000),
    ("single-request", 0x0020_0000),
    ("single-request-reopen", 0x0040_0000),
    ("no-tld-query", 0x0100_0000),
    ("no-reload", 0x0200_0000),
    ("trust-ad", 0x0400_0000),
    ("no-aaaa", 0x0800_0000),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    pub nameservers: Vec<String>,
    pub search: Vec<String>,
    /// Each sortlist entry's address and its netmask as written after the `/`, if any.
    pub sortlist: Vec<(String, Option<String>)>,
    pub options: i64,
}

pub fn parse(text: &str) -> Resolver {
    let mut resolver = Resolver {
        nameservers: Vec::new(),
        search: Vec::new(),
        sortlist: Vec::new(),
        options: DEFAULT_OPTIONS,
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        match keyword {
            "nameserver" => {
                if let Some(address) = words.next()
                    && resolver.nameservers.len() < MAX_NAMESERVERS
                {
                    resolver.nameservers.push(address.to_owned());
                }
            }
            "domain" => {
                resolver.search = words.next().map(str::to_owned).into_iter().collect();
            }
            "search" => {
                resolver.search = words.take(MAX_SEARCH).map(str::to_owned).collect();
            }
            "sortlist" => {
                resolver.sortlist = words
                    .take(MAX_SORTLIST)
                    .map(|pair| match pair.split_once('/') {
                        Some((address, mask)) => (address.to_owned(), Some(mask.to_owned())),
                        None => (pair.to_owned(), None),
                    })
                    .collect();
            }
            "options" => {
                for option in words {
                    if let Some((_, bit)) = OPTION_BITS.iter().find(|(name, _)| *name == option) {
                        resolver.options |= bit;
                    }
                }
            }
            _ => {}
        }
    }
    resolver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_systemd_resolved_stub_file() {
        let text = "\
# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).
nameserver 127.0.0.53
options edns0 trust-ad
search corp.example.com lab.example.com
";
        let resolver = parse(text);
        assert_eq!(resolver.nameservers, ["127.0.0.53"]);
        assert_eq!(resolver.search, ["corp.example.com", "lab.example.com"]);
        assert_eq!(
            resolver.options,
            DEFAULT_OPTIONS | 0x0010_0000 | 0x0400_0000
        );
    }

    #[test]
    fn limits_and_the_last_search_line() {
        let text = "nameserver 1.1.1.1\nnameserver 8.8.8.8\nnameserver ::1\nnameserver 9.9.9.9\n\
                    search a b\ndomain c.example\nsortlist 10.0.0.0/255.0.0.0 192.168.1.1\n";
        let resolver = parse(text);
        assert_eq!(resolver.nameservers, ["1.1.1.1", "8.8.8.8", "::1"]);
        assert_eq!(resolver.search, ["c.example"]);
        assert_eq!(
            resolver.sortlist,
            [
                ("10.0.0.0".to_owned(), Some("255.0.0.0".to_owned())),
                ("192.168.1.1".to_owned(), None)
            ]
        );
        assert_eq!(parse("").options, DEFAULT_OPTIONS);
    }
}
