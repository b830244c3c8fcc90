//! The stored encoding's primitives: a version byte, LEB128 integers (zig-zag for signed ones)
//! and length-prefixed UTF-8 strings.

use super::DecodeError;
use crate::model::Syscall;

pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    /// A record of this format's `version` (its first byte).
    pub(crate) fn new(version: u8) -> Self {
        Self(vec![version])
    }

    pub(crate) fn byte(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn uint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    pub(crate) fn int(&mut self, value: i64) {
        // Zig-zag, so small negative numbers (errnos) stay one byte.
        self.uint(((value << 1) ^ (value >> 63)) as u64);
    }

    pub(crate) fn str(&mut self, value: &str) {
        self.uint(value.len() as u64);
        self.0.extend_from_slice(value.as_bytes());
    }
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    /// A reader past the version byte, which must be `version`.
    pub(crate) fn new(bytes: &'a [u8], version: u8) -> Result<Self, DecodeError> {
        let mut reader = Self(bytes);
        reader.version(version)?;
        Ok(reader)
    }

    #[inline]
    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.0.split_first().ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    #[inline]
    pub(crate) fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Invalid("varint"))
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        u32::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))
    }

    #[inline]
    pub(crate) fn int(&mut self) -> Result<i64, DecodeError> {
        let raw = self.uint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    pub(crate) fn str(&mut self, field: &'static str) -> Result<String, DecodeError> {
        self.str_ref(field).map(str::to_owned)
    }

    /// A string borrowed from the record: nothing allocated.
    #[inline]
    pub(crate) fn str_ref(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let bytes = self.bytes_ref(field)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid(field))
    }

    /// A string's bytes borrowed from the record, not yet checked as UTF-8 (see
    /// [`crate::model::StoredText`]).
    #[inline]
    pub(crate) fn bytes_ref(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = usize::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))?;
        if len > self.0.len() {
            return Err(DecodeError::Truncated);
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(bytes)
    }

    #[inline]
    pub(crate) fn text_ref(
        &mut self,
        field: &'static str,
    ) -> Result<crate::model::StoredText<'a>, DecodeError> {
        self.bytes_ref(field)
            .map(|bytes| crate::model::StoredText::new(field, bytes))
    }
}

impl Reader<'_> {
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        i32::try_from(self.int()?).map_err(|_| DecodeError::Invalid(field))
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        u16::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))
    }

    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Invalid("trailing bytes"))
        }
    }
}

impl Reader<'_> {
    pub(crate) fn version(&mut self, expected: u8) -> Result<(), DecodeError> {
        match self.byte()? {
            v if v == expected => Ok(()),
            v => Err(DecodeError::Version(v)),
        }
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(field)),
        }
    }

    pub(crate) fn syscall(&mut self) -> Result<Syscall, DecodeError> {
        Syscall::from_code(self.byte()?).ok_or(DecodeError::Invalid("syscall"))
    }

    pub(crate) fn strings(&mut self, field: &'static str) -> Result<Vec<String>, DecodeError> {
        let count = self.uint()?;
        // Each string takes at least one byte: a count larger than what is left is corrupt.
        if count > self.0.len() as u64 {
            return Err(DecodeError::Invalid(field));
        }
        (0..count).map(|_| self.str(field)).collect()
    }
}
