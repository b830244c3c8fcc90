//! `system_info`: host name, identity, CPU, memory and DMI hardware strings, from the kernel's
//! `/proc` and `/sys` files.

use std::collections::HashSet;

use crate::row::table_row;
use crate::snapshot::util::{read_trimmed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "system_info";
const DMI: &str = "/sys/class/dmi/id";

table_row! {
    struct SystemInfoRow {
        hostname: Text,
        uuid: Text,
        cpu_type: Text,
        cpu_subtype: Text,
        cpu_brand: Text,
        cpu_physical_cores: Integer,
        cpu_logical_cores: Integer,
        cpu_sockets: Integer,
        cpu_microcode: Text,
        physical_memory: BigInt,
        hardware_vendor: Text,
        hardware_model: Text,
        hardware_version: Text,
        hardware_serial: Text,
        board_vendor: Text,
        board_model: Text,
        board_version: Text,
        board_serial: Text,
        computer_name: Text,
        local_hostname: Text,
    }
}

pub struct SystemInfo;

impl Table for SystemInfo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SystemInfoRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let hostname = hostname();
        let cpu = CpuInfo::parse(&std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default());
        let logical = online_cpus().or((cpu.processors > 0).then_some(cpu.processors));
        let physical = (!cpu.cores.is_empty())
            .then_some(cpu.cores.len() as i64)
            .or(logical);
        let sockets = (!cpu.sockets.is_empty()).then_some(cpu.sockets.len() as i64);

        let dmi = |file: &str| read_trimmed(format!("{DMI}/{file}")).filter(|s| !s.is_empty());
        let vendor = dmi("sys_vendor");
        let mut model = dmi("product_name");
        let mut version = dmi("product_version");
        // Lenovo puts the marketing model in the version string and a SKU in the name; osquery
        // swaps them so the model column means the same across vendors.
        if vendor
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("lenovo"))
        {
            std::mem::swap(&mut model, &mut version);
        }

        let row = SystemInfoRow {
            hostname: hostname.clone().into(),
            uuid: crate::snapshot::util::host_uuid().into(),
            cpu_type: machine().into(),
            // osquery reports model 0 when the CPU gives none (non-x86).
            cpu_subtype: cpu.model.unwrap_or_else(|| "0".to_owned()).into(),
            cpu_brand: cpu.brand.into(),
            cpu_physical_cores: optional_int(physical),
            cpu_logical_cores: optional_int(logical),
            cpu_sockets: optional_int(sockets),
            cpu_microcode: cpu.microcode.into(),
            physical_memory: optional_int(physical_memory()),
            hardware_vendor: vendor.into(),
            hardware_model: model.into(),
            hardware_version: version.into(),
            hardware_serial: dmi("product_serial").into(),
            board_vendor: dmi("board_vendor").into(),
            board_model: dmi("board_name").into(),
            board_version: dmi("board_version").into(),
            board_serial: dmi("board_serial").into(),
            computer_name: hostname.clone().into(),
            local_hostname: hostname.into(),
        };
        Ok(rows(vec![Row::from(row)]))
    }
}

fn optional_int(v: Option<i64>) -> Value {
    v.map_or(Value::Null, Value::Int)
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which gethostname writes at most len bytes of.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        return Some(String::from_utf8_lossy(buf.get(..end)?).into_owned());
    }
    read_trimmed("/proc/sys/kernel/hostname")
}

/// `uname -m`.
fn machine() -> Option<String> {
    // SAFETY: utsname is plain bytes, valid zeroed; uname only writes into it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname we own.
    if unsafe { libc::uname(&mut uts) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "system_info: uname failed");
        return None;
    }
    let bytes: Vec<u8> = uts
        .machine
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// CPUs online, as osquery counts them (not this process's affinity or cgroup share).
fn online_cpus() -> Option<i64> {
    // SAFETY: sysconf only reads system configuration.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    (n > 0).then_some(n)
}

fn physical_memory() -> Option<i64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_total(&meminfo)
}

