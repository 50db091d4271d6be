//! `PrefixTable`: an immutable all-matching-prefixes table for IPv4/IPv6 with ECS scope.
//!
//! The prefixes are flattened at build time into a sorted array of disjoint address ranges
//! (one array per address family), each pointing at an interned "match set": the
//! `(value, prefix_len)` pairs of every prefix covering that range, most specific first.
//! Adjacent ranges with identical match sets are merged, so range boundaries are exactly the
//! points where the observable answer changes. A lookup is one binary search plus two
//! `leading_zeros` to derive the scope, and never allocates.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;

use ipnet::IpNet;

use super::ranges::{Key, Ranges};

/// One prefix covering the looked-up address: its value and its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Match<V> {
    /// The value the prefix was inserted with.
    pub value: V,
    /// The prefix length of the covering prefix (IPv4 terms for IPv4 / mapped addresses).
    pub prefix_len: u8,
}

/// The answer of [`PrefixTable::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup<'a, V> {
    /// Every distinct `(value, prefix_len)` whose prefix contains the address, ordered
    /// most specific (longest prefix) first; equal lengths keep insertion order.
    pub matches: &'a [Match<V>],
    /// Length of the widest aligned block around the address inside which every address
    /// has exactly the same `matches`. Expressed in the family that was searched: 0..=32 for
    /// IPv4 (including IPv4-mapped IPv6 input), 0..=128 for IPv6.
    pub scope: u8,
}

impl<'a, V> Lookup<'a, V> {
    /// Iterates over the matches, most specific first.
    pub fn iter(&self) -> std::slice::Iter<'a, Match<V>> {
        self.matches.iter()
    }

    /// True when no prefix contains the address.
    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }

    /// The match with the longest prefix, if any.
    pub fn most_specific(&self) -> Option<&'a Match<V>> {
        self.matches.first()
    }
}

impl<'a, V> IntoIterator for Lookup<'a, V> {
    type Item = &'a Match<V>;
    type IntoIter = std::slice::Iter<'a, Match<V>>;

    fn into_iter(self) -> Self::IntoIter {
        self.matches.iter()
    }
}

/// Immutable table answering "which prefixes contain this address" plus the ECS scope.
///
/// Build it once with [`PrefixTable::new`] (or `collect()`), then share it read-only.
/// IPv4 and IPv6 are separate spaces: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
/// looked up as IPv4, and IPv6 prefixes inside `::ffff:0:0/96` are stored as IPv4 prefixes.
/// IPv6 prefixes shorter than /96 never match IPv4 addresses.
#[derive(Debug, Clone)]
pub struct PrefixTable<V> {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    /// `set_offsets[i]..set_offsets[i + 1]` indexes `set_items` for match set `i`.
    set_offsets: Box<[u32]>,
    set_items: Box<[Match<V>]>,
    prefix_count: usize,
}

impl<V: Copy + Eq + Hash> PrefixTable<V> {
    /// Builds the table. The same prefix may appear several times, with different or equal
    /// values (equal `(value, prefix)` pairs are reported once). Host bits are ignored.
    pub fn new<I: IntoIterator<Item = (IpNet, V)>>(entries: I) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (net, value) in entries {
            match net.trunc() {
                IpNet::V4(n) => v4.push(Span::v4(n, value)),
                IpNet::V6(n) => match n.network().to_ipv4_mapped() {
                    Some(mapped) if n.prefix_len() >= 96 => {
                        let n4 = ipnet::Ipv4Net::new(mapped, n.prefix_len() - 96)
                            .expect("length 96..=128 minus 96 is a valid IPv4 length");
                        v4.push(Span::v4(n4, value));
                    }
                    _ => v6.push(Span {
                        start: u128::from(n.network()),
                        end: u128::from(n.broadcast()),
                        len: n.prefix_len(),
                        value,
                    }),
                },
            }
        }
        let prefix_count = v4.len() + v6.len();
        let mut interner = Interner::new();
        let v4 = build_family::<u32, V>(v4, &mut interner);
        let v6 = build_family::<u128, V>(v6, &mut interner);
        PrefixTable {
            v4,
            v6,
            set_offsets: interner.offsets.into_boxed_slice(),
            set_items: interner.items.into_boxed_slice(),
            prefix_count,
        }
    }
}

impl<V: Copy + Eq + Hash> FromIterator<(IpNet, V)> for PrefixTable<V> {
    fn from_iter<I: IntoIterator<Item = (IpNet, V)>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl<V: Copy + Eq + Hash> Default for PrefixTable<V> {
    fn default() -> Self {
        Self::new(std::iter::empty())
    }
}

impl<V> PrefixTable<V> {
    /// All prefixes containing `addr` and the scope of that answer. Never allocates.
    pub fn lookup(&self, addr: IpAddr) -> Lookup<'_, V> {
        let (set, scope) = match addr.to_canonical() {
            IpAddr::V4(a) => self.v4.find(u32::from(a)),
            IpAddr::V6(a) => self.v6.find(u128::from(a)),
        };
        let (lo, hi) = (
            self.set_offsets[set as usize],
            self.set_offsets[set as usize + 1],
        );
        Lookup {
            matches: &self.set_items[lo as usize..hi as usize],
            scope,
        }
    }

