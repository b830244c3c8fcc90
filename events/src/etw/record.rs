//! An ETW event as a publisher hands it to the mapping: the header fields the mapping reads and
//! the properties the provider's manifest declares, by name, with the values TDH decodes. The
//! Windows publisher fills it from ferrisetw's parser; tests fill it from recorded events.

use std::collections::BTreeMap;

/// The providers vigil subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Microsoft-Windows-Kernel-Process {22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}.
    KernelProcess,
    /// Microsoft-Windows-Kernel-File {EDD08927-9CC4-4E65-B970-C2560FB5C289}.
    KernelFile,
    /// Microsoft-Windows-Kernel-Network {7DD42A49-5329-4832-8DFD-43D979153A88}.
    KernelNetwork,
    /// The kernel logger's process events (the MOF class `Process`, GUID
    /// {3D6FA8D0-FE05-11D0-9DDA-00C04FD7BA7C}), told apart by opcode: they alone carry the
    /// command line and the user's SID.
    KernelLoggerProcess,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::KernelProcess => "Microsoft-Windows-Kernel-Process",
            Provider::KernelFile => "Microsoft-Windows-Kernel-File",
            Provider::KernelNetwork => "Microsoft-Windows-Kernel-Network",
            Provider::KernelLoggerProcess => "kernel logger Process",
        }
    }

    pub fn guid(self) -> &'static str {
        match self {
            Provider::KernelProcess => "22fb2cd6-0e7b-422b-a0c7-2fad1fd0e716",
            Provider::KernelFile => "edd08927-9cc4-4e65-b970-c2560fb5c289",
            Provider::KernelNetwork => "7dd42a49-5329-4832-8dfd-43d979153a88",
            Provider::KernelLoggerProcess => "3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c",
        }
    }
}

/// A property's value as TDH decodes it: integers and pointers of every width widened to 64
/// bits (FILETIME included, as its 64-bit count), strings, and the raw bytes of SIDs and of
/// binary properties (IPv6 addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unsigned(u64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Value::Unsigned(value)
    }
}

impl From<u32> for Value {
    fn from(value: u32) -> Self {
        Value::Unsigned(value.into())
    }
}

impl From<u16> for Value {
    fn from(value: u16) -> Self {
        Value::Unsigned(value.into())
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::Text(value.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Self {
        Value::Bytes(value)
    }
}

/// One ETW event: its header and its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub provider: Provider,
    /// The manifest's event id (0 for the kernel logger's MOF events).
    pub event_id: u16,
    /// What MOF events are told apart by (1 start, 2 end, 3 and 4 the processes running when
    /// the session started and stopped).
    pub opcode: u8,
    pub version: u8,
    /// 8 on 64-bit Windows, 4 on 32-bit (the header's `EVENT_HEADER_FLAG_64_BIT_HEADER`): the
    /// size of the pointers some properties begin with.
    pub pointer_bytes: u8,
    /// The header's time stamp, a FILETIME (100 ns since 1601-01-01 UTC): what a real-time
    /// session delivers with its default clock resolution (system time).
    pub timestamp: u64,
    /// The process and thread the header names: the process that caused the event for the
    /// file provider, the one that logged it (often the system) for the others.
    pub process_id: u32,
    pub thread_id: u32,
    pub properties: BTreeMap<String, Value>,
}

/// A property the mapping needs is absent or not of the type the manifest gives it: the
/// provider's version is one the mapping does not know, or the publisher decoded it wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropertyError {
    #[error("{provider} event {event_id} version {version} has no property `{name}`")]
    Missing {
        provider: &'static str,
        event_id: u16,
        version: u8,
        name: &'static str,
    },
    #[error("{provider} event {event_id}: property `{name}` is not {expected}")]
    Type {
        provider: &'static str,
        event_id: u16,
        name: &'static str,
        expected: &'static str,
    },
    #[error(
        "{provider} event {event_id}: property `{name}` holds {value}, more than {expected} can"
    )]
    Range {
        provider: &'static str,
        event_id: u16,
        name: &'static str,
        value: u64,
        expected: &'static str,
    },
    #[error("{provider} event {event_id}: property `{name}` is not a valid SID: {reason}")]
    Sid {
        provider: &'static str,
        event_id: u16,
        name: &'static str,
        reason: &'static str,
    },
}

impl Record {
    fn value(&self, name: &'static str) -> Result<&Value, PropertyError> {
        self.properties.get(name).ok_or(PropertyError::Missing {
            provider: self.provider.name(),
            event_id: self.event_id,
            version: self.version,
            name,
        })
    }

    fn type_error(&self, name: &'static str, expected: &'static str) -> PropertyError {
        PropertyError::Type {
            provider: self.provider.name(),
            event_id: self.event_id,
            name,
            expected,
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.properties.contains_key(name)
    }

    pub fn u64(&self, name: &'static str) -> Result<u64, PropertyError> {
        match self.value(name)? {
            Value::Unsigned(value) => Ok(*value),
            _ => Err(self.type_error(name, "an integer")),
        }
    }

    pub fn u32(&self, name: &'static str) -> Result<u32, PropertyError> {
        let value = self.u64(name)?;
        u32::try_from(value).map_err(|_| PropertyError::Range {
            provider: self.provider.name(),
            event_id: self.event_id,
            name,
            value,
            expected: "32 bits",
        })
    }

    pub fn u16(&self, name: &'static str) -> Result<u16, PropertyError> {
        let value = self.u64(name)?;
        u16::try_from(value).map_err(|_| PropertyError::Range {
            provider: self.provider.name(),
            event_id: self.event_id,
            name,
            value,
            expected: "16 bits",
        })
    }

    pub fn text(&self, name: &'static str) -> Result<&str, PropertyError> {
        match self.value(name)? {
            Value::Text(value) => Ok(value),
            _ => Err(self.type_error(name, "a string")),
        }
    }

    pub fn bytes(&self, name: &'static str) -> Result<&[u8], PropertyError> {
        match self.value(name)? {
            Value::Bytes(value) => Ok(value),
            _ => Err(self.type_error(name, "binary")),
        }
    }

    pub(crate) fn sid_error(&self, name: &'static str, reason: &'static str) -> PropertyError {
        PropertyError::Sid {
            provider: self.provider.name(),
            event_id: self.event_id,
            name,
            reason,
        }
    }
}
