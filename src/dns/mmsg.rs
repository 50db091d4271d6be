//! Batched datagram I/O: `recvmmsg`/`sendmmsg` over one socket with reused buffers, so a busy
//! UDP worker makes two system calls per batch of queries instead of two per query. The calls
//! are made directly (`syscall`), skipping glibc's thread-cancellation bookkeeping around them:
//! worker threads are never cancelled.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

/// Datagrams moved per system call at most.
pub const BATCH: usize = 16;
/// Largest query we read; longer datagrams are dropped (queries are small).
pub const MAX_QUERY: usize = 1280;

/// Control-message space per datagram (one IP_PKTINFO or IPV6_PKTINFO), 8-byte aligned.
type Ctrl = [u64; 8];

/// Receive and send buffers for one socket, reused for every batch.
pub struct Batch {
    fd: RawFd,
    /// The socket is bound to a wildcard address: replies must leave from the address each
    /// query was sent to, which the kernel reports per datagram (IP_PKTINFO).
    pktinfo: bool,
    ctrl: Vec<Ctrl>,
    out_ctrl: Vec<Ctrl>,
    bufs: Vec<[u8; MAX_QUERY]>,
    addrs: Vec<libc::sockaddr_storage>,
    iov: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    /// Replies, one per received slot (empty: no reply).
    replies: Vec<Vec<u8>>,
    out_iov: Vec<libc::iovec>,
    out_msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside point into the Batch's own heap buffers, which move with it.
unsafe impl Send for Batch {}

impl Batch {
    /// Buffers for `socket`. With `pktinfo`, the socket must have IP_PKTINFO (IPv4) or
    /// IPV6_RECVPKTINFO (IPv6) enabled (see `enable_pktinfo`).
    pub fn new(socket: &impl AsRawFd, pktinfo: bool) -> Self {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let z = || unsafe { zeroed::<libc::mmsghdr>() };
        Batch {
            fd: socket.as_raw_fd(),
            pktinfo,
            ctrl: vec![[0; 8]; BATCH],
            out_ctrl: vec![[0; 8]; BATCH],
            bufs: vec![[0u8; MAX_QUERY]; BATCH],
            // SAFETY: as above.
            addrs: vec![unsafe { zeroed() }; BATCH],
            iov: vec![unsafe { zeroed() }; BATCH],
            msgs: (0..BATCH).map(|_| z()).collect(),
            replies: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            out_iov: vec![unsafe { zeroed() }; BATCH],
            out_msgs: (0..BATCH).map(|_| z()).collect(),
        }
    }

    /// Waits for at least one datagram (up to the socket's receive timeout) and takes as
    /// many as are queued, up to `BATCH`. Returns how many arrived.
    pub fn receive(&mut self) -> io::Result<usize> {
        self.receive_with(libc::MSG_WAITFORONE)
    }

    /// Like [`Batch::receive`], but fails with `WouldBlock` at once when nothing is queued.
    pub fn try_receive(&mut self) -> io::Result<usize> {
        self.receive_with(libc::MSG_WAITFORONE | libc::MSG_DONTWAIT)
    }

