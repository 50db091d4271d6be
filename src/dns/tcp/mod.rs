//! TCP serving: length-prefixed queries, pipelined, with an idle timeout, a cap per client
//! network and a global cap that makes room by closing the longest-idle connection
//! (`table.rs`). The same loop serves DNS over TLS (`Upgrade`, `super::tls`).

mod table;

pub use table::{Admitted, ClientNet, ConnTable, Refused};

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::handler::{handle, Context, Transport};
use crate::dnssec::SigCache;

thread_local! {
    /// The signature cache of the runtime thread serving TCP.
    static TCP_SIGS: std::cell::RefCell<SigCache> = std::cell::RefCell::new(SigCache::default());
}
use crate::metrics::{Outcome, QueryCells};
use crate::state::Shared;

/// Limits of the TCP listener.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// A connection with no complete query for this long is closed.
    pub idle: Duration,
    /// Open connections at most; a newcomer beyond this takes the place of the connection
    /// that has gone longest without completing a query.
    pub max_connections: usize,
    /// Open connections per client network (/24, /56) at most; more are closed at once.
    /// 0: no cap.
    pub max_per_client: u32,
}

/// Binds a TCP listener (SO_REUSEADDR, IPV6_V6ONLY for IPv6).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Turns an accepted TCP connection into the byte stream DNS messages are framed on: the
/// connection itself for plain TCP, a TLS session over it for DNS over TLS.
pub trait Upgrade: Clone + Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;
    /// Pad answers to queries that ask for it (RFC 7830), as encrypted transports do.
    const PAD: bool;
    /// The transport's label in the metrics.
    const VIA: crate::metrics::Via;
    fn upgrade(&self, tcp: TcpStream)
        -> impl Future<Output = std::io::Result<Self::Stream>> + Send;
}

/// Plain DNS over TCP.
#[derive(Clone, Copy)]
pub struct Plain;

impl Upgrade for Plain {
    type Stream = TcpStream;
    const PAD: bool = false;
    const VIA: crate::metrics::Via = crate::metrics::Via::Tcp;
    async fn upgrade(&self, tcp: TcpStream) -> std::io::Result<TcpStream> {
        Ok(tcp)
    }
}

/// Accepts and serves plain TCP connections until `stop` turns true, then lets open
/// connections finish the query they are on.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: TcpLimits,
    stop: watch::Receiver<bool>,
) {
    serve_with(listener, shared, limits, stop, Plain).await
}

/// Accepts connections, upgrades each (a TLS handshake, for DoT) and serves it, with the
/// listener's own connection table, until `stop` turns true.
pub async fn serve_with<U: Upgrade>(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: TcpLimits,
    mut stop: watch::Receiver<bool>,
    upgrade: U,
) {
    let table = new_table(&shared, limits);
    let cells = shared.metrics.register(true, U::VIA);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                // Refused: the stream is dropped, which closes it at once.
                let Ok(place) = table.admit(peer.ip()) else { continue };
                let shared = shared.clone();
                let mut stop = stop.clone();
                let cells = cells.clone();
                let upgrade = upgrade.clone();
                conns.spawn(async move {
                    let _ = stream.set_nodelay(true);
                    // The handshake counts against the idle time, like a query never sent.
                    let stream = tokio::select! {
                        _ = stop.changed() => return,
                        _ = place.conn.evicted.notified() => return,
                        s = tokio::time::timeout(limits.idle, upgrade.upgrade(stream)) => match s {
                            Ok(Ok(s)) => s,
                            _ => return,
                        },
                    };
                    let session = Session { peer, shared: &shared, cells: &cells, idle: limits.idle, pad: U::PAD };
                    session.serve(stream, stop, &place).await;
                    drop(place);
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
}

/// A connection table with the listener's limits, counted in the metrics.
pub fn new_table(shared: &Shared, limits: TcpLimits) -> Arc<ConnTable> {
    let table = Arc::new(ConnTable::new(
        limits.max_connections,
        limits.max_per_client,
    ));
    shared
        .metrics
        .tcp_tables
        .lock()
        .unwrap()
        .push(table.clone());
    table
}

/// Answers one query from a stream transport (TCP, TLS, QUIC: no size limit below 64 KiB)
/// into `out`; `None` when the packet deserves no reply.
pub fn answer(
    shared: &Shared,
    msg: &[u8],
    peer: IpAddr,
    rotation: u64,
    out: &mut Vec<u8>,
) -> Option<Outcome> {
    let serving = shared.serving.load();
    let now = super::edns::unix_now();
    // Connections move between runtime threads; each thread keeps one cache.
    TCP_SIGS.with_borrow_mut(|sigs| {
        let mut ctx = Context::serving(&serving, &shared.edns, rotation, now, sigs);
        handle(&mut ctx, msg, peer, Transport::Tcp, out)
    })
}

/// One connection's settings.
struct Session<'a> {
    peer: SocketAddr,
    shared: &'a Shared,
    cells: &'a QueryCells,
    idle: Duration,
    pad: bool,
}

impl Session<'_> {
    async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        stream: S,
        mut stop: watch::Receiver<bool>,
        place: &table::Admitted,
    ) {
        let Session {
            peer,
            shared,
            cells,
            idle,
            pad,
        } = self;
        // Reads are buffered; writes pass through (one write per reply).
        let mut io = BufReader::new(stream);
        let mut msg = Vec::new();
        let mut out = Vec::with_capacity(4096);
        let mut framed = Vec::with_capacity(4098);
        let mut rotation = u64::from(peer.port());
        loop {
            let read = async {
                let len = io.read_u16().await? as usize;
                msg.resize(len, 0);
                io.read_exact(&mut msg).await?;
                Ok::<_, std::io::Error>(())
            };
            tokio::select! {
                _ = stop.changed() => return,
                // Its place was given to a newcomer.
                _ = place.conn.evicted.notified() => return,
                r = tokio::time::timeout(idle, read) => match r {
                    Ok(Ok(())) => {}
                    _ => return,
                },
            }
            let start = std::time::Instant::now();
            rotation = rotation.wrapping_add(1);
            let Some(outcome) = answer(shared, &msg, peer.ip(), rotation, &mut out) else {
                cells.dropped();
                return;
            };
            if pad {
                super::padding::pad_reply(&msg, &mut out);
            }
            // Length prefix and message in one write (one segment), from a reused buffer.
            framed.clear();
            framed.extend_from_slice(&(out.len() as u16).to_be_bytes());
            framed.extend_from_slice(&out);
            // Flush: TLS keeps written records until then (a no-op for TCP).
            if io.write_all(&framed).await.is_err() || io.flush().await.is_err() {
                return;
            }
            cells.record(&outcome, start.elapsed().as_nanos() as u64);
            place.answered();
            if shared.query_log_every > 0 && rotation % shared.query_log_every == 0 {
                super::query_log::log_query(&msg, peer, &outcome);
            }
        }
    }
}
