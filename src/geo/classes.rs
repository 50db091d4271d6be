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
//!
//! MaxMind's IPv6 aliases of the IPv4 space (`::/96`, Teredo `2001::/32`, 6to4 `2002::/16`)
//! are not copied out range by range (that would store the IPv4 table three more times, at
//! four times the size): an alias prefix is one IPv6 range that sends the lookup to an IPv4
//! table, as the database itself does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rustc_hash::FxHashMap as HashMap;

use super::ranges::{Key, Ranges};
use super::{AsnInfo, Location, Lookup, Match, RegionMap, RegionMatch};
use crate::gslb::Needs;

/// The region matches of every client address, for one [`Needs`].
#[derive(Debug)]
pub struct ClassTable {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    /// IPv4 tables for alias prefixes over which the networks table says something other
    /// than it says for IPv4 (table `i + 1` of `Alias::table`).
    alias_v4: Vec<Ranges<u32>>,
    /// The alias prefix of IPv6 class `ALIAS_CLASS + i`.
    aliases: Vec<Alias>,
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
/// IPv6 classes from here on are alias prefixes, not match lists.
const ALIAS_CLASS: u32 = 1 << 31;

/// An IPv6 prefix whose addresses are classified as the IPv4 address in the 32 bits after it.
#[derive(Debug, Clone, Copy)]
struct Alias {
    start: u128,
    len: u8,
    /// 0: the main IPv4 table; `i + 1`: `alias_v4[i]`.
    table: u32,
}

impl ClassTable {
    /// Flattens `map` for records that need `needs`.
    pub fn build(map: &RegionMap, needs: Needs) -> ClassTable {
        let mut b = Builder {
            map,
            needs,
            classes: HashMap::default(),
            offsets: vec![0, 0],
            items: Vec::new(),
            memo: HashMap::default(),
            asn_keys: HashMap::default(),
            asn_sets: HashMap::default(),
        };
        let v4 = b.sweep_v4(None);
        let (aliases, alias_v4) = b.aliases();
        let v6 = b.sweep_v6(&aliases);
        ClassTable {
            v4,
            v6,
            alias_v4,
            aliases,
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
            IpAddr::V6(a) => self.find_v6(u128::from(a)),
        };
        let (lo, hi) = (
            self.offsets[class as usize] as usize,
            self.offsets[class as usize + 1] as usize,
        );
        (&self.items[lo..hi], scope)
    }

    fn find_v6(&self, a: u128) -> (u32, u8) {
        let (class, scope) = self.v6.find(a);
        if class < ALIAS_CLASS {
            return (class, scope);
        }
        let alias = self.aliases[(class - ALIAS_CLASS) as usize];
        let v4 = ((a << alias.len) >> 96) as u32;
        let table = match alias.table {
            0 => &self.v4,
            t => &self.alias_v4[t as usize - 1],
        };
        let (class, scope) = table.find(v4);
        (class, alias.len + scope)
    }

