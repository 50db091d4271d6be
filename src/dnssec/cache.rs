//! The signature cache of online signing: RRSIGs by RRset content and key, so equal
//! RRsets (the same GSLB pool in any rotation, the same static RRset, the same denial)
//! are signed once and then copied. One cache per serving thread: no locks.

use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};
use smallvec::SmallVec;

use super::key::Key;
use super::rrsig::{self, RrsetToSign, REFRESH_BEFORE_END, VALIDITY};

/// Entries per generation; the cache holds at most two generations.
pub const DEFAULT_CAPACITY: usize = 16_384;

/// Which RRset: owner (canonical: lowercase, uncompressed), type and TTL.
#[derive(Debug, Clone, Copy)]
pub struct RrsetId<'a> {
    pub owner: &'a [u8],
    pub rtype: u16,
    pub ttl: u32,
}

struct Entry {
    /// What was signed: key fingerprint, owner, type, TTL, canonical RDATA.
    content: Box<[u8]>,
    /// Made at; the signature is used until `REFRESH_BEFORE_END` before it expires.
    made: u32,
    /// The RRSIG record without its owner.
    rrsig: Box<[u8]>,
}

impl Entry {
    fn fresh(&self, now: u32) -> bool {
        // Serial arithmetic: a clock that went back past the inception counts as stale too.
        now.wrapping_sub(self.made) < VALIDITY - REFRESH_BEFORE_END
    }
}

/// RRSIGs by content, in two generations: when the current one is full it becomes the
/// old one (dropping the previous old one), and hits in the old one move back. Memory
/// stays bounded; signatures in use survive.
pub struct SigCache {
    current: FxHashMap<u64, Entry>,
    old: FxHashMap<u64, Entry>,
    capacity: usize,
    content: Vec<u8>,
    scratch: Vec<u8>,
    /// A buffer for the NSEC record of a denial, reused across queries.
    pub nsec: Vec<u8>,
    /// Signatures made and signatures served from the cache, since the counters were
    /// last taken.
    made: u32,
    hits: u32,
}

impl Default for SigCache {
    fn default() -> Self {
        SigCache::new(DEFAULT_CAPACITY)
    }
}

impl SigCache {
    pub fn new(capacity: usize) -> Self {
        SigCache {
            current: FxHashMap::default(),
            old: FxHashMap::default(),
            capacity: capacity.max(1),
            content: Vec::new(),
            scratch: Vec::new(),
            nsec: Vec::new(),
            made: 0,
            hits: 0,
        }
    }

    /// The RRSIG record tail (TYPE .. RDATA) by `key` of zone `signer` over the RRset `id`
    /// holding `rdatas` (any order; duplicates ignored), valid at `now` (seconds since the
    /// epoch).
    pub fn rrsig<'r>(
        &mut self,
        key: &Key,
        signer: &[u8],
        id: RrsetId<'_>,
        rdatas: impl Iterator<Item = &'r [u8]>,
        now: u32,
    ) -> &[u8] {
        let RrsetId { owner, rtype, ttl } = id;
        // On the stack for RRsets of up to 16 records.
        let mut sorted: SmallVec<[&[u8]; 16]> = rdatas.collect();
        let n = rrsig::canonical_order(&mut sorted);
        let mut c = std::mem::take(&mut self.content);
        c.clear();
        c.extend_from_slice(&key.id.to_be_bytes());
        c.extend_from_slice(owner);
        c.extend_from_slice(&rtype.to_be_bytes());
        c.extend_from_slice(&ttl.to_be_bytes());
        for r in &sorted[..n] {
            c.extend_from_slice(&(r.len() as u16).to_be_bytes());
            c.extend_from_slice(r);
        }
        let mut h = FxHasher::default();
        h.write(&c);
        let hash = h.finish();
        let hit = match self.current.get(&hash) {
            Some(e) => e.content[..] == c[..] && e.fresh(now),
            None => match self.old.remove(&hash) {
                Some(e) if e.content[..] == c[..] && e.fresh(now) => {
                    self.insert(hash, e);
                    true
                }
                _ => false,
            },
        };
        if hit {
            self.hits += 1;
        } else {
            let set = RrsetToSign {
                owner,
                rtype,
                ttl,
                rdatas: &sorted[..n],
            };
            let mut tail = Vec::with_capacity(rrsig::tail_len(signer));
            rrsig::append_rrsig(&mut tail, &mut self.scratch, &set, key, signer, now);
            let entry = Entry {
                content: c[..].into(),
                made: now,
                rrsig: tail.into_boxed_slice(),
            };
            self.insert(hash, entry);
            self.made += 1;
        }
        self.content = c;
        &self.current[&hash].rrsig
    }

    fn insert(&mut self, hash: u64, e: Entry) {
        if self.current.len() >= self.capacity && !self.current.contains_key(&hash) {
            self.old = std::mem::take(&mut self.current);
        }
        self.current.insert(hash, e);
    }

    /// Signatures made and served from the cache since the last call.
    pub fn take_counts(&mut self) -> (u32, u32) {
        let counts = (self.made, self.hits);
        self.made = 0;
        self.hits = 0;
        counts
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.current.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
