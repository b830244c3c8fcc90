//! A load that makes every file and socket syscall vigil hooks, each many times, so that each
//! program's kernel cost is an average over many runs (a program seen twice gives a cold-cache
//! figure, not its cost). Made in this process with raw syscalls: a libc wrapper may call
//! another syscall than its name says (`mkdir` as `mkdirat`, `open` as `openat`).

use std::{
    ffi::CString,
    net::{Ipv4Addr, SocketAddrV4},
    os::unix::ffi::OsStrExt as _,
    path::Path,
};

use anyhow::{Context as _, bail};

/// One syscall's raw result: the error it gave, naming the call.
fn check(name: &str, ret: libc::c_long) -> anyhow::Result<libc::c_long> {
    if ret < 0 {
        bail!("{name} failed: {}", std::io::Error::last_os_error());
    }
    Ok(ret)
}

fn c_path(path: &Path) -> anyhow::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("{} holds a NUL byte", path.display()))
}

/// `rounds` times: every file syscall vigil reports, on files in `dir` (left empty), and a TCP
/// listener bound, listening and accepting (with `accept` and `accept4`) connections.
pub fn run(dir: &Path, rounds: u64) -> anyhow::Result<()> {
    let p = |name: &str| c_path(&dir.join(name));
    let (file, moved, moved2, moved3, hard, hard2, soft, soft2, sub, sub2) = (
        p("f")?,
        p("g")?,
        p("h")?,
        p("i")?,
        p("l")?,
        p("m")?,
        p("s")?,
        p("t")?,
        p("d")?,
        p("e")?,
    );
    let at = libc::AT_FDCWD as libc::c_long;
    for _ in 0..rounds {
        // SAFETY: every call below is a raw syscall with NUL-terminated paths that outlive it,
        // descriptors this function opened, and socket addresses of the size given.
        unsafe {
            let fd = check(
                "open",
                libc::syscall(
                    libc::SYS_open,
                    file.as_ptr(),
                    libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                    0o600,
                ),
            )?;
            check("ftruncate", libc::syscall(libc::SYS_ftruncate, fd, 64))?;
            check("fchmod", libc::syscall(libc::SYS_fchmod, fd, 0o640))?;
            check("fchown", libc::syscall(libc::SYS_fchown, fd, -1, -1))?;
            libc::close(fd as i32);
            check(
                "creat",
                libc::syscall(libc::SYS_creat, moved3.as_ptr(), 0o600),
            )
            .map(|fd| libc::close(fd as i32))?;
            check(
                "truncate",
                libc::syscall(libc::SYS_truncate, file.as_ptr(), 0),
            )?;
            check(
                "chmod",
                libc::syscall(libc::SYS_chmod, file.as_ptr(), 0o600),
            )?;
            check(
                "fchmodat",
                libc::syscall(libc::SYS_fchmodat, at, file.as_ptr(), 0o600),
            )?;
            check(
                "chown",
                libc::syscall(libc::SYS_chown, file.as_ptr(), -1, -1),
            )?;
            check(
                "lchown",
                libc::syscall(libc::SYS_lchown, file.as_ptr(), -1, -1),
            )?;
            check(
                "fchownat",
                libc::syscall(libc::SYS_fchownat, at, file.as_ptr(), -1, -1, 0),
            )?;
            check(
                "link",
                libc::syscall(libc::SYS_link, file.as_ptr(), hard.as_ptr()),
            )?;
            check(
                "linkat",
                libc::syscall(libc::SYS_linkat, at, file.as_ptr(), at, hard2.as_ptr(), 0),
            )?;
            check(
                "symlink",
                libc::syscall(libc::SYS_symlink, file.as_ptr(), soft.as_ptr()),
            )?;
            check(
                "symlinkat",
                libc::syscall(libc::SYS_symlinkat, file.as_ptr(), at, soft2.as_ptr()),
            )?;
            check(
                "rename",
                libc::syscall(libc::SYS_rename, file.as_ptr(), moved.as_ptr()),
            )?;
            check(
                "renameat",
                libc::syscall(libc::SYS_renameat, at, moved.as_ptr(), at, moved2.as_ptr()),
            )?;
            check(
                "renameat2",
                libc::syscall(
                    libc::SYS_renameat2,
                    at,
                    moved2.as_ptr(),
                    at,
                    file.as_ptr(),
                    0,
                ),
            )?;
            check("mkdir", libc::syscall(libc::SYS_mkdir, sub.as_ptr(), 0o700))?;
            check(
                "mkdirat",
                libc::syscall(libc::SYS_mkdirat, at, sub2.as_ptr(), 0o700),
            )?;
            check("rmdir", libc::syscall(libc::SYS_rmdir, sub.as_ptr()))?;
            check(
                "unlinkat",
                libc::syscall(libc::SYS_unlinkat, at, sub2.as_ptr(), libc::AT_REMOVEDIR),
            )?;
            for name in [&hard, &hard2, &soft, &moved3] {
                check("unlink", libc::syscall(libc::SYS_unlink, name.as_ptr()))?;
            }
            for name in [&soft2, &file] {
                check(
                    "unlinkat",
                    libc::syscall(libc::SYS_unlinkat, at, name.as_ptr(), 0),
                )?;
            }
        }
        sockets()?;
    }
    Ok(())
}

fn sockaddr(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// socket, bind, listen; two connects, one taken with `accept`, the other with `accept4`.
fn sockets() -> anyhow::Result<()> {
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    let mut open = Vec::new();
    let result = (|| -> anyhow::Result<()> {
        // SAFETY: socket calls on descriptors this function opened (closed below), with
        // addresses of the length given.
        unsafe {
            let listener = check(
                "socket",
                libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).into(),
            )? as i32;
            open.push(listener);
            let any = sockaddr(0);
            check(
                "bind",
                libc::syscall(
                    libc::SYS_bind,
                    listener,
                    &any as *const libc::sockaddr_in,
                    len,
                ),
            )?;
            check("listen", libc::syscall(libc::SYS_listen, listener, 8))?;
            let mut bound = sockaddr(0);
            let mut bound_len = len;
            check(
                "getsockname",
                libc::getsockname(
                    listener,
                    (&mut bound as *mut libc::sockaddr_in).cast(),
                    &mut bound_len,
                )
                .into(),
            )?;
            let port = u16::from_be(bound.sin_port);
            let to = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
            for accept4 in [false, true] {
                let client = check(
                    "socket",
                    libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0).into(),
                )? as i32;
                open.push(client);
                let target = sockaddr(to.port());
                check(
                    "connect",
                    libc::syscall(
                        libc::SYS_connect,
                        client,
                        &target as *const libc::sockaddr_in,
                        len,
                    ),
                )?;
                let mut peer = sockaddr(0);
                let mut peer_len = len;
                let peer_ptr = (&mut peer as *mut libc::sockaddr_in).cast::<libc::sockaddr>();
                let accepted = if accept4 {
                    libc::syscall(
                        libc::SYS_accept4,
                        listener,
                        peer_ptr,
                        &mut peer_len,
                        libc::SOCK_CLOEXEC,
                    )
                } else {
                    libc::syscall(libc::SYS_accept, listener, peer_ptr, &mut peer_len)
                };
                open.push(check(if accept4 { "accept4" } else { "accept" }, accepted)? as i32);
            }
        }
        Ok(())
    })();
    for fd in open {
        // SAFETY: closing descriptors this function opened, once each.
        unsafe { libc::close(fd) };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syscall_load_runs_and_leaves_its_directory_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        run(dir.path(), 3).expect("every syscall of the load succeeds");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
