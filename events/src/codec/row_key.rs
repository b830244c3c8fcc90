//! Row keys: fixed-width big-endian `(time_ns, seq)`, so keys sort by event time and a time range
//! is one contiguous key range.

pub const KEY_LEN: usize = 16;

pub fn encode(time_ns: u64, seq: u64) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    key[..8].copy_from_slice(&time_ns.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub fn decode(key: &[u8]) -> Option<(u64, u64)> {
    let time: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let seq: [u8; 8] = key.get(8..KEY_LEN)?.try_into().ok()?;
    if key.len() != KEY_LEN {
        return None;
    }
    Some((u64::from_be_bytes(time), u64::from_be_bytes(seq)))
}

/// The smallest row key after `(time_ns, seq)`, if there is one.
pub fn after((time_ns, seq): (u64, u64)) -> Option<(u64, u64)> {
    match seq.checked_add(1) {
        Some(seq) => Some((time_ns, seq)),
        None => time_ns.checked_add(1).map(|time_ns| (time_ns, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_time_then_sequence() {
        let mut keys = [encode(2, 0), encode(1, 9), encode(1, 10), encode(256, 1)];
        keys.sort();
        let decoded: Vec<_> = keys.iter().filter_map(|k| decode(k)).collect();
        assert_eq!(decoded, vec![(1, 9), (1, 10), (2, 0), (256, 1)]);
        assert_eq!(decode(&[0; 15]), None);
        assert_eq!(after((1, 9)), Some((1, 10)));
        assert_eq!(after((1, u64::MAX)), Some((2, 0)));
        assert_eq!(after((u64::MAX, u64::MAX)), None);
    }
}
