//! Response rate limiting (RRL) for UDP, with the semantics of Knot and NSD: responses are
//! counted per client network (/24 for IPv4, /56 for IPv6) and per kind of response —
//! answers and NODATA per query name, wildcard answers and NXDOMAIN per zone, errors
//! (REFUSED, FORMERR, SERVFAIL…) per network alone — and past `rate` a second, responses
//! are dropped, except every `slip`-th, which is sent truncated (TC) so that a real client
//! behind a spoofed address retries over TCP. TCP is never limited, and neither is a client
//! with a valid server cookie (its address is proven).
//!
//! The counters live in one table shared by the UDP threads: a bucket is one atomic word
//! (a tag of the key, the second it counts, the count) updated with compare-and-swap; no
//! lock, no allocation per response.

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::edns::CookieVerdict;
use super::response::rcode;
use crate::metrics::Outcome;

/// How responses are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrlConfig {
    /// Responses per second per (network, kind, name); 0 turns RRL off.
    pub rate: u32,
    /// Every `slip`-th limited response is sent truncated instead of dropped (0: drop all,
    /// 1: truncate all).
    pub slip: u32,
    /// Buckets in the table (rounded up to a power of two).
    pub table_size: usize,
}

impl Default for RrlConfig {
    fn default() -> Self {
        RrlConfig {
            rate: 0,
            slip: 2,
            table_size: 1 << 16,
        }
    }
}

/// What to do with one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Send a truncated response (TC, the question only).
    Slip,
    Drop,
}

/// The kinds of response counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    /// An answer or NODATA: per query name.
    Name = 1,
    /// A wildcard's answer: per zone, so random names under it share one bucket.
    Wildcard = 2,
    /// NXDOMAIN: per zone.
    NxDomain = 3,
    /// Any error: per network.
    Error = 4,
}

/// The limiter of one server: its configuration, the shared table and its counters.
pub struct Rrl {
    cfg: RrlConfig,
    buckets: Box<[AtomicU64]>,
    mask: usize,
    /// Responses dropped and sent truncated because of the limit.
    pub dropped: AtomicU64,
    pub slipped: AtomicU64,
}

/// Per UDP thread: where this thread is in the slip cycle.
#[derive(Debug, Default)]
pub struct SlipCounter(u32);

// A bucket: [tag of the key: 24 bits][the second it counts, mod 256: 8][count: 32].
const COUNT_BITS: u32 = 32;
const SECOND_BITS: u32 = 8;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;

