//! `gslbd serve`: loads the configuration, binds the listeners, starts health checks,
//! reloads and the admin API, and runs until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::admin::{self, Admin};
use crate::config::{self, Paths, Problems};
use crate::dns::certs::{CertError, CertStore};
use crate::dns::listening::{Listener, Listening, XdpInterface};
use crate::dns::{quic, tcp, tls, udp, xdp};
use crate::health::{Monitor, ProbeSource, ProbeSourceError};
use crate::reload::Reloader;
use crate::snapshot::Snapshot;
use crate::state::Shared;
use crate::watcher::ConfigWatcher;

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub paths: Paths,
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_workers: usize,
    /// How long a UDP thread polls for more queries before sleeping (zero: not at all).
    pub udp_busy_poll: std::time::Duration,
    /// Preferred busy polling's microseconds on the AF_XDP sockets (0: off).
    pub xdp_busy_poll: u32,
    /// Interfaces whose UDP DNS is answered through AF_XDP (`dns::xdp`).
    pub xdp: Vec<String>,
    pub tcp: tcp::TcpLimits,
    /// Response rate limiting of UDP answers (`rate` 0: off).
    pub rrl: crate::dns::rrl::RrlConfig,
    /// Admin API address; `None` disables it.
    pub admin: Option<SocketAddr>,
    pub admin_token: Option<String>,
    /// Where drains are kept across restarts; `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
    /// Log one query in this many (0: none).
    pub query_log_every: u64,
    /// Reload when files change.
    pub watch: bool,
    /// NSID and DNS cookie secret.
    pub edns: crate::dns::edns::EdnsConfig,
    /// The local addresses health probes connect from.
    pub probe_source: ProbeSource,
    /// The fleet to join, or `None` to stand alone.
    pub fleet: Option<crate::fleet::FleetConfig>,
    /// DNS over TLS and over QUIC, or `None`.
    pub encrypted: Option<Encrypted>,
}

