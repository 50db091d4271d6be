//! Iterating a class table: every address range with the region matches of its clients,
//! covering the whole IPv4 and the whole IPv6 space exactly once, for tools that reason about
//! all clients at once (the reload preview) rather than one query.

use super::{ClassTable, ALIAS_CLASS, MAPPED, MAPPED_CLASS, MAPPED_END};
use crate::geo::RegionMatch;

/// The IPv4-mapped IPv6 block `::ffff:0:0/96` as (first, last): clients there are classified
/// (and answered) as the IPv4 address in the low 32 bits.
pub const IPV4_MAPPED: (u128, u128) = (MAPPED, MAPPED_END);

/// Whole-space ranges for a record that needs no lookups (every client matches nothing):
/// IPv6 is still cut at the IPv4-mapped block, as [`ClassTable::spans_v6`] cuts it.
pub fn unclassified_v6<'a>() -> impl Iterator<Item = (u128, u128, &'a [RegionMatch])> {
    [
        (0, MAPPED - 1, &[][..]),
        (MAPPED, MAPPED_END, &[][..]),
        (MAPPED_END + 1, u128::MAX, &[][..]),
    ]
    .into_iter()
}

impl ClassTable {
    /// The matches of class `c`.
    fn class_matches(&self, c: u32) -> &[RegionMatch] {
        let (lo, hi) = (self.offsets[c as usize], self.offsets[c as usize + 1]);
        &self.items[lo as usize..hi as usize]
    }

    /// Every IPv4 range as (first, last, matches), in address order, covering
    /// `0.0.0.0`–`255.255.255.255` exactly once; neighbours may have equal matches. Every
    /// address of a range gets those matches from [`ClassTable::lookup`].
    pub fn spans_v4(&self) -> impl Iterator<Item = (u32, u32, &[RegionMatch])> + '_ {
        self.v4
            .spans()
            .map(|(a, b, c)| (a, b, self.class_matches(c)))
    }

    /// Every IPv6 range as (first, last, matches), in address order, covering `::`–
    /// `ffff:…:ffff` exactly once, as [`ClassTable::lookup`] classifies them: the
    /// IPv4-mapped block (cut from its neighbours, see [`IPV4_MAPPED`]) as the IPv4 table
    /// placed there, and MaxMind's IPv6 aliases of IPv4 (`::/96`, `2001::/32`, `2002::/16`)
    /// as the IPv4 table they read, spread over the alias prefix.
    pub fn spans_v6(&self) -> impl Iterator<Item = (u128, u128, &[RegionMatch])> + '_ {
        self.v6.spans().flat_map(move |(start, end, class)| {
            let inner: Box<dyn Iterator<Item = (u128, u128, &[RegionMatch])> + '_> =
                if class == MAPPED_CLASS {
                    Box::new(
                        self.spans_v4()
                            .map(|(a, b, m)| (MAPPED | u128::from(a), MAPPED | u128::from(b), m)),
                    )
                } else if class >= ALIAS_CLASS {
                    let alias = self.aliases[(class - ALIAS_CLASS) as usize];
                    let table = match alias.table {
                        0 => &self.v4,
                        t => &self.alias_v4[t as usize - 1],
                    };
                    // The IPv4 address sits in the 32 bits after the prefix; the bits below
                    // it do not matter.
                    let shift = 96 - u32::from(alias.len);
                    let low = (1u128 << shift) - 1;
                    Box::new(table.spans().map(move |(a, b, c)| {
                        (
                            alias.start | u128::from(a) << shift,
                            alias.start | u128::from(b) << shift | low,
                            self.class_matches(c),
                        )
                    }))
                } else {
                    Box::new(std::iter::once((start, end, self.class_matches(class))))
                };
            inner
        })
    }
}
