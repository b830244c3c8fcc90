//! `iptables`: the rules of the kernel's IPv4 x_tables (iptables-legacy) tables named in
//! `/proc/net/ip_tables_names`, read as `iptables-save` reads them, from the kernel with
//! `getsockopt(IPT_SO_GET_INFO / IPT_SO_GET_ENTRIES)` (needs CAP_NET_ADMIN) and decoded here:
//! each built-in chain's rules and policy, user chains' rules, tcp/udp ports. Rules made with
//! nftables (iptables-nft) are not x_tables rules and are not listed.

use std::ffi::CString;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "iptables";
const TABLE_NAMES: &str = "/proc/net/ip_tables_names";
const IPT_SO_GET_INFO: libc::c_int = 64;
const IPT_SO_GET_ENTRIES: libc::c_int = 65;
const TABLE_NAME_LEN: usize = 32;
/// `struct ipt_getinfo`: name, valid_hooks, hook_entry[5], underflow[5], num_entries, size.
const GETINFO_SIZE: usize = 84;
/// `struct ipt_get_entries`: name, size, then the entries at their 8-byte alignment.
const GET_ENTRIES_HEADER: usize = 40;
/// `struct ipt_entry` up to its matches: ipt_ip (84), nfcache, target_offset, next_offset,
/// comefrom, counters (2 × u64).
const ENTRY_HEADER: usize = 112;
/// `struct xt_entry_match` / `xt_entry_target` header: size (u16), name[29], revision.
const XT_HEADER: usize = 32;
/// A table's rules are bounded by the kernel's memory; this bounds what one scan copies.
const MAX_TABLE_BYTES: u32 = 256 * 1024 * 1024;
const HOOKS: [&str; 5] = ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

table_row! {
    struct IptablesRow {
        filter_name: Text,
        chain: Text,
        policy: Text,
        target: Text,
        protocol: Integer,
        src_port: Text,
        dst_port: Text,
        src_ip: Text,
        src_mask: Text,
        iniface: Text,
        iniface_mask: Text,
        dst_ip: Text,
        dst_mask: Text,
        outiface: Text,
        outiface_mask: Text,
        r#match: Text,
        packets: Integer,
        bytes: Integer,
    }
}

pub struct Iptables;

impl Table for Iptables {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        IptablesRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let names = bounded::read_text(NAME, Path::new(TABLE_NAMES), 64 * 1024).unwrap_or_default();
        let mut out = Vec::new();
        for table in names.lines().map(str::trim).filter(|n| !n.is_empty()) {
            match read_table(table) {
                Ok(table_info) => out.extend(table_rows(table, &table_info)),
                Err(error) => {
                    tracing::warn!(table = NAME, filter = table, %error, "cannot read the x_tables table")
                }
            }
        }
        Ok(rows(out))
    }
}

/// A table as the kernel gives it: where its built-in chains start and end, and its entries.
struct TableBlob {
    valid_hooks: u32,
    hook_entry: [u32; 5],
    underflow: [u32; 5],
    entries: Vec<u8>,
}

