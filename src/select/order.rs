//! The pool order for a client (spec §3): one walk that both the selector and the reload
//! preview (`crate::preview`) use, so that what a preview predicts is what a query gets.

use std::ops::ControlFlow;

use super::{nearest, Reason};
use crate::geo::{Point, RegionMatch, Specificity};
use crate::gslb::GslbRecord;

/// Walks the pool order of `rec` for a client whose region matches are `matches` (every
/// region it matches, most specific first, as the class table gives them) and who is at
/// `here` (for a `nearest` record, when the City database knows): for each matched region
/// that has a pool here, that pool followed by its fallbacks (depth first, in listed order),
/// then the data centres nearest first (each followed by its fallbacks), then `default`
/// and its fallbacks; each pool once.
///
/// `visit(pool, why, root)` is called for each pool in that order, `root` being the
/// specificity of the region the pool was reached from (`Default` for `default` and its
/// fallbacks); the walk stops at the first `Break`, whose value it returns. No allocation
/// for records of up to 128 pools.
#[inline]
pub fn walk<B>(
    rec: &GslbRecord,
    matches: &[RegionMatch],
    here: Option<&Point>,
    mut visit: impl FnMut(usize, Reason, Specificity) -> ControlFlow<B>,
) -> Option<B> {
    // One bit per pool: on the stack up to 128 pools.
    let (mut small, mut big) = ([0u64; 2], Vec::new());
    let seen: &mut [u64] = if rec.pools.len() <= 128 {
        &mut small
    } else {
        big.resize(rec.pools.len().div_ceil(64), 0);
        &mut big
    };
    let regions = matches
        .iter()
        .filter_map(|m| Some((rec.region_pool(m.region)?, m.specificity)))
        .enumerate()
        .map(|(i, (p, s))| (p, Reason::Region(i), s));
    for (p, why, root) in regions {
        if let ControlFlow::Break(b) = depth_first(rec, p, why, root, seen, &mut visit) {
            return Some(b);
        }
    }
    if let Some(here) = here.filter(|_| !rec.nearest.is_empty()) {
        for p in nearest::order(rec, here) {
            let (why, root) = (Reason::Nearest, Specificity::Nearest);
            if let ControlFlow::Break(b) = depth_first(rec, p, why, root, seen, &mut visit) {
                return Some(b);
            }
        }
    }
    let (why, root) = (Reason::Default, Specificity::Default);
    match depth_first(rec, rec.default_pool, why, root, seen, &mut visit) {
        ControlFlow::Break(b) => Some(b),
        ControlFlow::Continue(()) => None,
    }
}

/// Pool `p` (unless seen), then its fallbacks depth first.
fn depth_first<B>(
    rec: &GslbRecord,
    p: usize,
    why: Reason,
    root: Specificity,
    seen: &mut [u64],
    visit: &mut impl FnMut(usize, Reason, Specificity) -> ControlFlow<B>,
) -> ControlFlow<B> {
    let (word, bit) = (p / 64, 1u64 << (p % 64));
    if seen[word] & bit != 0 {
        return ControlFlow::Continue(());
    }
    seen[word] |= bit;
    visit(p, why, root)?;
    for &f in &rec.pools[p].fallback {
        depth_first(rec, f, Reason::Fallback(p), root, seen, visit)?;
    }
    ControlFlow::Continue(())
}

/// The pool that answers a client with region matches `matches` (at `here`) when every target is
/// healthy and nothing is drained: the first pool in the client's order that can answer the
/// family (`v6`: AAAA, else A). `None`: no pool can (NODATA).
#[inline]
pub fn answering_pool(
    rec: &GslbRecord,
    matches: &[RegionMatch],
    here: Option<&Point>,
    v6: bool,
) -> Option<usize> {
    walk(rec, matches, here, |p, _, _| {
        if rec.pools[p].answers_family(v6) {
            ControlFlow::Break(p)
        } else {
            ControlFlow::Continue(())
        }
    })
}
