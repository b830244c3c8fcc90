//! ETW events as a real-time session on 64-bit Windows 10/11 delivers them, with the property
//! names and types of the providers' manifests (Kernel-Process ProcessStart version 3,
//! Kernel-File version 1, Kernel-Network version 0) and of the kernel logger's `Process_V4`
//! class: FILETIME time stamps, NT device paths, binary SIDs (the kernel logger's behind a
//! 16-byte `TOKEN_USER`), addresses and ports in network byte order.

use std::collections::BTreeMap;

use super::{Provider, Record, Value, VolumeMap};

/// S-1-5-21-3623811015-3361044348-30300820-1013, a domain user.
pub const USER_SID: &[u8] = &[
    1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 199, 247, 254, 215, 124, 119, 85, 200, 148, 90, 206, 1,
    245, 3, 0, 0,
];

/// S-1-16-12288, the High mandatory level.
const HIGH_LABEL: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 16, 0x00, 0x30, 0, 0];

/// What `QueryDosDeviceW` answers on a machine with a system volume, a data volume and a
/// recovery volume without a letter.
pub fn volumes() -> VolumeMap {
    VolumeMap::new([
        (r"\Device\HarddiskVolume3".to_owned(), "C:".to_owned()),
        (r"\Device\HarddiskVolume5".to_owned(), "D:".to_owned()),
    ])
}

fn record(
    provider: Provider,
    event_id: u16,
    opcode: u8,
    version: u8,
    timestamp: u64,
    (process_id, thread_id): (u32, u32),
    properties: Vec<(&str, Value)>,
) -> Record {
    Record {
        provider,
        event_id,
        opcode,
        version,
        pointer_bytes: 8,
        timestamp,
        process_id,
        thread_id,
        properties: properties
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// explorer.exe (5932) starts an elevated PowerShell (7464).
pub fn manifest_process_start() -> Record {
    record(
        Provider::KernelProcess,
        1,
        1,
        3,
        133_444_736_001_234_600,
        (5932, 6016),
        vec![
            ("ProcessID", 7464u32.into()),
            ("ProcessSequenceNumber", 4_307u64.into()),
            ("CreateTime", 133_444_736_001_234_567u64.into()),
            ("ParentProcessID", 5932u32.into()),
            ("ParentProcessSequenceNumber", 4_121u64.into()),
            ("SessionID", 1u32.into()),
            ("Flags", 0u32.into()),
            ("ProcessTokenElevationType", 2u32.into()),
            ("ProcessTokenIsElevated", 1u32.into()),
            ("MandatoryLabel", HIGH_LABEL.to_vec().into()),
            (
                "ImageName",
                r"\Device\HarddiskVolume3\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
                    .into(),
            ),
            ("ImageChecksum", 0x0007_2A8Fu32.into()),
            ("TimeDateStamp", 0x9D6E_0B3Au32.into()),
            ("PackageFullName", "".into()),
            ("PackageRelativeAppId", "".into()),
        ],
    )
}

fn token_user_then(sid: &[u8]) -> Value {
    // TOKEN_USER { PSID Sid; DWORD Attributes; } padded to 16 bytes, as the kernel logger
    // writes it before the SID itself.
    let mut bytes = 0xFFFF_9A0C_4D2E_1A80u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(sid);
    Value::Bytes(bytes)
}

fn logger_process(opcode: u8, timestamp: u64, exit_status: u32) -> Record {
    record(
        Provider::KernelLoggerProcess,
        0,
        opcode,
        4,
        timestamp,
        (5932, 6016),
        vec![
            ("UniqueProcessKey", 0xFFFF_9A0C_5B3E_2080u64.into()),
            ("ProcessId", 7464u32.into()),
            ("ParentId", 5932u32.into()),
            ("SessionId", 1u32.into()),
            ("ExitStatus", exit_status.into()),
            ("DirectoryTableBase", 0x0001_2F40_2000u64.into()),
            ("Flags", 0u32.into()),
            ("UserSID", token_user_then(USER_SID)),
            ("ImageFileName", "powershell.exe".into()),
            (
                "CommandLine",
                r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -Command Get-Date"#
                    .into(),
            ),
            ("PackageFullName", "".into()),
            ("ApplicationId", "".into()),
        ],
    )
}

/// The kernel logger's start of the same process (STATUS_PENDING as its exit status, as
/// Windows writes it for a running process).
pub fn logger_process_start() -> Record {
    logger_process(1, 133_444_736_001_230_000, 0x0000_0103)
}

/// Its end, 2.5 s after the epoch second of the start: closed with Ctrl+C.
pub fn logger_process_end() -> Record {
    logger_process(2, 133_444_736_025_000_000, 0xC000_013A)
}

fn file_record(event_id: u16, timestamp: u64, properties: Vec<(&str, Value)>) -> Record {
    record(
        Provider::KernelFile,
        event_id,
        0,
        1,
        timestamp,
        (7464, 8120),
        properties,
    )
}

const FILE_OBJECT: u64 = 0xFFFF_9A0C_6E1F_4C30;
const FILE_KEY: u64 = 0xFFFF_B887_2D4C_1170;
const REPORT: &str = r"\Device\HarddiskVolume3\Users\alice\AppData\Local\Temp\report.docx";

fn create_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("Irp", 0xFFFF_9A0C_70A1_6B28u64.into()),
        ("FileObject", FILE_OBJECT.into()),
        ("IssuingThreadId", 8120u32.into()),
        // FILE_OVERWRITE_IF << 24 | FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE.
        ("CreateOptions", 0x0500_0060u32.into()),
        ("CreateAttributes", 0x80u32.into()),
        ("ShareAccess", 0u32.into()),
        ("FileName", REPORT.into()),
    ]
}

