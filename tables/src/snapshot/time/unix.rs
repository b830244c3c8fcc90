//! The clock and calendar through POSIX: `time`, `gmtime_r`, `localtime_r` and `strftime`.

/// Seconds since the epoch.
pub fn now() -> libc::time_t {
    // SAFETY: time accepts a null pointer and then only returns the time.
    unsafe { libc::time(std::ptr::null_mut()) }
}

/// `now`'s calendar fields in UTC.
pub fn utc(now: libc::time_t) -> Result<libc::tm, String> {
    // SAFETY: tm is plain data, valid zeroed; gmtime_r fills it and touches nothing shared.
    let mut utc: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call.
    if unsafe { libc::gmtime_r(&now, &mut utc) }.is_null() {
        return Err(format!("gmtime_r failed for {now}"));
    }
    Ok(utc)
}

/// The local zone's abbreviation at `now` ("CET", "CEST"), as `strftime("%Z")` gives it.
pub fn local_timezone(now: libc::time_t) -> Option<String> {
    // SAFETY: tm is plain data, valid zeroed.
    let mut local: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call.
    if unsafe { libc::localtime_r(&now, &mut local) }.is_null() {
        return None;
    }
    let mut buf = [0u8; 64];
    // SAFETY: buf's pointer and length bound the write; the format is NUL-terminated; local was
    // filled by localtime_r.
    let len = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%Z".as_ptr(), &local) };
    let zone = String::from_utf8_lossy(buf.get(..len)?).into_owned();
    (!zone.is_empty()).then_some(zone)
}
