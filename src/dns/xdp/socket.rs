//! One AF_XDP socket bound to one receive queue of an interface, with its own UMEM (the
//! frames packets are received into and sent from) and its four rings.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::ring::{Mapping, Ring};

/// Bytes per frame (one packet each). A page: the kernel puts a received packet after
/// XDP_PACKET_HEADROOM (256) bytes, which leaves 3,840 for the packet.
pub const FRAME_SIZE: u32 = 4096;
/// Frames per socket, and entries of the fill and completion rings (so that every frame
/// can be in the fill ring at once and giving one back never finds it full).
pub const FRAMES: u32 = 4096;
/// Entries of the receive and transmit rings.
const RING: u32 = 2048;

/// How the kernel moves packets between the driver and the UMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The driver writes into and sends from the UMEM.
    ZeroCopy,
    /// The kernel copies (drivers without AF_XDP zero-copy support, veth, generic XDP).
    Copy,
}

pub struct XskSocket {
    pub fill: Ring<u64>,
    pub completion: Ring<u64>,
    pub rx: Ring<libc::xdp_desc>,
    pub tx: Ring<libc::xdp_desc>,
    pub umem: Umem,
    pub mode: Mode,
    fd: OwnedFd,
}

/// setsockopt (SOL_XDP) with a plain value.
fn set<T>(fd: &OwnedFd, name: libc::c_int, value: &T) -> io::Result<()> {
    set_at(fd.as_fd(), libc::SOL_XDP, name, value)
}

/// setsockopt at `level` with a plain value.
pub(super) fn set_at<T>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points at a live T of the given size.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// getsockopt of a plain value.
fn get<T: Copy>(fd: &OwnedFd, name: libc::c_int, mut value: T) -> io::Result<T> {
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a T of `len` bytes the kernel fills.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            name,
            (&mut value as *mut T).cast(),
            &mut len,
        )
    };
    if r == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Which step of setting up a socket failed.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("cannot open an AF_XDP socket: {0}")]
    Open(#[source] io::Error),
    #[error("cannot register the packet buffer (UMEM): {0}")]
    Umem(#[source] io::Error),
    #[error("cannot set up the rings: {0}")]
    Rings(#[source] io::Error),
    #[error("cannot bind to queue {queue}: {source}")]
    Bind {
        queue: u32,
        #[source]
        source: io::Error,
    },
}

impl XskSocket {
    /// A socket on queue `queue` of interface `ifindex`, its fill ring full of frames.
    pub fn open(ifindex: u32, queue: u32, force_copy: bool) -> Result<Self, SocketError> {
        // SAFETY: plain socket(2); the result is checked and owned at once.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(SocketError::Open(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let umem =
            Mapping::new(None, 0, (FRAMES * FRAME_SIZE) as usize).map_err(SocketError::Umem)?;
        let reg = libc::xdp_umem_reg {
            addr: umem.as_ptr() as u64,
            len: umem.len() as u64,
            chunk_size: FRAME_SIZE,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        set(&fd, libc::XDP_UMEM_REG, &reg).map_err(SocketError::Umem)?;
        let sizes = [
            (libc::XDP_UMEM_FILL_RING, FRAMES),
            (libc::XDP_UMEM_COMPLETION_RING, FRAMES),
            (libc::XDP_RX_RING, RING),
            (libc::XDP_TX_RING, RING),
        ];
        for (name, size) in sizes {
            set(&fd, name, &(size as libc::c_int)).map_err(SocketError::Rings)?;
        }
        // SAFETY: xdp_mmap_offsets is plain integers; all zero is a valid value.
        let zero: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let off = get(&fd, libc::XDP_MMAP_OFFSETS, zero).map_err(SocketError::Rings)?;
        let fill = Ring::map(&fd, libc::XDP_UMEM_PGOFF_FILL_RING as i64, &off.fr, FRAMES);
        let completion = Ring::map(
            &fd,
            libc::XDP_UMEM_PGOFF_COMPLETION_RING as i64,
            &off.cr,
            FRAMES,
        );
        let rx = Ring::map(&fd, libc::XDP_PGOFF_RX_RING, &off.rx, RING);
        let tx = Ring::map(&fd, libc::XDP_PGOFF_TX_RING, &off.tx, RING);

        let mut flags = libc::XDP_USE_NEED_WAKEUP;
        if force_copy {
            flags |= libc::XDP_COPY;
        }
        let addr = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: `addr` is a valid sockaddr_xdp of the size passed.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if r != 0 {
            let source = io::Error::last_os_error();
            return Err(SocketError::Bind { queue, source });
        }
        let options = get(&fd, libc::XDP_OPTIONS, libc::xdp_options { flags: 0 })
            .map_err(SocketError::Rings)?;
        let mode = if options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0 {
            Mode::ZeroCopy
        } else {
            Mode::Copy
        };
        let mut socket = XskSocket {
            fill: fill.map_err(SocketError::Rings)?,
            completion: completion.map_err(SocketError::Rings)?,
            rx: rx.map_err(SocketError::Rings)?,
            tx: tx.map_err(SocketError::Rings)?,
            umem: Umem(umem),
            mode,
            fd,
        };
        let n = socket.fill.free(FRAMES);
        for i in 0..n {
            socket.fill.write(i, u64::from(i * FRAME_SIZE));
        }
        socket.fill.submit(n);
        Ok(socket)
    }

    /// Asks the kernel to send what the transmit ring holds (needed in copy mode, and
    /// whenever the kernel sets the ring's need-wakeup flag). The kernel sends a bounded
    /// batch per call and says EAGAIN when more is left: ask again, a bounded number of
    /// times.
    pub fn kick_tx(&self) {
        for _ in 0..(RING / 32) {
            // SAFETY: sendto(2) with no data on our socket.
            let r = unsafe {
                libc::sendto(
                    self.fd.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    libc::MSG_DONTWAIT,
                    std::ptr::null(),
                    0,
                )
            };
            if r >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN) {
                return;
            }
        }
    }

    /// Waits up to `timeout_ms` for received packets (and wakes the driver to refill).
    pub fn wait(&self, timeout_ms: i32) {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    }
}

/// The frames of one socket.
pub struct Umem(Mapping);

impl Umem {
    /// The frame holding the packet at UMEM offset `addr` (as in a receive descriptor),
    /// from there to the end of its chunk; `None` for an offset outside the UMEM (which the
    /// kernel never gives: the frame is then dropped rather than the process stopped).
    pub fn frame(&mut self, addr: u64) -> Option<&mut [u8]> {
        let start = usize::try_from(addr).ok()?;
        let end = (start & !(FRAME_SIZE as usize - 1)) + FRAME_SIZE as usize;
        if end > self.0.len() {
            return None;
        }
        // SAFETY: within the UMEM (checked); the kernel gave this frame to us (receive ring)
        // and does not touch it until we hand it back (transmit or fill ring).
        Some(unsafe { std::slice::from_raw_parts_mut(self.0.as_ptr().add(start), end - start) })
    }
}

impl AsFd for XskSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for XskSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}
