//! UDP serving: one SO_REUSEPORT socket per worker thread, each answering inline, in
//! batches of datagrams.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::datagram::Answerer;
use super::mmsg::{Batch, BATCH};
use crate::state::Shared;

/// How often an idle worker looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(100);

/// Binds one UDP socket with SO_REUSEPORT (and IPV6_V6ONLY for IPv6).
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Room for bursts while a worker is busy.
    let _ = socket.set_recv_buffer_size(4 << 20);
    never_fragment(&socket, addr);
    if addr.ip().is_unspecified() {
        super::mmsg::enable_pktinfo(&socket, addr.is_ipv6())?;
    }
    socket.bind(&addr.into())?;
    socket.set_read_timeout(Some(STOP_POLL))?;
    Ok(socket.into())
}

/// Replies are at most 1232 bytes, sized never to need fragmentation: send them with DF
/// and ignore path-MTU information (IP_PMTUDISC_PROBE), so forged ICMP "fragmentation
/// needed" messages cannot make the kernel fragment our answers (RFC 8900 and DNS Flag
/// Day 2020). With DF set the kernel also skips choosing an IP ID per packet.
fn never_fragment(socket: &Socket, addr: SocketAddr) {
    use std::os::fd::AsRawFd;
    let (level, name, value) = if addr.is_ipv4() {
        (
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_PROBE,
        )
    } else {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_PROBE,
        )
    };
    // SAFETY: a plain setsockopt with an int option value on a valid socket.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "cannot set path MTU discovery mode");
    }
}

/// Starts one worker thread per socket. Each loops until `stop` is set.
pub fn spawn_workers(
    sockets: Vec<UdpSocket>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    busy_poll: Duration,
) -> io::Result<Vec<JoinHandle<()>>> {
    sockets
        .into_iter()
        .enumerate()
        .map(|(i, sock)| {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("udp-{i}"))
                .spawn(move || worker(i, sock, &shared, &stop, busy_poll))
        })
        .collect()
}

fn worker(i: usize, sock: UdpSocket, shared: &Shared, stop: &AtomicBool, busy_poll: Duration) {
    let wildcard = sock.local_addr().is_ok_and(|a| a.ip().is_unspecified());
    let mut batch = Batch::new(&sock, wildcard);
    let mut answerer = Answerer::new(i);
    let cells = shared.metrics.register(false, crate::metrics::Via::Udp);
    let mut outcomes = [None; BATCH];
    while !stop.load(Ordering::Relaxed) {
        let received = match receive(&mut batch, busy_poll) {
            Ok(n) => n,
            Err(e) if is_transient(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let start = std::time::Instant::now();
        // One snapshot for the whole batch: every query in it sees the same configuration.
        let serving = shared.serving.load();
        let now = super::edns::unix_now();
        batch.each(received, |i, data, peer, reply| {
            outcomes[i] = match (data, peer) {
                (Some(packet), Some(peer)) => {
                    answerer.answer(shared, &serving, now, packet, peer, reply)
                }
                _ => None,
            };
        });
        drop(serving);
        batch.send(received);
        let nanos = start.elapsed().as_nanos() as u64;
        for o in &outcomes[..received] {
            match o {
                Some(o) => cells.record(o, nanos),
                None => cells.dropped(),
            }
        }
    }
}

/// The next batch. With a busy-poll window, asks without sleeping until queries arrive or
/// the window has passed since the last batch, and only then sleeps in the kernel.
fn receive(batch: &mut Batch, busy_poll: Duration) -> io::Result<usize> {
    if busy_poll.is_zero() {
        return batch.receive();
    }
    let start = std::time::Instant::now();
    loop {
        match batch.try_receive() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if start.elapsed() >= busy_poll {
                    return batch.receive();
                }
                std::hint::spin_loop();
            }
            other => return other,
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