    fn receive_with(&mut self, flags: libc::c_int) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: MAX_QUERY,
            };
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_iov = &mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_flags = 0;
            if self.pktinfo {
                h.msg_control = self.ctrl[i].as_mut_ptr().cast();
                h.msg_controllen = size_of::<Ctrl>() as _;
            }
            self.msgs[i].msg_len = 0;
        }
        // SAFETY: every header points at a live buffer, iovec and address of the stated sizes.
        let n = unsafe {
            libc::syscall(
                libc::SYS_recvmmsg,
                self.fd,
                self.msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags,
                std::ptr::null_mut::<libc::timespec>(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Calls `f(slot, datagram, sender, reply)` for each of the `received` datagrams. The
    /// datagram is `None` when it was longer than `MAX_QUERY`; `reply` starts empty and is
    /// sent back to the sender by `send` unless left empty.
    pub fn each(
        &mut self,
        received: usize,
        mut f: impl FnMut(usize, Option<&[u8]>, Option<SocketAddr>, &mut Vec<u8>),
    ) {
        for i in 0..received {
            let m = &self.msgs[i];
            let data = (m.msg_hdr.msg_flags & libc::MSG_TRUNC == 0)
                .then(|| &self.bufs[i][..m.msg_len as usize]);
            let reply = &mut self.replies[i];
            reply.clear();
            f(i, data, to_socket_addr(&self.addrs[i]), reply);
        }
    }

    /// Sends every non-empty reply back to the sender of the same slot.
    pub fn send(&mut self, received: usize) {
        let mut k = 0;
        for i in 0..received {
            if self.replies[i].is_empty() {
                continue;
            }
            self.out_iov[k] = libc::iovec {
                iov_base: self.replies[i].as_mut_ptr().cast(),
                iov_len: self.replies[i].len(),
            };
            let h = &mut self.out_msgs[k].msg_hdr;
            h.msg_iov = &mut self.out_iov[k];
            h.msg_iovlen = 1;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = self.msgs[i].msg_hdr.msg_namelen;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            if self.pktinfo {
                // SAFETY: msgs[i] was filled by recvmmsg with a control buffer we own.
                let len = unsafe { reply_source(&self.msgs[i].msg_hdr, &mut self.out_ctrl[k]) };
                if len > 0 {
                    h.msg_control = self.out_ctrl[k].as_mut_ptr().cast();
                    h.msg_controllen = len as _;
                }
            }
            k += 1;
        }
        let mut sent = 0;
        while sent < k {
            // SAFETY: headers [sent, k) point at live replies, iovecs and addresses.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_sendmmsg,
                    self.fd,
                    self.out_msgs[sent..].as_mut_ptr(),
                    (k - sent) as libc::c_uint,
                    0,
                )
            };
            if r <= 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Skip the datagram that failed (e.g. an unreachable peer) and go on.
                tracing::debug!(error = %e, "UDP send failed");
                sent += 1;
            } else {
                sent += r as usize;
            }
        }
    }
}

/// Turns on per-datagram destination addresses for a socket bound to a wildcard address.
pub fn enable_pktinfo(socket: &impl AsRawFd, ipv6: bool) -> io::Result<()> {
    let (level, name) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    let on: libc::c_int = 1;
    // SAFETY: a plain setsockopt with an int option value on a valid socket.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes into `out` a control message that makes the reply leave from the address the
/// query in `received` was sent to. Returns its length (0 when the query carried none).
///
/// # Safety
/// `received` must be a header filled by `recvmmsg` whose control buffer is still alive.
unsafe fn reply_source(received: &libc::msghdr, out: &mut Ctrl) -> usize {
    let mut cmsg = libc::CMSG_FIRSTHDR(received);
    while !cmsg.is_null() {
        let c = &*cmsg;
        let data = libc::CMSG_DATA(cmsg);
        let mut reply = libc::msghdr { ..zeroed() };
        reply.msg_control = out.as_mut_ptr().cast();
        if c.cmsg_level == libc::IPPROTO_IP && c.cmsg_type == libc::IP_PKTINFO {
            let got = std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
            let info = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: got.ipi_addr,
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            return write_cmsg(&mut reply, out, libc::IPPROTO_IP, libc::IP_PKTINFO, &info);
        }
        if c.cmsg_level == libc::IPPROTO_IPV6 && c.cmsg_type == libc::IPV6_PKTINFO {
            let got = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
            return write_cmsg(
                &mut reply,
                out,
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                &got,
            );
        }
        cmsg = libc::CMSG_NXTHDR(received, cmsg);
    }
    0
}

/// Writes one control message holding `value` at the start of `out`; returns the space used.
///
/// # Safety
/// `msg.msg_control` must point at `out`.
unsafe fn write_cmsg<T>(
    msg: &mut libc::msghdr,
    out: &mut Ctrl,
    level: i32,
    kind: i32,
    value: &T,
) -> usize {
    let space = libc::CMSG_SPACE(size_of::<T>() as u32) as usize;
    debug_assert!(space <= size_of::<Ctrl>());
    out.fill(0);
    msg.msg_controllen = space as _;
    let cmsg = libc::CMSG_FIRSTHDR(msg);
    (*cmsg).cmsg_level = level;
    (*cmsg).cmsg_type = kind;
    (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<T>() as u32) as _;
    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<T>(), std::ptr::read(value));
    space
}

fn to_socket_addr(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match s.ss_family as libc::c_int {
        libc::AF_INET => {
            // SAFETY: the family says this storage holds a sockaddr_in.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(
                ip,
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this storage holds a sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
