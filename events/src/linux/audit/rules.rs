//! vigil's audit rule (`struct audit_rule_data`): one syscall rule on the exit filter, always
//! recorded, for this architecture, with the key `vigil` so anyone listing the rules
//! (`auditctl -l`) sees whose it is.

use super::syscalls::NATIVE_ARCH;

const AUDIT_FILTER_EXIT: u32 = 0x04;
const AUDIT_ALWAYS: u32 = 2;
const AUDIT_ARCH: u32 = 11;
const AUDIT_FILTERKEY: u32 = 210;
const AUDIT_EQUAL: u32 = 0x4000_0000;
const AUDIT_BITMASK_SIZE: usize = 64;
const AUDIT_MAX_FIELDS: usize = 64;
/// flags, action, field_count, mask, fields, values, fieldflags, buflen.
const FIXED: usize = 4 * (3 + AUDIT_BITMASK_SIZE + 3 * AUDIT_MAX_FIELDS + 1);

/// The key of vigil's rule.
pub const KEY: &str = "vigil";

/// vigil's rule for these syscall numbers (of this architecture).
pub fn vigil_rule(syscalls: &[u32]) -> Vec<u8> {
    syscall_rule(syscalls, KEY)
}

/// A rule for these syscall numbers (of this architecture) with key `key` (at most 255 bytes).
pub fn syscall_rule(syscalls: &[u32], key: &str) -> Vec<u8> {
    let key = &key.as_bytes()[..key.len().min(255)];
    let mut mask = [0u32; AUDIT_BITMASK_SIZE];
    for &n in syscalls {
        if let Some(word) = mask.get_mut((n / 32) as usize) {
            *word |= 1 << (n % 32);
        }
    }
    let fields = [
        (AUDIT_ARCH, NATIVE_ARCH),
        (AUDIT_FILTERKEY, key.len() as u32),
    ];
    let mut words = vec![AUDIT_FILTER_EXIT, AUDIT_ALWAYS, fields.len() as u32];
    words.extend_from_slice(&mask);
    let mut kinds = [0u32; AUDIT_MAX_FIELDS];
    let mut values = [0u32; AUDIT_MAX_FIELDS];
    let mut ops = [0u32; AUDIT_MAX_FIELDS];
    for (i, (kind, value)) in fields.iter().enumerate() {
        kinds[i] = *kind;
        values[i] = *value;
        ops[i] = AUDIT_EQUAL;
    }
    words.extend_from_slice(&kinds);
    words.extend_from_slice(&values);
    words.extend_from_slice(&ops);
    words.push(key.len() as u32);
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    debug_assert_eq!(bytes.len(), FIXED);
    bytes.extend_from_slice(key);
    bytes
}

/// Whether `rule` (as the kernel lists it) carries vigil's key.
pub fn is_vigils(rule: &[u8]) -> bool {
    key(rule).is_some_and(|key| key == KEY.as_bytes())
}

/// The key of a listed rule, if it has one: string fields take their value's length of bytes
/// from the buffer after the fixed part, in field order.
pub fn key(rule: &[u8]) -> Option<&[u8]> {
    let word = |index: usize| {
        rule.get(index * 4..index * 4 + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    let count = usize::try_from(word(2)?).ok()?.min(AUDIT_MAX_FIELDS);
    let kinds = 3 + AUDIT_BITMASK_SIZE;
    let values = kinds + AUDIT_MAX_FIELDS;
    let buffer = rule.get(FIXED..)?;
    let mut offset = 0usize;
    for i in 0..count {
        let kind = word(kinds + i)?;
        if is_string_field(kind) {
            let len = usize::try_from(word(values + i)?).ok()?;
            let value = buffer.get(offset..offset.checked_add(len)?)?;
            if kind == AUDIT_FILTERKEY {
                return Some(value);
            }
            offset += len;
        }
    }
    None
}

/// Fields whose value is a string in the rule's buffer (the kernel's `audit_data_to_entry`).
fn is_string_field(kind: u32) -> bool {
    matches!(kind, 13..=17 | 19..=23 | 105 | 107 | 112 | AUDIT_FILTERKEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vigils_rule_carries_its_key_and_its_syscalls() {
        let rule = vigil_rule(&[59, 322]);
        assert_eq!(rule.len(), FIXED + KEY.len());
        assert!(is_vigils(&rule));
        let mask_word =
            |i: usize| u32::from_ne_bytes(rule[12 + i * 4..16 + i * 4].try_into().expect("4"));
        assert_eq!(mask_word(1), 1 << (59 - 32));
        assert_eq!(mask_word(10), 1 << (322 - 320));
        assert!(!is_vigils(&rule[..FIXED]), "cut short");
        assert!(!is_vigils(b"garbage"));
    }
}
