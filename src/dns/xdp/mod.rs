//! The AF_XDP fast path (`--xdp IFACE`): UDP DNS queries for the listen addresses that
//! arrive on one interface are steered by a small XDP program (`steer.bpf.c`) into AF_XDP
//! sockets, one per receive queue, each with its own worker thread, and answered from
//! there through the same answerer as the kernel path, without the kernel's IP and UDP
//! layers. Everything else on the interface (ARP, ICMP, TCP, other UDP) goes to the kernel
//! as before, and the kernel's listeners keep serving every other interface.
//!
//! Where the fast path cannot run (no permission, a kernel without AF_XDP, an interface
//! that is missing or refuses the program) `start` says why, and the caller serves through
//! the kernel alone.

mod busy_poll;
mod frame;
mod program;
mod ring;
mod socket;
mod watch;
mod worker;

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use program::AttachMode;
use program::{Program, ProgramError};
use socket::{Mode, SocketError, XskSocket};
pub use watch::watch;

use crate::dns::listening::{XdpInterface, XdpPathState};
use crate::state::Shared;

/// The packet counters of one queue.
pub struct QueueCounters {
    pub iface: String,
    pub queue: u32,
    /// Replies sent.
    pub answered: AtomicU64,
    /// Packets that got no reply (not a DNS query, malformed, or held back by RRL).
    pub unanswered: AtomicU64,
    /// Replies lost because the transmit ring was full.
    pub tx_full: AtomicU64,
}

impl QueueCounters {
    fn add(&self, answered: u64, unanswered: u64, tx_full: u64) {
        self.answered.fetch_add(answered, Relaxed);
        self.unanswered.fetch_add(unanswered, Relaxed);
        if tx_full > 0 {
            self.tx_full.fetch_add(tx_full, Relaxed);
        }
    }
}

/// Why the fast path is not running.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    #[error("there is no interface {0}")]
    NoInterface(String),
    #[error("no UDP listen address to steer")]
    NothingToSteer,
    #[error(
        "{0} is the loopback interface: replies sent from AF_XDP sockets there come back \
         without a route, and the kernel drops them as martians (127.0.0.0/8, ::1); \
         loopback DNS stays on the kernel path"
    )]
    Loopback(String),
    #[error("{0}{hint}", hint = program_hint(.0))]
    Program(#[from] ProgramError),
    #[error("{0}{hint}", hint = socket_hint(.0))]
    Socket(#[from] SocketError),
    #[error("cannot start a worker thread: {0}")]
    Thread(#[source] std::io::Error),
}

fn program_hint(e: &ProgramError) -> String {
    let text = e.to_string();
    if text.contains("Operation not permitted") {
        " (needs root, or CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_IPC_LOCK)".into()
    } else if let ProgramError::Attach { iface, .. } = e {
        if text.contains("File exists") || text.contains("Device or resource busy") {
            // Knot, for one, leaves its program attached when it stops.
            format!(
                " ({iface} already has an XDP program, another server's or one left behind: \
                 `ip link show dev {iface}` names it, `ip link set dev {iface} xdp off` removes it)"
            )
        } else {
            String::new()
        }
    } else {
        String::new()
    }
}

fn socket_hint(e: &SocketError) -> &'static str {
    let errno = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .and_then(|s| s.raw_os_error());
    match (e, errno) {
        (SocketError::Open(_), Some(libc::EAFNOSUPPORT)) => {
            " (this kernel was built without AF_XDP sockets, CONFIG_XDP_SOCKETS)"
        }
        (_, Some(libc::EPERM)) => " (needs root, or CAP_NET_RAW and CAP_IPC_LOCK)",
        _ => "",
    }
}

/// The fast path, running: its program attached and one worker per queue. Dropping it
/// (after the workers have stopped) detaches the program.
pub struct XdpPath {
    pub iface: String,
    /// The interface's index when the program was attached (a new one: it was made again).
    pub ifindex: u32,
    pub mode: AttachMode,
    pub queues: u32,
    /// Whether the sockets run in zero-copy mode (else the kernel copies each packet).
    pub zero_copy: bool,
    /// Preferred busy polling's microseconds, when the sockets took it.
    pub busy_poll: Option<u32>,
    pub threads: Vec<JoinHandle<()>>,
    _program: Program,
}

/// How the workers wait for packets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Waiting {
    /// How long a worker keeps looking at its receive ring after a batch before it sleeps
    /// (`--udp-busy-poll`).
    pub spin: std::time::Duration,
    /// Preferred busy polling's microseconds per wait (`--xdp-busy-poll`; 0: off).
    pub busy_poll_us: u32,
}

