//! The client address ranges whose answering pool moves between two configurations, for one
//! GSLB record pair and one queried family, computed from the two class tables' ranges (not
//! by sampling addresses).
//!
//! Each side's ranges cover the whole space once; merging the two sets of boundaries gives
//! ranges over which both sides' region matches are constant, so both answering pools are:
//! each merged range is evaluated once with [`select::order::answering_pool`], the walk the
//! selector itself uses. Neighbouring ranges that move the same way are coalesced.
//!
//! A side is an iterator of `(first, last, where)`: the class table's ranges, and for a
//! `nearest` record the coordinate database's ranges [`merge`]d in (the order of data
//! centres depends on where the client is), before the two sides meet.

use crate::geo::classes::spans::{unclassified_v6, IPV4_MAPPED};
use crate::geo::{Point, RegionMatch};
use crate::gslb::GslbRecord;
use crate::select::order::answering_pool;
use crate::snapshot::Snapshot;

/// What decides a client's pool order: its region matches and, for a `nearest` record,
/// where it is.
pub(super) type Where<'s> = (&'s [RegionMatch], Option<&'s Point>);

/// Ranges `(first, last, where)` covering a whole address space once, in order. IPv4
/// addresses are widened to `u128`.
pub(super) type Spans<'s> = Box<dyn Iterator<Item = (u128, u128, Where<'s>)> + 's>;

/// One side of a comparison: a configuration and one of its GSLB records.
#[derive(Clone, Copy)]
pub struct Side<'s> {
    pub snap: &'s Snapshot,
    pub rec: &'s GslbRecord,
}

impl<'s> Side<'s> {
    /// The record's region matches over the IPv4 (`v6_clients` false) or IPv6 client space,
    /// exactly as [`Snapshot`]'s region map gives them to the selector.
    fn spans(&self, v6_clients: bool) -> Spans<'s> {
        let table = self
            .rec
            .needs
            .any()
            .then(|| self.snap.geo.class_table(self.rec.needs))
            .flatten();
        let regions: Box<dyn Iterator<Item = (u128, u128, &'s [RegionMatch])> + 's> =
            match (table, v6_clients) {
                (Some(t), false) => Box::new(t.spans_v4().map(|(a, b, m)| (a.into(), b.into(), m))),
                (Some(t), true) => Box::new(t.spans_v6()),
                (None, false) => Box::new(std::iter::once((0, u32::MAX.into(), &[][..]))),
                (None, true) => Box::new(unclassified_v6()),
            };
        let coordinates = match self.rec.nearest.is_empty() {
            true => None,
            false => self.snap.geo.coordinates.as_ref(),
        };
        let Some(db) = coordinates else {
            return Box::new(regions.map(|(a, b, m)| (a, b, (m, None))));
        };
        let mut both = Vec::new();
        merge(regions, db.spans(v6_clients), |a, b, m, here| {
            both.push((a, b, (m, here)));
        });
        Box::new(both.into_iter())
    }

    /// The name of the pool answering clients at `at` (`None`: NODATA).
    fn pool(&self, at: Where<'_>, v6: bool) -> Option<&'s str> {
        answering_pool(self.rec, at.0, at.1, v6).map(|p| self.rec.pools[p].name.as_str())
    }
}

/// Client addresses `first..=last` (IPv4 widened to `u128` when `v6_clients` is false) whose
/// answering pool moves from `from` to `to` (by name; `None`: NODATA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub v6_clients: bool,
    pub first: u128,
    pub last: u128,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Calls `f(first, last, a, b)` for every range over which both `a`'s and `b`'s values are
/// constant. Both must cover the same whole space, in order.
pub(super) fn merge<A: Copy, B: Copy>(
    mut a: impl Iterator<Item = (u128, u128, A)>,
    mut b: impl Iterator<Item = (u128, u128, B)>,
    mut f: impl FnMut(u128, u128, A, B),
) {
    let (mut x, mut y) = (a.next(), b.next());
    let mut first = 0u128;
    while let (Some((_, x_last, xv)), Some((_, y_last, yv))) = (x, y) {
        let last = x_last.min(y_last);
        f(first, last, xv, yv);
        if x_last == last {
            x = a.next();
        }
        if y_last == last {
            y = b.next();
        }
        first = last.wrapping_add(1);
    }
}

/// Every client range, IPv4 then IPv6, whose answering pool for the queried family (`v6`:
/// AAAA) differs between `old` and `new`, coalesced. IPv4-mapped IPv6 clients are answered
/// as their IPv4 address, so the IPv4 ranges cover them and they are not listed again.
pub fn moves(old: Side<'_>, new: Side<'_>, v6: bool) -> Vec<Move> {
    let mut out: Vec<Move> = Vec::new();
    for v6_clients in [false, true] {
        merge(
            old.spans(v6_clients),
            new.spans(v6_clients),
            |first, last, om, nm| {
                if v6_clients && first >= IPV4_MAPPED.0 && last <= IPV4_MAPPED.1 {
                    return;
                }
                let (from, to) = (old.pool(om, v6), new.pool(nm, v6));
                if from == to {
                    return;
                }
                if let Some(prev) = out.last_mut().filter(|p| {
                    p.v6_clients == v6_clients
                        && p.last.wrapping_add(1) == first
                        && p.from.as_deref() == from
                        && p.to.as_deref() == to
                }) {
                    prev.last = last;
                    return;
                }
                out.push(Move {
                    v6_clients,
                    first,
                    last,
                    from: from.map(str::to_string),
                    to: to.map(str::to_string),
                });
            },
        );
    }
    out
}
