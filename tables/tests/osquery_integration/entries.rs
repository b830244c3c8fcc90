//! One entry per vigil table: osquery's checks of its columns (from osquery's
//! `tests/integration/tables/<table>.cpp`; where osquery's test leaves its map commented out,
//! that map; for a table osquery has no test of, checks from its spec and meaning), which spec
//! it follows, and the columns vigil adds. A new table needs one entry here. Plain std, so that
//! an end-to-end test can include this file too.

#![allow(dead_code)]

use super::checks::{
    BOOL, Check, DIRECTORY_ON_DISK, FILE_ON_DISK, INT_OR_EMPTY, INT_TYPE, MD5, NON_EMPTY_STRING,
    NON_NEGATIVE_INT, NON_NEGATIVE_OR_ERROR_INT, NON_ZERO, NORMAL_TYPE, SHA1, VALID_UUID,
    cron_values, empty_or_ip_address, ip_address, mac_address, uid_gid,
};

/// Which of osquery's specs a table follows.
#[derive(Clone, Copy)]
pub enum Spec {
    /// osquery's table of this name (in `specs.tsv`).
    Osquery(&'static str),
    /// None, and why.
    None(&'static str),
}

/// How many rows the entry's query must give.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rows {
    Any,
    AtLeast(usize),
    Exactly(usize),
    /// At least this many where the path exists (what the table reads: a host without
    /// `/proc/modules` or a dpkg database has no rows to give), any number elsewhere.
    AtLeastWhere(usize, &'static str),
}

pub struct Entry {
    /// vigil's name of the table.
    pub table: &'static str,
    pub spec: Spec,
    /// The `WHERE` clause of the query (empty: none). `{tmp}` is the test's directory (holding
    /// `辞書.txt` and `file-table-test.txt` with `test`, `hash.txt` with osquery's hash test
    /// text, and `open.txt`, which the test holds open), `{pid}` the test's process,
    /// `{env:NAME}` the value of its environment variable `NAME` (quoted for SQL).
    pub filter: &'static str,
    pub rows: Rows,
    /// Every column `SELECT *` gives, with its check.
    pub columns: &'static [(&'static str, Check)],
    /// Hidden columns, checked in `SELECT *, <these>` (osquery's `validate_container_rows`).
    pub hidden: &'static [(&'static str, Check)],
    /// Columns of `columns` and `hidden` that osquery's Linux spec does not have.
    pub vigil_only: &'static [&'static str],
    /// Columns whose type differs from the spec's on purpose, and why.
    pub types_differ: &'static [(&'static str, &'static str)],
    /// More `WHERE` clauses, each giving at least one row that passes the same checks.
    pub more: &'static [&'static str],
    /// A column whose values must all differ.
    pub unique: Option<&'static str>,
    /// `WHERE` clauses no row may match: osquery's checks across columns of a row.
    pub violations: &'static [&'static str],
}

impl Entry {
    const fn new(
        table: &'static str,
        spec: Spec,
        columns: &'static [(&'static str, Check)],
    ) -> Self {
        Self {
            table,
            spec,
            filter: "",
            rows: Rows::Any,
            columns,
            hidden: &[],
            vigil_only: &[],
            types_differ: &[],
            more: &[],
            unique: None,
            violations: &[],
        }
    }
}

const fn flags(f: u32) -> Check {
    Check::Flags(f)
}

const NORMAL: Check = flags(NORMAL_TYPE);
const INT: Check = flags(INT_TYPE);
const NON_NEG: Check = flags(NON_NEGATIVE_INT);
const NON_EMPTY: Check = flags(NON_EMPTY_STRING);
const IP: Check = Check::Custom("an IP address", ip_address);
const EMPTY_OR_IP: Check = Check::Custom("empty or an IP address", empty_or_ip_address);
const PORT: Check = Check::IntRange(0, 65_535);
const UID_GID: Check = Check::Custom("a uid or gid (at least -2)", uid_gid);
const NAMESPACE: &[(&str, Check)] = &[("pid_with_namespace", INT), ("mount_namespace_id", NORMAL)];

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// osquery's `timeSanityCheck` of `processes.start_time`: -1, or between boot and now.
fn start_time(value: &str) -> bool {
    let Ok(start) = value.parse::<i64>() else {
        return false;
    };
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split('.').next().and_then(|s| s.parse::<i64>().ok()))
        .unwrap_or(0);
    let now = now();
    start == -1 || (start <= now && now - uptime - 1 <= start)
}

/// osquery's `checkProcessOpenFilePath`: absolute, or an unlinked file.
fn open_file_path(value: &str) -> bool {
    value.contains("(deleted)") || value.starts_with('/')
}

/// osquery's `interface_details` checks off Windows: a non-negative integer, never empty.
fn non_negative(value: &str) -> bool {
    value.parse::<i64>().is_ok_and(|v| v >= 0)
}

fn non_empty(value: &str) -> bool {
    !value.is_empty()
}

fn bool_or_empty(value: &str) -> bool {
    matches!(value, "" | "0" | "1")
}

/// A JSON array of strings (`json_cmdline`).
fn json_strings(value: &str) -> bool {
    value.starts_with('[') && value.ends_with(']')
}