fn read_table(name: &str) -> Result<TableBlob, String> {
    let c_name = CString::new(name).map_err(|_| "a table name with a NUL byte".to_owned())?;
    if c_name.as_bytes().len() >= TABLE_NAME_LEN {
        return Err("a table name longer than the kernel's".into());
    }
    // SAFETY: plain socket creation; the fd is owned right after.
    let raw = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if raw < 0 {
        return Err(format!("socket: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `raw` is a new fd nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut info = vec![0u8; GETINFO_SIZE];
    info[..c_name.as_bytes().len()].copy_from_slice(c_name.as_bytes());
    get(&socket, IPT_SO_GET_INFO, &mut info)?;
    let word = |at: usize| u32_at(&info, at).unwrap_or(0);
    let size = word(80);
    if size > MAX_TABLE_BYTES {
        return Err(format!(
            "the table holds {size} bytes of rules, more than the {MAX_TABLE_BYTES} read"
        ));
    }
    let mut request = vec![0u8; GET_ENTRIES_HEADER + size as usize];
    request[..c_name.as_bytes().len()].copy_from_slice(c_name.as_bytes());
    request[32..36].copy_from_slice(&size.to_ne_bytes());
    get(&socket, IPT_SO_GET_ENTRIES, &mut request)?;
    Ok(TableBlob {
        valid_hooks: word(32),
        hook_entry: std::array::from_fn(|i| word(36 + 4 * i)),
        underflow: std::array::from_fn(|i| word(56 + 4 * i)),
        entries: request.split_off(GET_ENTRIES_HEADER),
    })
}

fn get(socket: &OwnedFd, option: libc::c_int, buffer: &mut [u8]) -> Result<(), String> {
    let mut length = buffer.len() as libc::socklen_t;
    // SAFETY: a buffer we own and its length; the kernel writes at most that.
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_IP,
            option,
            buffer.as_mut_ptr().cast(),
            &mut length,
        )
    };
    if result != 0 {
        return Err(format!(
            "getsockopt: {} (reading rules needs CAP_NET_ADMIN)",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// One decoded entry.
struct Entry<'a> {
    offset: usize,
    bytes: &'a [u8],
    target_offset: usize,
}

fn entries(blob: &[u8]) -> Vec<Entry<'_>> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while offset + ENTRY_HEADER <= blob.len() {
        let Some(bytes) = blob.get(offset..) else {
            break;
        };
        let target_offset = usize::from(u16_at(bytes, 88).unwrap_or(0));
        let next_offset = usize::from(u16_at(bytes, 90).unwrap_or(0));
        if next_offset < ENTRY_HEADER || target_offset < ENTRY_HEADER || target_offset > next_offset
        {
            break;
        }
        let Some(bytes) = bytes.get(..next_offset) else {
            break;
        };
        out.push(Entry {
            offset,
            bytes,
            target_offset,
        });
        offset += next_offset;
    }
    out
}

fn table_rows(table: &str, blob: &TableBlob) -> Vec<Row> {
    let entries = entries(&blob.entries);
    let by_offset = |offset: u32| entries.iter().position(|e| e.offset == offset as usize);
    let mut out = Vec::new();
    // Built-in chains: from the hook's entry to its underflow (the policy rule).
    for (hook, chain) in HOOKS.iter().enumerate() {
        if blob.valid_hooks & (1 << hook) == 0 {
            continue;
        }
        let (Some(first), Some(last)) = (
            by_offset(blob.hook_entry[hook]),
            by_offset(blob.underflow[hook]),
        ) else {
            continue;
        };
        let policy = entries
            .get(last)
            .map(|e| target_name(e, &entries))
            .unwrap_or_default();
        for entry in entries.get(first..last).unwrap_or(&[]) {
            out.push(rule_row(table, chain, &policy, entry, &entries));
        }
    }
    // User chains: an ERROR entry naming the chain, its rules, a RETURN.
    let mut chain: Option<String> = None;
    for entry in &entries {
        let (name, data) = target(entry);
        if name == "ERROR" {
            let label = c_text(data);
            chain = (label != "ERROR").then_some(label);
            continue;
        }
        if let Some(chain) = &chain {
            let is_chain_return =
                name.is_empty() && verdict(data) == Some(-5) && !has_matches(entry);
            if !is_chain_return {
                out.push(rule_row(table, chain, "", entry, &entries));
            }
        }
    }
    out
}

/// The target's name and data; the standard target has an empty name and a verdict.
fn target<'a>(entry: &Entry<'a>) -> (String, &'a [u8]) {
    let bytes = entry.bytes.get(entry.target_offset..).unwrap_or(&[]);
    let size = usize::from(u16_at(bytes, 0).unwrap_or(0)).min(bytes.len());
    let name = c_text(bytes.get(2..31).unwrap_or(&[]));
    (name, bytes.get(XT_HEADER..size).unwrap_or(&[]))
}

fn verdict(data: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(data.get(..4)?.try_into().ok()?))
}

