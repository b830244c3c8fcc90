//! A minimal reader of BTF (the kernel's BPF Type Format), enough to find where a struct member
//! sits in the running kernel. Rust eBPF programs get no CO-RE relocations, so the member offsets
//! they need are looked up here, at load time, in `/sys/kernel/btf/vmlinux`.

use std::collections::HashMap;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;

const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("BTF data is truncated or malformed: {0}")]
    Malformed(&'static str),
    #[error("BTF has no struct named `{0}`")]
    NoSuchStruct(String),
    #[error("struct `{strukt}` has no member `{member}` in this kernel's BTF")]
    NoSuchMember { strukt: String, member: String },
    #[error("member `{strukt}.{member}` is a bit field, not a byte-addressable field")]
    BitField { strukt: String, member: String },
}

#[derive(Debug, Clone)]
struct Member {
    name_off: u32,
    type_id: u32,
    bit_offset: u32,
    bitfield_size: u32,
}

#[derive(Debug, Clone)]
enum Type {
    Composite {
        members: Vec<Member>,
    },
    /// typedef, const, volatile, restrict, type tag: a name for another type.
    Alias {
        target: u32,
    },
    Other,
}

/// Parsed BTF: types by id, and struct ids by name.
pub struct Btf {
    strings: Vec<u8>,
    types: Vec<Type>,
    structs_by_name: HashMap<String, u32>,
}

fn u32_at(data: &[u8], at: usize, little: bool) -> Result<u32, BtfError> {
    let bytes: [u8; 4] = data
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or(BtfError::Malformed("read past the end"))?;
    Ok(if little {
        u32::from_le_bytes(bytes)
    } else {
        u32::from_be_bytes(bytes)
    })
}

impl Btf {
    pub fn from_sys_fs() -> std::io::Result<Result<Self, BtfError>> {
        let data = std::fs::read("/sys/kernel/btf/vmlinux")?;
        Ok(Self::parse(&data))
    }

    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let magic = data.get(0..2).ok_or(BtfError::Malformed("no header"))?;
        let little = match [magic[0], magic[1]] {
            m if u16::from_le_bytes(m) == MAGIC => true,
            m if u16::from_be_bytes(m) == MAGIC => false,
            _ => return Err(BtfError::Malformed("bad magic")),
        };
        let hdr_len = u32_at(data, 4, little)? as usize;
        if hdr_len < HEADER_LEN {
            return Err(BtfError::Malformed("header too short"));
        }
        let type_off = u32_at(data, 8, little)? as usize;
        let type_len = u32_at(data, 12, little)? as usize;
        let str_off = u32_at(data, 16, little)? as usize;
        let str_len = u32_at(data, 20, little)? as usize;
        let types_at = hdr_len + type_off;
        let type_data = data
            .get(types_at..types_at + type_len)
            .ok_or(BtfError::Malformed("type section out of range"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or(BtfError::Malformed("string section out of range"))?
            .to_vec();

        // Type id 0 is `void`.
        let mut types = vec![Type::Other];
        let mut names = vec![0u32];
        let mut at = 0usize;
        while at < type_data.len() {
            let name_off = u32_at(type_data, at, little)?;
            let info = u32_at(type_data, at + 4, little)?;
            let size_or_type = u32_at(type_data, at + 8, little)?;
            at += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let ty = match kind {
                KIND_STRUCT | KIND_UNION => {
                    let mut members = Vec::with_capacity(vlen);
                    for i in 0..vlen {
                        let m = at + i * 12;
                        let raw_offset = u32_at(type_data, m + 8, little)?;
                        let (bit_offset, bitfield_size) = if kind_flag {
                            (raw_offset & 0x00ff_ffff, raw_offset >> 24)
                        } else {
                            (raw_offset, 0)
                        };
                        members.push(Member {
                            name_off: u32_at(type_data, m, little)?,
                            type_id: u32_at(type_data, m + 4, little)?,
                            bit_offset,
                            bitfield_size,
                        });
                    }
                    at += vlen * 12;
                    Type::Composite { members }
                }
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    Type::Alias {
                        target: size_or_type,
                    }
                }
                KIND_INT | KIND_VAR | KIND_DECL_TAG => {
                    at += 4;
                    Type::Other
                }
                KIND_ARRAY => {
                    at += 12;
                    Type::Other
                }
                KIND_ENUM | KIND_FUNC_PROTO => {
                    at += vlen * 8;
                    Type::Other
                }
                KIND_DATASEC | KIND_ENUM64 => {
                    at += vlen * 12;
                    Type::Other
                }
                // PTR, FWD, FUNC, FLOAT: no trailing data.
                2 | 7 | 12 | 16 => Type::Other,
                _ => return Err(BtfError::Malformed("unknown type kind")),
            };
            names.push(if kind == KIND_STRUCT { name_off } else { 0 });
            types.push(ty);
        }
        if at != type_data.len() {
            return Err(BtfError::Malformed("type section does not end on a type"));
        }

        let mut btf = Btf {
            strings,
            types,
            structs_by_name: HashMap::new(),
        };
        for (id, name_off) in names.into_iter().enumerate() {
            if name_off != 0 {
                let name = btf.string(name_off).to_owned();
                // The first definition wins; later ones with the same name are duplicates from
                // other compilation units and have the same layout.
                btf.structs_by_name.entry(name).or_insert(id as u32);
            }
        }
        Ok(btf)
    }