/// `MemTotal:` in bytes (the file says kB, meaning KiB).
fn meminfo_total(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// What `/proc/cpuinfo` says, from its `key : value` lines, one block per logical CPU.
#[derive(Debug, Default)]
struct CpuInfo {
    processors: i64,
    model: Option<String>,
    brand: Option<String>,
    microcode: Option<String>,
    /// Distinct (physical id, core id): physical cores.
    cores: HashSet<(String, String)>,
    /// Distinct physical ids: sockets.
    sockets: HashSet<String>,
}

impl CpuInfo {
    fn parse(content: &str) -> Self {
        let mut info = Self::default();
        let mut physical_id = None;
        let mut core_id = None;
        fn end_block(info: &mut CpuInfo, physical: &mut Option<String>, core: &mut Option<String>) {
            if let Some(p) = physical.take() {
                info.sockets.insert(p.clone());
                if let Some(c) = core.take() {
                    info.cores.insert((p, c));
                }
            }
            *core = None;
        }
        for line in content.lines() {
            if line.trim().is_empty() {
                end_block(&mut info, &mut physical_id, &mut core_id);
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let first = |slot: &mut Option<String>| {
                if slot.is_none() && !value.is_empty() {
                    *slot = Some(value.to_owned());
                }
            };
            match key.trim() {
                "processor" => info.processors += 1,
                "model" => first(&mut info.model),
                "model name" => first(&mut info.brand),
                "microcode" => first(&mut info.microcode),
                "physical id" => physical_id = Some(value.to_owned()),
                "core id" => core_id = Some(value.to_owned()),
                _ => {}
            }
        }
        end_block(&mut info, &mut physical_id, &mut core_id);
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::util::machine_id_uuid;
    use crate::table::Row;

    fn scan() -> Row {
        let mut rows: Vec<Row> = SystemInfo
            .scan(&ScanRequest::default())
            .expect("scan system_info")
            .collect::<Result<_, _>>()
            .expect("system_info rows");
        assert_eq!(rows.len(), 1);
        rows.pop().expect("one row")
    }

    #[test]
    fn hostname_matches_the_kernel() {
        let row = scan();
        assert_eq!(row.len(), SystemInfoRow::COLUMNS.len());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .expect("read /proc/sys/kernel/hostname");
        assert_eq!(row[0], Value::from(kernel.trim()));
        assert_eq!(row[18], row[0]);
        assert_eq!(row[19], row[0]);
    }

    #[test]
    fn cpu_and_memory_match_proc() {
        let row = scan();
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("read /proc/cpuinfo");
        let processors = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        assert_eq!(row[6].as_i64(), i64::try_from(processors).ok());
        let physical = row[5].as_i64().expect("physical cores");
        assert!(physical >= 1 && physical <= row[6].as_i64().expect("logical cores"));

        let meminfo = std::fs::read_to_string("/proc/meminfo").expect("read /proc/meminfo");
        let kib: i64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("MemTotal");
        assert_eq!(row[9], Value::Int(kib * 1024));
    }

    #[test]
    fn uuid_comes_from_dmi_or_machine_id() {
        let row = scan();
        let uuid = row[1].as_text().expect("a uuid on this host");
        match read_trimmed(format!("{DMI}/product_uuid")) {
            Some(dmi) => assert_eq!(uuid, dmi),
            None => {
                let id = read_trimmed("/etc/machine-id").expect("machine-id");
                assert_eq!(uuid.replace('-', ""), id);
                assert_eq!(uuid.len(), 36);
            }
        }
    }

    #[test]
    fn parses_cpuinfo_blocks() {
        let info = CpuInfo::parse(
            "processor\t: 0\nmodel\t\t: 85\nmodel name\t: Xeon\nmicrocode\t: 0x1\n\
             physical id\t: 0\ncore id\t\t: 0\n\n\
             processor\t: 1\nmodel\t\t: 85\nphysical id\t: 0\ncore id\t\t: 0\n\n\
             processor\t: 2\nphysical id\t: 1\ncore id\t\t: 0\ngarbage line\n\n",
        );
        assert_eq!(info.processors, 3);
        assert_eq!(info.model.as_deref(), Some("85"));
        assert_eq!(info.brand.as_deref(), Some("Xeon"));
        assert_eq!(info.microcode.as_deref(), Some("0x1"));
        assert_eq!(info.cores.len(), 2);
        assert_eq!(info.sockets.len(), 2);
        assert_eq!(
            machine_id_uuid("3d1219c7c4c5404aaa1f6d2a48adfda4").as_deref(),
            Some("3d1219c7-c4c5-404a-aa1f-6d2a48adfda4")
        );
        assert_eq!(machine_id_uuid("short"), None);
        assert_eq!(meminfo_total("MemTotal:  2 kB\n"), Some(2048));
    }
}