/// What a rule does, as iptables names it: ACCEPT/DROP/QUEUE/RETURN, a jump's chain, or an
/// extension target's name (REJECT, MASQUERADE, ...).
fn target_name(entry: &Entry<'_>, entries: &[Entry<'_>]) -> String {
    let (name, data) = target(entry);
    if !name.is_empty() {
        return name;
    }
    match verdict(data) {
        Some(-1) => "DROP".into(),
        Some(-2) => "ACCEPT".into(),
        Some(-4) => "QUEUE".into(),
        Some(-5) => "RETURN".into(),
        Some(jump) if jump >= 0 => entries
            .iter()
            .find(|e| e.offset + e.bytes.len() == jump as usize)
            .map(|chain_head| c_text(target(chain_head).1))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn has_matches(entry: &Entry<'_>) -> bool {
    entry.target_offset > ENTRY_HEADER
}

/// The matches of an entry: (name, data).
fn matches<'a>(entry: &Entry<'a>) -> Vec<(String, &'a [u8])> {
    let mut out = Vec::new();
    let mut at = ENTRY_HEADER;
    while at + XT_HEADER <= entry.target_offset {
        let Some(bytes) = entry.bytes.get(at..entry.target_offset) else {
            break;
        };
        let size = usize::from(u16_at(bytes, 0).unwrap_or(0));
        if size < XT_HEADER || size > bytes.len() {
            break;
        }
        out.push((
            c_text(bytes.get(2..31).unwrap_or(&[])),
            bytes.get(XT_HEADER..size).unwrap_or(&[]),
        ));
        at += size;
    }
    out
}

fn rule_row(
    table: &str,
    chain: &str,
    policy: &str,
    entry: &Entry<'_>,
    entries: &[Entry<'_>],
) -> Row {
    let b = entry.bytes;
    let ip = |at: usize| -> String {
        b.get(at..at + 4)
            .and_then(|o| <[u8; 4]>::try_from(o).ok())
            .map(|o| Ipv4Addr::from(o).to_string())
            .unwrap_or_default()
    };
    let iface = |at: usize| c_text(b.get(at..at + 16).unwrap_or(&[]));
    let iface_mask = |at: usize| -> String {
        let mask = b.get(at..at + 16).unwrap_or(&[]);
        if mask.iter().all(|&m| m == 0) {
            String::new()
        } else {
            mask.get(..4)
                .and_then(|o| <[u8; 4]>::try_from(o).ok())
                .map(|o| Ipv4Addr::from(o).to_string())
                .unwrap_or_default()
        }
    };
    let protocol = u16_at(b, 80).unwrap_or(0);
    let counter = |at: usize| -> i64 {
        b.get(at..at + 8)
            .and_then(|c| c.try_into().ok())
            .map_or(0, |c| {
                i64::try_from(u64::from_ne_bytes(c)).unwrap_or(i64::MAX)
            })
    };
    let rule_matches = matches(entry);
    let (mut src_port, mut dst_port) = (String::new(), String::new());
    for (name, data) in &rule_matches {
        if name == "tcp" || name == "udp" {
            let port = |at: usize| u16_at(data, at).unwrap_or(0);
            src_port = format!("{}:{}", port(0), port(2));
            dst_port = format!("{}:{}", port(4), port(6));
        }
    }
    IptablesRow {
        filter_name: table.into(),
        chain: chain.into(),
        policy: policy.into(),
        target: target_name(entry, entries).into(),
        protocol: Value::Int(i64::from(protocol)),
        src_port: src_port.into(),
        dst_port: dst_port.into(),
        src_ip: ip(0).into(),
        src_mask: ip(8).into(),
        iniface: iface(16).into(),
        iniface_mask: iface_mask(48).into(),
        dst_ip: ip(4).into(),
        dst_mask: ip(12).into(),
        outiface: iface(32).into(),
        outiface_mask: iface_mask(64).into(),
        r#match: if rule_matches.is_empty() { "no" } else { "yes" }.into(),
        packets: Value::Int(counter(96)),
        bytes: Value::Int(counter(104)),
    }
    .into()
}

fn c_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or(&[])).into_owned()
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ipt_entry` as the kernel lays it out: addresses, interfaces, protocol, counters,
    /// matches, then the target (`name` empty for the standard target with `data` a verdict).
    fn entry(
        src: [u8; 4],
        iniface: &str,
        proto: u16,
        matches: &[(&str, Vec<u8>)],
        target: &str,
        data: &[u8],
        packets: u64,
    ) -> Vec<u8> {
        let mut e = vec![0u8; ENTRY_HEADER];
        e[0..4].copy_from_slice(&src);
        if !src.iter().all(|&b| b == 0) {
            e[8..12].copy_from_slice(&[255, 255, 255, 0]);
        }
        e[16..16 + iniface.len()].copy_from_slice(iniface.as_bytes());
        for m in &mut e[48..48 + iniface.len() + usize::from(!iniface.is_empty())] {
            *m = 0xff;
        }
        e[80..82].copy_from_slice(&proto.to_ne_bytes());
        e[96..104].copy_from_slice(&packets.to_ne_bytes());
        e[104..112].copy_from_slice(&(packets * 60).to_ne_bytes());
        let xt = |name: &str, data: &[u8]| {
            let size = (XT_HEADER + data.len()).div_ceil(8) * 8;
            let mut x = vec![0u8; size];
            x[0..2].copy_from_slice(&(size as u16).to_ne_bytes());
            x[2..2 + name.len()].copy_from_slice(name.as_bytes());
            x[XT_HEADER..XT_HEADER + data.len()].copy_from_slice(data);
            x
        };
        for (name, data) in matches {
            e.extend(xt(name, data));
        }
        let target_offset = e.len();
        e.extend(xt(target, data));
        e[88..90].copy_from_slice(&(target_offset as u16).to_ne_bytes());
        let next = e.len() as u16;
        e[90..92].copy_from_slice(&next.to_ne_bytes());
        e
    }

    #[test]
    fn a_filter_table_with_a_user_chain() {
        let tcp_22: Vec<u8> = [0u16, 65535, 22, 22]
            .iter()
            .flat_map(|p| p.to_ne_bytes())
            .chain([0u8; 4])
            .collect();
        let verdict = |v: i32| v.to_ne_bytes().to_vec();
        let mut name = [0u8; 32];
        name[..7].copy_from_slice(b"LOGDROP");
        let rules = [
            // INPUT: accept ssh on eth0 from 10.0.0.0/24, jump to LOGDROP, policy DROP.
            entry(
                [10, 0, 0, 0],
                "eth0",
                6,
                &[("tcp", tcp_22)],
                "",
                &verdict(-2),
                7,
            ),
            entry([0; 4], "", 0, &[], "", &verdict(0), 0), // jump target patched below
            entry([0; 4], "", 0, &[], "", &verdict(-1), 3),
            // The user chain: its head, a REJECT, its RETURN; then the table's end.
            entry([0; 4], "", 0, &[], "ERROR", &name, 0),
            entry([0; 4], "", 17, &[], "REJECT", &[0u8; 8], 1),
            entry([0; 4], "", 0, &[], "", &verdict(-5), 0),
            entry(
                [0; 4],
                "",
                0,
                &[],
                "ERROR",
                b"ERROR\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
                0,
            ),
        ];
        let offsets: Vec<usize> = rules
            .iter()
            .scan(0, |at, r| {
                let o = *at;
                *at += r.len();
                Some(o)
            })
            .collect();
        let mut rules = rules.to_vec();
        // The jump goes to the first rule after the chain's head.
        let jump = (offsets[3] + rules[3].len()) as i32;
        let target_offset = usize::from(u16_at(&rules[1], 88).expect("offset"));
        rules[1][target_offset + XT_HEADER..target_offset + XT_HEADER + 4]
            .copy_from_slice(&jump.to_ne_bytes());
        let blob = TableBlob {
            valid_hooks: 1 << 1,
            hook_entry: [0, offsets[0] as u32, 0, 0, 0],
            underflow: [0, offsets[2] as u32, 0, 0, 0],
            entries: rules.concat(),
        };
        let rows = table_rows("filter", &blob);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r[IptablesRow::chain].clone(),
                    r[IptablesRow::policy].clone(),
                    r[IptablesRow::target].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("INPUT".into(), "DROP".into(), "ACCEPT".into()),
                ("INPUT".into(), "DROP".into(), "LOGDROP".into()),
                ("LOGDROP".into(), "".into(), "REJECT".into()),
            ]
        );
        let ssh = &rows[0];
        assert_eq!(ssh[IptablesRow::protocol], Value::Int(6));
        assert_eq!(ssh[IptablesRow::src_ip], Value::from("10.0.0.0"));
        assert_eq!(ssh[IptablesRow::src_mask], Value::from("255.255.255.0"));
        assert_eq!(ssh[IptablesRow::iniface], Value::from("eth0"));
        assert_eq!(
            ssh[IptablesRow::iniface_mask],
            Value::from("255.255.255.255")
        );
        assert_eq!(ssh[IptablesRow::dst_port], Value::from("22:22"));
        assert_eq!(ssh[IptablesRow::src_port], Value::from("0:65535"));
        assert_eq!(ssh[IptablesRow::r#match], Value::from("yes"));
        assert_eq!(ssh[IptablesRow::packets], Value::Int(7));
        assert_eq!(ssh[IptablesRow::bytes], Value::Int(420));
        assert_eq!(rows[1][IptablesRow::r#match], Value::from("no"));
        // Cut short anywhere, the blob gives fewer rules, never a panic.
        for cut in 0..blob.entries.len() {
            let short = TableBlob {
                entries: blob.entries[..cut].to_vec(),
                ..blob
            };
            let _ = table_rows("filter", &short);
        }
    }

    #[test]
    fn the_host_tables_answer() {
        let rows: Vec<Row> = Iptables
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        for row in &rows {
            assert!(
                row[IptablesRow::filter_name]
                    .as_text()
                    .is_some_and(|n| !n.is_empty())
            );
            assert!(matches!(
                row[IptablesRow::r#match].as_text(),
                Some("yes" | "no")
            ));
            assert!(row[IptablesRow::packets].as_i64().is_some_and(|p| p >= 0));
        }
    }
}
