//! 64-bit FNV-1a: a stable number from names and bytes, the same in every build and release
//! (std's hasher promises neither).

/// Hashes `parts` in order; a separator after each keeps `["ab", "c"]` apart from `["a", "bc"]`.
pub fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for &byte in *part {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
        hash = (hash ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_and_separating() {
        assert_eq!(fnv1a(&[b"/var/lib/vigil"]), fnv1a(&[b"/var/lib/vigil"]));
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
        assert_ne!(fnv1a(&[b"/a"]), fnv1a(&[b"/b"]));
    }
}
