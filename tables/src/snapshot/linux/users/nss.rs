//! Accounts from NSS (`/etc/nsswitch.conf`: files, LDAP, SSSD, ...), for `users` with
//! `include_remote = 1`, as osquery reads them: `getpwuid`/`getpwnam` for the uids and names a
//! query gives, or every account when it gives none.

use std::{ffi::CStr, sync::Mutex};

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub dir: String,
    pub shell: String,
}

/// Accounts one enumeration lists at most: a whole directory service can be huge (osquery
/// warns of listing whole LDAP directories); past it the rest is left out, with a warning.
pub const MAX_ACCOUNTS: usize = 100_000;

/// `getpwent` keeps its position in the C library's global state: one enumeration at a time.
static ENUMERATING: Mutex<()> = Mutex::new(());

fn text(field: *const libc::c_char) -> String {
    if field.is_null() {
        return String::new();
    }
    // SAFETY: a non-null field of a passwd the C library filled is a NUL-terminated string.
    unsafe { CStr::from_ptr(field) }
        .to_string_lossy()
        .into_owned()
}

/// Copies what `entry` points at.
///
/// # Safety
/// `entry` is a passwd the C library filled, valid until the next call that fills one.
unsafe fn account(entry: &libc::passwd) -> Account {
    Account {
        name: text(entry.pw_name),
        uid: entry.pw_uid,
        gid: entry.pw_gid,
        gecos: text(entry.pw_gecos),
        dir: text(entry.pw_dir),
        shell: text(entry.pw_shell),
    }
}

/// Every account NSS lists, up to [`MAX_ACCOUNTS`].
pub fn all() -> Vec<Account> {
    let _one_at_a_time = ENUMERATING.lock();
    let mut accounts = Vec::new();
    // SAFETY: setpwent/getpwent/endpwent are called under ENUMERATING, the only user of this
    // state in vigil; each entry is copied before the next call.
    unsafe {
        libc::setpwent();
        loop {
            let entry = libc::getpwent();
            if entry.is_null() {
                break;
            }
            if accounts.len() == MAX_ACCOUNTS {
                tracing::warn!(
                    "users: NSS lists more than {MAX_ACCOUNTS} accounts; the rest are left out \
                     (name a uid or username with include_remote = 1)"
                );
                break;
            }
            accounts.push(account(&*entry));
        }
        libc::endpwent();
    }
    accounts
}

/// The C library's `_r` lookups fill a caller's buffer: grown while it says ERANGE, up to this.
const MAX_BUFFER: usize = 1 << 20;

/// The account `lookup` finds (a `getpw*_r` call given the passwd, buffer and result pointer).
fn look_up(
    lookup: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> i32,
) -> Option<Account> {
    let mut size = 1024;
    loop {
        let mut buffer = vec![0 as libc::c_char; size];
        // SAFETY: an all-zero passwd is valid (null pointers, zero ids); the call fills it.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let status = lookup(&mut entry, buffer.as_mut_ptr(), buffer.len(), &mut result);
        if status == libc::ERANGE && size < MAX_BUFFER {
            size *= 2;
            continue;
        }
        if status != 0 || result.is_null() {
            return None;
        }
        // SAFETY: the call succeeded: `entry`'s strings point into `buffer`, alive here.
        return Some(unsafe { account(&entry) });
    }
}

pub fn by_uid(uid: u32) -> Option<Account> {
    // SAFETY: the pointers come from look_up, valid for the call.
    look_up(|entry, buffer, size, result| unsafe {
        libc::getpwuid_r(uid, entry, buffer, size, result)
    })
}

pub fn by_name(name: &str) -> Option<Account> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: as by_uid; `name` is a NUL-terminated string alive for the call.
    look_up(|entry, buffer, size, result| unsafe {
        libc::getpwnam_r(name.as_ptr(), entry, buffer, size, result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_by_uid_by_name_and_in_the_list() {
        let root = by_uid(0).expect("root by uid");
        assert_eq!(root.name, "root");
        assert_eq!(by_name("root"), Some(root.clone()));
        assert!(all().contains(&root));
        assert_eq!(by_name("no-such-user-vigil"), None);
        assert_eq!(by_name("nul\0inside"), None);
    }
}