    fn string(&self, offset: u32) -> &str {
        let tail = self.strings.get(offset as usize..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        std::str::from_utf8(&tail[..end]).unwrap_or("")
    }

    fn resolve(&self, mut id: u32) -> Option<&Type> {
        // Alias chains in real BTF are short; the bound guards against a malformed cycle.
        for _ in 0..32 {
            match self.types.get(id as usize)? {
                Type::Alias { target } => id = *target,
                other => return Some(other),
            }
        }
        None
    }

    /// Byte offset of `member` in struct `strukt`, looking through anonymous struct and union
    /// members as C does (`mm_struct.arg_start` sits inside an anonymous struct).
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let id = *self
            .structs_by_name
            .get(strukt)
            .ok_or_else(|| BtfError::NoSuchStruct(strukt.to_owned()))?;
        let found = self
            .find_member(id, member, 0)
            .ok_or_else(|| BtfError::NoSuchMember {
                strukt: strukt.to_owned(),
                member: member.to_owned(),
            })?;
        let (bit_offset, bitfield_size) = found;
        if bitfield_size != 0 || bit_offset % 8 != 0 {
            return Err(BtfError::BitField {
                strukt: strukt.to_owned(),
                member: member.to_owned(),
            });
        }
        Ok(bit_offset / 8)
    }

    fn find_member(&self, type_id: u32, member: &str, depth: u32) -> Option<(u32, u32)> {
        if depth > 8 {
            return None;
        }
        let Type::Composite { members } = self.resolve(type_id)? else {
            return None;
        };
        for m in members {
            if m.name_off == 0 {
                if let Some((inner, size)) = self.find_member(m.type_id, member, depth + 1) {
                    return Some((m.bit_offset + inner, size));
                }
            } else if self.string(m.name_off) == member {
                return Some((m.bit_offset, m.bitfield_size));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a little-endian BTF blob: `struct outer { int a; union { struct { int x; int y; };
    /// long z; }; }`.
    fn sample() -> Vec<u8> {
        let strings = b"\0outer\0a\0x\0y\0z\0int\0".to_vec();
        let s = |name: &str| -> u32 {
            let hay = &strings;
            let needle = format!("\0{name}\0");
            hay.windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .map(|p| p as u32 + 1)
                .unwrap_or(0)
        };
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        // 1: int
        push(&[s("int"), KIND_INT << 24, 4, 32]);
        // 2: anonymous struct { int x; int y; }
        push(&[0, (KIND_STRUCT << 24) | 2, 8, s("x"), 1, 0, s("y"), 1, 32]);
        // 3: anonymous union { struct; long z; }
        push(&[0, (KIND_UNION << 24) | 2, 8, 0, 2, 0, s("z"), 1, 0]);
        // 4: struct outer { int a; union; }
        push(&[
            s("outer"),
            (KIND_STRUCT << 24) | 2,
            16,
            s("a"),
            1,
            0,
            0,
            3,
            64,
        ]);
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(1);
        out.push(0);
        for w in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&types);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn finds_members_through_anonymous_unions_and_structs() {
        let btf = Btf::parse(&sample()).expect("sample parses");
        assert_eq!(btf.member_offset("outer", "a").expect("a"), 0);
        assert_eq!(btf.member_offset("outer", "x").expect("x"), 8);
        assert_eq!(btf.member_offset("outer", "y").expect("y"), 12);
        assert_eq!(btf.member_offset("outer", "z").expect("z"), 8);
    }

    #[test]
    fn names_what_is_missing() {
        let btf = Btf::parse(&sample()).expect("sample parses");
        let err = btf
            .member_offset("outer", "nope")
            .expect_err("no such member");
        assert!(err.to_string().contains("outer") && err.to_string().contains("nope"));
        assert!(matches!(
            btf.member_offset("inner", "a"),
            Err(BtfError::NoSuchStruct(_))
        ));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(Btf::parse(b"").is_err());
        assert!(Btf::parse(&[0x9f, 0xeb, 1, 0, 24, 0, 0, 0]).is_err());
        let mut truncated = sample();
        truncated.truncate(40);
        assert!(Btf::parse(&truncated).is_err());
    }

    #[test]
    fn reads_the_running_kernels_task_struct() {
        let Ok(Ok(btf)) = Btf::from_sys_fs() else {
            panic!("/sys/kernel/btf/vmlinux must exist and parse on the machines vigil runs on");
        };
        let tgid = btf
            .member_offset("task_struct", "tgid")
            .expect("task_struct.tgid");
        let pid = btf
            .member_offset("task_struct", "pid")
            .expect("task_struct.pid");
        // pid_t pid; pid_t tgid; are adjacent in every kernel since 2.6.
        assert_eq!(tgid, pid + 4);
        btf.member_offset("mm_struct", "arg_start")
            .expect("mm_struct.arg_start");
    }
}
