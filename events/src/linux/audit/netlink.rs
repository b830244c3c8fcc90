//! The audit netlink socket, by hand with libc: the messages are few and small (a status
//! struct, rule structs, text records), and the rust-netlink crates' audit codec reads an
//! `exe=` rule field as a number (it is a path) and refuses rule fields it does not know, which
//! a host's other rules may have.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    time::{Duration, Instant},
};

use super::status::AuditStatus;

pub const AUDIT_GET: u16 = 1000;
pub const AUDIT_SET: u16 = 1001;
pub const AUDIT_LIST_RULES: u16 = 1013;
pub const AUDIT_ADD_RULE: u16 = 1011;
pub const AUDIT_DEL_RULE: u16 = 1012;
/// The kernel asks the audit daemon whether it is alive (someone tried to replace it).
pub const AUDIT_REPLACE: u16 = 1329;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const HEADER: usize = 16;
/// The multicast group that gets a read-only copy of every record (Linux 3.16).
const AUDIT_NLGRP_READLOG: u32 = 1;
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;

/// How long the kernel has to answer a request.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error(
        "cannot open the audit netlink socket: {0} (the kernel needs CONFIG_AUDIT, and vigil \
             CAP_AUDIT_CONTROL: run it as root)"
    )]
    Open(io::Error),
    #[error("audit netlink: {0}")]
    Io(#[from] io::Error),
    #[error("the kernel refused {request}: {error}")]
    Refused {
        request: &'static str,
        error: io::Error,
    },
    #[error("the kernel did not answer {0} within 5 s")]
    NoAnswer(&'static str),
}

/// One netlink message: its type and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub kind: u16,
    pub seq: u32,
    pub payload: Vec<u8>,
}

pub struct AuditSocket {
    fd: OwnedFd,
    seq: u32,
    /// Records that arrived while a request waited for its answer: read first.
    stashed: Vec<Message>,
    buffer: Vec<u8>,
}

