//! Socket calls (connect, accept, bind, listen) in a running daemon's `bpf_socket_events`.

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket},
    os::fd::AsRawFd,
    time::Duration,
};

use crate::support::{Daemon, field, marker, poll, query_json, run_in};

const WAIT: Duration = Duration::from_secs(30);
const COLUMNS: &str = "syscall, pid, fd, family, type, protocol, local_address, local_port, \
                       remote_address, remote_port, status, exit_code, path";

/// This process's socket calls that involve `port`, waiting until `want` of them are stored.
fn calls_on_port(daemon: &Daemon, port: u16, want: usize) -> Vec<serde_json::Value> {
    let me = std::process::id();
    let sql = format!(
        "SELECT {COLUMNS} FROM bpf_socket_events WHERE pid = {me} \
         AND (local_port = {port} OR remote_port = {port}) ORDER BY ntime"
    );
    poll(&format!("{want} socket calls on port {port}"), WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        (rows.len() >= want).then_some(rows)
    })
}

fn one<'a>(rows: &'a [serde_json::Value], syscall: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| field(r, "syscall") == syscall)
        .unwrap_or_else(|| panic!("a {syscall} row: {rows:#?}"))
}

fn tcp_round_trip(daemon: &Daemon, listen_on: SocketAddr, family: &str) {
    let listener = TcpListener::bind(listen_on).expect("listen");
    let server = listener.local_addr().expect("addr");
    let client = TcpStream::connect(server).expect("connect");
    let client_port = client.local_addr().expect("client addr").port();
    let (accepted, _) = listener.accept().expect("accept");
    let ip = server.ip().to_string();

    // bind, listen, connect, accept on the server's port.
    let rows = calls_on_port(daemon, server.port(), 4);
    let bind = one(&rows, "bind");
    assert_eq!(field(bind, "local_address"), ip);
    assert_eq!(field(bind, "status"), "succeeded");
    assert_eq!(field(bind, "fd"), listener.as_raw_fd().to_string());
    let listen = one(&rows, "listen");
    assert_eq!(field(listen, "local_address"), ip);

    let connect = one(&rows, "connect");
    assert_eq!(field(connect, "family"), family);
    assert_eq!(field(connect, "type"), "1", "SOCK_STREAM");
    assert_eq!(field(connect, "protocol"), "6", "IPPROTO_TCP");
    assert_eq!(field(connect, "remote_address"), ip);
    assert_eq!(field(connect, "remote_port"), server.port().to_string());
    // The local end of a connect is reported too (osquery #3410).
    assert_eq!(field(connect, "local_address"), ip);
    assert_eq!(field(connect, "local_port"), client_port.to_string());
    assert_eq!(field(connect, "exit_code"), "0");
    assert_eq!(field(connect, "status"), "succeeded");
    let exe = std::env::current_exe().expect("exe");
    assert_eq!(field(connect, "path"), exe.to_string_lossy());

    let accept = one(&rows, "accept4");
    assert_eq!(field(accept, "local_port"), server.port().to_string());
    assert_eq!(field(accept, "remote_address"), ip);
    assert_eq!(field(accept, "remote_port"), client_port.to_string());
    assert_eq!(field(accept, "exit_code"), accepted.as_raw_fd().to_string());
}

#[test]
fn tcp_over_ipv4_and_ipv6_connect_accept_bind_listen() {
    let daemon = Daemon::start(&[]);
    tcp_round_trip(&daemon, "127.0.0.1:0".parse().expect("v4"), "2");
    tcp_round_trip(&daemon, "[::1]:0".parse().expect("v6"), "10");
}

