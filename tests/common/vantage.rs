//! A vantage backend: a test HTTP or TCP backend on loopback that answers each peer (source)
//! address its own way, from a table the test changes at any time. Several gslbd nodes probing
//! it from different source addresses (`--probe-source`) then each see their own health, as
//! nodes in different places would.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, SockFilter, SockRef, Socket, Type};

use super::health::{read_head, write_response, HEALTHY_BODY};

/// What a vantage backend gives one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// HTTP: 200 with `HEALTHY_BODY`. TCP: the connection is accepted.
    Healthy,
    /// HTTP only: this status with `HEALTHY_BODY`.
    Status(u16),
    /// The peer's connection attempts (SYNs) are dropped, as a firewall on the path would:
    /// its probes time out. IPv4 peers only.
    Silent,
}

#[derive(Default)]
struct Table {
    answers: HashMap<IpAddr, Answer>,
    /// Connections accepted per peer address.
    hits: HashMap<IpAddr, usize>,
}

impl Table {
    fn answer(&self, peer: IpAddr) -> Answer {
        self.answers.get(&peer).copied().unwrap_or(Answer::Healthy)
    }
}

/// A backend on one loopback address and port answering per peer address (`Healthy` for
/// peers the table does not name). Dropping it closes the listener.
pub struct VantageBackend {
    addr: SocketAddr,
    http: bool,
    listener: Arc<TcpListener>,
    table: Arc<Mutex<Table>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VantageBackend {
    /// An HTTP backend on `ip:port` (port 0 picks one).
    pub fn http(ip: IpAddr, port: u16) -> VantageBackend {
        VantageBackend::start(SocketAddr::new(ip, port), true)
    }

    /// A TCP backend that accepts connections (from peers it does not silence) and closes
    /// them at once.
    pub fn tcp(ip: IpAddr, port: u16) -> VantageBackend {
        VantageBackend::start(SocketAddr::new(ip, port), false)
    }

    fn start(addr: SocketAddr, http: bool) -> VantageBackend {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)
            .and_then(|s| s.set_reuse_address(true).map(|()| s))
            .and_then(|s| s.bind(&addr.into()).map(|()| s))
            .and_then(|s| s.listen(128).map(|()| s))
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .unwrap_or_else(|e| panic!("bind vantage backend on {addr}: {e}"));
        let listener = Arc::new(TcpListener::from(socket));
        let addr = listener.local_addr().unwrap();
        let table = Arc::new(Mutex::new(Table::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (listener, table, stop) = (listener.clone(), table.clone(), stop.clone());
            std::thread::spawn(move || accept_loop(&listener, &table, &stop, http))
        };
        let b = VantageBackend {
            addr,
            http,
            listener,
            table,
            stop,
            thread: Some(thread),
        };
        b.refilter();
        b
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// From now on, answers `peer` with `answer`.
    pub fn answer(&self, peer: IpAddr, answer: Answer) {
        assert!(
            self.http || !matches!(answer, Answer::Status(_)),
            "a TCP backend has no status to answer {peer} with; use Answer::Silent"
        );
        assert!(
            answer != Answer::Silent || peer.is_ipv4(),
            "only IPv4 peers can be silenced: {peer}"
        );
        self.table.lock().unwrap().answers.insert(peer, answer);
        self.refilter();
    }

    /// Connections accepted from `peer` so far (silenced attempts never get that far).
    pub fn hits(&self, peer: IpAddr) -> usize {
        self.table
            .lock()
            .unwrap()
            .hits
            .get(&peer)
            .copied()
            .unwrap_or(0)
    }

    /// Every peer address a connection was accepted from.
    pub fn peers(&self) -> Vec<IpAddr> {
        let mut p: Vec<IpAddr> = self.table.lock().unwrap().hits.keys().copied().collect();
        p.sort();
        p
    }

    /// Attaches a socket filter to the listener that drops packets from the silenced peers, so
    /// their SYNs never complete a handshake (the kernel would otherwise accept for us).
    fn refilter(&self) {
        let silent: Vec<Ipv4Addr> = self
            .table
            .lock()
            .unwrap()
            .answers
            .iter()
            .filter(|(_, a)| **a == Answer::Silent)
            .filter_map(|(p, _)| match p {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        SockRef::from(&*self.listener)
            .attach_filter(&drop_sources(&silent))
            .unwrap_or_else(|e| panic!("socket filter on {}: {e}", self.addr));
    }
}

impl Drop for VantageBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A classic BPF program for a TCP listener: drop IPv4 packets whose source is one of
/// `silent`, accept everything else. A TCP socket filter sees the transport header at offset
/// 0, so the IPv4 source address is read relative to the network header (`SKF_NET_OFF`).
fn drop_sources(silent: &[Ipv4Addr]) -> Vec<SockFilter> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    assert!(silent.len() < 250, "too many silenced peers for one jump");
    let n = silent.len() as u8;
    let mut prog = vec![SockFilter::new(
        LD_W_ABS,
        0,
        0,
        (libc::SKF_NET_OFF + 12) as u32,
    )];
    for (i, a) in silent.iter().enumerate() {
        // On a match, jump over the remaining comparisons and the accept to the drop.
        let to_drop = n - i as u8;
        prog.push(SockFilter::new(JEQ_K, to_drop, 0, u32::from(*a)));
    }
    prog.push(SockFilter::new(RET_K, 0, 0, u32::MAX));
    prog.push(SockFilter::new(RET_K, 0, 0, 0));
    prog
}

fn accept_loop(listener: &TcpListener, table: &Mutex<Table>, stop: &AtomicBool, http: bool) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((s, peer)) => {
                let answer = {
                    let mut t = table.lock().unwrap();
                    *t.hits.entry(peer.ip()).or_insert(0) += 1;
                    t.answer(peer.ip())
                };
                if http && answer != Answer::Silent {
                    serve_http(s, answer);
                }
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads one request head and answers it with `answer`; always closes.
fn serve_http(mut s: TcpStream, answer: Answer) {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    if read_head(&mut s).is_none() {
        return;
    }
    let status = match answer {
        Answer::Status(code) => code,
        Answer::Healthy | Answer::Silent => 200,
    };
    write_response(&mut s, status, HEALTHY_BODY);
    let _ = s.shutdown(std::net::Shutdown::Write);
}
