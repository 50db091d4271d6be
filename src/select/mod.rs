//! Selection, a pure function: (snapshot, health view, client, record, qtype) → the targets
//! to answer, the ECS scope the answer holds for, and, on request, a trace of why.

pub mod nearest;
pub mod policy;
pub mod trace;

use std::net::IpAddr;

use smallvec::SmallVec;

use crate::dns::query::TYPE_AAAA;
use crate::geo::{RegionMatch, Specificity};
use crate::gslb::{AllDown, GslbRecord, Policy};
use crate::health::HealthView;
use crate::snapshot::Snapshot;
pub use policy::Order;
pub use trace::Trace;

#[cfg(test)]
mod tests;

/// The outcome of selecting for one GSLB record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The pool that answers, if any (none: NODATA).
    pub pool: Option<usize>,
    /// Indices into that pool's targets, in answer order.
    pub targets: Order,
    /// ECS scope prefix length for this answer.
    pub scope: u8,
    /// The kind of rule that decided (`default` when no region matched with a pool).
    pub decided_by: Specificity,
    /// True when every pool was down and `all_down` decided.
    pub all_down: bool,
    /// Why the answer is degraded, when the record has `ttl_degraded` and it is.
    pub degraded: Option<Degraded>,
}

/// Why an answer gets the record's `ttl_degraded` (spec §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Degraded {
    /// Not the client's first pool in order (a fallback, another region, `default`).
    NotFirstPool,
    /// A target of the answering pool (of the queried family) is down; drained ones do not
    /// count, a drain being deliberate.
    TargetDown,
    /// Every pool was down (`all_down`).
    AllDown,
}

impl Selection {
    /// The TTL of the answer's addresses.
    #[inline]
    pub fn ttl(&self, rec: &GslbRecord) -> u32 {
        match (self.degraded, rec.ttl_degraded) {
            (Some(_), Some(t)) => t,
            _ => rec.ttl,
        }
    }
}

/// Whether pool `p` answering is degraded, for a record with `ttl_degraded`: `first` is the
/// client's first pool in order.
#[inline]
fn degraded(
    health: &HealthView,
    rec: &GslbRecord,
    p: usize,
    first: usize,
    v6: bool,
) -> Option<Degraded> {
    rec.ttl_degraded?;
    if p != first {
        return Some(Degraded::NotFirstPool);
    }
    let pool = &rec.pools[p];
    pool.family(v6)
        .iter()
        .any(|&i| health.state(&pool.targets[i as usize]) == crate::health::TargetHealth::Down)
        .then_some(Degraded::TargetDown)
}

/// Why a pool is in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The pool of a matched region (index into the sorted matches).
    Region(usize),
    /// A fallback of the named pool.
    Fallback(usize),
    /// A data centre of a `nearest` record, by distance.
    Nearest,
    Default,
}

fn is_v6(qtype: u16) -> bool {
    qtype == TYPE_AAAA
}

