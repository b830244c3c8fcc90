//! What the mapping needs to know of this Windows machine: its volumes' device names and drive
//! letters, and its accounts' names.

use std::{collections::HashMap, sync::Mutex};

use ::windows::{
    Win32::{
        Foundation::{HLOCAL, LocalFree, PSID},
        Security::{Authorization::ConvertStringSidToSidW, LookupAccountSidW, SID_NAME_USE},
        Storage::FileSystem::QueryDosDeviceW,
    },
    core::{HSTRING, PCWSTR, PWSTR},
};

use crate::etw::{AccountNames, VolumeMap};

/// Each drive letter's NT device (`C:` → `\Device\HarddiskVolume3`), as `QueryDosDeviceW` says.
pub fn volumes() -> VolumeMap {
    let mut volumes = Vec::new();
    for letter in b'A'..=b'Z' {
        let drive = format!("{}:", char::from(letter));
        let mut target = [0u16; 1024];
        // SAFETY: `target` is a writable buffer of the length passed with it.
        let written = unsafe { QueryDosDeviceW(&HSTRING::from(drive.as_str()), Some(&mut target)) };
        if written == 0 {
            continue;
        }
        // The answer is a list of NUL-terminated strings: the first is the current mapping.
        let end = target.iter().position(|c| *c == 0).unwrap_or(target.len());
        volumes.push((String::from_utf16_lossy(&target[..end]), drive));
    }
    VolumeMap::new(volumes)
}

/// Account names by SID, looked up once each.
#[derive(Debug, Default)]
pub struct Accounts {
    known: Mutex<HashMap<String, Option<String>>>,
}

impl AccountNames for Accounts {
    fn name_of(&self, sid: &str) -> Option<String> {
        if sid.is_empty() {
            return None;
        }
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .entry(sid.to_owned())
            .or_insert_with(|| lookup(sid))
            .clone()
    }
}

fn lookup(sid: &str) -> Option<String> {
    let mut psid = PSID::default();
    // SAFETY: the string is NUL-terminated (HSTRING) and `psid` receives a LocalAlloc'd SID,
    // freed below.
    unsafe { ConvertStringSidToSidW(&HSTRING::from(sid), &mut psid) }.ok()?;
    let mut name = [0u16; 256];
    let mut domain = [0u16; 256];
    let mut name_len = name.len() as u32;
    let mut domain_len = domain.len() as u32;
    let mut kind = SID_NAME_USE::default();
    // SAFETY: the buffers are writable for the lengths passed with them; `psid` is valid.
    let found = unsafe {
        LookupAccountSidW(
            PCWSTR::null(),
            psid,
            PWSTR(name.as_mut_ptr()),
            &mut name_len,
            PWSTR(domain.as_mut_ptr()),
            &mut domain_len,
            &mut kind,
        )
    };
    // SAFETY: `psid` was allocated by ConvertStringSidToSidW with LocalAlloc.
    unsafe {
        let _ = LocalFree(HLOCAL(psid.0));
    }
    found.ok()?;
    let name = String::from_utf16_lossy(&name[..name_len as usize]);
    let domain = String::from_utf16_lossy(&domain[..domain_len as usize]);
    Some(if domain.is_empty() {
        name
    } else {
        format!(r"{domain}\{name}")
    })
}