    /// The IPv6 ranges in address order: each range's first address and its matches.
    pub fn v6_ranges(&self) -> impl Iterator<Item = (u128, &[Match<V>])> {
        self.v6.ranges.iter().map(|&(start, set)| {
            let (lo, hi) = (
                self.set_offsets[set as usize],
                self.set_offsets[set as usize + 1],
            );
            (start, &self.set_items[lo as usize..hi as usize])
        })
    }

    /// Number of prefixes the table was built from (duplicates included).
    pub fn len(&self) -> usize {
        self.prefix_count
    }

    /// True when the table was built from no prefixes.
    pub fn is_empty(&self) -> bool {
        self.prefix_count == 0
    }

    /// Number of disjoint ranges after flattening (IPv4 + IPv6); mostly for diagnostics.
    pub fn range_count(&self) -> usize {
        self.v4.ranges.len() + self.v6.ranges.len()
    }

    /// Approximate heap memory used by the table, in bytes.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.v4.ranges.len() * size_of::<(u32, u32)>()
            + self.v6.ranges.len() * size_of::<(u128, u32)>()
            + self.set_offsets.len() * size_of::<u32>()
            + self.set_items.len() * size_of::<Match<V>>()
            + (self.v4.index.len() + self.v6.index.len()) * size_of::<u32>()
    }
}

/// A prefix as an inclusive integer range during the build.
#[derive(Debug, Clone, Copy)]
struct Span<V> {
    start: u128,
    end: u128,
    len: u8,
    value: V,
}

impl<V> Span<V> {
    fn v4(n: ipnet::Ipv4Net, value: V) -> Self {
        Span {
            start: u128::from(u32::from(n.network())),
            end: u128::from(u32::from(n.broadcast())),
            len: n.prefix_len(),
            value,
        }
    }
}

/// Deduplicates match sets; set 0 is the empty set.
struct Interner<V> {
    ids: HashMap<Box<[Match<V>]>, u32>,
    offsets: Vec<u32>,
    items: Vec<Match<V>>,
    scratch: Vec<Match<V>>,
}

impl<V: Copy + Eq + Hash> Interner<V> {
    fn new() -> Self {
        let mut ids = HashMap::new();
        ids.insert(Box::default(), 0);
        Interner {
            ids,
            offsets: vec![0, 0],
            items: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Interns the match set of the open prefixes `stack` (indexes into `spans`, outermost
    /// first).
    fn intern(&mut self, stack: &[usize], spans: &[Span<V>]) -> u32 {
        self.scratch.clear();
        for &i in stack {
            let m = Match {
                value: spans[i].value,
                prefix_len: spans[i].len,
            };
            if !self.scratch.contains(&m) {
                self.scratch.push(m);
            }
        }
        // Stable: equal lengths keep insertion order.
        self.scratch
            .sort_by_key(|m| std::cmp::Reverse(m.prefix_len));
        if let Some(&id) = self.ids.get(&self.scratch[..]) {
            return id;
        }
        let id = u32::try_from(self.offsets.len() - 1).expect("fewer than 2^32 match sets");
        self.items.extend_from_slice(&self.scratch);
        let end = u32::try_from(self.items.len()).expect("fewer than 2^32 match items");
        self.offsets.push(end);
        self.ids.insert(self.scratch.as_slice().into(), id);
        id
    }
}

/// Flattens possibly nested prefixes of one family into disjoint ranges.
fn build_family<K: Key, V: Copy + Eq + Hash>(
    mut spans: Vec<Span<V>>,
    interner: &mut Interner<V>,
) -> Ranges<K> {
    // Outer prefixes before the prefixes nested in them; stable keeps insertion order of
    // duplicates.
    spans.sort_by(|a, b| a.start.cmp(&b.start).then(a.len.cmp(&b.len)));
    let mut starts: Vec<K> = Vec::with_capacity(spans.len() * 2 + 1);
    let mut set_ids: Vec<u32> = Vec::with_capacity(spans.len() * 2 + 1);
    let mut emit = |start: u128, set: u32| {
        if set_ids.last() != Some(&set) {
            starts.push(K::from_u128(start));
            set_ids.push(set);
        }
    };
    // Open prefixes, outermost first; CIDR prefixes are either nested or disjoint.
    let mut stack: Vec<usize> = Vec::with_capacity(129);
    // First address not yet assigned to a range; `None` once past the end of the space.
    let mut cur: Option<u128> = Some(0);
    for i in 0..spans.len() {
        let next_start = spans[i].start;
        while let Some(&top) = stack.last() {
            let end = spans[top].end;
            if end >= next_start {
                break;
            }
            let c = cur.expect("a prefix starts after this one, so the space is not exhausted");
            if c <= end {
                emit(c, interner.intern(&stack, &spans));
            }
            cur = Some(end + 1);
            stack.pop();
        }
        let c = cur.expect("a prefix starts here, so the space is not exhausted");
        if c < next_start {
            emit(c, interner.intern(&stack, &spans));
            cur = Some(next_start);
        }
        stack.push(i);
    }
    while let Some(&top) = stack.last() {
        let end = spans[top].end;
        if let Some(c) = cur.filter(|&c| c <= end) {
            emit(c, interner.intern(&stack, &spans));
        }
        cur = if end == K::MAX { None } else { Some(end + 1) };
        stack.pop();
    }
    if let Some(c) = cur {
        emit(c, 0);
    }
    Ranges::new(starts, set_ids)
}

#[cfg(test)]
mod tests;