/// Selects the answer of `rec` for a client at `client` asking `qtype` (A or AAAA).
/// `rotation` advances per query (round-robin, weighted). Pure: no I/O, no clock.
pub fn select(
    snap: &Snapshot,
    health: &HealthView,
    rec: &GslbRecord,
    client: IpAddr,
    qtype: u16,
    rotation: u64,
    trace: Option<&mut Trace>,
) -> Selection {
    let v6 = is_v6(qtype);
    let (all_matches, class_scope) = snap.geo.matches(client, rec.needs);
    if trace.is_none() {
        if let Some(sel) = first_usable(
            snap,
            health,
            rec,
            all_matches,
            class_scope,
            client,
            qtype,
            rotation,
        ) {
            return sel;
        }
    }
    // The class table lists every region the client matches, most specific first; keep
    // those this record has a pool for.
    let matches: SmallVec<[(RegionMatch, usize); 8]> = all_matches
        .iter()
        .filter_map(|m| Some((*m, rec.region_pool(m.region)?)))
        .collect();

    // Pool order: each matched region's pool followed by its fallbacks (depth first, each
    // pool once), then default.
    let mut order: SmallVec<[(usize, Reason); 16]> = SmallVec::new();
    let mut seen: SmallVec<[bool; 16]> = SmallVec::from_elem(false, rec.pools.len());
    fn visit(
        rec: &GslbRecord,
        p: usize,
        why: Reason,
        seen: &mut [bool],
        out: &mut SmallVec<[(usize, Reason); 16]>,
    ) {
        if std::mem::replace(&mut seen[p], true) {
            return;
        }
        out.push((p, why));
        for &f in &rec.pools[p].fallback {
            visit(rec, f, Reason::Fallback(p), seen, out);
        }
    }
    for (i, (_, pool)) in matches.iter().enumerate() {
        visit(rec, *pool, Reason::Region(i), &mut seen, &mut order);
    }
    let nearest_from = order.len();
    let mut nearest_scope = 0;
    if !rec.nearest.is_empty() {
        let (here, len) = nearest::locate(snap, client);
        nearest_scope = len;
        for p in here.map(|h| nearest::order(rec, h)).unwrap_or_default() {
            visit(rec, p, Reason::Nearest, &mut seen, &mut order);
        }
    }
    visit(
        rec,
        rec.default_pool,
        Reason::Default,
        &mut seen,
        &mut order,
    );

    let mut chosen = None;
    for &(p, _) in &order {
        if let Some(usable) = answer_of(health, &rec.pools[p], v6) {
            chosen = Some((p, usable));
            break;
        }
    }
    let mut all_down = false;
    if chosen.is_none() {
        let with_family = order
            .iter()
            .find(|&&(p, _)| rec.pools[p].answers(v6))
            .map(|&(p, _)| (p, Order::from_slice(rec.pools[p].family(v6))));
        if let Some((p, f)) = with_family {
            all_down = true;
            if rec.all_down == AllDown::ServeAll {
                chosen = Some((p, f));
            }
        }
    }

    let decided_by = chosen
        .as_ref()
        .and_then(|(p, _)| order.iter().find(|(q, _)| q == p))
        .map(|&(_, why)| root_reason(&order, &matches, why))
        .unwrap_or(Specificity::Default);

    // A record with no target of this family answers NODATA to everyone: scope 0.
    let any_target = rec.pools.iter().any(|p| p.answers(v6));
    // The distance order matters when the answer came from that stage or later, or when
    // no pool could answer.
    let by_distance = all_down
        || chosen.as_ref().is_none_or(|(p, _)| {
            order
                .iter()
                .position(|(q, _)| q == p)
                .is_some_and(|i| i >= nearest_from)
        });
    let scope = match any_target {
        true if by_distance => scope_for(rec, class_scope, client).max(nearest_scope),
        true => scope_for(rec, class_scope, client),
        false => 0,
    };
    let degraded = match &chosen {
        _ if rec.ttl_degraded.is_none() => None,
        Some(_) if all_down => Some(Degraded::AllDown),
        Some((p, _)) => degraded(health, rec, *p, order[0].0, v6),
        None => None,
    };
    let (pool, targets) = match chosen {
        Some((p, usable)) => (Some(p), ordered(rec, p, usable, rotation, client)),
        None => (None, Order::new()),
    };
    let sel = Selection {
        pool,
        targets,
        scope,
        decided_by,
        all_down,
        degraded,
    };
    if let Some(t) = trace {
        let info = snap.geo.classify(client, rec.needs);
        t.fill(snap, health, rec, &info, &matches, &order, &sel, v6);
    }
    sel
}

