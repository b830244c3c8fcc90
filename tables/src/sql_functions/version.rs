//! osquery's version comparison (`osquery/sql/sqlite_version.cpp`): `version_compare(a, b
//! [, 'ARCH' | 'DPKG' | 'RHEL'])` and the collations `version`, `version_arch`, `version_dpkg`
//! and `version_rhel`, which order package versions the way each package manager does.

use std::cmp::Ordering;

use rusqlite::{Connection, functions::Context, types::ValueRef};

use super::{error, flags, value::until_nul};

/// How a flavour of versions is compared (osquery's four switches).
#[derive(Debug, Clone, Copy, Default)]
struct Rules {
    /// An epoch (`N:`) outranks everything else.
    epoch: bool,
    /// Delimiters rank `~ < - < ^ < . < :` instead of being equal.
    delimiter_precedence: bool,
    /// What follows the shorter version decides (`~` before, `^` after, `-` equal).
    compare_remaining: bool,
    /// With `compare_remaining`: a segment's difference wins only after a non-digit.
    remainder_precedence: bool,
}

const PLAIN: Rules = Rules {
    epoch: false,
    delimiter_precedence: false,
    compare_remaining: false,
    remainder_precedence: false,
};
const ARCH: Rules = Rules {
    epoch: true,
    delimiter_precedence: false,
    compare_remaining: true,
    remainder_precedence: true,
};
const DPKG: Rules = Rules {
    epoch: true,
    delimiter_precedence: true,
    compare_remaining: false,
    remainder_precedence: false,
};
const RHEL: Rules = Rules {
    epoch: true,
    delimiter_precedence: true,
    compare_remaining: true,
    remainder_precedence: false,
};

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("version_compare", -1, flags(), |ctx| version_compare(ctx))?;
    for (name, rules) in [
        ("version", PLAIN),
        ("version_arch", ARCH),
        ("version_dpkg", DPKG),
        ("version_rhel", RHEL),
    ] {
        conn.create_collation(name, move |l, r| {
            compare(l.as_bytes(), r.as_bytes(), rules).cmp(&0)
        })?;
    }
    Ok(())
}

fn delimiter_precedence(c: u8) -> i64 {
    match c {
        b'~' => 1,
        b'-' => 2,
        b'^' => 3,
        b'.' => 4,
        b':' => 5,
        _ => 0,
    }
}

/// A byte as C's (signed, on x86) `char` compares.
fn signed(c: u8) -> i64 {
    i64::from(c as i8)
}

fn compare_epoch(l: &[u8], r: &[u8]) -> i64 {
    let colon = |v: &[u8]| v.iter().position(|&c| c == b':');
    match (colon(l), colon(r)) {
        (Some(a), Some(b)) => a as i64 - b as i64,
        (Some(_), None) => 1,
        (None, Some(_)) => -1,
        (None, None) => 0,
    }
}

/// The decision once the shorter version `l` or `r` ends at `pos` (osquery's
/// `compareRemainder`).
fn compare_remainder(l: &[u8], r: &[u8], pos: usize, diff: i64, rules: Rules) -> i64 {
    let after_digit = |v: &[u8]| pos > 0 && v.get(pos - 1).is_some_and(u8::is_ascii_digit);
    if l.len() == pos {
        let next = r.get(pos).copied().unwrap_or(0);
        if rules.compare_remaining {
            match next {
                b'~' => return 1,
                b'-' => return 0,
                b'^' => return -1,
                _ if diff != 0 && (!rules.remainder_precedence || !after_digit(l)) => {
                    return diff;
                }
                _ => {}
            }
        } else if diff != 0 && delimiter_precedence(next) > 0 {
            return diff;
        }
    }
    if r.len() == pos {
        let next = l.get(pos).copied().unwrap_or(0);
        if rules.compare_remaining {
            match next {
                b'~' => return -1,
                b'-' => return 0,
                b'^' => return 1,
                _ if diff != 0 && (!rules.remainder_precedence || !after_digit(r)) => {
                    return diff;
                }
                _ => {}
            }
        } else if diff != 0 && delimiter_precedence(next) > 0 {
            return diff;
        }
    }
    l.len() as i64 - r.len() as i64
}

/// Negative, 0 or positive as `l` is before, equal to or after `r` (osquery's
/// `versionCompare`, whose magnitude means nothing).
fn compare(l: &[u8], r: &[u8], rules: Rules) -> i64 {
    match (l.is_empty(), r.is_empty()) {
        (true, true) => return 0,
        (true, false) => return -1,
        (false, true) => return 1,
        (false, false) => {}
    }
    if l == r {
        return 0;
    }
    if rules.epoch {
        let epoch = compare_epoch(l, r);
        if epoch != 0 {
            return epoch;
        }
    }
    let mut first_diff = 0;
    let shorter = l.len().min(r.len());
    for (&a, &b) in l.iter().zip(r) {
        let (l_delim, r_delim) = (delimiter_precedence(a), delimiter_precedence(b));
        match (l_delim, r_delim) {
            (0, 0) => {
                if first_diff == 0 {
                    first_diff = signed(a) - signed(b);
                }
                continue;
            }
            (0, _) => return 1,
            (_, 0) => return -1,
            _ => {}
        }
        if first_diff != 0 {
            return first_diff;
        }
        if rules.delimiter_precedence && l_delim != r_delim {
            return l_delim - r_delim;
        }
    }
    if l.len() == r.len() {
        return first_diff;
    }
    compare_remainder(l, r, shorter, first_diff, rules)
}