/// Starts the fast path on `iface` for the UDP addresses `listen` (bound already, their
/// ports known). Workers run until `stop` is set.
pub fn start(
    iface: &str,
    listen: &[SocketAddr],
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
    waiting: Waiting,
) -> Result<XdpPath, XdpError> {
    if listen.is_empty() {
        return Err(XdpError::NothingToSteer);
    }
    let ifindex = ifindex(iface)?;
    if is_loopback(iface) {
        return Err(XdpError::Loopback(iface.to_string()));
    }
    if !listen.iter().any(|a| a.ip().is_unspecified()) {
        let on_iface = addresses_of(iface);
        if !listen.iter().any(|a| on_iface.contains(&a.ip())) {
            tracing::warn!(iface, listen = ?listen, addresses = ?on_iface, "no listen address is an address of this interface: the XDP program will steer nothing until one is added");
        }
    }
    raise_memlock_limit();
    let mut program = Program::attach(iface, listen, true)?;
    let queues = rx_queues(iface);
    let mut sockets = Vec::with_capacity(queues as usize);
    let mut busy_poll = (waiting.busy_poll_us > 0).then_some(waiting.busy_poll_us);
    for queue in 0..queues {
        let sock = XskSocket::open(ifindex, queue, false)?;
        program.bind_queue(queue, &sock)?;
        if let Some(us) = busy_poll {
            if let Err(e) = busy_poll::enable(sock.as_fd(), us) {
                tracing::warn!(iface, error = %e, "preferred busy polling is not available (it needs CAP_NET_ADMIN); the AF_XDP workers wait for the kernel to wake them");
                busy_poll = None;
            }
        }
        sockets.push((queue, sock));
    }
    if busy_poll.is_some() {
        let sys = std::path::Path::new("/sys/class/net").join(iface);
        let advice = busy_poll::interface_advice(&sys);
        if !advice.is_empty() {
            tracing::warn!(iface, set = %advice.join("; "), "preferred busy polling wants the interface to defer its interrupts between polls; until then the kernel still wakes the workers per batch");
        }
    }
    let zero_copy = sockets.iter().all(|(_, s)| s.mode == Mode::ZeroCopy);
    let mut threads = Vec::with_capacity(sockets.len());
    for (queue, sock) in sockets {
        let counters = Arc::new(QueueCounters {
            iface: iface.to_string(),
            queue,
            answered: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            tx_full: AtomicU64::new(0),
        });
        shared.metrics.xdp.lock().unwrap().push(counters.clone());
        let (shared, stop) = (shared.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name(format!("xdp-{queue}"))
            .spawn(move || {
                // Queue q's rotation starts where the kernel path's worker q starts: the
                // same queries in the same order get the same answers on either path.
                worker::run(
                    sock,
                    &shared,
                    &stop,
                    queue as usize,
                    &counters,
                    waiting.spin,
                )
            })
            .map_err(XdpError::Thread)?;
        threads.push(thread);
    }
    Ok(XdpPath {
        iface: iface.to_string(),
        ifindex,
        mode: program.mode,
        queues,
        zero_copy,
        busy_poll,
        threads,
        _program: program,
    })
}

/// Starts the fast path on each of `ifaces` (`--xdp`, once each) for the UDP listen
/// addresses; an interface where it cannot run is logged and left to the kernel path, with
/// the reason in its entry of `interfaces`. Its worker threads join `threads`.
pub fn start_all(
    ifaces: &[String],
    udp_addrs: &[SocketAddr],
    shared: &Arc<Shared>,
    stop: &Arc<AtomicBool>,
    waiting: Waiting,
    threads: &mut Vec<std::thread::JoinHandle<()>>,
) -> (Vec<XdpPath>, Vec<XdpInterface>) {
    let mut paths = Vec::new();
    let mut interfaces = Vec::new();
    for iface in ifaces {
        // An interface named twice is served once (a second program could not attach).
        if interfaces.iter().any(|i: &XdpInterface| &i.iface == iface) {
            continue;
        }
        let state = match start(iface, udp_addrs, shared, stop, waiting) {
            Ok(mut path) => {
                threads.append(&mut path.threads);
                let sockets = if path.zero_copy { "zero-copy" } else { "copy" };
                let busy_poll_us = path.busy_poll.unwrap_or(0);
                tracing::info!(iface = %iface, queues = path.queues, attach = path.mode.as_str(), sockets, busy_poll_us, "answering UDP DNS through AF_XDP");
                let state = XdpPathState::AfXdp {
                    queues: path.queues,
                    attach: path.mode.as_str(),
                    sockets,
                    busy_poll_us,
                };
                paths.push(path);
                state
            }
            Err(e) => {
                tracing::error!(iface = %iface, error = %e, "AF_XDP is not available; answering UDP on this interface through the kernel");
                XdpPathState::Kernel {
                    reason: e.to_string(),
                }
            }
        };
        interfaces.push(XdpInterface {
            iface: iface.clone(),
            path: state,
        });
    }
    (paths, interfaces)
}

pub(crate) fn ifindex(iface: &str) -> Result<u32, XdpError> {
    let name = std::ffi::CString::new(iface).map_err(|_| XdpError::NoInterface(iface.into()))?;
    // SAFETY: a NUL-terminated name.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(XdpError::NoInterface(iface.to_string())),
        i => Ok(i),
    }
}

