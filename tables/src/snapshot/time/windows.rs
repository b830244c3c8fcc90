//! The clock and calendar through the C runtime of Windows: `time`, `gmtime_s`, `localtime_s`
//! and `_get_tzname` (the zone name `strftime("%Z")` prints there, as osquery reports it).

/// Seconds since the epoch.
pub fn now() -> libc::time_t {
    // SAFETY: time accepts a null pointer and then only returns the time.
    unsafe { libc::time(std::ptr::null_mut()) }
}

/// `now`'s calendar fields in UTC.
pub fn utc(now: libc::time_t) -> Result<libc::tm, String> {
    // SAFETY: tm is plain data, valid zeroed.
    let mut utc: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call.
    if unsafe { libc::gmtime_s(&mut utc, &now) } != 0 {
        return Err(format!("gmtime_s failed for {now}"));
    }
    Ok(utc)
}

/// The local zone's name at `now` (standard or daylight saving), from the C runtime's zone.
pub fn local_timezone(now: libc::time_t) -> Option<String> {
    // SAFETY: reads the TZ variable or the system's zone into the runtime's globals.
    unsafe { libc::tzset() };
    // SAFETY: tm is plain data, valid zeroed.
    let mut local: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call.
    if unsafe { libc::localtime_s(&mut local, &now) } != 0 {
        return None;
    }
    let index = libc::c_int::from(local.tm_isdst > 0);
    let mut buf = [0u8; 64];
    let mut len: libc::size_t = 0;
    // SAFETY: buf's pointer and length bound the write; len is a local.
    if unsafe { libc::get_tzname(&mut len, buf.as_mut_ptr().cast(), buf.len(), index) } != 0 {
        return None;
    }
    // len counts the terminating NUL.
    let zone = String::from_utf8_lossy(buf.get(..len.saturating_sub(1))?).into_owned();
    (!zone.is_empty()).then_some(zone)
}