impl Rrl {
    pub fn new(cfg: RrlConfig) -> Rrl {
        let size = cfg.table_size.clamp(1 << 10, 1 << 24).next_power_of_two();
        Rrl {
            cfg,
            buckets: (0..size).map(|_| AtomicU64::new(0)).collect(),
            mask: size - 1,
            dropped: AtomicU64::new(0),
            slipped: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> RrlConfig {
        self.cfg
    }

    /// Decides for the response `o` to `client`'s query `packet` (its question name read
    /// from the wire), at `now` (Unix seconds).
    #[inline]
    pub fn check(
        &self,
        o: &Outcome,
        packet: &[u8],
        client: IpAddr,
        now: u32,
        slip: &mut SlipCounter,
    ) -> Verdict {
        if o.cookie == CookieVerdict::Valid {
            return Verdict::Send;
        }
        let mut h = rustc_hash::FxHasher::default();
        match client {
            IpAddr::V4(a) => h.write_u32(u32::from(a) >> 8),
            IpAddr::V6(a) => h.write_u64((u128::from(a) >> 72) as u64 | 1 << 63),
        }
        let kind = match o.rcode {
            rcode::NOERROR if o.wildcard => Kind::Wildcard,
            rcode::NOERROR => Kind::Name,
            rcode::NXDOMAIN => Kind::NxDomain,
            _ => Kind::Error,
        };
        h.write_u8(kind as u8);
        match kind {
            Kind::Name => hash_qname(&mut h, packet),
            Kind::Wildcard | Kind::NxDomain => h.write_u16(o.zone_slot),
            Kind::Error => {}
        }
        if self.count(h.finish(), now) <= u64::from(self.cfg.rate) {
            return Verdict::Send;
        }
        slip.0 = slip.0.wrapping_add(1);
        if self.cfg.slip > 0 && slip.0 % self.cfg.slip == 0 {
            self.slipped.fetch_add(1, Relaxed);
            Verdict::Slip
        } else {
            self.dropped.fetch_add(1, Relaxed);
            Verdict::Drop
        }
    }

    /// Counts one response in the bucket of `key` for second `now`; returns the count.
    /// A bucket holds one key and one second: another key (a collision) or a new second
    /// starts it over.
    #[inline]
    fn count(&self, key: u64, now: u32) -> u64 {
        let bucket = &self.buckets[key as usize & self.mask];
        let tag = key >> (COUNT_BITS + SECOND_BITS);
        let second = u64::from(now) & ((1 << SECOND_BITS) - 1);
        let fresh = tag << (COUNT_BITS + SECOND_BITS) | second << COUNT_BITS | 1;
        let mut old = bucket.load(Relaxed);
        loop {
            let same = old >> COUNT_BITS == fresh >> COUNT_BITS;
            let new = if same {
                (old & !COUNT_MAX) | ((old & COUNT_MAX) + 1).min(COUNT_MAX)
            } else {
                fresh
            };
            if new == old {
                return new & COUNT_MAX;
            }
            match bucket.compare_exchange_weak(old, new, Relaxed, Relaxed) {
                Ok(_) => return new & COUNT_MAX,
                Err(seen) => old = seen,
            }
        }
    }
}

/// Hashes the question name of `packet` (wire format), ASCII case folded so that random
/// case does not make a new bucket: eight bytes at a time.
#[inline]
fn hash_qname(h: &mut rustc_hash::FxHasher, packet: &[u8]) {
    let name = packet.get(12..).unwrap_or_default();
    let mut end = 0;
    while let Some(&len) = name.get(end) {
        end += 1;
        if len == 0 || len > 63 {
            break;
        }
        end += len as usize;
    }
    let name = &name[..end.min(name.len())];
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        h.write_u64(lowercase(u64::from_le_bytes(w.try_into().unwrap())));
    }
    let rest = words.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    h.write_u64(lowercase(u64::from_le_bytes(last)));
}

/// ASCII lowercase of eight bytes at once (the standard library's word-at-a-time trick):
/// bytes 'A'..='Z' get 0x20 set; every other byte, label lengths included, is unchanged.
#[inline]
fn lowercase(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = w & (0x7f * ONES);
    let above_z = low7.wrapping_add((0x7f - b'Z') as u64 * ONES);
    let from_a = low7.wrapping_add((0x80 - b'A') as u64 * ONES);
    let upper = !w & (from_a ^ above_z) & (0x80 * ONES);
    w | (upper >> 2)
}

/// Turns the reply in `reply` into a truncated one: the header with TC set, the question,
/// nothing else (no OPT either, like Knot's and BIND's slipped replies).
pub fn truncate(reply: &mut Vec<u8>) {
    if reply.len() < 12 {
        return;
    }
    let qdcount = u16::from_be_bytes([reply[4], reply[5]]);
    let mut end = 12;
    if qdcount > 0 {
        while let Some(&len) = reply.get(end) {
            if len == 0 {
                break;
            }
            end += 1 + len as usize;
        }
        end = (end + 1 + 4).min(reply.len());
    }
    reply.truncate(end);
    reply[2] |= 0x02; // TC
    reply[4..6].copy_from_slice(&qdcount.min(1).to_be_bytes());
    reply[6..12].fill(0);
}

#[cfg(test)]
mod tests;
