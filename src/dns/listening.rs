//! What the server answers DNS on, once its listeners are up: each listener and each
//! `--xdp` interface (AF_XDP, or the kernel and why). `/v1/status` and the console show
//! it; the readiness lines on stdout are made from it.

use serde::Serialize;

/// Every DNS listener and `--xdp` interface, in the order they were started.
#[derive(Debug, Default, Serialize)]
pub struct Listening {
    pub dns: Vec<Listener>,
    /// As started.
    pub xdp: Vec<XdpInterface>,
    /// Interfaces whose AF_XDP path went away since (`dns::xdp::watch`), with why.
    #[serde(skip)]
    lost: std::sync::Mutex<Vec<(String, String)>>,
}

impl Listening {
    /// Records that `iface`'s AF_XDP path is gone, and why.
    pub fn lost(&self, iface: &str, reason: String) {
        self.lost.lock().unwrap().push((iface.to_string(), reason));
    }

    /// The `--xdp` interfaces as they are now (one that went away since start says the
    /// kernel answers it, and why), each with whether it started on AF_XDP.
    pub fn xdp_now(&self) -> Vec<(XdpInterface, bool)> {
        let lost = self.lost.lock().unwrap();
        self.xdp
            .iter()
            .map(|i| {
                let started = matches!(i.path, XdpPathState::AfXdp { .. });
                let now = match lost.iter().find(|(name, _)| *name == i.iface) {
                    Some((_, reason)) => XdpInterface {
                        iface: i.iface.clone(),
                        path: XdpPathState::Kernel {
                            reason: reason.clone(),
                        },
                    },
                    None => i.clone(),
                };
                (now, started)
            })
            .collect()
    }
}

/// One bound DNS listener.
#[derive(Debug, Clone, Serialize)]
pub struct Listener {
    /// The bound address (a port 0 in `--listen` shows the port picked).
    pub address: std::net::SocketAddr,
    /// `udp+tcp`, `tls` or `quic`.
    pub transport: &'static str,
}

impl Listener {
    /// The readiness line (`gslbd listening on 127.0.0.1:5300 (udp+tcp)`).
    pub fn line(&self) -> String {
        format!("gslbd listening on {} ({})", self.address, self.transport)
    }
}

/// An interface named with `--xdp` and how its UDP DNS is answered.
#[derive(Debug, Clone, Serialize)]
pub struct XdpInterface {
    pub iface: String,
    #[serde(flatten)]
    pub path: XdpPathState,
}

/// AF_XDP with its settings, or the kernel with the reason.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "path", rename_all = "snake_case")]
pub enum XdpPathState {
    AfXdp {
        /// Receive queues, one socket and thread each.
        queues: u32,
        /// `native` or `generic`.
        attach: &'static str,
        /// `zero-copy` or `copy`.
        sockets: &'static str,
        /// Preferred busy polling's microseconds (0: off).
        busy_poll_us: u32,
    },
    Kernel {
        /// Why AF_XDP is not answering on this interface.
        reason: String,
    },
}

impl XdpInterface {
    /// The readiness line (`gslbd answering UDP on srv0 through AF_XDP (…)` or `… through
    /// the kernel: REASON`).
    pub fn line(&self) -> String {
        let iface = &self.iface;
        match &self.path {
            XdpPathState::AfXdp {
                queues,
                attach,
                sockets,
                busy_poll_us,
            } => {
                let polling = match busy_poll_us {
                    0 => String::new(),
                    us => format!(", preferred busy polling {us} µs"),
                };
                format!(
                    "gslbd answering UDP on {iface} through AF_XDP ({queues} queues, {attach} mode, {sockets}{polling})"
                )
            }
            XdpPathState::Kernel { reason } => {
                format!("gslbd answering UDP on {iface} through the kernel: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_json_say_the_same() {
        let fast = XdpInterface {
            iface: "srv0".into(),
            path: XdpPathState::AfXdp {
                queues: 2,
                attach: "native",
                sockets: "copy",
                busy_poll_us: 50,
            },
        };
        assert_eq!(
            fast.line(),
            "gslbd answering UDP on srv0 through AF_XDP (2 queues, native mode, copy, preferred busy polling 50 µs)"
        );
        let json = serde_json::to_value(&fast).unwrap();
        assert_eq!(json["path"], "af_xdp");
        assert_eq!(json["queues"], 2);
        assert_eq!(json["busy_poll_us"], 50);
        let slow = XdpInterface {
            iface: "eth9".into(),
            path: XdpPathState::Kernel {
                reason: "there is no interface eth9".into(),
            },
        };
        assert_eq!(
            slow.line(),
            "gslbd answering UDP on eth9 through the kernel: there is no interface eth9"
        );
        let json = serde_json::to_value(&slow).unwrap();
        assert_eq!(json["path"], "kernel");
        assert_eq!(json["reason"], "there is no interface eth9");
        let l = Listener {
            address: "127.0.0.1:5300".parse().unwrap(),
            transport: "udp+tcp",
        };
        assert_eq!(l.line(), "gslbd listening on 127.0.0.1:5300 (udp+tcp)");
        assert_eq!(
            serde_json::to_value(&l).unwrap()["address"],
            "127.0.0.1:5300"
        );
    }
}