/// The encrypted listeners and their certificate. They take the TCP limits (`tcp`).
#[derive(Debug, Clone)]
pub struct Encrypted {
    /// DNS over TLS addresses (TCP).
    pub tls: Vec<SocketAddr>,
    /// DNS over QUIC addresses (UDP).
    pub quic: Vec<SocketAddr>,
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key of the leaf certificate.
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the configuration is not valid:\n{0}")]
    Config(Problems),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Start(std::io::Error),
    /// A probe source address this host cannot bind.
    #[error(transparent)]
    ProbeSource(#[from] ProbeSourceError),
    /// The TLS certificate or key cannot be used (the message names the file).
    #[error(transparent)]
    Certs(#[from] CertError),
    #[error("cannot serve DNS over QUIC on {addr}: {source}")]
    Quic {
        addr: SocketAddr,
        source: quic::QuicError,
    },
}

/// One listen address, bound for UDP (several sockets) and TCP on the same port.
struct Bound {
    addr: SocketAddr,
    udp: Vec<std::net::UdpSocket>,
    tcp: std::net::TcpListener,
}

/// Binds UDP and TCP on the same port. Port 0 picks a port that is free for both.
fn bind(addr: SocketAddr, workers: usize) -> Result<Bound, ServeError> {
    let err = |source| ServeError::Bind { addr, source };
    let mut attempts = 0;
    loop {
        let first = udp::bind(addr).map_err(err)?;
        let actual = first.local_addr().map_err(err)?;
        match tcp::bind(actual) {
            Ok(tcp) => {
                let mut sockets = vec![first];
                for _ in 1..workers {
                    sockets.push(udp::bind(actual).map_err(err)?);
                }
                return Ok(Bound {
                    addr: actual,
                    udp: sockets,
                    tcp,
                });
            }
            Err(e) if addr.port() == 0 && attempts < 20 => {
                attempts += 1;
                tracing::debug!(error = %e, "TCP port taken; trying another");
            }
            Err(e) => return Err(err(e)),
        }
    }
}

fn log_summary(snap: &Snapshot) {
    let names: usize = snap.zones.iter().map(|z| z.names).sum();
    tracing::info!(
        zones = snap.zones.len(),
        names,
        regions = snap.geo.regions.len(),
        network_prefixes = snap.geo.networks.len(),
        gslb_records = snap.gslb.records.len(),
        probes = snap.gslb.probes.len(),
        "configuration loaded"
    );
    if let Some(db) = &snap.geo.location {
        log_database("location", db.info(), db.heap_bytes());
    }
    if let Some(db) = &snap.geo.asn {
        log_database("asn", db.info(), db.heap_bytes());
    }
    for (needs, table) in snap.geo.class_tables() {
        tracing::info!(
            lookups = %needs.names(),
            ranges = table.range_count(),
            classes = table.class_count(),
            table_bytes = table.heap_bytes(),
            "region map flattened"
        );
    }
}

/// Which database build is serving: the first thing to check when answers look wrong.
fn log_database(role: &str, info: crate::geo::DbInfo<'_>, bytes: usize) {
    let built = std::time::UNIX_EPOCH + std::time::Duration::from_secs(info.build_epoch);
    tracing::info!(
        role,
        path = %info.path.display(),
        database_type = info.database_type,
        built = %humantime::format_rfc3339_seconds(built),
        distinct_records = info.records,
        table_bytes = bytes,
        "database loaded"
    );
}

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(cfg: ServeConfig) -> Result<(), ServeError> {
    cfg.probe_source.check_local()?;
    let certs = match &cfg.encrypted {
        Some(e) => Some(CertStore::load(&e.cert, &e.key)?),
        None => None,
    };
    let mut snapshot = config::load(&cfg.paths).map_err(ServeError::Config)?;
    let shared = Arc::new(
        Shared::new(Snapshot::default())
            .with_query_log(cfg.query_log_every)
            .with_edns(cfg.edns.clone())
            .with_rrl(cfg.rrl),
    );
    shared.metrics.assign_slots(&mut snapshot);
    log_summary(&snapshot);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gslbd-ctl")
        .enable_all()
        .build()
        .map_err(ServeError::Start)?;
    let _guard = runtime.enter();

    if !cfg.probe_source.addrs().is_empty() {
        let sources: Vec<String> = cfg
            .probe_source
            .addrs()
            .iter()
            .map(|a| a.to_string())
            .collect();
        tracing::info!(probe_source = %sources.join(" "), "health probes connect from these addresses");
    }
    let monitor = Monitor::new(shared.clone(), cfg.state_file.clone(), cfg.probe_source);
    monitor.install(Arc::new(snapshot));
    if let Some(fleet) = cfg.fleet.clone() {
        tracing::info!(node = %fleet.node, nats = %fleet.urls.join(","), health = ?fleet.health, "joining the fleet");
        monitor.join_fleet(Arc::new(crate::fleet::FleetState::new(fleet)));
    }
    crate::state::release_freed_memory();
    let reloader = Reloader::spawn(cfg.paths.clone(), shared.clone(), monitor.clone());
    reloader.watch_sighup().map_err(ServeError::Start)?;
    if let Some(c) = &certs {
        reloader.reload_certs(c.clone());
    }
    let _watcher = if cfg.watch {
        match ConfigWatcher::start(
            reloader.clone(),
            &[cfg.paths.zones.clone(), cfg.paths.geo.clone()],
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the configuration; reload with SIGHUP or the admin API");
                None
            }
        }
    } else {
        None
    };

    let workers = cfg.udp_workers.max(1);
    let bound = cfg
        .listen
        .iter()
        .map(|&a| bind(a, workers))
        .collect::<Result<Vec<_>, _>>()?;
    let encrypted = match (&cfg.encrypted, &certs) {
        (Some(e), Some(c)) => bind_encrypted(e, c, cfg.tcp)?,
        _ => Vec::new(),
    };
    let signals = Signals::install().map_err(ServeError::Start)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut admin_task = None;
    if let Some(addr) = cfg.admin {
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .map_err(|source| ServeError::Bind { addr, source })?;
        let actual = listener.local_addr().map_err(ServeError::Start)?;
        let api = Admin {
            shared: shared.clone(),
            monitor: monitor.clone(),
            reloader: reloader.clone(),
            token: cfg.admin_token.as_deref().map(Arc::from),
        };
        let mut stop = stop_rx.clone();
        admin_task = Some(runtime.spawn(admin::serve(listener, api, async move {
            let _ = stop.changed().await;
        })));
        tracing::info!(listen = %actual, token = cfg.admin_token.is_some(), "admin API listening");
        println!("gslbd admin API on {actual}");
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    let mut tcp_tasks = Vec::new();
    let mut listening = Listening::default();
    // The encrypted listeners' lines come first: scripts waiting for the first
    // `(udp+tcp)` line have seen them all by then.
    for e in encrypted {
        let (address, transport) = match e {
            EncryptedListener::Tls(l, certs) => {
                let addr = l.local_addr().map_err(ServeError::Start)?;
                let l = tokio::net::TcpListener::from_std(l).map_err(ServeError::Start)?;
                let task = tls::serve(l, shared.clone(), certs, cfg.tcp, stop_rx.clone());
                tcp_tasks.push(runtime.spawn(task));
                (addr, "tls")
            }
            EncryptedListener::Quic(endpoint) => {
                let addr = endpoint.local_addr().map_err(ServeError::Start)?;
                let task = quic::serve(endpoint, shared.clone(), cfg.tcp, stop_rx.clone());
                tcp_tasks.push(runtime.spawn(task));
                (addr, "quic")
            }
        };
        tracing::info!(listen = %address, transport, "DNS listening");
        listening.dns.push(Listener { address, transport });
    }
    let udp_addrs: Vec<SocketAddr> = bound.iter().map(|b| b.addr).collect();
    let (xdp_paths, xdp_interfaces) = xdp::start_all(
        &cfg.xdp,
        &udp_addrs,
        &shared,
        &stop,
        xdp::Waiting {
            spin: cfg.udp_busy_poll,
            busy_poll_us: cfg.xdp_busy_poll,
        },
        &mut threads,
    );
    listening.xdp = xdp_interfaces;
    let attached: Vec<(String, u32)> = xdp_paths
        .iter()
        .map(|p| (p.iface.clone(), p.ifindex))
        .collect();
    if !attached.is_empty() {
        runtime.spawn(xdp::watch(shared.clone(), attached, stop_rx.clone()));
    }
    for b in bound {
        threads.extend(
            udp::spawn_workers(b.udp, shared.clone(), stop.clone(), cfg.udp_busy_poll)
                .map_err(ServeError::Start)?,
        );
        let listener = tokio::net::TcpListener::from_std(b.tcp).map_err(ServeError::Start)?;
        tcp_tasks.push(runtime.spawn(tcp::serve(
            listener,
            shared.clone(),
            cfg.tcp,
            stop_rx.clone(),
        )));
        tracing::info!(listen = %b.addr, udp_workers = workers, "DNS listening on UDP and TCP");
        listening.dns.push(Listener {
            address: b.addr,
            transport: "udp+tcp",
        });
    }
    // Machine-readable readiness lines for scripts and tests, printed last: the encrypted
    // listeners, the --xdp interfaces, then UDP and TCP.
    let (encrypted_lines, plain_lines): (Vec<_>, Vec<_>) =
        listening.dns.iter().partition(|l| l.transport != "udp+tcp");
    let lines: Vec<String> = encrypted_lines
        .iter()
        .map(|l| l.line())
        .chain(listening.xdp.iter().map(XdpInterface::line))
        .chain(plain_lines.iter().map(|l| l.line()))
        .collect();
    // Set before the lines go out: whoever saw them finds it in /v1/status.
    let _ = shared.listening.set(listening);
    for l in lines {
        println!("{l}");
    }

    runtime.block_on(async {
        signals.wait().await;
        tracing::info!("shutting down");
        stop.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
        for t in tcp_tasks {
            let _ = t.await;
        }
        if let Some(t) = admin_task {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), t).await;
        }
    });
    for t in threads {
        let _ = t.join();
    }
    // Detaches the XDP programs, now that no worker uses their sockets.
    drop(xdp_paths);
    Ok(())
}

/// A bound DNS over TLS or over QUIC listener.
enum EncryptedListener {
    Tls(std::net::TcpListener, Arc<CertStore>),
    Quic(quinn::Endpoint),
}

/// Binds the DoT (TCP) and DoQ (UDP) addresses; QUIC endpoints need the runtime entered.
fn bind_encrypted(
    e: &Encrypted,
    certs: &Arc<CertStore>,
    limits: tcp::TcpLimits,
) -> Result<Vec<EncryptedListener>, ServeError> {
    let mut out = Vec::new();
    for &addr in &e.tls {
        let l = tcp::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
        out.push(EncryptedListener::Tls(l, certs.clone()));
    }
    for &addr in &e.quic {
        let socket = quic::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
        let endpoint = quic::endpoint(socket, certs, limits)
            .map_err(|source| ServeError::Quic { addr, source })?;
        out.push(EncryptedListener::Quic(endpoint));
    }
    Ok(out)
}

/// SIGTERM and SIGINT handlers, installed before the server says it is ready.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}
