//! osquery's string functions (`osquery/sql/sqlite_string.cpp`): `split`, `regex_split`,
//! `regex_match`, `concat`, `concat_ws` and `inet_aton`.

use std::{net::Ipv4Addr, sync::Arc};

use regex::{Regex, RegexBuilder};
use rusqlite::{Connection, functions::Context, types::ValueRef};

use super::{
    error, flags,
    value::{TextBytes, bytes, int32, text},
};

/// osquery's `--regex_max_size`: the longest pattern, in bytes, `regex_match` and
/// `regex_split` take.
pub const REGEX_MAX_SIZE: usize = 256;
/// The most memory one compiled pattern may take: a short pattern with nested counted
/// repetitions (`(a{100}){100}`) is refused instead of growing without bound.
const REGEX_COMPILED_LIMIT: usize = 1 << 20;

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("split", 3, flags(), |ctx| split(ctx))?;
    conn.create_scalar_function("regex_split", 3, flags(), |ctx| regex_split(ctx))?;
    conn.create_scalar_function("regex_match", 3, flags(), |ctx| regex_match(ctx))?;
    conn.create_scalar_function("concat", -1, flags(), |ctx| Ok(concat(ctx, "", 0)))?;
    conn.create_scalar_function("concat_ws", -1, flags(), |ctx| concat_ws(ctx))?;
    conn.create_scalar_function("inet_aton", 1, flags(), |ctx| inet_aton(ctx))?;
    Ok(())
}

fn any_null(ctx: &Context<'_>) -> bool {
    (0..ctx.len()).any(|i| matches!(ctx.get_raw(i), ValueRef::Null))
}

/// The element `index` of `parts`, or NULL when there is none (a negative index is a huge one
/// after osquery's cast to `size_t`).
fn element(parts: Vec<String>, index: i32) -> Option<String> {
    usize::try_from(index)
        .ok()
        .and_then(|i| parts.into_iter().nth(i))
}

/// `split(text, characters, index)`: `text` cut at any of `characters`, empty pieces dropped,
/// the others trimmed of white space; piece `index` (from 0), or NULL.
fn split(ctx: &Context<'_>) -> rusqlite::Result<Option<String>> {
    if any_null(ctx) {
        return Ok(None);
    }
    let input = text(&ctx.get_raw(0)).unwrap_or_default();
    let tokens = text(&ctx.get_raw(1)).unwrap_or_default();
    if tokens.is_empty() {
        return Err(error(
            "split",
            "the separator characters (second argument) are empty: give at least one",
        ));
    }
    let parts = input
        .split(|c| tokens.contains(c))
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.trim().to_owned())
        .collect();
    Ok(element(parts, int32(&ctx.get_raw(2))))
}

/// A pattern compiled once per statement for a constant argument, within osquery's size bound.
fn pattern(ctx: &Context<'_>, function: &'static str) -> rusqlite::Result<Arc<Regex>> {
    ctx.get_or_create_aux(1, |value| {
        compile(function, &text(&value).unwrap_or_default())
    })
}

/// The error says which function, which pattern and what is wrong with it.
fn compile(function: &str, source: &str) -> Result<Regex, String> {
    if source.len() > REGEX_MAX_SIZE {
        return Err(format!(
            "{function}: Invalid regex: too big, max size is {REGEX_MAX_SIZE} bytes (this one \
             has {})",
            source.len()
        ));
    }
    RegexBuilder::new(source)
        .size_limit(REGEX_COMPILED_LIMIT)
        .dfa_size_limit(REGEX_COMPILED_LIMIT)
        .build()
        .map_err(|e| format!("{function}: Invalid regex '{source}': {e}"))
}

/// `regex_split(text, pattern, index)`: the pieces of `text` between matches of `pattern` (an
/// empty last piece dropped, as C++'s `sregex_token_iterator` does); piece `index`, or NULL.
fn regex_split(ctx: &Context<'_>) -> rusqlite::Result<Option<String>> {
    if any_null(ctx) {
        return Ok(None);
    }
    let input = text(&ctx.get_raw(0)).unwrap_or_default();
    if text(&ctx.get_raw(1)).unwrap_or_default().is_empty() {
        return Err(error(
            "regex_split",
            "the pattern (second argument) is empty: give the separator's regular expression",
        ));
    }
    let regex = pattern(ctx, "regex_split")?;
    let mut parts: Vec<String> = regex.split(&input).map(str::to_owned).collect();
    if parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    Ok(element(parts, int32(&ctx.get_raw(2))))
}

