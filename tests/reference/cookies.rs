//! The reference's DNS cookies (RFC 7873) in the server cookie format of RFC 9018 §4, written
//! from the RFC text without gslbd's code: the server cookie is Version (1) | Reserved (3
//! bytes) | Timestamp (32-bit seconds, RFC 1982 serial arithmetic) | Hash, where Hash is
//! SipHash-2-4 keyed by the 16-byte secret over Client Cookie | Version | Reserved |
//! Timestamp | Client-IP, its 64-bit result written least significant byte first (as the
//! SipHash reference implementation outputs it).
//!
//! Its choices, the same as gslbd's README states: a received server cookie is good when it
//! is 16 bytes, version 1, its hash matches (reserved bytes hashed as received) and its
//! timestamp is at most 3600 s old and at most 300 s ahead (RFC 9018 §4.3); a good one at
//! most 1800 s old is echoed, every other reply gets a new cookie stamped now with reserved
//! bytes zero.

use std::hash::Hasher;
use std::net::IpAddr;

use siphasher::sip::SipHasher24;

/// What the server knows when it answers: its secret, its NSID (if configured) and the time.
#[derive(Debug, Clone)]
pub struct ServerEdns {
    pub secret: [u8; 16],
    pub nsid: Option<Vec<u8>>,
    pub now: u32,
}

/// The server cookie a server with `secret` makes for `client` at `ip`, stamped `stamp`,
/// with the given version and reserved bytes.
pub fn mint(
    secret: &[u8; 16],
    client: &[u8],
    ip: IpAddr,
    version: u8,
    reserved: [u8; 3],
    stamp: u32,
) -> Vec<u8> {
    let mut h = SipHasher24::new_with_key(secret);
    h.write(client);
    h.write_u8(version);
    h.write(&reserved);
    h.write(&stamp.to_be_bytes());
    match ip {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    let mut cookie = vec![version];
    cookie.extend_from_slice(&reserved);
    cookie.extend_from_slice(&stamp.to_be_bytes());
    cookie.extend_from_slice(&h.finish().to_le_bytes());
    cookie
}

/// Seconds from `stamp` to `now` in serial-number arithmetic: negative when `stamp` is ahead.
fn age(stamp: u32, now: u32) -> i64 {
    let d = i64::from(now) - i64::from(stamp);
    if d > i64::from(i32::MAX) {
        d - (1 << 32)
    } else if d < i64::from(i32::MIN) {
        d + (1 << 32)
    } else {
        d
    }
}

/// The COOKIE option data of the reply to a well-formed COOKIE option `sent` from `ip`.
pub fn reply(server: &ServerEdns, sent: &[u8], ip: IpAddr) -> Vec<u8> {
    let (client, cookie) = sent.split_at(8);
    if cookie.len() == 16 && cookie[0] == 1 {
        let stamp = u32::from_be_bytes(cookie[4..8].try_into().unwrap());
        let reserved = [cookie[1], cookie[2], cookie[3]];
        let ours = mint(&server.secret, client, ip, 1, reserved, stamp) == cookie;
        let a = age(stamp, server.now);
        if ours && (-300..=1800).contains(&a) {
            return sent.to_vec();
        }
    }
    let mut out = client.to_vec();
    out.extend(mint(&server.secret, client, ip, 1, [0; 3], server.now));
    out
}
