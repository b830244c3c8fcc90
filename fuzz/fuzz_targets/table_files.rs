//! Files the snapshot tables read from the host (dpkg status, apt and yum sources, crontab,
//! sudoers, shell history, authorized_keys, hosts, resolv.conf, LUKS and rpm headers): the first
//! byte picks the parser, the rest is the file. No parser may panic, and what each returns keeps
//! its promises (`vigil_formats::checks`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vigil_formats::checks::check(data);
});
