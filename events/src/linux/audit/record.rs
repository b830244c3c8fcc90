//! One audit record as the kernel sends it over netlink: a message type, and the text
//! `audit(<seconds>.<millis>:<serial>): key=value key="quoted" key='single quoted' ...`.
//! [`parse`] takes arbitrary bytes and returns a record or an error, never a panic.

/// How a value was written: the kernel quotes an untrusted string that is safe to print, and
/// writes it in hex otherwise (spaces, quotes, control or non-ASCII bytes); `msg='...'` holds
/// the fields of a user message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    None,
    Double,
    Single,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub key: String,
    /// The value's bytes, without its quotes.
    pub value: Vec<u8>,
    pub quote: Quote,
}

/// One record: its message type, the event it belongs to (time and serial), and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: u16,
    /// Milliseconds since the Unix epoch, from the record's header.
    pub time_ms: u64,
    /// The audit event id: every record of one event has the same.
    pub serial: u64,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("audit record without its `audit(<time>:<serial>): ` header")]
    Header,
    #[error("audit record header holds a number out of range")]
    Number,
}

/// Reads one record's text (the netlink payload of an event message of type `kind`).
pub fn parse(kind: u16, text: &[u8]) -> Result<Record, RecordError> {
    // The kernel ends some records with a NUL or a newline.
    let text = trim_end(text);
    let rest = text.strip_prefix(b"audit(").ok_or(RecordError::Header)?;
    let close = find(rest, b"):").ok_or(RecordError::Header)?;
    let (stamp, body) = (&rest[..close], &rest[close + 2..]);
    let colon = stamp
        .iter()
        .position(|&b| b == b':')
        .ok_or(RecordError::Header)?;
    let (time, serial) = (&stamp[..colon], &stamp[colon + 1..]);
    let dot = time
        .iter()
        .position(|&b| b == b'.')
        .ok_or(RecordError::Header)?;
    let seconds = decimal(&time[..dot])?;
    let millis = decimal(&time[dot + 1..])?;
    let time_ms = seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .ok_or(RecordError::Number)?;
    Ok(Record {
        kind,
        time_ms,
        serial: decimal(serial)?,
        fields: fields(body),
    })
}

fn decimal(digits: &[u8]) -> Result<u64, RecordError> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(RecordError::Header);
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(RecordError::Number)
    })
}

fn trim_end(mut text: &[u8]) -> &[u8] {
    while let [rest @ .., last] = text {
        if *last == 0 || last.is_ascii_whitespace() {
            text = rest;
        } else {
            break;
        }
    }
    text
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `key=value` pairs of a record's body (or of a user message's `msg='...'`). A word
/// without `=` is skipped; a quote that is never closed takes the rest of the text.
pub fn fields(mut body: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    loop {
        while let [first, rest @ ..] = body {
            if first.is_ascii_whitespace() || *first == 0 {
                body = rest;
            } else {
                break;
            }
        }
        if body.is_empty() {
            return out;
        }
        let word_end = body
            .iter()
            .position(|&b| b == b'=' || b.is_ascii_whitespace())
            .unwrap_or(body.len());
        if body.get(word_end) != Some(&b'=') {
            body = &body[word_end..];
            continue;
        }
        let key = String::from_utf8_lossy(&body[..word_end]).into_owned();
        body = &body[word_end + 1..];
        let (value, quote, rest) = match body.first() {
            Some(&q @ (b'"' | b'\'')) => {
                let inner = &body[1..];
                let end = inner.iter().position(|&b| b == q).unwrap_or(inner.len());
                let quote = if q == b'"' {
                    Quote::Double
                } else {
                    Quote::Single
                };
                (&inner[..end], quote, inner.get(end + 1..).unwrap_or(&[]))
            }
            _ => {
                let end = body
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .unwrap_or(body.len());
                (&body[..end], Quote::None, &body[end..])
            }
        };
        out.push(Field {
            key,
            value: value.to_vec(),
            quote,
        });
        body = rest;
    }
}