/// `regex_match(text, pattern, group)`: group `group` (0: the whole match) of the first match of
/// `pattern` in `text`; NULL without a match or such a group, `''` for a group that took no
/// part in the match.
fn regex_match(ctx: &Context<'_>) -> rusqlite::Result<Option<String>> {
    if any_null(ctx) {
        return Ok(None);
    }
    let regex = pattern(ctx, "regex_match")?;
    let input = text(&ctx.get_raw(0)).unwrap_or_default();
    let Some(captures) = regex.captures(&input) else {
        return Ok(None);
    };
    let Ok(group) = usize::try_from(int32(&ctx.get_raw(2))) else {
        return Ok(None);
    };
    if group >= captures.len() {
        return Ok(None);
    }
    Ok(Some(
        captures
            .get(group)
            .map_or_else(String::new, |m| m.as_str().to_owned()),
    ))
}

/// Joins the arguments from `first` on, skipping NULLs; like osquery, the separator follows
/// every value but one in the last argument, even when later arguments are NULL
/// (`concat_ws('-', 'a', NULL)` is `'a-'`). NULL when there is nothing to join.
fn concat(ctx: &Context<'_>, separator: &str, first: usize) -> Option<TextBytes> {
    if ctx.len() <= first {
        return None;
    }
    let mut out = Vec::new();
    for i in first..ctx.len() {
        let Some(value) = bytes(&ctx.get_raw(i)) else {
            continue;
        };
        out.extend_from_slice(super::value::until_nul(&value));
        if i + 1 < ctx.len() {
            out.extend_from_slice(separator.as_bytes());
        }
    }
    Some(TextBytes(out))
}

/// `concat_ws(separator, values...)`: a NULL separator is an empty one.
fn concat_ws(ctx: &Context<'_>) -> rusqlite::Result<Option<TextBytes>> {
    if ctx.is_empty() {
        return Err(error(
            "concat_ws",
            "missing the separator: concat_ws(separator, value, ...)",
        ));
    }
    let separator = text(&ctx.get_raw(0)).unwrap_or_default();
    Ok(concat(ctx, &separator, 1))
}