/// The common case without building the whole pool order: walks the matched regions' pools
/// and their fallbacks depth first (then the nearest data centres, then `default`), exactly
/// as [`select`] orders them, and answers from the first pool that can. `None` when no pool
/// can (the `all_down` cases) or the record has too many pools for the bit set; [`select`]
/// then takes the long way.
#[inline]
#[allow(clippy::too_many_arguments)]
fn first_usable(
    snap: &Snapshot,
    health: &HealthView,
    rec: &GslbRecord,
    matches: &[RegionMatch],
    class_scope: u8,
    client: IpAddr,
    qtype: u16,
    rotation: u64,
) -> Option<Selection> {
    if rec.pools.len() > 64 {
        return None;
    }
    let v6 = is_v6(qtype);
    let mut seen = 0u64;
    /// Depth-first from pool `p`: the first pool that can answer, and its targets.
    fn visit(
        health: &HealthView,
        rec: &GslbRecord,
        p: usize,
        v6: bool,
        seen: &mut u64,
    ) -> Option<(usize, Order)> {
        if *seen & (1 << p) != 0 {
            return None;
        }
        *seen |= 1 << p;
        let pool = &rec.pools[p];
        if let Some(usable) = answer_of(health, pool, v6) {
            return Some((p, usable));
        }
        pool.fallback
            .iter()
            .find_map(|&f| visit(health, rec, f, v6, seen))
    }
    let found = |(p, usable): (usize, Order), decided_by, first, scope| Selection {
        degraded: degraded(health, rec, p, first, v6),
        pool: Some(p),
        targets: ordered(rec, p, usable, rotation, client),
        scope,
        decided_by,
        all_down: false,
    };
    // Some pool answers this family, so the answer can depend on the client.
    let mut scope = scope_for(rec, class_scope, client);
    let mut first = None;
    for m in matches {
        let Some(root) = rec.region_pool(m.region) else {
            continue;
        };
        let first = *first.get_or_insert(root);
        if let Some(hit) = visit(health, rec, root, v6, &mut seen) {
            return Some(found(hit, m.specificity, first, scope));
        }
    }
    if !rec.nearest.is_empty() {
        let (here, len) = nearest::locate(snap, client);
        scope = scope.max(len);
        if let Some(here) = here {
            let mut tried = 0u64;
            while let Some(root) = nearest::next(rec, here, tried) {
                tried |= 1 << root;
                let first = *first.get_or_insert(root);
                if let Some(hit) = visit(health, rec, root, v6, &mut seen) {
                    return Some(found(hit, Specificity::Nearest, first, scope));
                }
            }
        }
    }
    let root = rec.default_pool;
    let first = *first.get_or_insert(root);
    let hit = visit(health, rec, root, v6, &mut seen)?;
    Some(found(hit, Specificity::Default, first, scope))
}

/// The ECS scope of an answer from `rec` when some pool has targets of the queried family:
/// the region map's scope for the client (0 when no region is consulted), and never below
/// the block `sticky` hashes.
fn scope_for(rec: &GslbRecord, class_scope: u8, client: IpAddr) -> u8 {
    let scope = if rec.needs.any() { class_scope } else { 0 };
    if rec.policy == Policy::Sticky {
        scope.max(if client.is_ipv6() { 56 } else { 24 })
    } else {
        scope
    }
}

/// The answer order of pool `p`'s usable targets under the record's policy.
fn ordered(rec: &GslbRecord, p: usize, usable: Order, rotation: u64, client: IpAddr) -> Order {
    policy::order(
        rec.policy,
        &rec.pools[p],
        usable,
        rotation,
        client,
        rec.max_answers,
    )
}

/// What `pool` answers this query with, if it can: its usable targets of the queried family
/// (at least one), or, for a CNAME pool, no targets (the handler answers the alias).
#[inline]
fn answer_of(health: &HealthView, pool: &crate::gslb::Pool, v6: bool) -> Option<Order> {
    if pool.cname.is_some() {
        return Some(Order::new());
    }
    let usable = usable(health, pool, v6);
    (!usable.is_empty()).then_some(usable)
}

/// The usable targets of `pool` that answer the queried family, in listed order.
fn usable(health: &HealthView, pool: &crate::gslb::Pool, v6: bool) -> Order {
    pool.family(v6)
        .iter()
        .copied()
        .filter(|&i| health.usable(&pool.targets[i as usize]))
        .collect()
}

/// For a fallback reached through other fallbacks, the specificity of the region at the root.
fn root_reason(
    order: &[(usize, Reason)],
    matches: &[(RegionMatch, usize)],
    mut why: Reason,
) -> Specificity {
    for _ in 0..order.len() {
        match why {
            Reason::Region(i) => return matches[i].0.specificity,
            Reason::Fallback(p) => match order.iter().find(|(q, _)| *q == p) {
                Some(&(_, w)) => why = w,
                None => break,
            },
            Reason::Nearest => return Specificity::Nearest,
            Reason::Default => break,
        }
    }
    Specificity::Default
}
