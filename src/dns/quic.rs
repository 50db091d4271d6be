//! DNS over QUIC (RFC 9250, ALPN "doq"): one query per bidirectional stream, each message
//! with a 2-byte length prefix and message ID 0. Connections are admitted, once their
//! handshake is done, through a connection table like TCP's (per-client and global caps) and
//! closed after the TCP idle timeout without a new query.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Connection, Endpoint, RecvStream, SendStream, VarInt};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::certs::CertStore;
use super::tcp::{self, Admitted, TcpLimits};
use crate::metrics::QueryCells;
use crate::state::Shared;

/// The ALPN protocol id of DNS over QUIC.
pub const ALPN: &[u8] = b"doq";

/// DoQ error codes (RFC 9250 §4.3).
const DOQ_NO_ERROR: u32 = 0x0;
const DOQ_PROTOCOL_ERROR: u32 = 0x2;
const DOQ_EXCESSIVE_LOAD: u32 = 0x4;

/// Largest stream a query may take: the length prefix and a 64 KiB message.
const MAX_STREAM: usize = 2 + u16::MAX as usize;

/// Bidirectional streams a client may have open at once on one connection.
const MAX_STREAMS: u32 = 100;

/// Why a QUIC listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum QuicError {
    #[error("the TLS configuration does not suit QUIC: {0}")]
    Crypto(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Binds the UDP socket of a QUIC listener (IPV6_V6ONLY for IPv6).
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A QUIC endpoint on `socket` presenting the store's current certificate, with the TCP
/// idle timeout as its QUIC idle timeout. Must run inside the tokio runtime.
pub fn endpoint(
    socket: std::net::UdpSocket,
    certs: &Arc<CertStore>,
    limits: TcpLimits,
) -> Result<Endpoint, QuicError> {
    let crypto = QuicServerConfig::try_from(certs.server_config(ALPN, true))
        .map_err(|e| QuicError::Crypto(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_idle_timeout(limits.idle.try_into().ok())
        .max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS))
        // DoQ uses bidirectional streams only.
        .max_concurrent_uni_streams(VarInt::from_u32(0));
    config.transport_config(Arc::new(transport));
    let runtime = quinn::default_runtime()
        .ok_or_else(|| std::io::Error::other("no async runtime for QUIC"))?;
    Ok(Endpoint::new(
        quinn::EndpointConfig::default(),
        Some(config),
        socket,
        runtime,
    )?)
}

/// Serves DNS over QUIC on `endpoint` until `stop` turns true.
pub async fn serve(
    endpoint: Endpoint,
    shared: Arc<Shared>,
    limits: TcpLimits,
    mut stop: watch::Receiver<bool>,
) {
    let table = tcp::new_table(&shared, limits);
    let cells = shared.metrics.register(true, crate::metrics::Via::Quic);
    let handshakes = Arc::new(AtomicUsize::new(0));
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { break };
                // Many handshakes under way: the client must first prove its address with
                // a Retry (stateless), so forged sources cannot pile up handshake state.
                let busy = handshakes.load(Relaxed) >= limits.max_connections;
                if busy && !incoming.remote_address_validated() && incoming.may_retry() {
                    let _ = incoming.retry();
                    continue;
                }
                let peer = incoming.remote_address();
                let Ok(connecting) = incoming.accept() else { continue };
                let (shared, cells, table) = (shared.clone(), cells.clone(), table.clone());
                let mut stop = stop.clone();
                let handshaking = Handshaking::new(&handshakes);
                conns.spawn(async move {
                    let conn = tokio::select! {
                        _ = stop.changed() => return,
                        c = tokio::time::timeout(limits.idle, connecting) => match c {
                            Ok(Ok(c)) => c,
                            _ => return,
                        },
                    };
                    drop(handshaking);
                    // Admitted once the handshake has proved the client's address, as TCP
                    // connections are once accepted: forged sources take no place.
                    let Ok(place) = table.admit(peer.ip()) else {
                        conn.close(VarInt::from_u32(DOQ_EXCESSIVE_LOAD), b"too many connections");
                        return;
                    };
                    connection(conn, peer, shared, cells, limits.idle, stop, place).await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    // No new connections; open ones finish the queries they are on.
    endpoint.set_server_config(None);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    endpoint.close(VarInt::from_u32(DOQ_NO_ERROR), b"shutting down");
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
}

/// Counts a handshake under way while it lives.
struct Handshaking(Arc<AtomicUsize>);

impl Handshaking {
    fn new(count: &Arc<AtomicUsize>) -> Handshaking {
        count.fetch_add(1, Relaxed);
        Handshaking(count.clone())
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Serves the streams of one connection until it has gone `idle` without a new query, is
/// evicted for a newcomer, or the server stops.
async fn connection(
    conn: Connection,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cells: Arc<QueryCells>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
    place: Admitted,
) {
    let place = Arc::new(place);
    let mut streams = JoinSet::new();
    let mut rotation = u64::from(peer.port());
    loop {
        tokio::select! {
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while streams.join_next().await.is_some() {}
                })
                .await;
                conn.close(VarInt::from_u32(DOQ_NO_ERROR), b"shutting down");
                return;
            }
            _ = place.conn.evicted.notified() => {
                conn.close(VarInt::from_u32(DOQ_EXCESSIVE_LOAD), b"too many connections");
                return;
            }
            // Keep-alive PINGs hold a QUIC connection open; like TCP, a connection must
            // bring queries to stay.
            accepted = tokio::time::timeout(idle, conn.accept_bi()) => {
                let Ok(Ok((send, recv))) = accepted else {
                    conn.close(VarInt::from_u32(DOQ_NO_ERROR), b"idle");
                    return;
                };
                rotation = rotation.wrapping_add(1);
                let job = Query {
                    conn: conn.clone(),
                    peer,
                    shared: shared.clone(),
                    cells: cells.clone(),
                    place: place.clone(),
                    rotation,
                };
                streams.spawn(job.serve(send, recv, idle));
            }
            Some(_) = streams.join_next(), if !streams.is_empty() => {}
        }
    }
}

/// One query on its own stream.
struct Query {
    conn: Connection,
    peer: SocketAddr,
    shared: Arc<Shared>,
    cells: Arc<QueryCells>,
    place: Arc<Admitted>,
    rotation: u64,
}

impl Query {
    async fn serve(self, mut send: SendStream, mut recv: RecvStream, idle: Duration) {
        let bytes = match tokio::time::timeout(idle, recv.read_to_end(MAX_STREAM)).await {
            Ok(Ok(b)) => b,
            Ok(Err(quinn::ReadToEndError::TooLong)) => {
                return self.protocol_error(b"more than one message on a stream")
            }
            _ => return,
        };
        // RFC 9250 §4.2: one message, with its length, then FIN.
        let Some((len, msg)) = bytes.split_first_chunk::<2>() else {
            return self.protocol_error(b"stream ends before the length");
        };
        if usize::from(u16::from_be_bytes(*len)) != msg.len() {
            return self.protocol_error(b"length does not match the stream");
        }
        // §4.2.1: the message ID must be 0; anything else is a protocol error (§4.3.3).
        if msg.len() >= 2 && msg[..2] != [0, 0] {
            return self.protocol_error(b"message ID not 0");
        }
        let start = std::time::Instant::now();
        let mut out = Vec::with_capacity(512);
        let peer_ip = self.peer.ip();
        let Some(outcome) = tcp::answer(&self.shared, msg, peer_ip, self.rotation, &mut out) else {
            self.cells.dropped();
            return self.protocol_error(b"malformed query");
        };
        super::padding::pad_reply(msg, &mut out);
        // Both writes land in quinn's send buffer: one packet for a small answer.
        let len = (out.len() as u16).to_be_bytes();
        if send.write_all(&len).await.is_err()
            || send.write_all(&out).await.is_err()
            || send.finish().is_err()
        {
            return;
        }
        self.cells
            .record(&outcome, start.elapsed().as_nanos() as u64);
        self.place.answered();
        let every = self.shared.query_log_every;
        if every > 0 && self.rotation % every == 0 {
            super::query_log::log_query(msg, self.peer, &outcome);
        }
    }

    /// A fatal error for the whole connection (RFC 9250 §4.3.3).
    fn protocol_error(&self, reason: &[u8]) {
        self.conn
            .close(VarInt::from_u32(DOQ_PROTOCOL_ERROR), reason);
    }
}