/// Word's temporary file, created new.
pub fn file_create_new() -> Record {
    file_record(30, 133_444_736_010_000_000, create_properties())
}

/// An open of the same file (Create, event 12).
pub fn file_open() -> Record {
    file_record(12, 133_444_736_011_000_000, create_properties())
}

pub fn file_write(offset: u64) -> Record {
    file_record(
        16,
        133_444_736_010_100_000 + offset,
        vec![
            ("ByteOffset", offset.into()),
            ("Irp", 0xFFFF_9A0C_70A1_6B28u64.into()),
            ("FileObject", FILE_OBJECT.into()),
            ("FileKey", FILE_KEY.into()),
            ("IssuingThreadId", 8120u32.into()),
            ("IOSize", 4096u32.into()),
            ("IOFlags", 0x0006_0A01u32.into()),
            ("ExtraFlags", 0u32.into()),
        ],
    )
}

pub fn file_close() -> Record {
    file_record(
        14,
        133_444_736_010_900_000,
        vec![
            ("Irp", 0xFFFF_9A0C_70A1_6B28u64.into()),
            ("FileObject", FILE_OBJECT.into()),
            ("FileKey", FILE_KEY.into()),
            ("IssuingThreadId", 8120u32.into()),
        ],
    )
}

fn path_record(event_id: u16, info_class: u32, path: &str) -> Record {
    file_record(
        event_id,
        133_444_736_012_000_000,
        vec![
            ("Irp", 0xFFFF_9A0C_70A1_6B28u64.into()),
            ("FileObject", 0xFFFF_9A0C_6E20_11B0u64.into()),
            ("FileKey", 0xFFFF_B887_2D4C_5E90u64.into()),
            ("ExtraInformation", 0u64.into()),
            ("IssuingThreadId", 8120u32.into()),
            ("InfoClass", info_class.into()),
            ("FilePath", path.into()),
        ],
    )
}

/// A delete by FileDispositionInformationEx (64).
pub fn file_delete_path() -> Record {
    path_record(26, 64, r"\Device\HarddiskVolume5\builds\obj\main.obj")
}

/// A rename by FileRenameInformationEx (65).
pub fn file_rename_path() -> Record {
    path_record(
        27,
        65,
        r"\Device\HarddiskVolume3\Users\alice\Documents\draft.txt",
    )
}

fn network_record(event_id: u16, timestamp: u64, properties: Vec<(&str, Value)>) -> Record {
    // Kernel-Network logs from whatever thread the stack runs on: the header's process is
    // often System (4); the caller is the `PID` property.
    record(
        Provider::KernelNetwork,
        event_id,
        0,
        0,
        timestamp,
        (4, 0),
        properties,
    )
}

fn tcp_properties(
    pid: u32,
    addresses: (Value, Value),
    ports: (u16, u16),
) -> Vec<(&'static str, Value)> {
    vec![
        ("PID", pid.into()),
        ("size", 0u32.into()),
        ("daddr", addresses.0),
        ("saddr", addresses.1),
        ("dport", ports.0.into()),
        ("sport", ports.1.into()),
        ("mss", 1460u16.into()),
        ("sackopt", 1u16.into()),
        ("tsopt", 0u16.into()),
        ("wsopt", 1u16.into()),
        ("rcvwin", 65_535u32.into()),
        ("rcvwinscale", 8u16.into()),
        ("sndwinscale", 8u16.into()),
        ("seqnum", 0u32.into()),
        ("connid", 0u32.into()),
    ]
}

/// PowerShell connects from 192.168.1.23:49978 to 93.184.215.14:443.
pub fn tcp_connect_v4() -> Record {
    network_record(
        12,
        133_444_736_015_000_000,
        tcp_properties(
            7464,
            (0x0ED7_B85Du32.into(), 0x1701_A8C0u32.into()),
            (0xBB01, 0x3AC3),
        ),
    )
}

fn ipv6(words: [u16; 8]) -> Value {
    Value::Bytes(words.iter().flat_map(|word| word.to_be_bytes()).collect())
}

/// Remote Desktop (svchost, 1144) accepts a connection on port 3389 over link-local IPv6.
pub fn tcp_accept_v6() -> Record {
    network_record(
        31,
        133_444_736_016_000_000,
        tcp_properties(
            1144,
            (
                ipv6([0xfe80, 0, 0, 0, 0x0a00, 0x27ff, 0xfe4e, 0x66a1]),
                ipv6([0xfe80, 0, 0, 0, 0x1c2d, 0x3e4f, 0x5a6b, 0x7c8d]),
            ),
            (0xB0CB, 0x3D0D),
        ),
    )
}

/// The DNS client (svchost, 2280) sends a 41-byte query to 8.8.8.8:53.
pub fn udp_send_v4() -> Record {
    network_record(
        42,
        133_444_736_017_000_000,
        vec![
            ("PID", 2280u32.into()),
            ("size", 41u32.into()),
            ("daddr", 0x0808_0808u32.into()),
            ("saddr", 0x1701_A8C0u32.into()),
            ("dport", 0x3500u16.into()),
            ("sport", 0x1FE4u16.into()),
            ("seqnum", 0u32.into()),
            ("connid", 0u32.into()),
        ],
    )
}
