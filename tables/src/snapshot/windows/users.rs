//! `users` on Windows: the machine's local accounts (`NetUserEnum`), as osquery lists them: `uid`
//! and `gid` the RIDs of the account's SID and primary group, `uuid` the SID, `directory` the
//! profile's folder from the registry's `ProfileList`, `type` `local`. Domain accounts that
//! logged on here and the service accounts' profiles (osquery's `roaming` and `special`) are not
//! listed yet.

use super::rows::UserRow;
use windows_sys::Win32::NetworkManagement::NetManagement::{
    FILTER_NORMAL_ACCOUNT, MAX_PREFERRED_LENGTH, NERR_Success, NetApiBufferFree, NetUserEnum,
    USER_INFO_4,
};

use super::{
    convert::{profile_type, rid},
    processes::sid_text,
};
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "users";
const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";
/// More entries to come (ERROR_MORE_DATA).
const MORE_DATA: u32 = 234;

pub struct Users;

/// A NUL-terminated UTF-16 string the API returned; empty for null.
fn wide(text: *const u16) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: the API's strings are NUL-terminated; the length is counted up to the NUL.
    let len = (0..).take_while(|&i| unsafe { *text.add(i) } != 0).count();
    // SAFETY: `len` characters are readable, counted above.
    String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(text, len) })
}

impl Table for Users {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        UserRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let accounts = local_accounts()?;
        let local_sids: Vec<String> = accounts.iter().map(|a| a.sid.clone()).collect();
        let found = accounts
            .into_iter()
            .map(|account| {
                let uid = rid(&account.sid).map_or(Value::Int(-1), Value::Int);
                let gid = i64::from(account.primary_group);
                Row::from(UserRow {
                    uid_signed: uid.clone(),
                    uid,
                    gid: gid.into(),
                    gid_signed: gid.into(),
                    directory: profile_directory(&account.sid)
                        .unwrap_or(account.home_dir)
                        .into(),
                    username: account.name.into(),
                    description: account.comment.into(),
                    shell: r"C:\Windows\system32\cmd.exe".to_owned().into(),
                    r#type: profile_type(&account.sid, &local_sids).to_owned().into(),
                    uuid: account.sid.into(),
                })
            })
            .collect();
        Ok(rows(found))
    }
}

struct Account {
    name: String,
    comment: String,
    home_dir: String,
    sid: String,
    primary_group: u32,
}

fn local_accounts() -> Result<Vec<Account>, TableError> {
    let mut accounts = Vec::new();
    let mut resume = 0u32;
    loop {
        let mut buffer: *mut u8 = std::ptr::null_mut();
        let (mut read, mut total) = (0u32, 0u32);
        // SAFETY: out-pointers to locals; the buffer is freed below.
        let status = unsafe {
            NetUserEnum(
                std::ptr::null(),
                4,
                FILTER_NORMAL_ACCOUNT,
                &mut buffer,
                MAX_PREFERRED_LENGTH,
                &mut read,
                &mut total,
                &mut resume,
            )
        };
        if status != NERR_Success && status != MORE_DATA {
            return Err(failed(
                NAME,
                format!("NetUserEnum failed with status {status}"),
            ));
        }
        if !buffer.is_null() {
            // SAFETY: the API wrote `read` USER_INFO_4 entries into `buffer`.
            let entries =
                unsafe { std::slice::from_raw_parts(buffer.cast::<USER_INFO_4>(), read as usize) };
            for entry in entries {
                accounts.push(Account {
                    name: wide(entry.usri4_name),
                    comment: wide(entry.usri4_comment),
                    home_dir: wide(entry.usri4_home_dir),
                    sid: sid_text(entry.usri4_user_sid).unwrap_or_default(),
                    primary_group: entry.usri4_primary_group_id,
                });
            }
            // SAFETY: the buffer NetUserEnum allocated, freed once.
            unsafe { NetApiBufferFree(buffer.cast()) };
        }
        if status != MORE_DATA {
            return Ok(accounts);
        }
    }
}

/// The profile folder Windows keeps for `sid`.
fn profile_directory(sid: &str) -> Option<String> {
    windows_registry::LOCAL_MACHINE
        .open(format!(r"{PROFILE_LIST}\{sid}"))
        .and_then(|key| key.get_string("ProfileImagePath"))
        .ok()
}