impl Record {
    pub fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// A number written in decimal (`pid=42`, `exit=-2`); `None` when absent or not a number.
    pub fn int(&self, key: &str) -> Option<i64> {
        std::str::from_utf8(&self.field(key)?.value)
            .ok()?
            .parse()
            .ok()
    }

    /// An id (`uid=0`); `unset` (4294967295, osquery's value too) when absent or not a number.
    pub fn id(&self, key: &str) -> u32 {
        self.int(key)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(u32::MAX)
    }

    /// A number written in hex (`a0=3`, the syscall's arguments).
    pub fn hex(&self, key: &str) -> Option<u64> {
        u64::from_str_radix(std::str::from_utf8(&self.field(key)?.value).ok()?, 16).ok()
    }

    /// An untrusted string (`exe=`, `cwd=`, `name=`, `comm=`): quoted as is, else hex.
    pub fn string(&self, key: &str) -> Option<Vec<u8>> {
        self.field(key).and_then(Field::untrusted)
    }

    /// As [`Record::string`], as text (bytes that are not UTF-8 replaced).
    pub fn text(&self, key: &str) -> String {
        self.string(key)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// A plain value as written (`tty=pts1`, `res=success`).
    pub fn raw(&self, key: &str) -> String {
        self.field(key)
            .map(|f| String::from_utf8_lossy(&f.value).into_owned())
            .unwrap_or_default()
    }
}

impl Field {
    /// The value of an untrusted string field: the kernel quotes it when it is printable, writes
    /// it in hex otherwise, and writes `(null)` when there is none.
    pub fn untrusted(&self) -> Option<Vec<u8>> {
        match self.quote {
            Quote::Double | Quote::Single => Some(self.value.clone()),
            Quote::None if self.value == b"(null)" || self.value == b"?" => None,
            Quote::None => Some(unhex(&self.value).unwrap_or_else(|| self.value.clone())),
        }
    }
}

/// Bytes from hex digits; `None` when they are not an even number of hex digits.
pub fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_and_every_kind_of_value() {
        let record = parse(
            1300,
            b"audit(1502125323.756:6): arch=c000003e syscall=59 success=yes exit=0 \
              comm=\"sh\" exe=2F746D702F6120622F7368 key=(null)\n",
        )
        .expect("parses");
        assert_eq!(record.time_ms, 1_502_125_323_756);
        assert_eq!(record.serial, 6);
        assert_eq!(record.int("syscall"), Some(59));
        assert_eq!(record.hex("arch"), Some(0xc000_003e));
        assert_eq!(record.text("comm"), "sh");
        assert_eq!(record.text("exe"), "/tmp/a b/sh", "hex-encoded");
        assert_eq!(record.string("key"), None);
        assert_eq!(record.id("auid"), u32::MAX, "absent");
    }

    #[test]
    fn a_user_message_keeps_its_single_quoted_text_whole() {
        let record = parse(
            1112,
            b"audit(1700000000.001:77): pid=9 uid=0 auid=1000 ses=3 \
              msg='op=login acct=\"root\" exe=\"/usr/bin/login\" addr=? terminal=tty1 res=success'",
        )
        .expect("parses");
        let msg = record.field("msg").expect("msg");
        assert_eq!(msg.quote, Quote::Single);
        let inner = fields(&msg.value);
        assert_eq!(inner.len(), 6);
        assert_eq!(
            inner[2].untrusted().as_deref(),
            Some(&b"/usr/bin/login"[..])
        );
        assert_eq!(inner[3].untrusted(), None, "`?` is no value");
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        for text in [
            &b""[..],
            b"audit(",
            b"audit(1.2:3)",
            b"audit(1.2): x",
            b"audit(x.2:3): a=b",
            b"audit(99999999999999999999.1:1): a=b",
            b"audit(1:2.3): a",
        ] {
            assert!(
                parse(1300, text).is_err(),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        // Odd shapes after the header still give a record.
        let record = parse(1300, b"audit(1.2:3): =x a=\"open b='c d= e").expect("parses");
        assert_eq!(record.raw("a"), "open b='c d= e");
        assert_eq!(unhex(b"4"), None);
        assert_eq!(unhex(b"zz"), None);
    }
}
