//! DNS over TLS (RFC 7858, ALPN "dot" of RFC 8310): the TCP connection loop over a TLS
//! session, with its own connection table, the TCP idle timeout and caps.

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::certs::CertStore;
use super::tcp::{self, TcpLimits, Upgrade};
use crate::state::Shared;

/// The ALPN protocol id of DNS over TLS.
pub const ALPN: &[u8] = b"dot";

/// A TLS handshake on each accepted connection, presenting the store's current certificate.
#[derive(Clone)]
pub struct Tls(TlsAcceptor);

impl Tls {
    pub fn new(certs: &Arc<CertStore>) -> Tls {
        Tls(TlsAcceptor::from(Arc::new(
            certs.server_config(ALPN, false),
        )))
    }
}

impl Upgrade for Tls {
    type Stream = TlsStream<TcpStream>;
    const PAD: bool = true;
    const VIA: crate::metrics::Via = crate::metrics::Via::Tls;
    async fn upgrade(&self, tcp: TcpStream) -> std::io::Result<Self::Stream> {
        self.0.accept(tcp).await
    }
}

/// Serves DNS over TLS on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    certs: Arc<CertStore>,
    limits: TcpLimits,
    stop: watch::Receiver<bool>,
) {
    tcp::serve_with(listener, shared, limits, stop, Tls::new(&certs)).await
}
