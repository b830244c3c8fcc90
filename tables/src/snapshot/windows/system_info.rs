//! `system_info` on Windows: the computer's names, the registry's hardware description (what the
//! firmware told Windows at boot: BIOS and board, the first processor, the SMBIOS UUID), the
//! processor topology and the physical memory, and whether this build runs emulated on an ARM64
//! host. The hardware and board serial numbers (SMBIOS tables themselves) are not read: empty.

use windows_sys::Win32::System::{
    SystemInformation::{
        GetLogicalProcessorInformation, GlobalMemoryStatusEx, IMAGE_FILE_MACHINE_ARM64,
        MEMORYSTATUSEX, RelationProcessorCore, RelationProcessorPackage,
        SYSTEM_LOGICAL_PROCESSOR_INFORMATION,
    },
    Threading::{GetCurrentProcess, IsWow64Process2},
};

use super::convert::{Relationship, cores_and_sockets, cpu_types, smbios_uuid};
use super::rows::SystemInfoRow;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "system_info";
const BIOS: &str = r"HARDWARE\DESCRIPTION\System\BIOS";
const CPU: &str = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0";
const HARDWARE_CONFIG: &str = r"SYSTEM\HardwareConfig";

pub struct SystemInfo;

/// A registry string under HKLM, trimmed; empty when missing.
fn hklm(path: &str, value: &str) -> String {
    windows_registry::LOCAL_MACHINE
        .open(path)
        .and_then(|key| key.get_string(value))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

impl Table for SystemInfo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SystemInfoRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let computer = std::env::var("COMPUTERNAME").unwrap_or_default();
        let (cores, sockets) = topology().unwrap_or((-1, -1));
        let logical = std::thread::available_parallelism().map_or(-1, |n| n.get() as i64);
        let (cpu_type, emulated_cpu_type) = cpu_types(std::env::consts::ARCH, native_is_arm64());
        let row = Row::from(SystemInfoRow {
            hostname: computer.clone().into(),
            uuid: smbios_uuid(&hklm(HARDWARE_CONFIG, "LastConfig"))
                .unwrap_or_default()
                .into(),
            cpu_type: cpu_type.into(),
            cpu_subtype: hklm(CPU, "Identifier").into(),
            cpu_brand: hklm(CPU, "ProcessorNameString").into(),
            cpu_physical_cores: cores.into(),
            cpu_logical_cores: logical.into(),
            cpu_sockets: sockets.into(),
            cpu_microcode: "".into(),
            physical_memory: physical_memory().map_or(Value::Int(-1), Value::from),
            hardware_vendor: hklm(BIOS, "SystemManufacturer").into(),
            hardware_model: hklm(BIOS, "SystemProductName").into(),
            hardware_version: hklm(BIOS, "SystemVersion").into(),
            hardware_serial: "".into(),
            board_vendor: hklm(BIOS, "BaseBoardManufacturer").into(),
            board_model: hklm(BIOS, "BaseBoardProduct").into(),
            board_version: hklm(BIOS, "BaseBoardVersion").into(),
            board_serial: "".into(),
            computer_name: computer.clone().into(),
            local_hostname: computer.into(),
            emulated_cpu_type: emulated_cpu_type.into(),
        });
        Ok(rows(vec![row]))
    }
}

/// Whether this process runs emulated on an ARM64 host (`IsWow64Process2`, Windows 10 1511 and
/// later, as osquery asks).
fn native_is_arm64() -> bool {
    let (mut process, mut native) = (0, 0);
    // SAFETY: both out-parameters are writable; the pseudo-handle of this process needs no close.
    let ok = unsafe { IsWow64Process2(GetCurrentProcess(), &mut process, &mut native) } != 0;
    ok && native == IMAGE_FILE_MACHINE_ARM64
}

fn physical_memory() -> Option<u64> {
    let mut status = MEMORYSTATUSEX {
        dwLength: size_of::<MEMORYSTATUSEX>() as u32,
        ..Default::default()
    };
    // SAFETY: `status` is writable and its dwLength set.
    (unsafe { GlobalMemoryStatusEx(&mut status) } != 0).then_some(status.ullTotalPhys)
}

/// (physical cores, sockets) from `GetLogicalProcessorInformation`.
fn topology() -> Option<(i64, i64)> {
    let mut len = 0u32;
    // SAFETY: asking for the size only.
    unsafe { GetLogicalProcessorInformation(std::ptr::null_mut(), &mut len) };
    let entry = size_of::<SYSTEM_LOGICAL_PROCESSOR_INFORMATION>();
    let mut entries =
        vec![SYSTEM_LOGICAL_PROCESSOR_INFORMATION::default(); (len as usize).div_ceil(entry)];
    // SAFETY: `entries` holds at least `len` bytes.
    if unsafe { GetLogicalProcessorInformation(entries.as_mut_ptr(), &mut len) } == 0 {
        return None;
    }
    let filled = entries.get(..len as usize / entry)?;
    Some(cores_and_sockets(filled.iter().map(|e| {
        if e.Relationship == RelationProcessorCore {
            Relationship::ProcessorCore
        } else if e.Relationship == RelationProcessorPackage {
            Relationship::ProcessorPackage
        } else {
            Relationship::Other
        }
    })))
}
