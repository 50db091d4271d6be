//! `ClassTable`: the region map flattened at load time, for one set of lookups, into a
//! single range table whose entries are a client's region matches, already sorted.
//!
//! A query then costs one indexed range search instead of up to three table lookups plus
//! evaluating every rule of every region. Ranges are merged wherever the matches stay the
//! same, so the table is small when the map is coarse (a continent map over a database of
//! 300,000 networks flattens to a few thousand ranges) and the ECS scope of an answer is the
//! widest block in which every address matches the same regions the same way, which is at
//! least as wide as the block in which the databases themselves say the same.
//!
//! Building walks the address space block by block: at each address it classifies the
//! client with the ordinary lookups ([`RegionMap::classify`]) and jumps past the widest block
//! those lookups say is uniform. The result is therefore exactly what evaluating the rules
//! per query gives (a property test holds the two side by side).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ranges::{Key, Ranges};
use super::{AsnInfo, Location, RegionMap, RegionMatch};
use crate::gslb::Needs;

/// The region matches of every client address, for one [`Needs`].
#[derive(Debug)]
pub struct ClassTable {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    /// `offsets[c]..offsets[c + 1]` indexes `items` for class `c`.
    offsets: Box<[u32]>,
    items: Box<[RegionMatch]>,
}

/// `::ffff:0:0`, the first IPv4-mapped address; mapped addresses are looked up as IPv4.
const MAPPED: u128 = 0xFFFF << 32;
/// The last IPv4-mapped address.
const MAPPED_END: u128 = MAPPED | 0xFFFF_FFFF;
/// The class of the IPv4-mapped block inside the IPv6 table: never looked up, but distinct
/// from every other class so that no IPv6 range (and no scope) runs across the block.
const MAPPED_CLASS: u32 = 0;

impl ClassTable {
    /// Flattens `map` for records that need `needs`.
    pub fn build(map: &RegionMap, needs: Needs) -> ClassTable {
        let mut b = Builder {
            map,
            needs,
            classes: HashMap::new(),
            offsets: vec![0, 0],
            items: Vec::new(),
            memo: HashMap::new(),
            asn_keys: HashMap::new(),
            asn_sets: HashMap::new(),
        };
        let v4 = b.sweep_v4();
        let v6 = b.sweep_v6();
        ClassTable {
            v4,
            v6,
            offsets: b.offsets.into_boxed_slice(),
            items: b.items.into_boxed_slice(),
        }
    }

    /// The regions `addr` matches (every region of the map that can be decided with this
    /// table's lookups), most specific first, and the ECS scope of that answer: the length
    /// of the widest aligned block around `addr` in which every address matches alike
    /// (0..=32 for IPv4 and IPv4-mapped IPv6, 0..=128 for IPv6). Never allocates.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> (&[RegionMatch], u8) {
        let (class, scope) = match addr.to_canonical() {
            IpAddr::V4(a) => self.v4.find(u32::from(a)),
            IpAddr::V6(a) => self.v6.find(u128::from(a)),
        };
        let (lo, hi) = (
            self.offsets[class as usize] as usize,
            self.offsets[class as usize + 1] as usize,
        );
        (&self.items[lo..hi], scope)
    }

    /// Number of distinct match lists.
    pub fn class_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of ranges (IPv4 + IPv6).
    pub fn range_count(&self) -> usize {
        self.v4.ranges.len() + self.v6.ranges.len()
    }

    /// Approximate heap memory used, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.v4.ranges.len() * size_of::<(u32, u32)>()
            + self.v6.ranges.len() * size_of::<(u128, u32)>()
            + (self.v4.index.len() + self.v6.index.len()) * size_of::<u32>()
            + self.offsets.len() * size_of::<u32>()
            + self.items.len() * size_of::<RegionMatch>()
    }
}

/// What decides a client's matches: the networks match set (by address of the interned
/// slice), the location, and which ASN/ISP conditions hold.
type ClassKey = (usize, usize, Option<Location>, Option<u32>);

struct Builder<'m> {
    map: &'m RegionMap,
    needs: Needs,
    classes: HashMap<Vec<RegionMatch>, u32>,
    offsets: Vec<u32>,
    items: Vec<RegionMatch>,
    memo: HashMap<ClassKey, u32>,
    /// ASN answer → id of the set of rules whose ASN/ISP condition it satisfies.
    asn_keys: HashMap<AsnInfo<'m>, u32>,
    asn_sets: HashMap<Vec<u32>, u32>,
}

