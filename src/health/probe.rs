//! Probes: one HTTP, HTTPS or TCP check of one address, bounded by its timeout, from the
//! configured source address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Once;
use std::time::{Duration, Instant};

use crate::gslb::CheckKind;
use crate::gslb::CheckSpec;

/// Something that can check a target once. The poller is generic over it so tests can
/// drive it without a network.
pub trait Probe: Send + Sync + 'static {
    fn check(&self) -> impl std::future::Future<Output = Result<Duration, String>> + Send;
}

/// A real probe of `addr` with `spec`.
pub struct NetProbe {
    addr: SocketAddr,
    /// The local address to bind before connecting (`None`: the OS picks).
    source: Option<IpAddr>,
    spec: CheckSpec,
    http: Option<reqwest::Client>,
    url: String,
}

fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl NetProbe {
    /// A probe of `addr` with `spec`, its connections bound to `source` when given (an
    /// address of the target's family).
    pub fn new(addr: IpAddr, spec: CheckSpec, source: Option<IpAddr>) -> Result<Self, String> {
        let sock = SocketAddr::new(addr, spec.port);
        let (http, url) = match spec.kind {
            CheckKind::Tcp => (None, String::new()),
            CheckKind::Http | CheckKind::Https => {
                install_crypto();
                let scheme = if spec.kind == CheckKind::Https {
                    "https"
                } else {
                    "http"
                };
                let mut b = reqwest::Client::builder()
                    .timeout(spec.timeout)
                    .connect_timeout(spec.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_max_idle_per_host(0)
                    .no_proxy()
                    .user_agent(concat!(
                        "gslbd/",
                        env!("CARGO_PKG_VERSION"),
                        " health check"
                    ))
                    .tls_danger_accept_invalid_certs(spec.insecure)
                    .local_address(source);
                // Connect to the target's address but speak to `host` (Host header, SNI).
                let authority = match &spec.host {
                    Some(h) => {
                        b = b.resolve(h, sock);
                        h.clone()
                    }
                    None => match addr {
                        IpAddr::V4(a) => a.to_string(),
                        IpAddr::V6(a) => format!("[{a}]"),
                    },
                };
                let url = format!("{scheme}://{authority}:{}{}", spec.port, spec.path);
                (Some(b.build().map_err(|e| e.to_string())?), url)
            }
        };
        Ok(NetProbe {
            addr: sock,
            source,
            spec,
            http,
            url,
        })
    }

    async fn run(&self) -> Result<(), String> {
        match &self.http {
            None => self.connect().await.map(drop).map_err(|e| e.to_string()),
            Some(client) => {
                let resp = client.get(&self.url).send().await.map_err(error_text)?;
                let status = resp.status().as_u16();
                let ok = if self.spec.expect.is_empty() {
                    (200..400).contains(&status)
                } else {
                    self.spec.expect.contains(&status)
                };
                if !ok {
                    return Err(format!("HTTP status {status}"));
                }
                if let Some(needle) = &self.spec.body_contains {
                    let body = resp.bytes().await.map_err(error_text)?;
                    if !contains(&body, needle.as_bytes()) {
                        return Err(format!("body does not contain `{needle}`"));
                    }
                }
                Ok(())
            }
        }
    }

    /// A TCP connection to the target, from `source` when set.
    async fn connect(&self) -> std::io::Result<tokio::net::TcpStream> {
        let Some(source) = self.source else {
            return tokio::net::TcpStream::connect(self.addr).await;
        };
        let socket = if self.addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket
            .bind(SocketAddr::new(source, 0))
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot bind {source}: {e}")))?;
        socket.connect(self.addr).await
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// reqwest's top-level message hides the cause (refused, timed out, certificate...).
fn error_text(e: reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

impl Probe for NetProbe {
    async fn check(&self) -> Result<Duration, String> {
        let start = Instant::now();
        match tokio::time::timeout(self.spec.timeout, self.run()).await {
            Ok(Ok(())) => Ok(start.elapsed()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("timed out after {:?}", self.spec.timeout)),
        }
    }
}
