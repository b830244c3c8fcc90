//! osquery's encoding functions (`osquery/sql/sqlite_encoding.cpp`): `to_base64`,
//! `from_base64` and `conditional_to_base64`.

use base64::{
    Engine as _,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
};
use rusqlite::{Connection, functions::Context};

use super::{
    flags,
    value::{TextBytes, bytes},
};

/// Decoding as osquery's (boost's) decoder: padding optional, leftover bits ignored.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("to_base64", 1, flags(), |ctx| {
        Ok(map(ctx, |input| encode(&input)))
    })?;
    conn.create_scalar_function("from_base64", 1, flags(), |ctx| {
        Ok(map(ctx, |input| decode(&input)))
    })?;
    conn.create_scalar_function("conditional_to_base64", 1, flags(), |ctx| {
        Ok(map(ctx, |input| {
            if printable(&input) {
                input
            } else {
                encode(&input)
            }
        }))
    })?;
    Ok(())
}

/// `f` of the argument's bytes, as text; NULL for NULL.
fn map(ctx: &Context<'_>, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Option<TextBytes> {
    let input = bytes(&ctx.get_raw(0))?.into_owned();
    Some(TextBytes(f(input)))
}

fn encode(input: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(input)
        .into_bytes()
}

/// Line breaks and trailing `=` are ignored; input that is not base64 decodes to the empty
/// string, as in osquery.
fn decode(input: &[u8]) -> Vec<u8> {
    let mut cleaned: Vec<u8> = input
        .iter()
        .copied()
        .filter(|&b| b != b'\n' && b != b'\r')
        .collect();
    while cleaned.last() == Some(&b'=') {
        cleaned.pop();
    }
    // A last lone character carries fewer than 8 bits: boost drops it.
    if cleaned.len() % 4 == 1 {
        cleaned.pop();
    }
    LENIENT.decode(&cleaned).unwrap_or_default()
}

/// osquery's `isPrintable`: no control characters and nothing past ASCII.
fn printable(input: &[u8]) -> bool {
    input.iter().all(|&b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{eval, text};

    #[test]
    fn round_trips_and_null() {
        assert_eq!(eval("to_base64('hello world')"), text("aGVsbG8gd29ybGQ="));
        assert_eq!(eval("from_base64('aGVsbG8gd29ybGQ=')"), text("hello world"));
        assert_eq!(eval("from_base64('aGVsbG8gd29ybGQ')"), text("hello world"));
        assert_eq!(eval("from_base64('aGVs\nbG8=')"), text("hello"));
        assert_eq!(eval("to_base64('')"), text(""));
        assert_eq!(eval("to_base64(NULL)"), Value::Null);
        assert_eq!(eval("from_base64(NULL)"), Value::Null);
        assert_eq!(eval("conditional_to_base64(NULL)"), Value::Null);
    }

    #[test]
    fn bad_base64_is_the_empty_string_and_binary_stays_text() {
        assert_eq!(eval("from_base64('!!!!')"), text(""));
        assert_eq!(eval("typeof(from_base64('/w=='))"), text("text"));
        assert_eq!(eval("hex(from_base64('/w=='))"), text("FF"));
    }

    #[test]
    fn conditional_encoding_leaves_printable_text_alone() {
        assert_eq!(
            eval("conditional_to_base64('plain text')"),
            text("plain text")
        );
        assert_eq!(
            eval("conditional_to_base64('tab\there')"),
            text("dGFiCWhlcmU=")
        );
        assert_eq!(eval("conditional_to_base64('é')"), text("w6k="));
    }
}