/// Whether `iface` is a loopback interface (IFF_LOOPBACK in its sysfs `flags`).
fn is_loopback(iface: &str) -> bool {
    let path = std::path::Path::new("/sys/class/net")
        .join(iface)
        .join("flags");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
        .is_some_and(|flags| flags & libc::IFF_LOOPBACK as u32 != 0)
}

/// The addresses assigned to `iface` now (getifaddrs).
fn addresses_of(iface: &str) -> Vec<std::net::IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, freed below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cur = list;
    while !cur.is_null() {
        // SAFETY: a node of the list getifaddrs returned; its name is NUL-terminated and its
        // address, when not null, is a sockaddr of the family it says.
        unsafe {
            let ifa = &*cur;
            let name = std::ffi::CStr::from_ptr(ifa.ifa_name);
            if name.to_bytes() == iface.as_bytes() && !ifa.ifa_addr.is_null() {
                match i32::from((*ifa.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        out.push(
                            std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into(),
                        );
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        out.push(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into());
                    }
                    _ => {}
                }
            }
            cur = ifa.ifa_next;
        }
    }
    // SAFETY: the list getifaddrs allocated, freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}

/// The interface's receive queues (one socket and worker each): the rx-N entries under
/// /sys/class/net/IFACE/queues, at least one.
fn rx_queues(iface: &str) -> u32 {
    let dir = std::path::Path::new("/sys/class/net")
        .join(iface)
        .join("queues");
    let count = std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
            .count()
    });
    count.max(1) as u32
}

/// The UMEM is locked memory: lift the limit where we may (it is counted against
/// RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK).
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid struct; failure only leaves the limit as it was.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}