/// `version_compare(a, b [, flavour])`: -1, 0 or 1. Both versions must be text (NULL too is
/// an error, as in osquery).
fn version_compare(ctx: &Context<'_>) -> rusqlite::Result<i64> {
    let two_versions = || {
        error(
            "version_compare",
            "Must provide two version strings to compare.",
        )
    };
    if ctx.len() < 2 {
        return Err(two_versions());
    }
    let (ValueRef::Text(l), ValueRef::Text(r)) = (ctx.get_raw(0), ctx.get_raw(1)) else {
        return Err(two_versions());
    };
    let rules = if ctx.len() > 2 {
        let ValueRef::Text(flavour) = ctx.get_raw(2) else {
            return Err(error(
                "version_compare",
                "The optional third parameter is not a string.",
            ));
        };
        match String::from_utf8_lossy(until_nul(flavour))
            .to_ascii_uppercase()
            .as_str()
        {
            "ARCH" => ARCH,
            "DPKG" => DPKG,
            "RHEL" => RHEL,
            _ => {
                return Err(error(
                    "version_compare",
                    "The optional third parameter does not match one of: (ARCH, DPKG, RHEL).",
                ));
            }
        }
    } else {
        PLAIN
    };
    Ok(match compare(until_nul(l), until_nul(r), rules).cmp(&0) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{error_of, eval};

    fn int(expr: &str) -> i64 {
        match eval(expr) {
            Value::Integer(i) => i,
            other => panic!("{expr} gave {other:?}"),
        }
    }

    /// osquery's own cases (`osquery/sql/tests/sql.cpp`, `test_version_compare`).
    #[test]
    fn osquery_version_compare_cases() {
        for (call, expected) in [
            ("'1.0', '1.0'", 0),
            ("'1:2.0-10', '1:2.0-10', 'DPKG'", 0),
            ("'4:1.1.0', '4:1.1.0-3', 'arCH'", 0),
            ("'50.4.1b', '50.4.1c'", -1),
            ("'1.0.8-4', '1.0.8-6', 'arch'", -1),
            ("'1.0.0~rc2^2021', '1.0.0', 'RHEL'", -1),
            ("'1.1.0~BETA2^1', '1.1.0~CR1', 'RhEl'", -1),
            ("'1.0.1.1', '1.0.1^2021', 'rhel'", 1),
            ("'1.9.9-1ubuntu2.4', '1.9.9-1ubuntu2.3', 'dpkg'", 1),
            ("'1:1.2.13-2', '4.2.1', 'ARCH'", 1),
            ("'106.32.1', '106:32.1'", 0),
        ] {
            assert_eq!(int(&format!("version_compare({call})")), expected, "{call}");
        }
    }

    /// osquery's collation cases (`test_collate_version_*`).
    #[test]
    fn osquery_collation_cases() {
        for comparison in [
            "'1:0.0' = '1.0.0' COLLATE version",
            "'2.50^1a' = '2.50~1a' COLLATE version",
            "'1.1' < '1.a' COLLATE version",
            "'1.0.0' < '1.0.0-2' COLLATE version",
            "'1.0.0-2' < '1:0.0.3' COLLATE version",
            "'1.12.1' < '1.13' COLLATE version",
            "'190.10a' > '20.10a' COLLATE version",
            "'20.10a' > '20.102' COLLATE version",
            "'57:4' > '6.87.5' COLLATE version",
            "'8.11' > '8.10.24' COLLATE version",
            "'1.0' = '1.0-4' COLLATE version_arch",
            "'4:2' = '4:2-1' COLLATE version_arch",
            "'1.6.1-9' < '1.6.1-10' COLLATE version_arch",
            "'2-2pre' < '2-2rc' COLLATE version_arch",
            "'41.1-2' < '43alpha+r8+g1de47dbc-1' COLLATE version_arch",
            "'1:42.3.1-1' < '1:43.2-1' COLLATE version_arch",
            "'6.0.12.arch1-1' > '5.18.14.arch1-1' COLLATE version_arch",
            "'3:0.164.r3095.baee400-4' > '3:0.164.r3081.19856cc-2' COLLATE version_arch",
            "'0.23.90-1' > '0.23.1-9' COLLATE version_arch",
            "'1:1.2.13-2' > '4.2.1' COLLATE version_arch",
            "'1.9.9-1ubuntu2.4' > '1.9.9-1ubuntu2.3' COLLATE version_dpkg",
            "'1.0.0~rc2^2021' < '1.0.0' COLLATE version_rhel",
        ] {
            assert_eq!(int(comparison), 1, "{comparison}");
        }
    }

    #[test]
    fn versions_must_be_text_and_the_flavour_known() {
        for call in [
            "version_compare('1.0')",
            "version_compare(NULL, '1.0')",
            "version_compare('1.0', 2)",
        ] {
            assert!(
                error_of(call).contains("Must provide two version strings"),
                "{call}"
            );
        }
        assert!(error_of("version_compare('1', '2', 3)").contains("not a string"));
        assert!(error_of("version_compare('1', '2', 'RPM')").contains("(ARCH, DPKG, RHEL)"));
        assert_eq!(int("version_compare('', '1')"), -1);
    }
}
