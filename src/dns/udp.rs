//! UDP serving: one SO_REUSEPORT socket per worker thread, each answering inline, in
//! batches of datagrams.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use super::handler::{handle, Context, Transport};
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
    let mut batch = Batch::new(&sock);
    let mut rotation = 0u64;
    let cells = shared.metrics.register(false);
    let mut outcomes = [None; BATCH];
    while !stop.load(Ordering::Relaxed) {
        let received = match batch.receive() {
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
        batch.each(received, |i, data, peer, reply| {
            outcomes[i] = match (data, peer) {
                (Some(packet), Some(peer)) => {
                    rotation = rotation.wrapping_add(1);
                    let mut ctx = Context {
                        snapshot: &serving.snapshot,
                        health: &serving.health,
                        rotation,
                        trace: None,
                    };
                    let o = handle(&mut ctx, packet, peer.ip(), Transport::Udp, reply);
                    match &o {
                        None => reply.clear(),
                        Some(o) if shared.query_log_every > 0 => {
                            if rotation % shared.query_log_every == 0 {
                                super::handler::log_query(packet, peer, o);
                            }
                        }
                        Some(_) => {}
                    }
                    o
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

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
