//! UDP serving: one SO_REUSEPORT socket per worker thread, each answering inline.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::handler::{handle, Context, Transport};
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
    socket.bind(&addr.into())?;
    socket.set_read_timeout(Some(STOP_POLL))?;
    Ok(socket.into())
}

/// Starts one worker thread per socket. Each loops until `stop` is set.
pub fn spawn_workers(
    sockets: Vec<UdpSocket>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> io::Result<Vec<JoinHandle<()>>> {
    sockets
        .into_iter()
        .enumerate()
        .map(|(i, sock)| {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("udp-{i}"))
                .spawn(move || worker(sock, &shared, &stop))
        })
        .collect()
}

fn worker(sock: UdpSocket, shared: &Shared, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::with_capacity(4096);
    let mut rotation = 0u64;
    let cells = shared.metrics.register(false);
    while !stop.load(Ordering::Relaxed) {
        let (n, peer) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if is_transient(&e) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "UDP receive failed");
                continue;
            }
        };
        let start = std::time::Instant::now();
        let serving = shared.serving.load();
        rotation = rotation.wrapping_add(1);
        let mut ctx = Context {
            snapshot: &serving.snapshot,
            health: &serving.health,
            rotation,
            trace: None,
        };
        match handle(&mut ctx, &buf[..n], peer.ip(), Transport::Udp, &mut out) {
            Some(outcome) => {
                if let Err(e) = sock.send_to(&out, peer) {
                    tracing::debug!(error = %e, %peer, "UDP send failed");
                }
                cells.record(&outcome, start.elapsed().as_nanos() as u64);
                if shared.query_log_every > 0 && rotation % shared.query_log_every == 0 {
                    super::handler::log_query(&buf[..n], peer, &outcome);
                }
            }
            None => cells.dropped(),
        }
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
