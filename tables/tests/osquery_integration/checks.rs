//! osquery's column checks (`tests/integration/tables/helper.{h,cpp}` in osquery), re-expressed:
//! the same flags with the same meaning, and the same custom checks. A value is the text osquery
//! would give (NULL is the empty string, as in osquery's rows). Plain std, so that an end-to-end
//! test can include this file too.

#![allow(dead_code)]

use std::collections::BTreeMap;

/// A row: column name to its text.
pub type Row = BTreeMap<String, String>;

// osquery's flags (helper.h), bit for bit: combined flags keep osquery's quirks (`NonNegativeInt`
// carries `EmptyOk`, so osquery lets an empty value pass it).
pub const NORMAL_TYPE: u32 = 0;
pub const INT_TYPE: u32 = 1 << 1;
pub const NON_EMPTY: u32 = 1 << 2;
pub const NON_NULL: u32 = 1 << 3;
pub const NON_ZERO: u32 = 1 << 4;
pub const FILE_ON_DISK: u32 = 1 << 5;
pub const DIRECTORY_ON_DISK: u32 = 1 << 6;
pub const VALID_UUID: u32 = 1 << 7;
pub const MD5: u32 = 1 << 8;
pub const SHA256: u32 = 1 << 9;
pub const SHA1: u32 = 1 << 10;
pub const BOOL: u32 = 1 << 11;
pub const EMPTY_OK: u32 = 1 << 12;
pub const NULL_OK: u32 = 1 << 13;
pub const NON_NEGATIVE_INT: u32 = INT_TYPE | NON_EMPTY | NON_NULL | (1 << 12);
pub const NON_NEGATIVE_OR_ERROR_INT: u32 = INT_TYPE | NON_EMPTY | NON_NULL | (1 << 13);
pub const NON_EMPTY_STRING: u32 = NON_EMPTY | NORMAL_TYPE | NON_NULL;
pub const INT_OR_EMPTY: u32 = INT_TYPE | EMPTY_OK | NULL_OK;

/// How one column is checked.
#[derive(Clone, Copy)]
pub enum Check {
    /// osquery's standard validator with these flags.
    Flags(u32),
    /// osquery's `IntMinMaxCheck(min, max)`.
    IntRange(i64, i64),
    /// osquery's `SpecificValuesCheck{...}`.
    OneOf(&'static [&'static str]),
    /// A custom check (osquery's `CustomCheckerType`), named for the report.
    Custom(&'static str, fn(&str) -> bool),
    /// Exactly this value (`{tmp}` stands for the test's directory).
    Is(&'static str),
}

/// osquery's `tryTo<int64_t>`: the whole text is a decimal integer.
fn int(value: &str) -> Option<i64> {
    value.parse().ok()
}

/// osquery's `validate_value_using_flags`.
pub fn flags_accept(value: &str, flags: u32) -> bool {
    if flags & EMPTY_OK != 0 && value.is_empty() {
        return true;
    }
    if flags & NULL_OK != 0 && value == "null" {
        return true;
    }
    if flags & NON_EMPTY != 0 && value.is_empty() {
        return false;
    }
    if flags & NON_NULL != 0 && value == "null" {
        return false;
    }
    if flags & NON_ZERO != 0 && value == "0" {
        return false;
    }
    if flags & INT_TYPE != 0 {
        let Some(number) = int(value) else {
            return false;
        };
        if flags & NON_NEGATIVE_INT == NON_NEGATIVE_INT && number < 0 {
            return false;
        }
        if flags & NON_NEGATIVE_OR_ERROR_INT == NON_NEGATIVE_OR_ERROR_INT && number < -1 {
            return false;
        }
    }
    if flags & FILE_ON_DISK != 0 && !std::path::Path::new(value).is_file() {
        return false;
    }
    if flags & DIRECTORY_ON_DISK != 0 && !std::path::Path::new(value).is_dir() {
        return false;
    }
    let hex_of = |len: usize| value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit());
    if flags & MD5 != 0 && !hex_of(32) {
        return false;
    }
    if flags & SHA1 != 0 && !hex_of(40) {
        return false;
    }
    if flags & SHA256 != 0 && !hex_of(64) {
        return false;
    }
    if flags & BOOL != 0 && value != "0" && value != "1" {
        return false;
    }
    if flags & VALID_UUID != 0 && !valid_uuid(value) {
        return false;
    }
    true
}

/// What boost's `uuids::string_generator` takes: 32 hex digits, dashes between groups, braces
/// around it allowed.
pub fn valid_uuid(value: &str) -> bool {
    let inner = value
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(value);
    let digits: Vec<u8> = inner.bytes().filter(|&b| b != b'-').collect();
    let dashes = inner.len() - digits.len();
    digits.len() == 32 && digits.iter().all(u8::is_ascii_hexdigit) && (dashes == 0 || dashes == 4)
}

/// osquery's `verifyIpAddress`.
pub fn ip_address(value: &str) -> bool {
    // boost takes an IPv6 scope (`fe80::1%eth0`).
    let address = value.split('%').next().unwrap_or_default();
    address.parse::<std::net::IpAddr>().is_ok()
}

/// osquery's `verifyEmptyStringOrIpAddress`.
pub fn empty_or_ip_address(value: &str) -> bool {
    value.is_empty() || ip_address(value)
}