#[test]
fn udp_bind_reports_the_port_the_kernel_chose() {
    let daemon = Daemon::start(&[]);
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("udp bind");
    let port = socket.local_addr().expect("addr").port();
    let rows = calls_on_port(&daemon, port, 1);
    let bind = one(&rows, "bind");
    assert_eq!(field(bind, "type"), "2", "SOCK_DGRAM");
    assert_eq!(field(bind, "protocol"), "17", "IPPROTO_UDP");
    assert_eq!(field(bind, "local_address"), "127.0.0.1");
    // The table has its own counters in vigil_events, as the daemon saved them.
    poll("bpf_socket_events counters", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            "SELECT stored, source FROM vigil_events WHERE name = 'bpf_socket_events'",
        );
        let row = rows.first()?;
        (field(row, "source") == "daemon" && field(row, "stored") != "0").then_some(())
    });
}

#[test]
fn a_refused_connect_fails_and_a_non_blocking_one_is_in_progress() {
    let daemon = Daemon::start(&[]);
    let closed = {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
        listener.local_addr().expect("addr").port()
    };
    let refused = TcpStream::connect((Ipv4Addr::LOCALHOST, closed));
    assert!(refused.is_err());
    let rows = calls_on_port(&daemon, closed, 3);
    let connect = one(&rows, "connect");
    assert_eq!(field(connect, "status"), "failed");
    assert_eq!(field(connect, "exit_code"), "-111", "ECONNREFUSED");
    assert_eq!(field(connect, "remote_port"), closed.to_string());

    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    // SAFETY: plain socket calls on a socket this test owns and closes.
    let rc = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
        assert!(fd >= 0);
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let errno = std::io::Error::last_os_error().raw_os_error();
        libc::close(fd);
        (rc, errno)
    };
    let rows = calls_on_port(&daemon, port, 3);
    let connect = one(&rows, "connect");
    if rc == (-1, Some(libc::EINPROGRESS)) {
        assert_eq!(field(connect, "status"), "in_progress");
        assert_eq!(field(connect, "exit_code"), "-115");
    } else {
        assert_eq!(
            field(connect, "status"),
            "succeeded",
            "connect returned {rc:?}"
        );
    }
}

#[test]
fn who_connected_where_joins_socket_and_process_events() {
    let daemon = Daemon::start(&[]);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let mark = marker("join");
    let dir = tempfile::tempdir().expect("dir");
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; echo {mark} >/dev/null");
    let (pid, out) = run_in(dir.path(), "/usr/bin/bash", &["-c", &script, &mark]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = format!(
        "SELECT s.remote_address, s.remote_port, p.cmdline FROM bpf_socket_events s \
         JOIN bpf_process_events p USING (pid) \
         WHERE s.syscall = 'connect' AND s.pid = {pid} AND p.syscall = 'execve' \
         AND s.family = 2"
    );
    // bash may also connect to a name-service socket (nscd on some hosts) before it
    // opens /dev/tcp; only the INET connect is the one under test.
    let rows = poll("the connect joined with its process", WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(field(&rows[0], "remote_address"), "127.0.0.1");
    assert_eq!(field(&rows[0], "remote_port"), port.to_string());
    assert!(field(&rows[0], "cmdline").contains(&mark), "{rows:#?}");
    drop(listener);
}

#[test]
fn unix_socket_paths_for_bind_and_connect() {
    use std::os::unix::net::{UnixListener, UnixStream};
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("vigil-test.sock");
    let listener = UnixListener::bind(&path).expect("unix bind");
    let _client = UnixStream::connect(&path).expect("unix connect");
    let path_text = path.to_string_lossy().into_owned();
    let me = std::process::id();
    let rows = poll("unix bind and connect rows", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT syscall, family, socket, local_address, remote_address, status \
                 FROM bpf_socket_events WHERE pid = {me} AND socket = '{path_text}'"
            ),
        );
        (rows.len() >= 2).then_some(rows)
    });
    let bind = one(&rows, "bind");
    assert_eq!(field(bind, "family"), "1", "AF_UNIX");
    assert_eq!(field(bind, "local_address"), path_text);
    let connect = one(&rows, "connect");
    assert_eq!(field(connect, "remote_address"), path_text);
    assert_eq!(field(connect, "status"), "succeeded");
    drop(listener);
}
