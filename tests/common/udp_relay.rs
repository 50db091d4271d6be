//! A UDP relay between a test's client and gslbd, on loopback: it forwards the client's
//! datagrams to the server and, unless told to drop them, the server's back, and notes the
//! QUIC long-header packet types it saw coming back (a Retry among them).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// The QUIC v1 long-header packet type of a Retry (RFC 9000 §17.2).
pub const QUIC_RETRY: u8 = 3;

/// One relay: clients send to `addr()`; the server sees the relay's other socket.
pub struct UdpRelay {
    front: SocketAddr,
    seen: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl UdpRelay {
    /// Starts relaying to `server`. With `answer` false the server's datagrams go nowhere:
    /// a client behind it never completes a handshake (the server waits for it).
    pub async fn start(server: SocketAddr, answer: bool) -> UdpRelay {
        let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        back.connect(server).await.unwrap();
        let addr = front.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let noted = seen.clone();
        let task = tokio::spawn(async move {
            let mut client = None;
            let (mut up, mut down) = (vec![0u8; 65536], vec![0u8; 65536]);
            loop {
                tokio::select! {
                    r = front.recv_from(&mut up) => {
                        let Ok((n, from)) = r else { return };
                        client = Some(from);
                        let _ = back.send(&up[..n]).await;
                    }
                    r = back.recv(&mut down) => {
                        let Ok(n) = r else { return };
                        // Long header (top bit), then the type in bits 5 and 4.
                        if n > 0 && down[0] & 0x80 != 0 {
                            noted.lock().unwrap().push((down[0] >> 4) & 0x03);
                        } else {
                            noted.lock().unwrap().push(u8::MAX);
                        }
                        if let (true, Some(to)) = (answer, client) {
                            let _ = front.send_to(&down[..n], to).await;
                        }
                    }
                }
            }
        });
        UdpRelay {
            front: addr,
            seen,
            task,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.front
    }

    /// The server's datagrams so far, by QUIC long-header type (`u8::MAX`: short header).
    pub fn seen(&self) -> Vec<u8> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for UdpRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
