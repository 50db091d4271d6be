//! Two network namespaces joined by a veth pair, made by a test for traffic that must cross
//! a real (virtual) network interface, and removed with everything in them when dropped.
//!
//! Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN) and `ip` (iproute2); `create` says why
//! not otherwise, so that a test can skip with that reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::process::Command;

/// The client side is `cli0` in one namespace, the server side `srv0` in the other.
pub struct VethPair {
    pub client_ns: String,
    pub server_ns: String,
    pub client_if: &'static str,
    pub server_if: &'static str,
}

pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(10, 53, 0, 1);
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(10, 53, 0, 2);
/// A second address of the server side, for what must not be steered to gslbd.
pub const SERVER_V4_OTHER: Ipv4Addr = Ipv4Addr::new(10, 53, 0, 3);
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x53, 0, 0, 0, 0, 0, 1);
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x53, 0, 0, 0, 0, 0, 2);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run ip (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl VethPair {
    /// Makes the namespaces (named after `tag` and this process) and the pair, with
    /// 10.53.0.1/24 and fd00:53::1/64 on the client side, .2 (and .3) and ::2 on the server
    /// side.
    pub fn create(tag: &str) -> Result<VethPair, String> {
        // SAFETY: geteuid(2) has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("network namespaces need root".into());
        }
        let id = std::process::id();
        let pair = VethPair {
            client_ns: format!("gslbd-{tag}-{id}-c"),
            server_ns: format!("gslbd-{tag}-{id}-s"),
            client_if: "cli0",
            server_if: "srv0",
        };
        ip(&["netns", "add", &pair.client_ns])?;
        // From here on, Drop removes whatever was made.
        ip(&["netns", "add", &pair.server_ns])?;
        pair.make_link()?;
        Ok(pair)
    }

    /// Makes the veth pair between the namespaces, addressed and up (again, after
    /// `delete_link`).
    pub fn make_link(&self) -> Result<(), String> {
        ip(&[
            "link",
            "add",
            self.client_if,
            "netns",
            &self.client_ns,
            "type",
            "veth",
            "peer",
            "name",
            self.server_if,
            "netns",
            &self.server_ns,
        ])?;
        for (ns, dev, v4, v6) in [
            (&self.client_ns, self.client_if, CLIENT_V4, CLIENT_V6),
            (&self.server_ns, self.server_if, SERVER_V4, SERVER_V6),
        ] {
            ip(&["-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
            if v4 == SERVER_V4 {
                ip(&[
                    "-n",
                    ns,
                    "addr",
                    "add",
                    &format!("{SERVER_V4_OTHER}/24"),
                    "dev",
                    dev,
                ])?;
            }
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Deletes the veth pair (both ends go).
    pub fn delete_link(&self) -> Result<(), String> {
        ip(&["-n", &self.client_ns, "link", "del", self.client_if])
    }

    /// Sets the server end down or up.
    pub fn set_server_link(&self, up: bool) -> Result<(), String> {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.server_ns, "link", "set", self.server_if, state])
    }

    /// `program` run inside the server namespace.
    pub fn server_command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.server_ns, program]);
        c
    }

    /// Runs `f` on a thread that has entered `ns`: sockets it opens live there.
    pub fn run_in<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{ns}");
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
                // SAFETY: setns(2) on this thread only, with a namespace file we hold open.
                let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("thread in the namespace panicked")
        })
    }

    pub fn in_client<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        Self::run_in(&self.client_ns, f)
    }

    pub fn in_server<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        Self::run_in(&self.server_ns, f)
    }

    /// Forgets the client side's neighbours (ARP, NDP): the next packet must ask again.
    pub fn flush_client_neighbours(&self) {
        ip(&["-n", &self.client_ns, "neigh", "flush", "all"]).expect("neigh flush");
    }

    pub fn server_addrs() -> [IpAddr; 2] {
        [IpAddr::V4(SERVER_V4), IpAddr::V6(SERVER_V6)]
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace destroys the veth end inside it, and with it the pair.
        let _ = ip(&["netns", "del", &self.client_ns]);
        let _ = ip(&["netns", "del", &self.server_ns]);
    }
}