impl AuditSocket {
    pub fn open() -> Result<Self, NetlinkError> {
        // SAFETY: a plain socket(2) call; the fd is owned from here on.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_AUDIT,
            )
        };
        if fd < 0 {
            return Err(NetlinkError::Open(io::Error::last_os_error()));
        }
        // SAFETY: fd is a new socket no one else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; zero is a valid value.
        let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: address is a valid sockaddr_nl of the size given.
        let bound = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const address).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if bound < 0 {
            return Err(NetlinkError::Open(io::Error::last_os_error()));
        }
        Ok(Self {
            fd,
            seq: 0,
            stashed: Vec::new(),
            buffer: vec![0; 64 * 1024],
        })
    }

    /// Asks for a larger receive buffer (as root, past the system's default limit), so a burst
    /// of records waits in the socket rather than in the kernel's backlog.
    pub fn grow_receive_buffer(&self, bytes: usize) {
        let size = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
        // SAFETY: setsockopt with a c_int option value of the size given.
        let _ = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }

    /// Joins the multicast group that gets a copy of every record, without owning audit.
    pub fn join_read_log(&self) -> Result<(), NetlinkError> {
        let group = AUDIT_NLGRP_READLOG;
        // SAFETY: setsockopt with a u32 option value of the size given.
        let done = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                SOL_NETLINK,
                NETLINK_ADD_MEMBERSHIP,
                (&raw const group).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if done < 0 {
            return Err(NetlinkError::Refused {
                request: "joining the audit log multicast group",
                error: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    fn send(&mut self, kind: u16, flags: u16, payload: &[u8]) -> Result<u32, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let len = HEADER + payload.len();
        let mut message = Vec::with_capacity(len.next_multiple_of(4));
        message.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_ne_bytes());
        message.extend_from_slice(&kind.to_ne_bytes());
        message.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        message.extend_from_slice(&self.seq.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes());
        message.extend_from_slice(payload);
        message.resize(len.next_multiple_of(4), 0);
        // SAFETY: sockaddr_nl is plain data; zero (the kernel, pid 0) is the destination.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: message and kernel are valid for the sizes given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                message.as_ptr().cast(),
                message.len(),
                0,
                (&raw const kernel).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error().into());
        }
        Ok(self.seq)
    }

    /// The messages of the next datagram, waiting at most `timeout`; empty when none came.
    /// `ENOBUFS` (the socket's buffer overflowed: records were lost) comes back as an error of
    /// that kind.
    pub fn receive(&mut self, timeout: Duration) -> Result<Vec<Message>, io::Error> {
        if !self.stashed.is_empty() {
            return Ok(std::mem::take(&mut self.stashed));
        }
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let millis = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if ready < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::Interrupted {
                Ok(Vec::new())
            } else {
                Err(error)
            };
        }
        if ready == 0 {
            return Ok(Vec::new());
        }
        // SAFETY: the buffer is valid for its length.
        let got = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buffer.as_mut_ptr().cast(),
                self.buffer.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if got < 0 {
            let error = io::Error::last_os_error();
            return if error.kind() == io::ErrorKind::WouldBlock {
                Ok(Vec::new())
            } else {
                Err(error)
            };
        }
        let got = usize::try_from(got).unwrap_or(0).min(self.buffer.len());
        Ok(split(&self.buffer[..got]))
    }

    /// Sends a request and waits for the kernel's acknowledgement.
    fn request(
        &mut self,
        name: &'static str,
        kind: u16,
        payload: &[u8],
    ) -> Result<(), NetlinkError> {
        let seq = self.send(kind, NLM_F_ACK, payload)?;
        self.wait(name, seq, |message| {
            (message.kind == NLMSG_ERROR).then(|| ack(name, &message.payload))
        })?
    }

    /// Waits for the answer `pick` finds among the messages with sequence `seq`; the other
    /// messages (records) are kept for [`AuditSocket::receive`].
    fn wait<T>(
        &mut self,
        name: &'static str,
        seq: u32,
        mut pick: impl FnMut(&Message) -> Option<T>,
    ) -> Result<T, NetlinkError> {
        let deadline = Instant::now() + ANSWER_WITHIN;
        let mut kept = Vec::new();
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break Err(NetlinkError::NoAnswer(name));
            }
            let messages = match self.receive(left) {
                Ok(messages) => messages,
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(error) => break Err(error.into()),
            };
            let mut found = None;
            for message in messages {
                if message.seq == seq
                    && found.is_none()
                    && let Some(answer) = pick(&message)
                {
                    found = Some(answer);
                } else if message.seq != seq || message.kind >= 1100 {
                    kept.push(message);
                }
            }
            if let Some(answer) = found {
                break Ok(answer);
            }
        };
        self.stashed.extend(kept);
        result
    }

    pub fn status(&mut self) -> Result<AuditStatus, NetlinkError> {
        let seq = self.send(AUDIT_GET, 0, &[])?;
        self.wait("AUDIT_GET", seq, |message| match message.kind {
            AUDIT_GET => Some(Ok(AuditStatus::parse(&message.payload))),
            NLMSG_ERROR => match ack("AUDIT_GET", &message.payload) {
                Ok(()) => None,
                Err(error) => Some(Err(error)),
            },
            _ => None,
        })?
    }

    pub fn set_status(&mut self, status: &AuditStatus) -> Result<(), NetlinkError> {
        self.request("AUDIT_SET", AUDIT_SET, &status.emit())
    }

    /// Every rule in the kernel, as the kernel lists them (`struct audit_rule_data`).
    pub fn rules(&mut self) -> Result<Vec<Vec<u8>>, NetlinkError> {
        let seq = self.send(AUDIT_LIST_RULES, 0, &[])?;
        let mut rules = Vec::new();
        self.wait("AUDIT_LIST_RULES", seq, |message| match message.kind {
            AUDIT_LIST_RULES => {
                rules.push(message.payload.clone());
                None
            }
            NLMSG_DONE => Some(Ok(())),
            NLMSG_ERROR => match ack("AUDIT_LIST_RULES", &message.payload) {
                Ok(()) => None,
                Err(error) => Some(Err(error)),
            },
            _ => None,
        })??;
        Ok(rules)
    }

    pub fn add_rule(&mut self, rule: &[u8]) -> Result<(), NetlinkError> {
        self.request("AUDIT_ADD_RULE", AUDIT_ADD_RULE, rule)
    }

    pub fn delete_rule(&mut self, rule: &[u8]) -> Result<(), NetlinkError> {
        self.request("AUDIT_DEL_RULE", AUDIT_DEL_RULE, rule)
    }

    /// Asks the kernel to log a user-space message of type `kind` (1100-1199, 2100-2999), as
    /// login, sshd or sudo do through libaudit: the kernel adds the sender's pid, uid, auid and
    /// session, and sends it to the audit pid like any record.
    pub fn user_message(&mut self, kind: u16, text: &str) -> Result<(), NetlinkError> {
        let mut payload = text.as_bytes().to_vec();
        payload.push(0);
        self.request("a user message", kind, &payload)
    }
}

