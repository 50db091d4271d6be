//! A plain TCP backend for TCP health checks: a loopback listener that accepts and closes
//! connections until it is stopped, after which connections are refused (the check fails).

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

pub struct TcpBackend {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TcpBackend {
    /// Listens on `ip:port` (port 0: a free one).
    pub fn start(ip: IpAddr, port: u16) -> TcpBackend {
        let listener = TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("{ip}:{port}: {e}"));
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                drop(conn);
            }
        });
        TcpBackend {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Closes the listener: from now on connections are refused.
    pub fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            // Wakes the accept loop, which sees the flag and drops the listener.
            let _ = TcpStream::connect(self.addr);
            t.join().expect("backend thread");
        }
    }
}

impl Drop for TcpBackend {
    fn drop(&mut self) {
        self.stop();
    }
}