impl<'m> Builder<'m> {
    /// The class of `addr` and the scope of the lookups that decided it.
    fn class_at(&mut self, addr: IpAddr) -> (u32, u8) {
        let info = self.map.classify(addr, self.needs);
        let scope = info.scope();
        let nets = info
            .networks
            .as_ref()
            .map_or((0, 0), |l| (l.matches.as_ptr() as usize, l.matches.len()));
        let location = info.location.map(|l| Location { prefix_len: 0, ..l });
        let asn = info.asn.map(|a| self.asn_key(a));
        let key = (nets.0, nets.1, location, asn);
        if let Some(&class) = self.memo.get(&key) {
            return (class, scope);
        }
        let mut matches: Vec<RegionMatch> = (0..self.map.regions.len() as u32)
            .filter_map(|r| self.map.match_region(&info, r))
            .collect();
        matches.sort_by_key(RegionMatch::key);
        let class = self.intern(matches);
        self.memo.insert(key, class);
        (class, scope)
    }

    fn asn_key(&mut self, a: AsnInfo<'m>) -> u32 {
        let a = AsnInfo { prefix_len: 0, ..a };
        if let Some(&k) = self.asn_keys.get(&a) {
            return k;
        }
        let rules: Vec<u32> = (0..self.map.rules.len() as u32)
            .filter(|&r| self.map.rules[r as usize].asn_condition(&a) == Some(true))
            .collect();
        let next = self.asn_sets.len() as u32;
        let k = *self.asn_sets.entry(rules).or_insert(next);
        self.asn_keys.insert(a, k);
        k
    }

    fn intern(&mut self, matches: Vec<RegionMatch>) -> u32 {
        if let Some(&c) = self.classes.get(&matches) {
            return c;
        }
        let c = u32::try_from(self.offsets.len() - 1).expect("fewer than 2^32 classes");
        self.items.extend_from_slice(&matches);
        self.offsets
            .push(u32::try_from(self.items.len()).expect("fewer than 2^32 matches"));
        self.classes.insert(matches, c);
        c
    }

    fn sweep_v4(&mut self) -> Ranges<u32> {
        let mut out = Emitter::default();
        let mut a: u64 = 0;
        while a <= u64::from(u32::MAX) {
            let x = a as u32;
            let (class, scope) = self.class_at(IpAddr::V4(Ipv4Addr::from(x)));
            out.emit(x, class);
            let host = u32::MAX.checked_shr(u32::from(scope)).unwrap_or(0);
            a = u64::from(x | host) + 1;
        }
        out.finish()
    }

    fn sweep_v6(&mut self) -> Ranges<u128> {
        let mut out = Emitter::default();
        let mut a = Some(0u128);
        while let Some(x) = a {
            if x == MAPPED {
                out.emit(x, MAPPED_CLASS);
                a = Some(MAPPED_END + 1);
                continue;
            }
            let (class, scope) = self.class_at(IpAddr::V6(Ipv6Addr::from(x)));
            // The block must not reach into the IPv4-mapped block.
            let scope = scope.max(x.split_len(MAPPED)).max(x.split_len(MAPPED_END));
            out.emit(x, class);
            let host = u128::MAX.checked_shr(u32::from(scope)).unwrap_or(0);
            a = (x | host).checked_add(1);
        }
        out.finish()
    }
}

/// Collects range starts, merging neighbours of the same class.
struct Emitter<K> {
    starts: Vec<K>,
    classes: Vec<u32>,
}

impl<K> Default for Emitter<K> {
    fn default() -> Self {
        Emitter {
            starts: Vec::new(),
            classes: Vec::new(),
        }
    }
}

impl<K: Key> Emitter<K> {
    fn emit(&mut self, start: K, class: u32) {
        if self.classes.last() != Some(&class) {
            self.starts.push(start);
            self.classes.push(class);
        }
    }

    fn finish(self) -> Ranges<K> {
        Ranges::new(self.starts, self.classes)
    }
}

#[cfg(test)]
mod tests;
