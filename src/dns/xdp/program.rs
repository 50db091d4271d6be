//! gslbd's XDP program (`steer.bpf.c`, built into `steer.bpf.o`) loaded into the kernel,
//! told the listen addresses, and attached to one interface.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use aya::maps::{HashMap, MapData, XskMap};
use aya::programs::{Xdp, XdpFlags};
use aya::Ebpf;

/// The program's object, built by scripts/build-bpf from steer.bpf.c.
static OBJECT: &[u8] = aya::include_bytes_aligned!("steer.bpf.o");

/// A key of the program's `listen` map (struct listen_key in steer.bpf.c).
#[repr(C)]
#[derive(Clone, Copy)]
struct ListenKey {
    addr: [u8; 16],
    /// Network byte order.
    port: [u8; 2],
    family: u16,
}

// SAFETY: plain bytes without padding (16 + 2 + 2), as the program reads them.
unsafe impl aya::Pod for ListenKey {}

impl ListenKey {
    fn of(addr: SocketAddr) -> Self {
        let mut key = ListenKey {
            addr: [0; 16],
            port: addr.port().to_be_bytes(),
            family: 4,
        };
        match addr {
            SocketAddr::V4(a) => key.addr[..4].copy_from_slice(&a.ip().octets()),
            SocketAddr::V6(a) => {
                key.family = 6;
                key.addr.copy_from_slice(&a.ip().octets());
            }
        }
        key
    }
}

/// How the program runs on the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// In the driver, before any socket buffer is made.
    Native,
    /// After the kernel made a socket buffer (any driver; slower).
    Generic,
}

impl AttachMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        }
    }
}

/// Why the program could not be loaded or attached.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("cannot load the XDP program: {0}")]
    Load(String),
    #[error("cannot attach the XDP program to {iface}: {reason}")]
    Attach { iface: String, reason: String },
    #[error("cannot set the program's {map} map: {reason}")]
    Map { map: &'static str, reason: String },
}

/// The program, attached; detached when dropped (its link is closed with it).
pub struct Program {
    ebpf: Ebpf,
    pub mode: AttachMode,
}

impl Program {
    /// Loads the program for `listen` (every address it should steer) and attaches it to
    /// `iface`: in native mode, or in generic mode when the driver has none (`generic_ok`).
    pub fn attach(
        iface: &str,
        listen: &[SocketAddr],
        generic_ok: bool,
    ) -> Result<Self, ProgramError> {
        let load = |e: &dyn std::fmt::Display| ProgramError::Load(e.to_string());
        let mut ebpf = Ebpf::load(OBJECT).map_err(|e| ProgramError::Load(chain(&e)))?;
        {
            let map = ebpf
                .map_mut("listen")
                .ok_or_else(|| load(&"no listen map"))?;
            let mut keys: HashMap<&mut MapData, ListenKey, u8> =
                HashMap::try_from(map).map_err(|e| map_error("listen", &e))?;
            for &a in listen {
                keys.insert(ListenKey::of(a), 1, 0)
                    .map_err(|e| map_error("listen", &e))?;
            }
        }
        let prog: &mut Xdp = ebpf
            .program_mut("steer")
            .ok_or_else(|| load(&"no steer program"))?
            .try_into()
            .map_err(|e| load(&e))?;
        prog.load().map_err(|e| load(&chain(&e)))?;
        let attach_error = |e: aya::programs::ProgramError| ProgramError::Attach {
            iface: iface.to_string(),
            reason: chain(&e),
        };
        let mode = match prog.attach(iface, XdpFlags::DRV_MODE) {
            Ok(_) => AttachMode::Native,
            Err(e) if generic_ok => {
                tracing::debug!(error = %chain(&e), "native XDP refused; trying generic mode");
                prog.attach(iface, XdpFlags::SKB_MODE)
                    .map_err(attach_error)?;
                AttachMode::Generic
            }
            Err(e) => return Err(attach_error(e)),
        };
        Ok(Program { ebpf, mode })
    }

    /// Steers queue `queue`'s packets into `socket`.
    pub fn bind_queue(&mut self, queue: u32, socket: &impl AsRawFd) -> Result<(), ProgramError> {
        let map = self.ebpf.map_mut("xsks").ok_or(ProgramError::Map {
            map: "xsks",
            reason: "missing".into(),
        })?;
        let mut xsks: XskMap<&mut MapData> =
            XskMap::try_from(map).map_err(|e| map_error("xsks", &e))?;
        xsks.set(queue, socket.as_raw_fd(), 0)
            .map_err(|e| map_error("xsks", &e))
    }
}

fn map_error(map: &'static str, e: &dyn std::error::Error) -> ProgramError {
    ProgramError::Map {
        map,
        reason: chain(e),
    }
}

/// An error with its causes, "a: b: c" (aya's errors keep the errno in their source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        next = cause.source();
    }
    s
}
