//! The Ethernet, IP and UDP headers around a DNS message in an AF_XDP frame: reading the
//! query's, and turning them, in place, into the reply's (addresses and ports swapped,
//! lengths and checksums new).
//!
//! Only what the XDP program steers arrives here (untagged Ethernet; IPv4 without options
//! or fragments, or IPv6 with UDP as the first next header), but every length is checked
//! again: a frame that does not hold what its headers say is dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const ETH: usize = 14;
const IPV4: usize = 20;
const IPV6: usize = 40;
const UDP: usize = 8;
/// Hop limit of replies, as the kernel's default.
const TTL: u8 = 64;

/// A UDP datagram found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Who sent it (the reply's destination).
    pub peer: SocketAddr,
    /// Where the UDP payload (the DNS message) starts in the frame, and its length.
    pub offset: usize,
    pub len: usize,
}

/// The UDP datagram in `frame` (the bytes received), if it holds one.
pub fn parse(frame: &[u8]) -> Option<Datagram> {
    let eth = frame.get(..ETH)?;
    let (peer_ip, udp_at, ip_payload) = match u16::from_be_bytes([eth[12], eth[13]]) {
        0x0800 => {
            let ip = frame.get(ETH..ETH + IPV4)?;
            // Version 4 without options, UDP, not a fragment.
            if ip[0] != 0x45 || ip[9] != 17 || u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
            (IpAddr::V4(src), ETH + IPV4, total.checked_sub(IPV4)?)
        }
        0x86dd => {
            let ip = frame.get(ETH..ETH + IPV6)?;
            if ip[0] >> 4 != 6 || ip[6] != 17 {
                return None;
            }
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let src: [u8; 16] = ip[8..24].try_into().ok()?;
            (IpAddr::V6(Ipv6Addr::from(src)), ETH + IPV6, payload)
        }
        _ => return None,
    };
    let udp = frame.get(udp_at..udp_at + UDP)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    // The UDP length must fit the IP payload, which must fit the frame (Ethernet may pad).
    if udp_len < UDP || udp_len > ip_payload || udp_at + ip_payload > frame.len() {
        return None;
    }
    let port = u16::from_be_bytes([udp[0], udp[1]]);
    Some(Datagram {
        peer: SocketAddr::new(peer_ip, port),
        offset: udp_at + UDP,
        len: udp_len - UDP,
    })
}

/// Turns the headers of `frame`, which held datagram `d`, into those of the reply whose
/// `len` payload bytes are already in place at `d.offset`. Returns the frame's new length.
pub fn reply(frame: &mut [u8], d: &Datagram, len: usize) -> usize {
    // Ethernet: back to whoever handed us the packet.
    let (dst, src) = frame.split_at_mut(6);
    dst.swap_with_slice(&mut src[..6]);
    let udp_at = d.offset - UDP;
    let udp_len = (UDP + len) as u16;
    let mut sum = Checksum::default();
    if d.peer.is_ipv4() {
        let ip = &mut frame[ETH..ETH + IPV4];
        let (a, b) = ip[12..20].split_at_mut(4);
        a.swap_with_slice(b);
        ip[1] = 0; // DSCP and ECN
        ip[2..4].copy_from_slice(&(IPV4 as u16 + udp_len).to_be_bytes());
        ip[4..6].copy_from_slice(&[0, 0]); // identification: unused with DF
        ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes()); // DF, like the kernel path
        ip[8] = TTL;
        ip[10..12].copy_from_slice(&[0, 0]);
        let mut h = Checksum::default();
        h.add(ip);
        ip[10..12].copy_from_slice(&h.finish().to_be_bytes());
        sum.add(&ip[12..20]);
    } else {
        let ip = &mut frame[ETH..ETH + IPV6];
        let (a, b) = ip[8..40].split_at_mut(16);
        a.swap_with_slice(b);
        ip[0..4].copy_from_slice(&0x6000_0000u32.to_be_bytes()); // no class, no flow label
        ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
        ip[7] = TTL;
        sum.add(&ip[8..40]);
    }
    let udp = &mut frame[udp_at..udp_at + UDP];
    let (a, b) = udp[0..4].split_at_mut(2);
    a.swap_with_slice(b);
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    // Pseudo-header: addresses (added above), protocol, UDP length; then header and data.
    sum.add(&[0, 17]);
    sum.add(&udp_len.to_be_bytes());
    sum.add(&frame[udp_at..udp_at + UDP + len]);
    // A computed 0 is sent as all ones (0 means "no checksum" in IPv4, RFC 768).
    let c = match sum.finish() {
        0 => 0xffff,
        c => c,
    };
    frame[udp_at + 6..udp_at + 8].copy_from_slice(&c.to_be_bytes());
    udp_at + UDP + len
}

/// The Internet checksum (RFC 1071) of byte strings added in order; each added string but
/// the last must have an even length.
#[derive(Default)]
struct Checksum(u64);

impl Checksum {
    fn add(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            self.0 += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        }
        let rest = chunks.remainder();
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            self.0 += u64::from(u16::from_be_bytes([p[0], p[1]]));
        }
        if let [last] = pairs.remainder() {
            self.0 += u64::from(*last) << 8;
        }
    }

    fn finish(self) -> u16 {
        let mut s = self.0;
        while s >> 16 != 0 {
            s = (s & 0xffff) + (s >> 16);
        }
        !(s as u16)
    }
}

#[cfg(test)]
mod tests;