    /// Number of distinct match lists.
    pub fn class_count(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of ranges (IPv4 + IPv6).
    pub fn range_count(&self) -> usize {
        self.v4.ranges.len()
            + self.v6.ranges.len()
            + self.alias_v4.iter().map(|t| t.ranges.len()).sum::<usize>()
    }

    /// Approximate heap memory used, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.v4.ranges.len() * size_of::<(u32, u32)>()
            + self.v6.ranges.len() * size_of::<(u128, u32)>()
            + (self.v4.index.len() + self.v6.index.len()) * size_of::<u32>()
            + self
                .alias_v4
                .iter()
                .map(|t| t.ranges.len() * size_of::<(u32, u32)>() + t.index.len() * 4)
                .sum::<usize>()
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
    /// With `nets`, the networks lookup is replaced by that constant answer.
    fn class_at(&mut self, addr: IpAddr, nets: Option<&'m [Match<u32>]>) -> (u32, u8) {
        let mut info = self.map.classify(addr, self.needs);
        if let Some(matches) = nets {
            info.networks = Some(Lookup { matches, scope: 0 });
        }
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
        let c = u32::try_from(self.offsets.len() - 1)
            .ok()
            .filter(|&c| c < ALIAS_CLASS)
            .expect("fewer than 2^31 distinct match lists");
        self.items.extend_from_slice(&matches);
        self.offsets
            .push(u32::try_from(self.items.len()).expect("fewer than 2^32 matches"));
        self.classes.insert(matches, c);
        c
    }

    /// The alias prefixes every needed database shares, each with the IPv4 table it reads
    /// (building the extra tables needed), and those extra tables.
    fn aliases(&mut self) -> (Vec<Alias>, Vec<Ranges<u32>>) {
        let map = self.map;
        let mut candidates: Option<Vec<(u128, u8)>> = None;
        let mut keep = |list: &[(u128, u8)]| {
            candidates = Some(match candidates.take() {
                None => list.to_vec(),
                Some(c) => c.into_iter().filter(|p| list.contains(p)).collect(),
            });
        };
        if self.needs.location {
            keep(map.location.as_ref().map_or(&[], |db| db.aliases()));
        }
        if self.needs.asn {
            keep(map.asn.as_ref().map_or(&[], |db| db.aliases()));
        }
        let mut aliases = Vec::new();
        let mut tables: Vec<(&'m [Match<u32>], Ranges<u32>)> = Vec::new();
        let v4_nets = map.networks.lookup(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let no_v4_nets = v4_nets.scope == 0 && v4_nets.matches.is_empty();
        for (start, len) in candidates.unwrap_or_default() {
            let table = if !self.needs.networks {
                0
            } else {
                // The networks table must say one thing over the whole prefix.
                let l = map.networks.lookup(IpAddr::V6(Ipv6Addr::from(start)));
                if l.scope > len {
                    continue;
                }
                if l.matches.is_empty() && no_v4_nets {
                    0
                } else {
                    let same = |t: &&(&[Match<u32>], Ranges<u32>)| std::ptr::eq(t.0, l.matches);
                    match tables.iter().position(|t| same(&t)) {
                        Some(i) => i as u32 + 1,
                        None => {
                            let t = self.sweep_v4(Some(l.matches));
                            tables.push((l.matches, t));
                            tables.len() as u32
                        }
                    }
                }
            };
            aliases.push(Alias { start, len, table });
        }
        aliases.sort_by_key(|a| a.start);
        (aliases, tables.into_iter().map(|(_, t)| t).collect())
    }

    fn sweep_v4(&mut self, nets: Option<&'m [Match<u32>]>) -> Ranges<u32> {
        let mut out = Emitter::default();
        let mut a: u64 = 0;
        while a <= u64::from(u32::MAX) {
            let x = a as u32;
            let (class, scope) = self.class_at(IpAddr::V4(Ipv4Addr::from(x)), nets);
            out.emit(x, class);
            let host = u32::MAX.checked_shr(u32::from(scope)).unwrap_or(0);
            a = u64::from(x | host) + 1;
        }
        out.finish()
    }

    fn sweep_v6(&mut self, aliases: &[Alias]) -> Ranges<u128> {
        let mut out = Emitter::default();
        let mut a = Some(0u128);
        let mut next_alias = 0;
        while let Some(x) = a {
            if x == MAPPED {
                out.emit(x, MAPPED_CLASS);
                a = Some(MAPPED_END + 1);
                continue;
            }
            while aliases.get(next_alias).is_some_and(|p| p.start < x) {
                next_alias += 1;
            }
            if let Some(p) = aliases.get(next_alias).filter(|p| p.start == x) {
                out.emit(x, ALIAS_CLASS + next_alias as u32);
                a = (x | u128::MAX >> p.len).checked_add(1);
                continue;
            }
            let (class, scope) = self.class_at(IpAddr::V6(Ipv6Addr::from(x)), None);
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

pub mod spans;
#[cfg(test)]
mod tests;
