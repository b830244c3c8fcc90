//! SMBIOS (DMI) structure tables, as the kernel exposes them in `/sys/firmware/dmi/tables/DMI`:
//! the structures one after the other, each a 4-byte header (type, formatted length, handle),
//! the rest of its formatted area, then its strings, ended by two zero bytes. For
//! `smbios_tables`, cut as osquery's `SMBIOSParser::tables` cuts them.

/// The size of a structure's header: type, length, handle.
pub const HEADER_SIZE: usize = 4;
/// The most structures taken from one table: a real one has a few hundred.
pub const MAX_STRUCTURES: usize = 65_536;

/// One structure: its header's fields and where it lies in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Structure {
    /// Its position among the structures, from 0.
    pub number: usize,
    pub kind: u8,
    /// The length of its formatted area, header included (`header_size` in osquery).
    pub header_size: u8,
    pub handle: u16,
    /// Its first byte in the table.
    pub offset: usize,
    /// Formatted area and strings, up to and including the two zero bytes that end them.
    pub size: usize,
}

/// The structures of `table`, in order. Parsing stops at the zero padding after the last one, at
/// a structure whose formatted area would pass the end of the data or is shorter than its
/// header (which osquery's parser would loop on), and after [`MAX_STRUCTURES`].
pub fn structures(table: &[u8]) -> Vec<Structure> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    while out.len() < MAX_STRUCTURES {
        let Some(header) = table.get(offset..offset + HEADER_SIZE) else {
            break;
        };
        let (kind, length) = (header[0], header[1]);
        let handle = u16::from_le_bytes([header[2], header[3]]);
        if length == 0 && handle == 0 {
            break;
        }
        let formatted_end = offset + usize::from(length);
        if usize::from(length) < HEADER_SIZE || formatted_end > table.len() {
            break;
        }
        // The strings end at the first two zero bytes after the formatted area.
        let end = table[formatted_end..]
            .windows(2)
            .position(|pair| pair == [0, 0])
            .map_or(table.len(), |at| formatted_end + at + 2);
        out.push(Structure {
            number: out.len(),
            kind,
            header_size: length,
            handle,
            offset,
            size: end - offset,
        });
        offset = end;
    }
    out
}

/// osquery's description of a structure type (`kSMBIOSTypeDescriptions`); `Unknown` for others.
pub fn description(kind: u8) -> &'static str {
    match kind {
        0 => "BIOS Information",
        1 => "System Information",
        2 => "Base Board or Module Information",
        3 => "System Enclosure or Chassis",
        4 => "Processor Information",
        5 => "Memory Controller Information",
        6 => "Memory Module Information",
        7 => "Cache Information",
        8 => "Port Connector Information",
        9 => "System Slots",
        10 => "On Board Devices Information",
        11 => "OEM Strings",
        12 => "System Configuration Options",
        13 => "BIOS Language Information",
        14 => "Group Associations",
        15 => "System Event Log",
        16 => "Physical Memory Array",
        17 => "Memory Device",
        18 => "32-bit Memory Error Information",
        19 => "Memory Array Mapped Address",
        20 => "Memory Device Mapped Address",
        21 => "Built-in Pointing Device",
        22 => "Portable Battery",
        23 => "System Reset",
        24 => "Hardware Security",
        25 => "System Power Controls",
        26 => "Voltage Probe",
        27 => "Cooling Device",
        28 => "Temperature Probe",
        29 => "Electrical Current Probe",
        30 => "Out-of-Band Remote Access",
        31 => "Boot Integrity Services",
        32 => "System Boot Information",
        33 => "64-bit Memory Error Information",
        34 => "Management Device",
        35 => "Management Device Component",
        36 => "Management Device Threshold Data",
        37 => "Memory Channel",
        38 => "IPMI Device Information",
        39 => "System Power Supply",
        40 => "Additional Information",
        41 => "Onboard Devices Extended Info",
        126 => "Inactive",
        127 => "End-of-Table",
        130 => "Memory SPD Data",
        131 => "OEM Processor Type",
        132 => "OEM Processor Bus Speed",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A structure of `kind` with `formatted` bytes after its header and `strings`.
    pub(crate) fn structure(kind: u8, handle: u16, formatted: &[u8], strings: &[&str]) -> Vec<u8> {
        let mut bytes = vec![kind, (HEADER_SIZE + formatted.len()) as u8];
        bytes.extend_from_slice(&handle.to_le_bytes());
        bytes.extend_from_slice(formatted);
        for s in strings {
            bytes.extend_from_slice(s.as_bytes());
            bytes.push(0);
        }
        if strings.is_empty() {
            bytes.push(0);
        }
        bytes.push(0);
        bytes
    }

    #[test]
    fn structures_with_and_without_strings() {
        let bios = structure(0, 0, &[1, 2, 0, 0xe8, 0, 3], &["SeaBIOS", "1.16.3"]);
        let system = structure(1, 0x100, &[1, 2], &[]);
        let end = structure(127, 0x7f00, &[], &[]);
        let table = [bios.clone(), system.clone(), end.clone(), vec![0; 8]].concat();
        let found = structures(&table);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[0],
            Structure {
                number: 0,
                kind: 0,
                header_size: 10,
                handle: 0,
                offset: 0,
                size: bios.len(),
            }
        );
        assert_eq!(found[1].handle, 0x100);
        assert_eq!(found[1].offset, bios.len());
        assert_eq!(found[1].size, system.len());
        assert_eq!(found[2].kind, 127);
        assert_eq!(description(found[2].kind), "End-of-Table");
        assert_eq!(description(200), "Unknown");
    }

    #[test]
    fn a_header_shorter_than_itself_or_past_the_end_stops_the_walk() {
        let good = structure(1, 1, &[0; 4], &["x"]);
        assert_eq!(
            structures(&[good.clone(), vec![3, 2, 5, 0, 0, 0]].concat()).len(),
            1
        );
        assert_eq!(
            structures(&[good.clone(), vec![3, 200, 5, 0]].concat()).len(),
            1
        );
        assert_eq!(structures(&good[..3]).len(), 0);
    }

    #[test]
    fn strings_without_their_end_run_to_the_end_of_the_data() {
        let mut table = structure(2, 7, &[0; 2], &[]);
        table.truncate(table.len() - 2);
        table.extend_from_slice(b"unterminated");
        let found = structures(&table);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].size, table.len());
    }
}
