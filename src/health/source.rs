//! Probe source addresses: the local address health probes bind before connecting, at most
//! one per address family (`serve --probe-source`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

#[derive(Debug, thiserror::Error)]
pub enum ProbeSourceError {
    #[error("{family} is given twice ({first} and {second}); give at most one IPv4 and one IPv6 address")]
    Twice {
        family: &'static str,
        first: IpAddr,
        second: IpAddr,
    },
    #[error("{0} is the unspecified address; leave the flag out to let the OS pick the source")]
    Unspecified(IpAddr),
    #[error("cannot bind {addr}, which must be an address of this host")]
    NotLocal {
        addr: IpAddr,
        source: std::io::Error,
    },
}

/// The source address of probes, per family of the target. A family without one uses the
/// OS default (the address of the route to the target).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeSource {
    v4: Option<Ipv4Addr>,
    v6: Option<Ipv6Addr>,
}

impl ProbeSource {
    /// At most one address per family, none unspecified. IPv4-mapped IPv6 addresses count as
    /// IPv4. Does not look at the host's addresses: see [`ProbeSource::check_local`].
    pub fn new(addrs: &[IpAddr]) -> Result<Self, ProbeSourceError> {
        let mut s = ProbeSource::default();
        for &addr in addrs {
            let addr = addr.to_canonical();
            if addr.is_unspecified() {
                return Err(ProbeSourceError::Unspecified(addr));
            }
            let first = match addr {
                IpAddr::V4(a) => s.v4.replace(a).map(IpAddr::V4),
                IpAddr::V6(a) => s.v6.replace(a).map(IpAddr::V6),
            };
            if let Some(first) = first {
                return Err(ProbeSourceError::Twice {
                    family: if addr.is_ipv4() { "IPv4" } else { "IPv6" },
                    first,
                    second: addr,
                });
            }
        }
        Ok(s)
    }

    /// The source for probes of `target` (a socket of the target's family), or `None` for
    /// the OS default.
    pub fn for_target(&self, target: IpAddr) -> Option<IpAddr> {
        match target {
            IpAddr::V4(_) => self.v4.map(IpAddr::V4),
            IpAddr::V6(_) => self.v6.map(IpAddr::V6),
        }
    }

    /// The configured addresses, IPv4 first.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.v4
            .map(IpAddr::V4)
            .into_iter()
            .chain(self.v6.map(IpAddr::V6))
            .collect()
    }

    /// Binds a TCP socket to each address (any port) as probes will, so that an address this
    /// host does not have fails once at startup rather than in every probe.
    pub fn check_local(&self) -> Result<(), ProbeSourceError> {
        for addr in self.addrs() {
            test_bind(addr).map_err(|source| ProbeSourceError::NotLocal { addr, source })?;
        }
        Ok(())
    }
}

fn test_bind(addr: IpAddr) -> std::io::Result<()> {
    let sock = SocketAddr::new(addr, 0);
    let s = Socket::new(Domain::for_address(sock), Type::STREAM, Some(Protocol::TCP))?;
    s.bind(&sock.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_family_gets_its_own_source_and_the_other_the_os_default() {
        let s = ProbeSource::new(&[ip("127.0.0.2")]).unwrap();
        assert_eq!(s.for_target(ip("192.0.2.1")), Some(ip("127.0.0.2")));
        assert_eq!(s.for_target(ip("2001:db8::1")), None);
        let s = ProbeSource::new(&[ip("::1"), ip("127.0.0.3")]).unwrap();
        assert_eq!(s.for_target(ip("192.0.2.1")), Some(ip("127.0.0.3")));
        assert_eq!(s.for_target(ip("2001:db8::1")), Some(ip("::1")));
        assert_eq!(s.addrs(), vec![ip("127.0.0.3"), ip("::1")]);
        assert_eq!(ProbeSource::new(&[]).unwrap().for_target(ip("::1")), None);
    }

    #[test]
    fn mapped_addresses_count_as_ipv4() {
        let s = ProbeSource::new(&[ip("::ffff:127.0.0.2")]).unwrap();
        assert_eq!(s.for_target(ip("10.0.0.1")), Some(ip("127.0.0.2")));
        assert_eq!(s.for_target(ip("2001:db8::1")), None);
    }

    #[test]
    fn two_of_one_family_or_unspecified_are_refused() {
        let e = ProbeSource::new(&[ip("127.0.0.2"), ip("127.0.0.3")]).unwrap_err();
        assert!(
            matches!(e, ProbeSourceError::Twice { family: "IPv4", .. }),
            "{e}"
        );
        assert!(e.to_string().contains("127.0.0.2 and 127.0.0.3"), "{e}");
        let e = ProbeSource::new(&[ip("::")]).unwrap_err();
        assert!(matches!(e, ProbeSourceError::Unspecified(_)), "{e}");
    }

    #[test]
    fn loopback_is_local_and_a_documentation_address_is_not() {
        ProbeSource::new(&[ip("127.0.0.2")])
            .unwrap()
            .check_local()
            .unwrap();
        let e = ProbeSource::new(&[ip("192.0.2.1")])
            .unwrap()
            .check_local()
            .unwrap_err();
        assert!(matches!(e, ProbeSourceError::NotLocal { .. }), "{e}");
        assert!(e.to_string().contains("192.0.2.1"), "{e}");
    }
}