/// `inet_aton(address)`: a dotted IPv4 address as its 32-bit number; NULL for anything else
/// (IPv6 included).
fn inet_aton(ctx: &Context<'_>) -> rusqlite::Result<Option<i64>> {
    let Some(address) = text(&ctx.get_raw(0)) else {
        return Ok(None);
    };
    if address.contains(':') {
        return Ok(None);
    }
    Ok(address
        .parse::<Ipv4Addr>()
        .ok()
        .map(|ip| i64::from(u32::from(ip))))
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use super::*;
    use crate::sql_functions::testing::{error_of, eval, text};

    #[test]
    fn split_cuts_at_any_character_drops_empty_pieces_and_trims() {
        assert_eq!(eval("split('a.b.c', '.', 1)"), text("b"));
        assert_eq!(eval("split('10.0.0.1', '.', 0)"), text("10"));
        assert_eq!(
            eval("split('a,,b', ',', 1)"),
            text("b"),
            "the empty piece is dropped"
        );
        assert_eq!(
            eval("split('a; b, c', ',;', 2)"),
            text("c"),
            "either separator, trimmed"
        );
        assert_eq!(eval("split('a,b', ',', 5)"), Value::Null);
        assert_eq!(eval("split('a,b', ',', -1)"), Value::Null);
        assert_eq!(
            eval("split(1234, 3, 0)"),
            text("12"),
            "numbers as their text"
        );
    }

    #[test]
    fn split_null_and_bad_input() {
        for call in [
            "split(NULL, '.', 0)",
            "split('a.b', NULL, 0)",
            "split('a.b', '.', NULL)",
        ] {
            assert_eq!(eval(call), Value::Null, "{call}");
        }
        let message = error_of("split('a.b', '', 0)");
        assert!(message.contains("split: the separator"), "{message}");
    }

    #[test]
    fn regex_split_keeps_leading_empty_pieces_and_drops_a_trailing_one() {
        assert_eq!(eval("regex_split('a1b22c', '[0-9]+', 2)"), text("c"));
        assert_eq!(eval("regex_split(',a', ',', 0)"), text(""));
        assert_eq!(eval("regex_split('a,', ',', 1)"), Value::Null);
        assert_eq!(
            eval("regex_split('abc', ',', 0)"),
            text("abc"),
            "no match: the whole"
        );
        assert_eq!(eval("regex_split(NULL, ',', 0)"), Value::Null);
        assert_eq!(eval("regex_split('a', NULL, 0)"), Value::Null);
    }

    #[test]
    fn regex_match_returns_a_group_of_the_first_match() {
        assert_eq!(
            eval("regex_match('fd12:3456::1', '^f[cd][0-9a-f][0-9a-f]:[0-9a-f:]+', 0)"),
            text("fd12:3456::1")
        );
        assert_eq!(
            eval("regex_match('key=value', '(\\w+)=(\\w+)', 2)"),
            text("value")
        );
        assert_eq!(
            eval("regex_match('abc', '(x)?abc', 1)"),
            text(""),
            "unused group"
        );
        assert_eq!(
            eval("regex_match('abc', '(b)', 2)"),
            Value::Null,
            "no such group"
        );
        assert_eq!(eval("regex_match('abc', 'z', 0)"), Value::Null, "no match");
        assert_eq!(eval("regex_match('0755', '[1357]', 0)"), text("7"));
        for call in [
            "regex_match(NULL, 'a', 0)",
            "regex_match('a', NULL, 0)",
            "regex_match('a', 'a', NULL)",
        ] {
            assert_eq!(eval(call), Value::Null, "{call}");
        }
    }

    #[test]
    fn an_invalid_or_huge_regex_is_an_error_naming_it() {
        let message = error_of("regex_match('abc', 'a(b', 0)");
        assert!(
            message.contains("regex_match: Invalid regex 'a(b'"),
            "{message}"
        );
        let message = error_of("regex_split('abc', '[z-a]', 0)");
        assert!(
            message.contains("regex_split: Invalid regex '[z-a]'"),
            "{message}"
        );
        let long = "a".repeat(REGEX_MAX_SIZE + 1);
        let message = error_of(&format!("regex_match('abc', '{long}', 0)"));
        assert!(
            message.contains("too big, max size is 256 bytes"),
            "{message}"
        );
        assert_eq!(
            eval(&format!("regex_match('abc', '{}', 0)", "a?".repeat(128))),
            text("a"),
            "exactly the bound is taken"
        );
        // Short, but it would compile to a huge automaton.
        let message = error_of("regex_match('abc', '((a{100}){100}){100}', 0)");
        assert!(message.contains("Invalid regex"), "{message}");
    }

    #[test]
    fn a_pathological_regex_runs_in_linear_time() {
        let input = "a".repeat(5_000);
        let started = std::time::Instant::now();
        assert_eq!(
            eval(&format!("regex_match('{input}', '(a*)*b', 0)")),
            Value::Null
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn concat_skips_nulls_like_osquery() {
        assert_eq!(eval("concat('a', 1, NULL, 'b')"), text("a1b"));
        assert_eq!(eval("concat()"), Value::Null);
        assert_eq!(eval("concat(NULL)"), text(""));
        assert_eq!(eval("concat_ws('-', 'a', 'b', 'c')"), text("a-b-c"));
        assert_eq!(eval("concat_ws('-', 'a', NULL, 'c')"), text("a-c"));
        assert_eq!(eval("concat_ws('-', 'a', NULL)"), text("a-"));
        assert_eq!(eval("concat_ws(NULL, 'a', 'b')"), text("ab"));
        assert_eq!(eval("concat_ws('-')"), Value::Null);
        let message = error_of("concat_ws()");
        assert!(
            message.contains("concat_ws: missing the separator"),
            "{message}"
        );
    }

    #[test]
    fn inet_aton_reads_dotted_ipv4_only() {
        assert_eq!(eval("inet_aton('10.0.0.1')"), Value::Integer(167_772_161));
        assert_eq!(
            eval("inet_aton('255.255.255.255')"),
            Value::Integer(4_294_967_295)
        );
        assert_eq!(eval("inet_aton('::1')"), Value::Null);
        assert_eq!(eval("inet_aton('10.0.0')"), Value::Null);
        assert_eq!(eval("inet_aton('300.0.0.1')"), Value::Null);
        assert_eq!(eval("inet_aton(NULL)"), Value::Null);
    }
}
