//! `cpuid`: what the processor says of itself through the `cpuid` instruction, as osquery lists
//! it: the vendor, product name, hypervisor id, serial and family strings, then one row per
//! feature bit of osquery's list (leaves 1, 7 and 0x80000001), then SGX's leaf 0x12. On other
//! architectures than x86-64 the table has no rows.
//!
//! Where vigil differs from osquery, on purpose: a leaf above the highest the processor
//! reports is not asked (the processor would answer with another leaf's registers; its features
//! read 0), `hypervisor_id` is given only when the hypervisor bit is set (osquery's test of it
//! is always true), and the product name has its padding (NULs, spaces) trimmed.

use crate::row::table_row;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "cpuid";

table_row! {
    struct CpuidRow {
        feature: Text,
        value: Text,
        output_register: Text,
        output_bit: Integer,
        input_eax: Text,
    }
}

/// The four registers a `cpuid` leaf answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registers {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

impl Registers {
    fn get(&self, register: &str) -> u32 {
        match register {
            "eax" => self.eax,
            "ebx" => self.ebx,
            "ecx" => self.ecx,
            _ => self.edx,
        }
    }
}

/// A feature bit: its name, the register holding it, the bit.
type Feature = (&'static str, &'static str, u32);

/// osquery's feature bits (`kCPUFeatures`), by leaf.
const FEATURES: &[(u32, &[Feature])] = &[
    (
        1,
        &[
            ("pae", "edx", 6),
            ("msr", "edx", 5),
            ("sep", "edx", 11),
            ("mtrr", "edx", 12),
            ("pge", "edx", 13),
            ("mca", "edx", 14),
            ("pat", "edx", 16),
            ("clfsh", "edx", 19),
            ("acpi", "edx", 22),
            ("mmz", "edx", 23),
            ("sse", "edx", 25),
            ("sse2", "edx", 26),
            ("ss", "edx", 27),
            ("htt", "edx", 28),
            ("ia64", "edx", 30),
            ("sse3", "ecx", 0),
            ("vmx", "ecx", 5),
            ("smx", "ecx", 6),
            ("ssse3", "ecx", 9),
            ("sdbg", "ecx", 11),
            ("pdcm", "ecx", 15),
            ("pcid", "ecx", 17),
            ("dca", "ecx", 18),
            ("sse4.1", "ecx", 19),
            ("sse4.2", "ecx", 20),
            ("aes", "ecx", 25),
            ("avx", "ecx", 28),
            ("hypervisor", "ecx", 31),
        ],
    ),
    (
        7,
        &[
            ("sgx", "ebx", 2),
            ("hle", "ebx", 4),
            ("avx2", "ebx", 5),
            ("smep", "ebx", 7),
            ("bmi2", "ebx", 8),
            ("erms", "ebx", 9),
            ("invpcid", "ebx", 10),
            ("rtm", "ebx", 11),
            ("pqm", "ebx", 12),
            ("mpx", "ebx", 14),
            ("pqe", "ebx", 15),
            ("avx512f", "ebx", 16),
            ("avx512dq", "ebx", 17),
            ("rdseed", "ebx", 18),
            ("adx", "ebx", 19),
            ("smap", "ebx", 20),
            ("intel_pt", "ebx", 25),
            ("sha", "ebx", 29),
            ("umip", "ecx", 2),
            ("pku", "ecx", 3),
            ("ospke", "ecx", 4),
            ("gfni", "ecx", 8),
            ("vaes", "ecx", 9),
            ("sgx_lc", "ecx", 30),
            ("spec_ctrl", "edx", 26),
        ],
    ),
    (
        0x8000_0001,
        &[
            ("lahfsahf", "ecx", 0),
            ("svm", "ecx", 2),
            ("3dnowprefetch", "ecx", 8),
            ("ibs", "ecx", 10),
            ("skinit", "ecx", 12),
            ("lwp", "ecx", 15),
            ("nx", "edx", 20),
            ("page1gb", "edx", 26),
            ("lm", "edx", 29),
        ],
    ),
];

pub struct Cpuid;

impl Table for Cpuid {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        CpuidRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        #[cfg(target_arch = "x86_64")]
        return Ok(rows(cpuid_rows(&processor)));
        #[cfg(not(target_arch = "x86_64"))]
        return Ok(rows(Vec::new()));
    }
}

/// This processor's answer to `leaf` (sub-leaf `sub_leaf`), or zeros for a leaf above the
/// highest of its range the processor reports.
#[cfg(target_arch = "x86_64")]
fn processor(leaf: u32, sub_leaf: u32) -> Registers {
    use core::arch::x86_64::__cpuid_count;
    let range_top = leaf & 0xffff_0000;
    let highest = __cpuid_count(range_top, 0).eax;
    if leaf > highest {
        return Registers::default();
    }
    let r = __cpuid_count(leaf, sub_leaf);
    Registers {
        eax: r.eax,
        ebx: r.ebx,
        ecx: r.ecx,
        edx: r.edx,
    }
}

fn row(feature: &str, value: String, register: &str, bit: u32, eax: &str) -> Row {
    CpuidRow {
        feature: feature.into(),
        value: value.into(),
        output_register: register.into(),
        output_bit: Value::from(bit),
        input_eax: eax.into(),
    }
    .into()
}

/// Registers' bytes as text, in order (the vendor is `ebx, edx, ecx`).
fn text(registers: &[u32]) -> String {
    let bytes: Vec<u8> = registers.iter().flat_map(|r| r.to_le_bytes()).collect();
    String::from_utf8_lossy(&bytes)
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_owned()
}

fn hex(registers: &[u32]) -> String {
    registers.iter().map(|r| format!("{r:08x}")).collect()
}

