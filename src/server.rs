//! `gslbd serve`: loads the configuration, binds the listeners, runs until a signal.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::config::{self, Paths, Problems};
use crate::dns::{tcp, udp};
use crate::state::Shared;

/// Everything `serve` needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub paths: Paths,
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_workers: usize,
    pub tcp: tcp::TcpLimits,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("the configuration is not valid:\n{0}")]
    Config(Problems),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start: {0}")]
    Start(std::io::Error),
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

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(cfg: ServeConfig) -> Result<(), ServeError> {
    let snapshot = config::load(&cfg.paths).map_err(ServeError::Config)?;
    let zones = snapshot.zones.len();
    let names: usize = snapshot.zones.iter().map(|z| z.names).sum();
    let shared = Arc::new(Shared::new(snapshot));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gslbd-ctl")
        .enable_all()
        .build()
        .map_err(ServeError::Start)?;

    let workers = cfg.udp_workers.max(1);
    let bound = cfg
        .listen
        .iter()
        .map(|&a| bind(a, workers))
        .collect::<Result<Vec<_>, _>>()?;

    let stop = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    let mut tcp_tasks = Vec::new();
    let _guard = runtime.enter();
    for b in bound {
        threads.extend(
            udp::spawn_workers(b.udp, shared.clone(), stop.clone()).map_err(ServeError::Start)?,
        );
        let listener = tokio::net::TcpListener::from_std(b.tcp).map_err(ServeError::Start)?;
        tcp_tasks.push(runtime.spawn(tcp::serve(
            listener,
            shared.clone(),
            cfg.tcp,
            stop_rx.clone(),
        )));
        tracing::info!(listen = %b.addr, udp_workers = workers, "listening on UDP and TCP");
        // A machine-readable readiness line for scripts and tests.
        println!("gslbd listening on {} (udp+tcp)", b.addr);
    }
    tracing::info!(zones, names, "serving");

    runtime.block_on(async {
        wait_for_signal().await;
        tracing::info!("shutting down");
        stop.store(true, Ordering::Relaxed);
        let _ = stop_tx.send(true);
        for t in tcp_tasks {
            let _ = t.await;
        }
    });
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