/// An address as /proc writes it: `0x` and hex digits (`kernel_modules`), or hex digits alone
/// (`process_memory_map`'s `start` and `end`).
fn hex_address(value: &str) -> bool {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `load_average`'s text of a decimal.
fn non_negative_decimal(value: &str) -> bool {
    value.parse::<f64>().is_ok_and(|v| v >= 0.0)
}

/// `iptables`' ports: empty where the rule has no port match, else `from:to`.
fn port_range(value: &str) -> bool {
    let port = |p: &str| p.parse::<u16>().is_ok();
    value.is_empty()
        || value
            .split_once(':')
            .map_or(port(value), |(from, to)| port(from) && port(to))
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn cron_minute(value: &str) -> bool {
    cron_values(value, 0, 59, &[])
}

fn cron_hour(value: &str) -> bool {
    cron_values(value, 0, 23, &[])
}

fn cron_day_of_month(value: &str) -> bool {
    cron_values(value, 1, 31, &[])
}

/// osquery's range for months is 1 to 31, as in its test.
fn cron_month(value: &str) -> bool {
    cron_values(value, 1, 31, MONTHS)
}

fn cron_day_of_week(value: &str) -> bool {
    cron_values(value, 0, 7, DAYS)
}

/// Every table vigil has, by vigil's name.
pub const ENTRIES: &[Entry] = &[
    // Snapshot tables: osquery's own checks.
    Entry {
        rows: Rows::AtLeast(2),
        ..Entry::new(
            "processes",
            Spec::Osquery("processes"),
            &[
                ("pid", INT),
                ("name", NORMAL),
                ("path", NORMAL),
                ("cmdline", NORMAL),
                ("state", NORMAL),
                ("cwd", NORMAL),
                ("root", NORMAL),
                ("uid", INT),
                ("gid", INT),
                ("euid", INT),
                ("egid", INT),
                ("suid", INT),
                ("sgid", INT),
                ("on_disk", INT),
                ("wired_size", INT),
                ("resident_size", NORMAL),
                ("total_size", NORMAL),
                ("user_time", INT),
                ("system_time", INT),
                ("disk_bytes_read", NORMAL),
                ("disk_bytes_written", NORMAL),
                ("parent", INT),
                ("pgroup", INT),
                ("threads", INT),
                ("nice", INT),
                (
                    "start_time",
                    Check::Custom("-1 or between boot and now", start_time),
                ),
                ("cgroup_path", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("pid_with_namespace", INT), ("include_remote", INT)],
        // osquery's spec has `type` on Windows only; fleet managers' user queries read it on
        // Linux too (`WHERE type <> 'special'`).
        vigil_only: &["type"],
        more: &[
            "uid = 0",
            "username = 'root'",
            "include_remote = 1",
            "include_remote = 1 AND uid = 0",
            "include_remote = 1 AND username = 'root'",
        ],
        ..Entry::new(
            "users",
            Spec::Osquery("users"),
            &[
                ("uid", NON_NEG),
                ("uid_signed", INT),
                ("gid_signed", INT),
                ("description", NORMAL),
                ("shell", NON_EMPTY),
                ("gid", NON_NEG),
                ("username", NON_EMPTY),
                ("directory", NON_EMPTY),
                ("uuid", NORMAL),
                ("type", Check::OneOf(&["local", "remote"])),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("pid_with_namespace", INT)],
        more: &["gid = 0"],
        ..Entry::new(
            "groups",
            Spec::Osquery("groups"),
            &[("gid", INT), ("gid_signed", INT), ("groupname", NORMAL)],
        )
    },
    Entry::new(
        "logged_in_users",
        Spec::Osquery("logged_in_users"),
        &[
            ("type", NON_EMPTY),
            ("user", NORMAL),
            ("tty", NORMAL),
            ("host", NORMAL),
            ("time", NON_NEG),
            ("pid", flags(NON_NEGATIVE_OR_ERROR_INT)),
        ],
    ),
    Entry {
        rows: Rows::Exactly(1),
        hidden: NAMESPACE,
        // osquery's spec has `extra` on macOS only (its Rapid Security Response); fleet
        // managers' OS query reads it on every Unix.
        vigil_only: &["extra"],
        ..Entry::new(
            "os_version",
            Spec::Osquery("os_version"),
            &[
                ("name", NON_EMPTY),
                ("version", NON_EMPTY),
                ("major", NON_NEG),
                ("minor", NON_NEG),
                ("patch", NORMAL),
                ("build", NORMAL),
                ("platform", NON_EMPTY),
                ("platform_like", NON_EMPTY),
                ("codename", NORMAL),
                ("arch", NON_EMPTY),
                ("extra", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::Exactly(1),
        ..Entry::new(
            "system_info",
            Spec::Osquery("system_info"),
            &[
                ("hostname", NORMAL),
                ("uuid", flags(VALID_UUID)),
                ("cpu_type", NON_EMPTY),
                ("cpu_subtype", NORMAL),
                ("cpu_brand", NORMAL),
                ("cpu_physical_cores", NON_NEG),
                ("cpu_logical_cores", NON_NEG),
                ("cpu_sockets", NON_NEG),
                ("cpu_microcode", NORMAL),
                ("physical_memory", NON_NEG),
                ("hardware_vendor", NORMAL),
                ("hardware_model", NORMAL),
                ("hardware_version", NORMAL),
                ("hardware_serial", NORMAL),
                ("board_vendor", NORMAL),
                ("board_model", NORMAL),
                ("board_version", NORMAL),
                ("board_serial", NORMAL),
                ("computer_name", NORMAL),
                ("local_hostname", NON_EMPTY),
            ],
        )
    },
    Entry::new(
        "kernel_info",
        Spec::Osquery("kernel_info"),
        &[
            ("version", NON_EMPTY),
            ("arguments", NORMAL),
            ("path", NORMAL),
            ("device", NORMAL),
        ],
    ),
    Entry {
        rows: Rows::Exactly(1),
        ..Entry::new(
            "uptime",
            Spec::Osquery("uptime"),
            &[
                ("days", NON_NEG),
                ("hours", Check::IntRange(0, 24)),
                ("minutes", Check::IntRange(0, 60)),
                ("seconds", Check::IntRange(0, 60)),
                ("total_seconds", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::Exactly(1),
        ..Entry::new(
            "time",
            Spec::Osquery("time"),
            &[
                ("weekday", NON_EMPTY),
                ("year", INT),
                ("month", Check::IntRange(1, 12)),
                ("day", Check::IntRange(1, 31)),
                ("hour", Check::IntRange(0, 24)),
                ("minutes", Check::IntRange(0, 59)),
                ("seconds", Check::IntRange(0, 59)),
                ("timezone", NON_EMPTY),
                ("local_timezone", NON_EMPTY),
                ("unix_time", NON_NEG),
                ("timestamp", NON_EMPTY),
                ("datetime", NON_EMPTY),
                ("iso_8601", NON_EMPTY),
            ],
        )
    },
    Entry {
        unique: Some("address"),
        ..Entry::new(
            "interface_addresses",
            Spec::Osquery("interface_addresses"),
            &[
                ("interface", NON_EMPTY),
                ("address", IP),
                ("mask", EMPTY_OR_IP),
                ("broadcast", EMPTY_OR_IP),
                ("point_to_point", EMPTY_OR_IP),
                (
                    "type",
                    Check::OneOf(&["dhcp", "manual", "auto", "other", "unknown"]),
                ),
            ],
        )
    },
    Entry::new(
        "interface_details",
        Spec::Osquery("interface_details"),
        &[
            ("interface", NON_EMPTY),
            ("mac", Check::Custom("not empty", non_empty)),
            ("type", NON_NEG),
            ("mtu", Check::Custom("not empty", non_empty)),
            ("metric", NON_NEG),
            ("flags", NON_NEG),
            (
                "ipackets",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "opackets",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "ibytes",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "obytes",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "ierrors",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "oerrors",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "idrops",
                Check::Custom("a non-negative integer", non_negative),
            ),
            (
                "odrops",
                Check::Custom("a non-negative integer", non_negative),
            ),
            ("collisions", flags(NON_NEGATIVE_OR_ERROR_INT)),
            ("last_change", INT),
            ("link_speed", NON_NEG),
            ("pci_slot", NORMAL),
        ],
    ),
    // osquery's test of listening_ports leaves its map commented out: that map.
    Entry::new(
        "listening_ports",
        Spec::Osquery("listening_ports"),
        &[
            ("pid", INT),
            ("port", INT),
            ("protocol", INT),
            ("family", INT),
            ("address", NORMAL),
            ("fd", INT),
            ("socket", INT),
            ("path", NORMAL),
            ("net_namespace", NORMAL),
        ],
    ),
    Entry {
        rows: Rows::AtLeast(1),
        ..Entry::new(
            "process_open_sockets",
            Spec::Osquery("process_open_sockets"),
            &[
                ("pid", INT),
                ("fd", flags(INT_OR_EMPTY)),
                ("socket", flags(INT_OR_EMPTY)),
                ("family", INT),
                ("protocol", INT),
                ("local_address", NORMAL),
                ("remote_address", NORMAL),
                ("local_port", INT),
                ("remote_port", INT),
                ("path", NORMAL),
                ("state", NORMAL),
                ("net_namespace", INT),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        // osquery's test finds the file it holds open among its own process's.
        more: &["pid = {pid} AND path = '{tmp}/open.txt'"],
        ..Entry::new(
            "process_open_files",
            Spec::Osquery("process_open_files"),
            &[
                ("pid", NON_NEG),
                ("fd", NON_NEG),
                (
                    "path",
                    Check::Custom("an absolute path or (deleted)", open_file_path),
                ),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        ..Entry::new(
            "mounts",
            Spec::Osquery("mounts"),
            &[
                ("device", NORMAL),
                ("device_alias", NORMAL),
                ("path", NORMAL),
                ("type", NORMAL),
                ("blocks_size", INT),
                ("blocks", INT),
                ("blocks_free", INT),
                ("blocks_available", INT),
                ("inodes", INT),
                ("inodes_free", INT),
                ("flags", NORMAL),
            ],
        )
    },
    Entry {
        // osquery's `test_sanity_path`, an OR of two LIKEs; and `test_sanity_directory`.
        filter: "path LIKE '{tmp}/%.txt' OR path LIKE '{tmp}/%.lnk'",
        rows: Rows::Exactly(4),
        hidden: NAMESPACE,
        more: &["directory = '{tmp}' AND (filename LIKE '%.txt' OR filename LIKE '%.lnk')"],
        ..Entry::new(
            "file",
            Spec::Osquery("file"),
            &[
                ("path", flags(FILE_ON_DISK)),
                ("directory", flags(DIRECTORY_ON_DISK)),
                ("filename", NON_EMPTY),
                ("inode", INT),
                ("uid", NON_NEG),
                ("gid", NON_NEG),
                ("mode", NORMAL),
                ("device", INT),
                ("size", NON_NEG),
                ("block_size", NON_NEG),
                ("atime", NON_NEG),
                ("mtime", NON_NEG),
                ("ctime", NON_NEG),
                ("btime", NON_NEG),
                ("hard_links", INT),
                ("symlink", INT),
                ("type", NON_EMPTY),
                ("symlink_target_path", NORMAL),
            ],
        )
    },
    Entry {
        filter: "path = '{tmp}/hash.txt'",
        rows: Rows::Exactly(1),
        hidden: NAMESPACE,
        ..Entry::new(
            "hash",
            Spec::Osquery("hash"),
            &[
                ("path", Check::Is("{tmp}/hash.txt")),
                ("directory", Check::Is("{tmp}")),
                ("md5", Check::Is("35899082e51edf667f14477ac000cbba")),
                (
                    "sha1",
                    Check::Is("e7505beb754bed863e3885f73e3bb6866bdd7f8c"),
                ),
                (
                    "sha256",
                    Check::Is("a58dd8680234c1f8cc2ef2b325a43733605a7f16f288e072de8eae81fd8d6433"),
                ),
            ],
        )
    },
    // Snapshot tables of issue 14. Where osquery's test only runs `SELECT *` (no map), the
    // checks come from the spec's types and each column's meaning.
    Entry {
        // osquery asserts rows; a kernel without loadable modules has no `/proc/modules`.
        rows: Rows::AtLeastWhere(1, "/proc/modules"),
        ..Entry::new(
            "kernel_modules",
            Spec::Osquery("kernel_modules"),
            &[
                ("name", NON_EMPTY),
                ("size", NON_NEG),
                ("used_by", NON_EMPTY),
                ("status", NON_EMPTY),
                // osquery checks NonNegativeInt, which its own value (`0xffffffffc0a2e000`,
                // the text of /proc/modules, a TEXT column in its spec) fails.
                ("address", Check::Custom("a 0x hex address", hex_address)),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        more: &["type = 'local'"],
        ..Entry::new(
            "routes",
            Spec::Osquery("routes"),
            &[
                ("destination", IP),
                ("netmask", Check::IntRange(0, 128)),
                ("gateway", NORMAL),
                ("source", EMPTY_OR_IP),
                ("flags", INT),
                ("interface", NORMAL),
                ("mtu", INT),
                ("metric", INT),
                (
                    "type",
                    Check::OneOf(&[
                        "anycast",
                        "broadcast",
                        "dynamic",
                        "gateway",
                        "local",
                        "other",
                        "remote",
                        "router",
                        "static",
                    ]),
                ),
                ("hopcount", Check::IntRange(0, 255)),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeastWhere(1, "/var/lib/dpkg/status"),
        hidden: NAMESPACE,
        // osquery finds dpkg among the packages where there are any.
        more: &["name = 'dpkg'"],
        ..Entry::new(
            "deb_packages",
            Spec::Osquery("deb_packages"),
            &[
                ("name", NON_EMPTY),
                ("version", NON_EMPTY),
                ("source", NORMAL),
                ("size", flags(INT_OR_EMPTY)),
                ("arch", NON_EMPTY),
                ("revision", NORMAL),
                ("status", NON_EMPTY),
                ("maintainer", NON_EMPTY),
                ("section", NORMAL),
                ("priority", NORMAL),
                ("admindir", NON_EMPTY),
            ],
        )
    },
    Entry {
        hidden: NAMESPACE,
        ..Entry::new(
            "rpm_packages",
            Spec::Osquery("rpm_packages"),
            &[
                ("name", NON_EMPTY),
                ("version", NORMAL),
                ("release", NORMAL),
                ("source", NORMAL),
                ("size", INT),
                ("sha1", NON_EMPTY),
                ("arch", NON_EMPTY),
                ("epoch", flags(INT_OR_EMPTY)),
                ("install_time", INT),
                ("vendor", NON_EMPTY),
                ("package_group", NON_EMPTY),
            ],
        )
    },
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "apt_sources",
            Spec::Osquery("apt_sources"),
            &[
                ("name", NON_EMPTY),
                ("source", flags(FILE_ON_DISK)),
                ("base_uri", NON_EMPTY),
                ("release", NORMAL),
                ("version", NORMAL),
                ("maintainer", NON_EMPTY),
                ("components", NORMAL),
                ("architectures", NON_EMPTY),
            ],
        )
    },
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "yum_sources",
            Spec::Osquery("yum_sources"),
            &[
                ("name", NON_EMPTY),
                ("source", flags(FILE_ON_DISK)),
                ("baseurl", NORMAL),
                ("mirrorlist", NORMAL),
                ("metalink", NORMAL),
                ("enabled", NORMAL),
                ("gpgcheck", NORMAL),
                ("gpgkey", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::Exactly(1),
        ..Entry::new(
            "memory_info",
            Spec::Osquery("memory_info"),
            &[
                ("memory_total", flags(NON_NEGATIVE_INT | NON_ZERO)),
                ("memory_free", NON_NEG),
                ("memory_available", NON_NEG),
                ("buffers", NON_NEG),
                ("cached", NON_NEG),
                ("swap_cached", NON_NEG),
                ("active", NON_NEG),
                ("inactive", NON_NEG),
                ("swap_total", NON_NEG),
                ("swap_free", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        unique: Some("core"),
        ..Entry::new(
            "cpu_time",
            Spec::Osquery("cpu_time"),
            &[
                ("core", NON_NEG),
                ("user", NON_NEG),
                ("nice", NON_NEG),
                ("system", NON_NEG),
                ("idle", NON_NEG),
                ("iowait", NON_NEG),
                ("irq", NON_NEG),
                ("softirq", NON_NEG),
                ("steal", NON_NEG),
                ("guest", NON_NEG),
                ("guest_nice", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::Exactly(3),
        unique: Some("period"),
        ..Entry::new(
            "load_average",
            Spec::Osquery("load_average"),
            &[
                ("period", Check::OneOf(&["1m", "5m", "15m"])),
                (
                    "average",
                    Check::Custom("a non-negative decimal", non_negative_decimal),
                ),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeastWhere(1, "/sys/block"),
        unique: Some("name"),
        ..Entry::new(
            "block_devices",
            Spec::Osquery("block_devices"),
            &[
                ("name", NON_EMPTY),
                ("parent", NORMAL),
                ("vendor", NORMAL),
                ("model", NORMAL),
                ("serial", NORMAL),
                ("size", NON_NEG),
                ("block_size", NON_NEG),
                ("uuid", NORMAL),
                ("type", NORMAL),
                ("label", NORMAL),
            ],
        )
    },
    Entry::new(
        "disk_encryption",
        Spec::Osquery("disk_encryption"),
        &[
            ("name", NON_EMPTY),
            ("uuid", NORMAL),
            ("encrypted", flags(BOOL)),
            ("type", NORMAL),
            (
                "encryption_status",
                Check::OneOf(&["encrypted", "not encrypted"]),
            ),
        ],
    ),
    Entry::new(
        "usb_devices",
        Spec::Osquery("usb_devices"),
        &[
            ("usb_address", NON_NEG),
            ("usb_port", NON_NEG),
            ("vendor", NORMAL),
            ("vendor_id", NORMAL),
            ("version", NORMAL),
            ("model", NORMAL),
            ("model_id", NORMAL),
            ("serial", NORMAL),
            ("class", NORMAL),
            ("subclass", NORMAL),
            ("protocol", NORMAL),
            ("removable", Check::IntRange(-1, 1)),
        ],
    ),
    // The hardware tables: osquery's tests of them leave their maps commented out (but `cpuid`'s
    // and `system_controls`'), so these are those maps.
    // osquery's test_sanity map (all NormalType but ca and self_signed), with the values its
    // OpenSSL code gives held to their forms.
    Entry {
        rows: Rows::AtLeastWhere(1, "/etc/ssl/certs/ca-certificates.crt"),
        types_differ: &[
            (
                "not_valid_before",
                "osquery declares DATETIME and gives a Unix time, an integer: vigil declares INTEGER",
            ),
            (
                "not_valid_after",
                "osquery declares DATETIME and gives a Unix time, an integer: vigil declares INTEGER",
            ),
        ],
        violations: &[
            "not_valid_before >= not_valid_after",
            "length(sha1) <> 40",
            "serial = '' OR serial <> upper(serial)",
            "subject_key_id <> lower(subject_key_id) OR length(subject_key_id) % 2 <> 0",
            "subject NOT LIKE '/%'",
            "ca = 1 AND key_usage <> '' AND key_usage NOT LIKE '%Key Cert Sign%'",
        ],
        ..Entry::new(
            "certificates",
            Spec::Osquery("certificates"),
            &[
                ("common_name", NORMAL),
                ("subject", NON_EMPTY),
                ("subject2", NON_EMPTY),
                ("issuer", NON_EMPTY),
                ("issuer2", NON_EMPTY),
                ("ca", flags(BOOL)),
                ("self_signed", flags(BOOL)),
                ("not_valid_before", INT),
                ("not_valid_after", INT),
                ("signing_algorithm", NON_EMPTY),
                ("key_algorithm", NON_EMPTY),
                ("key_strength", NORMAL),
                ("key_usage", NORMAL),
                ("subject_key_id", NORMAL),
                ("authority_key_id", NORMAL),
                ("sha1", flags(SHA1)),
                ("path", flags(FILE_ON_DISK)),
                ("serial", NON_EMPTY),
            ],
        )
    },
    Entry {
        // Reading the firmware's tables needs root, as the test runs.
        rows: Rows::AtLeastWhere(1, "/sys/firmware/acpi/tables/DSDT"),
        more: &["name = 'DSDT'"],
        violations: &["size >= 0 AND length(md5) <> 32", "size < -1"],
        ..Entry::new(
            "acpi_tables",
            Spec::Osquery("acpi_tables"),
            &[("name", NON_EMPTY), ("size", INT), ("md5", NORMAL)],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        unique: Some("feature"),
        more: &["feature = 'vendor'", "feature = 'sse2' AND value = '1'"],
        ..Entry::new(
            "cpuid",
            Spec::Osquery("cpuid"),
            &[
                ("feature", NORMAL),
                ("value", NORMAL),
                ("output_register", NORMAL),
                ("output_bit", INT),
                ("input_eax", NORMAL),
            ],
        )
    },
    Entry {
        // This project's CI host (a VM without SMBIOS) has no table to read.
        rows: Rows::AtLeastWhere(1, "/sys/firmware/dmi/tables/DMI"),
        unique: Some("number"),
        violations: &["size < header_size", "header_size < 4"],
        ..Entry::new(
            "smbios_tables",
            Spec::Osquery("smbios_tables"),
            &[
                ("number", INT),
                ("type", INT),
                ("description", NORMAL),
                ("handle", INT),
                ("header_size", INT),
                ("size", INT),
                ("md5", flags(MD5)),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeastWhere(1, "/sys/bus/pci/devices"),
        unique: Some("pci_slot"),
        ..Entry::new(
            "pci_devices",
            Spec::Osquery("pci_devices"),
            &[
                ("pci_slot", NON_EMPTY),
                ("pci_class", NORMAL),
                ("driver", NORMAL),
                ("vendor", NORMAL),
                ("vendor_id", NORMAL),
                ("model", NORMAL),
                ("model_id", NORMAL),
                ("pci_class_id", NORMAL),
                ("pci_subclass_id", NORMAL),
                ("pci_subclass", NORMAL),
                ("subsystem_vendor_id", NORMAL),
                ("subsystem_vendor", NORMAL),
                ("subsystem_model_id", NORMAL),
                ("subsystem_model", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        unique: Some("name"),
        more: &[
            "name = 'kernel.hostname'",
            "subsystem = 'vm'",
            "name = 'net.ipv4.ip_forward' AND current_value IN ('0', '1')",
        ],
        // No numeric ids on Linux (osquery's `oid = ...` asks sysctl(2), gone since 5.5).
        violations: &["oid = '4.30.41.1'", "oid <> ''"],
        ..Entry::new(
            "system_controls",
            Spec::Osquery("system_controls"),
            &[
                ("name", NON_EMPTY),
                ("oid", NORMAL),
                (
                    "subsystem",
                    // osquery's list, and `crypto` (`/proc/sys/crypto`, kernels with FIPS
                    // support), which osquery's list lacks.
                    Check::OneOf(&[
                        "", "abi", "crypto", "debug", "dev", "fs", "fscache", "hw", "kern",
                        "kernel", "machdep", "net", "sunrpc", "user", "vfs", "vm",
                    ]),
                ),
                ("current_value", NORMAL),
                ("config_value", NORMAL),
                (
                    "type",
                    Check::OneOf(&["", "node", "int", "string", "quad", "opaque", "struct"]),
                ),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        more: &["uid = 0"],
        ..Entry::new(
            "user_groups",
            Spec::Osquery("user_groups"),
            &[("uid", UID_GID), ("gid", UID_GID)],
        )
    },
    Entry::new(
        "opera_extensions",
        Spec::None(
            "osquery folded opera_extensions into chrome_extensions in 2021 (cf722bc3f, #6780) and \
             dropped its spec; its own vuln-management pack still queries it: the columns of its \
             last spec, checked as its last test's map",
        ),
        &[
            ("uid", INT),
            ("name", NORMAL),
            ("identifier", NORMAL),
            ("version", NORMAL),
            ("description", NORMAL),
            ("locale", NORMAL),
            ("update_url", NORMAL),
            ("author", NORMAL),
            ("persistent", INT),
            ("path", NORMAL),
        ],
    ),
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "crontab",
            Spec::Osquery("crontab"),
            &[
                (
                    "event",
                    Check::OneOf(&[
                        "",
                        "@reboot",
                        "@hourly",
                        "@daily",
                        "@weekly",
                        "@monthly",
                        "@annually",
                        "@yearly",
                    ]),
                ),
                ("minute", Check::Custom("cron minutes (0-59)", cron_minute)),
                ("hour", Check::Custom("cron hours (0-23)", cron_hour)),
                (
                    "day_of_month",
                    Check::Custom("cron days of the month (1-31)", cron_day_of_month),
                ),
                ("month", Check::Custom("cron months", cron_month)),
                (
                    "day_of_week",
                    Check::Custom("cron days of the week", cron_day_of_week),
                ),
                ("command", NON_EMPTY),
                ("path", flags(FILE_ON_DISK)),
            ],
        )
    },
    Entry::new(
        "shell_history",
        Spec::Osquery("shell_history"),
        &[
            ("uid", NON_NEG),
            ("time", NON_NEG),
            ("command", NORMAL),
            ("history_file", flags(FILE_ON_DISK)),
        ],
    ),
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "authorized_keys",
            Spec::Osquery("authorized_keys"),
            &[
                ("uid", NON_NEG),
                ("algorithm", NON_EMPTY),
                ("key", NON_EMPTY),
                ("options", NORMAL),
                ("comment", NORMAL),
                ("key_file", flags(FILE_ON_DISK)),
            ],
        )
    },
    Entry::new(
        "sudoers",
        Spec::Osquery("sudoers"),
        &[
            ("source", NON_EMPTY),
            ("header", NON_EMPTY),
            ("rule_details", NON_EMPTY),
        ],
    ),
    Entry {
        rows: Rows::AtLeastWhere(1, "/usr/bin/newgrp"),
        hidden: &[("pid_with_namespace", INT)],
        more: &["path = '/usr/bin/newgrp'"],
        ..Entry::new(
            "suid_bin",
            Spec::Osquery("suid_bin"),
            &[
                ("path", NORMAL),
                ("username", NORMAL),
                ("groupname", NORMAL),
                ("permissions", NORMAL),
            ],
        )
    },
    Entry::new(
        "last",
        Spec::Osquery("last"),
        &[
            ("username", NORMAL),
            ("tty", NORMAL),
            ("pid", NON_NEG),
            ("type", Check::IntRange(7, 8)),
            ("type_name", NORMAL),
            ("time", NON_NEG),
            ("host", NORMAL),
        ],
    ),
    Entry::new(
        "systemd_units",
        Spec::Osquery("systemd_units"),
        &[
            ("id", NORMAL),
            ("description", NORMAL),
            ("load_state", NORMAL),
            ("active_state", NORMAL),
            ("sub_state", NORMAL),
            ("unit_file_state", NORMAL),
            ("following", NORMAL),
            ("object_path", NORMAL),
            ("job_id", NORMAL),
            ("job_type", NORMAL),
            ("job_path", NORMAL),
            ("fragment_path", NORMAL),
            ("user", NORMAL),
            ("source_path", NORMAL),
        ],
    ),
    Entry {
        // osquery's check of a status by type: `enabled` for a startup item, a systemd
        // active state for a unit.
        violations: &[
            "type = 'Startup Item' AND status <> 'enabled'",
            "type = 'systemd unit' AND status NOT IN ('active', 'inactive', 'failed', \
             'maintenance', 'reloading', 'activating', 'deactivating')",
        ],
        ..Entry::new(
            "startup_items",
            Spec::Osquery("startup_items"),
            &[
                ("name", NORMAL),
                ("path", NORMAL),
                ("args", NORMAL),
                ("type", Check::OneOf(&["Startup Item", "systemd unit"])),
                ("source", NORMAL),
                ("status", NON_EMPTY),
                ("username", NORMAL),
            ],
        )
    },
    Entry::new(
        "arp_cache",
        Spec::Osquery("arp_cache"),
        &[
            ("address", IP),
            ("mac", Check::Custom("a MAC address", mac_address)),
            ("interface", NON_EMPTY),
            ("permanent", flags(BOOL)),
        ],
    ),
    Entry {
        rows: Rows::AtLeastWhere(1, "/etc/hosts"),
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "etc_hosts",
            Spec::Osquery("etc_hosts"),
            &[("address", IP), ("hostnames", NON_EMPTY)],
        )
    },
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "dns_resolvers",
            Spec::Osquery("dns_resolvers"),
            &[
                ("id", NON_NEG),
                (
                    "type",
                    Check::OneOf(&["nameserver", "search", "sortlist", "options"]),
                ),
                ("address", NORMAL),
                ("netmask", NORMAL),
                ("options", INT),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        // osquery finds its own process's USER, HOME, LANG and PATH with their values; HOME
        // and PATH are set wherever cargo runs.
        more: &[
            "pid = {pid} AND key = 'HOME' AND value = '{env:HOME}'",
            "pid = {pid} AND key = 'PATH' AND value = '{env:PATH}'",
        ],
        ..Entry::new(
            "process_envs",
            Spec::Osquery("process_envs"),
            &[("pid", NON_NEG), ("key", NON_EMPTY), ("value", NORMAL)],
        )
    },
    Entry {
        filter: "pid = {pid}",
        rows: Rows::AtLeast(1),
        more: &["pid = {pid} AND path LIKE '%/osquery_integration-%'"],
        ..Entry::new(
            "process_memory_map",
            Spec::Osquery("process_memory_map"),
            &[
                ("pid", NON_NEG),
                ("start", Check::Custom("a 0x hex address", hex_address)),
                ("end", Check::Custom("a 0x hex address", hex_address)),
                ("permissions", NON_EMPTY),
                ("offset", NON_NEG),
                ("device", NON_EMPTY),
                ("inode", NON_NEG),
                ("path", NORMAL),
                ("pseudo", flags(BOOL)),
            ],
        )
    },
    Entry::new(
        "iptables",
        Spec::Osquery("iptables"),
        &[
            ("filter_name", NON_EMPTY),
            ("chain", NORMAL),
            ("policy", NORMAL),
            ("target", NORMAL),
            ("protocol", INT),
            // osquery checks IntMinMaxCheck(0, 65535), which its own value (`0:65535`, a
            // range, in a TEXT column) fails.
            (
                "src_port",
                Check::Custom("empty or a port range", port_range),
            ),
            (
                "dst_port",
                Check::Custom("empty or a port range", port_range),
            ),
            ("src_ip", EMPTY_OR_IP),
            ("src_mask", EMPTY_OR_IP),
            ("iniface", NORMAL),
            ("iniface_mask", EMPTY_OR_IP),
            ("dst_ip", EMPTY_OR_IP),
            ("dst_mask", EMPTY_OR_IP),
            ("outiface", NORMAL),
            ("outiface_mask", EMPTY_OR_IP),
            ("match", Check::OneOf(&["yes", "no"])),
            ("packets", NON_NEG),
            ("bytes", NON_NEG),
        ],
    ),
    Entry {
        hidden: &[("pid_with_namespace", INT)],
        ..Entry::new(
            "python_packages",
            Spec::Osquery("python_packages"),
            &[
                ("name", NORMAL),
                ("uid", INT),
                ("version", NORMAL),
                ("summary", NORMAL),
                ("author", NORMAL),
                ("license", NORMAL),
                ("path", NORMAL),
                ("directory", NORMAL),
            ],
        )
    },
    Entry {
        hidden: &[
            ("max_depth", INT),
            ("pid_with_namespace", INT),
            ("mount_namespace_id", NORMAL),
        ],
        ..Entry::new(
            "npm_packages",
            Spec::Osquery("npm_packages"),
            &[
                ("name", NON_EMPTY),
                ("version", NON_EMPTY),
                ("description", NORMAL),
                ("homepage", NORMAL),
                ("author", NORMAL),
                ("license", NORMAL),
                ("path", NON_EMPTY),
                ("directory", NON_EMPTY),
                ("depth", INT),
            ],
        )
    },
    Entry::new(
        "portage_packages",
        Spec::Osquery("portage_packages"),
        &[
            ("package", NON_EMPTY),
            ("version", NON_EMPTY),
            ("slot", NORMAL),
            ("build_time", NON_NEG),
            ("repository", NORMAL),
            ("eapi", NON_NEG),
            ("size", NON_NEG),
            ("world", flags(BOOL)),
        ],
    ),
    Entry::new(
        "docker_containers",
        Spec::Osquery("docker_containers"),
        &[
            ("id", NON_EMPTY),
            ("name", NORMAL),
            ("image", NORMAL),
            ("image_id", NORMAL),
            ("command", NORMAL),
            ("created", NON_NEG),
            ("state", NORMAL),
            ("status", NORMAL),
            ("pid", INT),
            ("path", NORMAL),
            ("config_entrypoint", NORMAL),
            ("started_at", NORMAL),
            ("finished_at", NORMAL),
            ("privileged", flags(BOOL)),
            ("security_options", NORMAL),
            ("env_variables", NORMAL),
            ("readonly_rootfs", flags(BOOL)),
            ("cgroup_namespace", NORMAL),
            ("ipc_namespace", NORMAL),
            ("mnt_namespace", NORMAL),
            ("net_namespace", NORMAL),
            ("pid_namespace", NORMAL),
            ("user_namespace", NORMAL),
            ("uts_namespace", NORMAL),
        ],
    ),
    Entry {
        // osquery's test selects the hidden JSON columns with `*`.
        hidden: &[
            ("permissions_json", NORMAL),
            ("optional_permissions_json", NORMAL),
            ("manifest_json", NORMAL),
            ("key", NORMAL),
        ],
        ..Entry::new(
            "chrome_extensions",
            Spec::Osquery("chrome_extensions"),
            &[
                ("browser_type", NORMAL),
                ("uid", INT),
                ("name", NORMAL),
                ("profile", NORMAL),
                ("profile_path", NORMAL),
                ("identifier", NORMAL),
                ("referenced_identifier", NORMAL),
                ("version", NORMAL),
                ("description", NORMAL),
                ("default_locale", NORMAL),
                ("current_locale", NORMAL),
                ("update_url", NORMAL),
                ("author", NORMAL),
                ("persistent", INT),
                ("path", NORMAL),
                ("permissions", NORMAL),
                ("optional_permissions", NORMAL),
                ("manifest_hash", NORMAL),
                ("referenced", INT),
                ("from_webstore", NORMAL),
                ("state", NORMAL),
                ("install_time", NORMAL),
                ("install_timestamp", INT),
            ],
        )
    },
    Entry::new(
        "firefox_addons",
        Spec::Osquery("firefox_addons"),
        &[
            ("uid", NON_NEG),
            ("name", NORMAL),
            ("identifier", NON_EMPTY),
            ("creator", NORMAL),
            ("type", NORMAL),
            ("version", NORMAL),
            ("description", NORMAL),
            ("source_url", NORMAL),
            ("visible", flags(BOOL)),
            ("active", flags(BOOL)),
            ("disabled", flags(BOOL)),
            ("autoupdate", flags(BOOL)),
            ("location", NORMAL),
            ("path", NORMAL),
        ],
    ),
    // Agent tables: osquery's tests of these leave their maps commented out; those maps, and
    // the spec's types for the columns they leave out.
    Entry {
        rows: Rows::Exactly(1),
        ..Entry::new(
            "vigil_info",
            Spec::Osquery("osquery_info"),
            &[
                ("pid", INT),
                ("uuid", NORMAL),
                ("instance_id", NORMAL),
                ("version", NORMAL),
                ("config_hash", NORMAL),
                ("config_valid", INT),
                ("extensions", NORMAL),
                ("build_platform", NORMAL),
                ("build_distro", NORMAL),
                ("start_time", INT),
                ("watcher", INT),
                ("platform_mask", INT),
            ],
        )
    },
    Entry::new(
        "vigil_flags",
        Spec::Osquery("osquery_flags"),
        &[
            ("name", NORMAL),
            ("type", NORMAL),
            ("description", NORMAL),
            ("default_value", NORMAL),
            ("value", NORMAL),
            ("shell_only", INT),
        ],
    ),
    Entry {
        rows: Rows::AtLeast(1),
        more: &["registry = 'table' AND name = 'osquery_registry' AND active = 1"],
        ..Entry::new(
            "vigil_registry",
            Spec::Osquery("osquery_registry"),
            &[
                ("registry", NORMAL),
                ("name", NORMAL),
                ("owner_uuid", INT),
                ("internal", INT),
                ("active", INT),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("blacklisted", INT)],
        // osquery answers `blacklisted` too, as an alias of `denylisted` (not a spec column).
        vigil_only: &["blacklisted"],
        ..Entry::new(
            "vigil_schedule",
            Spec::Osquery("osquery_schedule"),
            &[
                ("name", NORMAL),
                ("query", NORMAL),
                ("interval", INT),
                ("executions", INT),
                ("last_executed", INT),
                ("denylisted", INT),
                ("output_size", INT),
                ("wall_time", INT),
                ("wall_time_ms", INT),
                ("last_wall_time_ms", INT),
                ("user_time", INT),
                ("last_user_time", INT),
                ("system_time", INT),
                ("last_system_time", INT),
                ("average_memory", INT),
                ("last_memory", INT),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        vigil_only: &[
            "seen",
            "stored",
            "dropped",
            "dropped_ring_buffer",
            "dropped_channel",
            "dropped_store",
            "malformed",
            "corrupt",
            "expired",
            "expired_unread",
            "lost_in_flight",
            "kernel_lost",
            "kernel_buffers_lost",
            "incomplete",
            "argv_truncated",
            "filtered",
            "buffered",
            "source",
            "available",
            "unavailable_reason",
        ],
        ..Entry::new(
            "vigil_events",
            Spec::Osquery("osquery_events"),
            &[
                ("name", NON_EMPTY),
                ("publisher", NORMAL),
                ("type", Check::OneOf(&["publisher", "subscriber"])),
                ("subscriptions", INT),
                ("events", INT),
                ("refreshes", INT),
                ("active", INT),
                ("seen", NON_NEG),
                ("stored", NON_NEG),
                ("dropped", NON_NEG),
                ("dropped_ring_buffer", NON_NEG),
                ("dropped_channel", NON_NEG),
                ("dropped_store", NON_NEG),
                ("malformed", NON_NEG),
                ("corrupt", NON_NEG),
                ("expired", NON_NEG),
                ("expired_unread", NON_NEG),
                ("lost_in_flight", NON_NEG),
                ("kernel_lost", NON_NEG),
                ("kernel_buffers_lost", NON_NEG),
                ("incomplete", NON_NEG),
                ("argv_truncated", NON_NEG),
                ("filtered", NON_NEG),
                ("buffered", NON_NEG),
                ("source", NON_EMPTY),
                // Unknown (NULL) where no collector reports, as in this test.
                (
                    "available",
                    Check::Custom("0, 1, or empty when unknown", bool_or_empty),
                ),
                ("unavailable_reason", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        ..Entry::new(
            "vigil_logger",
            Spec::None("vigil's own: osquery has no table of its loggers' buffers"),
            &[
                (
                    "name",
                    Check::OneOf(&[
                        "filesystem",
                        "tls",
                        "syslog",
                        "kafka_producer",
                        "distributed",
                    ]),
                ),
                ("buffered", NON_NEG),
                ("sent", NON_NEG),
                ("dropped", NON_NEG),
                ("dropped_buffer_max", NON_NEG),
                ("dropped_oversize", NON_NEG),
                ("dropped_invalid", NON_NEG),
                ("dropped_rejected", NON_NEG),
                ("failed_attempts", NON_NEG),
                ("last_error", NORMAL),
            ],
        )
    },
    // Event tables: osquery has no integration test of its BPF tables (its last spec of them,
    // before their removal, is the one compared with); checks from the spec's types and the
    // meaning of each column.
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[
            ("json_cmdline", Check::Custom("a JSON array", json_strings)),
            ("time", NON_NEG),
            ("eid", NON_NEG),
        ],
        vigil_only: &[
            "euid",
            "egid",
            "comm",
            "argc",
            "truncated",
            "filename",
            "parent_path",
            "child_pid",
            "exit_signal",
        ],
        ..Entry::new(
            "bpf_process_events",
            Spec::Osquery("bpf_process_events"),
            &[
                ("tid", NON_NEG),
                ("pid", NON_NEG),
                ("parent", INT),
                ("uid", UID_GID),
                ("gid", UID_GID),
                ("cid", INT),
                ("exit_code", INT),
                ("probe_error", NON_NEG),
                (
                    "syscall",
                    Check::OneOf(&[
                        "execve", "execveat", "fork", "vfork", "clone", "clone3", "exit",
                    ]),
                ),
                ("path", NORMAL),
                ("cwd", NORMAL),
                ("cmdline", NORMAL),
                ("duration", NON_NEG),
                ("ntime", NON_NEG),
                ("euid", UID_GID),
                ("egid", UID_GID),
                ("comm", NORMAL),
                ("argc", NON_NEG),
                ("truncated", flags(BOOL)),
                ("filename", NORMAL),
                ("parent_path", NORMAL),
                ("child_pid", INT),
                ("exit_signal", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("time", NON_NEG), ("eid", NON_NEG)],
        vigil_only: &["status", "euid", "egid", "comm", "cmdline", "socket"],
        ..Entry::new(
            "bpf_socket_events",
            Spec::Osquery("bpf_socket_events"),
            &[
                ("tid", NON_NEG),
                ("pid", NON_NEG),
                ("parent", INT),
                ("uid", UID_GID),
                ("gid", UID_GID),
                ("cid", INT),
                ("exit_code", INT),
                ("probe_error", NON_NEG),
                (
                    "syscall",
                    Check::OneOf(&["connect", "accept", "accept4", "bind", "listen"]),
                ),
                ("path", NORMAL),
                ("fd", INT),
                ("family", INT),
                ("type", INT),
                ("protocol", INT),
                ("local_address", EMPTY_OR_IP),
                ("remote_address", EMPTY_OR_IP),
                ("local_port", PORT),
                ("remote_port", PORT),
                ("duration", NON_NEG),
                ("ntime", NON_NEG),
                (
                    "status",
                    Check::OneOf(&["succeeded", "failed", "in_progress"]),
                ),
                ("euid", UID_GID),
                ("egid", UID_GID),
                ("comm", NORMAL),
                ("cmdline", NORMAL),
                ("socket", NORMAL),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("time", NON_NEG), ("eid", NON_NEG)],
        ..Entry::new(
            "bpf_kernel_module_events",
            Spec::None("vigil's own: osquery has no table of kernel module calls"),
            &[
                ("tid", NON_NEG),
                ("pid", NON_NEG),
                ("parent", INT),
                ("uid", UID_GID),
                ("gid", UID_GID),
                ("euid", UID_GID),
                ("egid", UID_GID),
                ("cid", INT),
                ("exit_code", INT),
                ("probe_error", NON_NEG),
                (
                    "syscall",
                    Check::OneOf(&["init_module", "finit_module", "delete_module"]),
                ),
                ("path", NORMAL),
                ("comm", NORMAL),
                ("cmdline", NORMAL),
                ("name", NORMAL),
                ("module_path", NORMAL),
                ("size", NON_NEG),
                ("params", NORMAL),
                ("flags", NON_NEG),
                ("fd", INT),
                ("duration", NON_NEG),
                ("ntime", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("time", NON_NEG), ("eid", NON_NEG)],
        ..Entry::new(
            "bpf_ptrace_events",
            Spec::None("vigil's own: osquery has no table of ptrace calls"),
            &[
                ("tid", NON_NEG),
                ("pid", NON_NEG),
                ("parent", INT),
                ("uid", UID_GID),
                ("gid", UID_GID),
                ("euid", UID_GID),
                ("egid", UID_GID),
                ("cid", INT),
                ("exit_code", INT),
                ("probe_error", NON_NEG),
                ("syscall", Check::OneOf(&["ptrace"])),
                ("path", NORMAL),
                ("comm", NORMAL),
                ("cmdline", NORMAL),
                ("request", NON_EMPTY),
                ("target_pid", INT),
                ("addr", INT),
                ("data", INT),
                ("duration", NON_NEG),
                ("ntime", NON_NEG),
            ],
        )
    },
    // The audit tables: osquery's process_events, socket_events and user_events integration
    // tests, re-expressed.
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[
            ("cmdline_size", NON_NEG),
            ("env", NORMAL),
            ("env_count", NON_NEG),
            ("env_size", NON_NEG),
            ("overflows", NORMAL),
            ("eid", NON_EMPTY),
            ("json_cmdline", Check::Custom("a JSON array", json_strings)),
        ],
        vigil_only: &[
            "ntime",
            "audit_id",
            "tty",
            "ses",
            "comm",
            "json_cmdline",
            "incomplete",
        ],
        ..Entry::new(
            "process_events",
            Spec::Osquery("process_events"),
            &[
                ("pid", NON_NEG),
                ("path", NON_EMPTY),
                ("mode", NORMAL),
                ("cmdline", NORMAL),
                ("cwd", NORMAL),
                ("auid", NON_NEG),
                ("uid", NON_NEG),
                ("euid", NON_NEG),
                ("gid", NON_NEG),
                ("egid", NON_NEG),
                ("owner_uid", NON_NEG),
                ("owner_gid", NON_NEG),
                ("atime", INT),
                ("mtime", INT),
                ("ctime", INT),
                ("btime", INT),
                ("parent", NON_NEG),
                ("time", NON_NEG),
                ("uptime", NON_NEG),
                ("fsuid", NON_NEG),
                ("suid", NON_NEG),
                ("fsgid", NON_NEG),
                ("sgid", NON_NEG),
                (
                    "syscall",
                    Check::OneOf(&["execve", "execveat", "fork", "vfork", "clone"]),
                ),
                ("ntime", NON_NEG),
                ("audit_id", NON_NEG),
                ("tty", NORMAL),
                ("ses", NON_NEG),
                ("comm", NORMAL),
                ("incomplete", flags(BOOL)),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[
            ("protocol", INT),
            ("socket", NORMAL),
            ("eid", NON_EMPTY),
            ("success", flags(BOOL)),
        ],
        vigil_only: &[
            "syscall",
            "parent",
            "uid",
            "euid",
            "gid",
            "egid",
            "exit_code",
            "comm",
            "ntime",
            "audit_id",
            "incomplete",
        ],
        ..Entry::new(
            "socket_events",
            Spec::Osquery("socket_events"),
            &[
                (
                    "action",
                    Check::OneOf(&["bind", "connect", "accept", "accept4"]),
                ),
                ("pid", NON_NEG),
                ("path", NORMAL),
                ("fd", INT),
                ("auid", NON_NEG),
                ("family", NON_NEG),
                ("local_address", EMPTY_OR_IP),
                ("remote_address", EMPTY_OR_IP),
                ("local_port", PORT),
                ("remote_port", PORT),
                ("time", NON_NEG),
                ("uptime", NON_NEG),
                ("status", NORMAL),
                ("syscall", NORMAL),
                ("parent", NON_NEG),
                ("uid", NON_NEG),
                ("euid", NON_NEG),
                ("gid", NON_NEG),
                ("egid", NON_NEG),
                ("exit_code", INT),
                ("comm", NORMAL),
                ("ntime", NON_NEG),
                ("audit_id", NON_NEG),
                ("incomplete", flags(BOOL)),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("eid", NON_EMPTY)],
        vigil_only: &["ses", "hostname", "result", "ntime", "audit_id"],
        ..Entry::new(
            "user_events",
            Spec::Osquery("user_events"),
            &[
                ("uid", NON_NEG),
                ("auid", NON_NEG),
                ("pid", NON_NEG),
                ("message", NORMAL),
                ("type", NON_NEG),
                ("path", NORMAL),
                ("address", NORMAL),
                ("terminal", NORMAL),
                ("time", NON_NEG),
                ("uptime", NON_NEG),
                ("ses", NON_NEG),
                ("hostname", NORMAL),
                ("result", NORMAL),
                ("ntime", NON_NEG),
                ("audit_id", NON_NEG),
            ],
        )
    },
    Entry {
        rows: Rows::AtLeast(1),
        hidden: &[("time", NON_NEG), ("eid", NON_NEG)],
        ..Entry::new(
            "bpf_file_events",
            Spec::None(
                "vigil's own: osquery has no BPF file table (its file events come from inotify \
                 or audit, with other columns)",
            ),
            &[
                (
                    "operation",
                    Check::OneOf(&[
                        "open", "read", "truncate", "unlink", "rmdir", "rename", "chmod", "chown",
                        "link", "symlink", "mkdir",
                    ]),
                ),
                ("pid", NON_NEG),
                ("ppid", INT),
                ("uid", UID_GID),
                ("gid", UID_GID),
                ("euid", UID_GID),
                ("path", NON_EMPTY),
                ("dest_path", NORMAL),
                ("mode", NORMAL),
                ("flags", INT),
                ("inode", flags(INT_OR_EMPTY)),
                ("device", flags(INT_OR_EMPTY)),
                ("executable", NORMAL),
                ("cmdline", NORMAL),
                ("cid", INT),
                ("success", flags(BOOL)),
                ("errno", NON_NEG),
                ("ntime", NON_NEG),
                ("syscall", NON_EMPTY),
                ("resolved", flags(BOOL)),
                ("tid", NON_NEG),
                ("egid", UID_GID),
                ("comm", NORMAL),
                ("fd", INT),
                ("exit_code", INT),
                ("new_uid", flags(INT_OR_EMPTY)),
                ("new_gid", flags(INT_OR_EMPTY)),
                ("size", flags(INT_OR_EMPTY)),
                ("duration", NON_NEG),
            ],
        )
    },
];