/// osquery's rows, from `cpuid(leaf, sub_leaf)`.
fn cpuid_rows(cpuid: &dyn Fn(u32, u32) -> Registers) -> Vec<Row> {
    let zero = cpuid(0, 0);
    if zero.eax < 1 {
        return Vec::new();
    }
    let mut out = vec![row(
        "vendor",
        text(&[zero.ebx, zero.edx, zero.ecx]),
        "ebx,edx,ecx",
        0,
        "0",
    )];
    let name: Vec<u32> = (0..3)
        .flat_map(|i| {
            let r = cpuid(0x8000_0002 + i, 0);
            [r.eax, r.ebx, r.ecx, r.edx]
        })
        .collect();
    out.push(row(
        "product_name",
        text(&name),
        "eax,ebx,ecx,edx",
        0,
        "0x80000002",
    ));
    let one = cpuid(1, 0);
    if one.ecx & (1 << 31) != 0 {
        let h = cpuid(0x4000_0000, 0);
        out.push(row(
            "hypervisor_id",
            hex(&[h.eax, h.ebx, h.ecx]),
            "ebx,ecx,edx",
            0,
            "0x40000000",
        ));
    }
    let three = cpuid(3, 0);
    out.push(row(
        "serial",
        hex(&[one.eax, three.eax, three.edx]),
        "eax,eax,ecx",
        0,
        "1,3",
    ));
    out.push(row(
        "family",
        format!("{:04x}", one.eax & 0xf00),
        "eax",
        0,
        "1",
    ));
    for (leaf, features) in FEATURES {
        let registers = cpuid(*leaf, 0);
        for (feature, register, bit) in *features {
            let set = registers.get(register) & (1 << bit) != 0;
            out.push(row(
                feature,
                u8::from(set).to_string(),
                register,
                *bit,
                &leaf.to_string(),
            ));
        }
    }
    for (sub_leaf, feature, eax) in [(0, "sgx0", "18"), (1, "sgx1", "18,1")] {
        let r = cpuid(0x12, sub_leaf);
        out.push(row(
            feature,
            hex(&[r.eax, r.ebx, r.ecx, r.edx]),
            "eax,ebx,ecx,edx",
            0,
            eax,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A processor that says `GenuineIntel`, has SSE2 and AVX2, runs under KVM.
    fn fake(leaf: u32, _sub_leaf: u32) -> Registers {
        let word = |s: &[u8; 4]| u32::from_le_bytes(*s);
        match leaf {
            0 => Registers {
                eax: 0x16,
                ebx: word(b"Genu"),
                edx: word(b"ineI"),
                ecx: word(b"ntel"),
            },
            1 => Registers {
                eax: 0x000906ea,
                ebx: 0,
                ecx: 1 << 31,
                edx: 1 << 26,
            },
            7 => Registers {
                ebx: 1 << 5,
                ..Registers::default()
            },
            0x4000_0000 => Registers {
                eax: 0x4000_0001,
                ebx: word(b"KVMK"),
                ecx: word(b"VMKV"),
                edx: word(b"M\0\0\0"),
            },
            0x8000_0002 => Registers {
                eax: word(b"Inte"),
                ebx: word(b"l(R)"),
                ecx: word(b" Cor"),
                edx: word(b"e(TM"),
            },
            0x8000_0003 => Registers {
                eax: word(b") i7"),
                ebx: word(b"\0\0\0\0"),
                ..Registers::default()
            },
            _ => Registers::default(),
        }
    }

    fn value_of(rows: &[Row], feature: &str) -> Value {
        rows.iter()
            .find(|r| r[CpuidRow::feature] == Value::from(feature))
            .map(|r| r[CpuidRow::value].clone())
            .unwrap_or(Value::Null)
    }

    #[test]
    fn strings_and_feature_bits() {
        let rows = cpuid_rows(&fake);
        assert_eq!(value_of(&rows, "vendor"), Value::from("GenuineIntel"));
        assert_eq!(
            value_of(&rows, "product_name"),
            Value::from("Intel(R) Core(TM) i7")
        );
        assert_eq!(value_of(&rows, "family"), Value::from("0600"));
        assert_eq!(value_of(&rows, "sse2"), Value::from("1"));
        assert_eq!(value_of(&rows, "sse"), Value::from("0"));
        assert_eq!(value_of(&rows, "avx2"), Value::from("1"));
        assert_eq!(value_of(&rows, "hypervisor"), Value::from("1"));
        assert_eq!(
            value_of(&rows, "hypervisor_id"),
            Value::from("400000014b4d564b564b4d56")
        );
        let avx2 = rows
            .iter()
            .find(|r| r[CpuidRow::feature] == Value::from("avx2"))
            .expect("avx2");
        assert_eq!(avx2[CpuidRow::output_register], Value::from("ebx"));
        assert_eq!(avx2[CpuidRow::output_bit], Value::Int(5));
        assert_eq!(avx2[CpuidRow::input_eax], Value::from("7"));
        let lm = rows
            .iter()
            .find(|r| r[CpuidRow::feature] == Value::from("lm"))
            .expect("lm");
        assert_eq!(lm[CpuidRow::input_eax], Value::from("2147483649"));
        // 5 strings, 62 feature bits, 2 SGX leaves.
        assert_eq!(rows.len(), 5 + 62 + 2);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn this_processor_has_sse2_and_long_mode() {
        let rows = cpuid_rows(&processor);
        // Every x86-64 processor has both.
        assert_eq!(value_of(&rows, "sse2"), Value::from("1"));
        assert_eq!(value_of(&rows, "lm"), Value::from("1"));
        let vendor = value_of(&rows, "vendor");
        assert!(
            vendor.as_text().is_some_and(|v| v.len() == 12),
            "{vendor:?}"
        );
    }
}
