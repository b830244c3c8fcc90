//! How values are encoded in the state area.

/// A value kept in the agent's state.
pub trait StateValue: Sized {
    fn encode(&self) -> Vec<u8>;
    /// `None` when `bytes` are not a value of this type (a corrupt entry reads as missing).
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// Eight bytes, big-endian.
impl StateValue for u64 {
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
    }
}

/// Eight bytes, big-endian.
impl StateValue for i64 {
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        <[u8; 8]>::try_from(bytes).ok().map(i64::from_be_bytes)
    }
}

/// UTF-8 (what is not is read with replacement characters).
impl StateValue for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// `1` or `0` (anything but `1` reads as false).
impl StateValue for bool {
    fn encode(&self) -> Vec<u8> {
        if *self { b"1".to_vec() } else { b"0".to_vec() }
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(bytes == b"1")
    }
}

/// Values kept as JSON text.
macro_rules! json_state_value {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::StateValue for $ty {
            fn encode(&self) -> Vec<u8> {
                // Serializing these types cannot fail (no maps with non-string keys); an empty
                // value would read as missing.
                serde_json::to_vec(self).unwrap_or_default()
            }

            fn decode(bytes: &[u8]) -> Option<Self> {
                serde_json::from_slice(bytes).ok()
            }
        }
    )*};
}
pub(crate) use json_state_value;

json_state_value!(serde_json::Value);
