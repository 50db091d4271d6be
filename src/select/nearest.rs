//! The nearest-data-centre stage of a pool order (spec §11): a `nearest` record's pools with
//! coordinates, by great-circle distance from the client, nearest first, ties in file order.

use std::net::IpAddr;

use smallvec::SmallVec;

use crate::geo::Point;
use crate::gslb::GslbRecord;
use crate::snapshot::Snapshot;

/// Where `client` is, if the City database says, and the prefix length of the block in
/// which that holds (what the ECS scope of an answer decided by distance must cover).
#[inline]
pub fn locate(snap: &Snapshot, client: IpAddr) -> (Option<&Point>, u8) {
    match &snap.geo.coordinates {
        Some(db) => db.lookup(client),
        None => (None, 0),
    }
}

/// The nearest pool of `rec` to `here` not in `tried` (a bit per pool index), without
/// allocating: the stage walks by calling this until a pool answers, which is usually once.
#[inline]
pub fn next(rec: &GslbRecord, here: &Point, tried: u64) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for &p in rec.nearest.iter() {
        if p >= 64 || tried & (1 << p) != 0 {
            continue;
        }
        let c = rec.pools[p]
            .coordinates
            .as_ref()
            .map_or(f64::NEG_INFINITY, |at| here.closeness(at));
        // Strictly nearer only: on a tie the pool listed first stays.
        if best.is_none_or(|(b, _)| c > b) {
            best = Some((c, p));
        }
    }
    best.map(|(_, p)| p)
}

/// Every pool of the stage in order (the long path: explain, all pools down).
pub fn order(rec: &GslbRecord, here: &Point) -> SmallVec<[usize; 16]> {
    let mut all: SmallVec<[(f64, usize); 16]> = rec
        .nearest
        .iter()
        .map(|&p| {
            let at = rec.pools[p].coordinates.as_ref();
            (at.map_or(f64::NEG_INFINITY, |at| here.closeness(at)), p)
        })
        .collect();
    // Stable: ties keep file order.
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    all.into_iter().map(|(_, p)| p).collect()
}