/// An NLMSG_ERROR answer: error 0 is the acknowledgement.
fn ack(request: &'static str, payload: &[u8]) -> Result<(), NetlinkError> {
    let code = payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_ne_bytes)
        .unwrap_or(0);
    if code == 0 {
        Ok(())
    } else {
        Err(NetlinkError::Refused {
            request,
            error: io::Error::from_raw_os_error(code.saturating_neg()),
        })
    }
}

/// The messages of one datagram. The kernel sends each record in a datagram of its own with a
/// length that leaves the header out (its multicast copy puts it back), and some answers with
/// padding the length does not count: a length that does not fit, or that leaves less than a
/// header's worth of bytes after it, takes the rest of the datagram.
pub fn split(mut datagram: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while datagram.len() >= HEADER {
        let word = |at: usize| {
            u32::from_ne_bytes([
                datagram[at],
                datagram[at + 1],
                datagram[at + 2],
                datagram[at + 3],
            ])
        };
        let len = usize::try_from(word(0)).unwrap_or(usize::MAX);
        let kind = u16::from_ne_bytes([datagram[4], datagram[5]]);
        let seq = word(8);
        let end = if len < HEADER || len > datagram.len() || datagram.len() - len <= HEADER {
            datagram.len()
        } else {
            len
        };
        out.push(Message {
            kind,
            seq,
            payload: datagram[HEADER..end].to_vec(),
        });
        datagram = datagram.get(end.next_multiple_of(4)..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: u32, kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = len.to_ne_bytes().to_vec();
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&[0; 10]);
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn a_record_whose_length_leaves_the_header_out_is_read_whole() {
        // As the kernel sends records to the audit pid: nlmsg_len is the text's length alone.
        let text = b"audit(1796057975.537:86159): cwd=\"/work/main\"";
        let split = split(&message(text.len() as u32, 1307, text));
        assert_eq!(split.len(), 1);
        assert_eq!(split[0].payload, text);
        // The end-of-event record is shorter than a header and longer at once.
        let eoe = b"audit(1796057975.537:86159): ";
        assert_eq!(split_one(&message(eoe.len() as u32, 1320, eoe)), eoe);
        // The multicast copy counts the header.
        assert_eq!(
            split_one(&message(16 + text.len() as u32, 1307, text)),
            text
        );
    }

    fn split_one(datagram: &[u8]) -> Vec<u8> {
        let mut messages = split(datagram);
        assert_eq!(messages.len(), 1);
        messages.remove(0).payload
    }

    #[test]
    fn answers_in_one_datagram_are_each_read() {
        let mut datagram = message(20, 1013, &[1, 2, 3, 4]);
        datagram.extend(message(20, 3, &[0; 4]));
        let split = split(&datagram);
        assert_eq!(split.iter().map(|m| m.kind).collect::<Vec<_>>(), [1013, 3]);
        assert_eq!(split[0].payload, [1, 2, 3, 4]);
    }
}