/// osquery's `verifyMacAddress`.
pub fn mac_address(value: &str) -> bool {
    if value == "incomplete" {
        return true;
    }
    let groups: Vec<&str> = value.split([':', '-']).collect();
    groups.len() == 6
        && groups
            .iter()
            .all(|g| g.len() == 2 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// osquery's `verifyUidGid`.
pub fn uid_gid(value: &str) -> bool {
    int(value).is_some_and(|id| id >= -2)
}

/// osquery's `CronValuesCheck(min, max, names)`: `*`, empty (the time of an `@reboot`-like
/// event), an integer in range, `*/N`, or a comma list of names, integers and `a-b` ranges.
pub fn cron_values(value: &str, min: i64, max: i64, names: &[&str]) -> bool {
    if value == "*" || value.is_empty() {
        return true;
    }
    if let Some(number) = int(value) {
        return (min..=max).contains(&number);
    }
    if let Some(step) = value.strip_prefix("*/") {
        return int(step).is_some();
    }
    value.split(',').all(|component| {
        let component = component.to_lowercase();
        if names.contains(&component.as_str()) || int(&component).is_some() {
            return true;
        }
        match component.split('-').collect::<Vec<_>>()[..] {
            [from, to] => int(from).is_some() && int(to).is_some(),
            _ => false,
        }
    })
}

impl Check {
    pub fn accepts(&self, value: &str, tmp: &str) -> bool {
        match *self {
            Check::Flags(flags) => flags_accept(value, flags),
            Check::IntRange(min, max) => int(value).is_some_and(|v| (min..=max).contains(&v)),
            Check::OneOf(values) => values.contains(&value),
            Check::Custom(_, check) => check(value),
            Check::Is(expected) => value == expected.replace("{tmp}", tmp),
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Check::Flags(flags) => format!("flags {flags:#x}"),
            Check::IntRange(min, max) => format!("an integer from {min} to {max}"),
            Check::OneOf(values) => format!("one of {values:?}"),
            Check::Custom(name, _) => name.to_owned(),
            Check::Is(expected) => format!("'{expected}'"),
        }
    }
}

/// osquery's `validate_row`: every column of the row is checked, and every checked column is in
/// the row. The problems found, each naming the column, its value and the row.
/// A UNIX socket's row (`family` 1) holds its path in `local_address` (bind) or
/// `remote_address` (connect), where osquery's own tracker puts it
/// (`SystemStateTracker::parseSocketAddress`); osquery's checks want an IP there because its
/// tests only ever see inet rows. Such a path is accepted when it is the row's `socket`.
fn is_unix_socket_path(row: &Row, column: &str, value: &str) -> bool {
    matches!(column, "local_address" | "remote_address")
        && row.get("family").map(String::as_str) == Some("1")
        && !value.is_empty()
        && row.get("socket").map(String::as_str) == Some(value)
}

pub fn validate_row(row: &Row, checks: &[(&str, Check)], tmp: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for column in row.keys() {
        if !checks.iter().any(|(name, _)| name == column) {
            problems.push(format!("unexpected column \"{column}\" in a row"));
        }
    }
    for (column, check) in checks {
        match row.get(*column) {
            None => problems.push(format!("could not find column \"{column}\"")),
            Some(value) if is_unix_socket_path(row, column, value) => {}
            Some(value) if !check.accepts(value, tmp) => problems.push(format!(
                "column \"{column}\" with value \"{value}\" is not {} (row: {row:?})",
                check.describe()
            )),
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unix_sockets_path_may_stand_where_osquery_checks_for_an_ip() {
        let checks = [(
            "remote_address",
            Check::Custom("empty or an IP address", empty_or_ip_address),
        )];
        let row = |family: &str, remote: &str, socket: &str| -> Row {
            [
                ("family", family),
                ("remote_address", remote),
                ("socket", socket),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
        };
        let only_remote = |r: &Row| {
            validate_row(r, &checks, "/tmp")
                .into_iter()
                .filter(|p| p.contains("remote_address"))
                .count()
        };
        assert_eq!(only_remote(&row("1", "/run/a.sock", "/run/a.sock")), 0);
        assert_eq!(only_remote(&row("1", "/run/b.sock", "/run/a.sock")), 1);
        assert_eq!(only_remote(&row("2", "/run/a.sock", "/run/a.sock")), 1);
        assert_eq!(only_remote(&row("2", "10.0.0.1", "")), 0);
    }

    #[test]
    fn osquery_flag_semantics_quirks_included() {
        assert!(
            flags_accept("", NON_NEGATIVE_INT),
            "NonNegativeInt carries EmptyOk"
        );
        assert!(!flags_accept("-1", NON_NEGATIVE_INT));
        assert!(flags_accept("-1", NON_NEGATIVE_OR_ERROR_INT));
        assert!(!flags_accept("-2", NON_NEGATIVE_OR_ERROR_INT));
        assert!(!flags_accept("", NON_EMPTY_STRING));
        assert!(flags_accept("", INT_OR_EMPTY));
        assert!(!flags_accept("1.5", INT_TYPE));
        assert!(flags_accept("0", BOOL) && !flags_accept("2", BOOL));
        assert!(valid_uuid("6b0a9a4e-3f6e-4d54-9d3c-1f2e3d4c5b6a"));
        assert!(!valid_uuid("not-a-uuid"));
        assert!(mac_address("00:1a:2B:3c:4d:5e") && !mac_address("00:1a:2b"));
        assert!(ip_address("fe80::1%eth0") && !ip_address("300.1.1.1"));
        assert!(cron_values("*/5", 0, 59, &[]) && cron_values("", 0, 59, &[]));
        assert!(cron_values("1,5-9", 0, 59, &[]) && !cron_values("60", 0, 59, &[]));
        assert!(cron_values("MON,fri", 0, 7, &["mon", "fri"]) && !cron_values("x", 0, 7, &[]));
    }
}
