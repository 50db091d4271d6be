//! Selection, a pure function: (snapshot, health view, client, record, qtype) → the targets
//! to answer, the ECS scope the answer holds for, and, on request, a trace of why.

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
    visit(
        rec,
        rec.default_pool,
        Reason::Default,
        &mut seen,
        &mut order,
    );

    let mut chosen = None;
    for &(p, _) in &order {
        let usable = usable(health, rec, &rec.pools[p], v6, rotation, client);
        if !usable.is_empty() {
            chosen = Some((p, usable));
            break;
        }
    }
    let mut all_down = false;
    if chosen.is_none() {
        let with_family = order
            .iter()
            .map(|&(p, _)| (p, Order::from_slice(rec.pools[p].family(v6))))
            .find(|(_, f)| !f.is_empty());
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
    let any_target = rec.pools.iter().any(|p| !p.family(v6).is_empty());
    let scope = if any_target {
        scope_for(rec, class_scope, client)
    } else {
        0
    };
    let degraded = match &chosen {
        _ if rec.ttl_degraded.is_none() => None,
        Some(_) if all_down => Some(Degraded::AllDown),
        Some((p, _)) => degraded(health, rec, *p, order[0].0, v6),
        None => None,
    };
    let (pool, targets) = match chosen {
        Some((p, usable)) => (Some(p), ordered(health, rec, p, usable, rotation, client)),
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
        t.fill(
            snap,
            health,
            rec,
            &info,
            &matches,
            &order,
            &sel,
            (v6, rotation, client),
        );
    }
    sel
}

/// The common case without building the whole pool order: walks the matched regions' pools
/// and their fallbacks depth first (then `default`), exactly as [`select`] orders them, and
/// answers from the first pool with a usable target. `None` when no pool has one (the
/// `all_down` cases) or the record has too many pools for the bit set; [`select`] then
/// takes the long way.
#[inline]
fn first_usable(
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
    /// Depth-first from pool `p`: the first pool with a usable target, and those targets.
    fn visit(
        health: &HealthView,
        rec: &GslbRecord,
        p: usize,
        q: (bool, u64, IpAddr),
        seen: &mut u64,
    ) -> Option<(usize, Order)> {
        if *seen & (1 << p) != 0 {
            return None;
        }
        *seen |= 1 << p;
        let pool = &rec.pools[p];
        let usable = usable(health, rec, pool, q.0, q.1, q.2);
        if !usable.is_empty() {
            return Some((p, usable));
        }
        pool.fallback
            .iter()
            .find_map(|&f| visit(health, rec, f, q, seen))
    }
    let roots = matches
        .iter()
        .filter_map(|m| Some((rec.region_pool(m.region)?, m.specificity)))
        .chain(std::iter::once((rec.default_pool, Specificity::Default)));
    let mut first = None;
    for (root, decided_by) in roots {
        let first = *first.get_or_insert(root);
        if let Some((p, usable)) = visit(health, rec, root, (v6, rotation, client), &mut seen) {
            return Some(Selection {
                degraded: degraded(health, rec, p, first, v6),
                pool: Some(p),
                targets: ordered(health, rec, p, usable, rotation, client),
                // A usable target of this family exists, so the answer can depend on the
                // client.
                scope: scope_for(rec, class_scope, client),
                decided_by,
                all_down: false,
            });
        }
    }
    None
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
fn ordered(
    health: &HealthView,
    rec: &GslbRecord,
    p: usize,
    usable: Order,
    rotation: u64,
    client: IpAddr,
) -> Order {
    policy::order(
        rec.policy,
        &rec.pools[p],
        usable,
        rotation,
        client,
        rec.max_answers,
        health,
    )
}

/// The usable targets of `pool` that answer the queried family, in listed order: none when
/// the pool is drained by hand; without the shifted targets this query's draw takes out
/// (spec §11, see [`policy::kept`]). A pool whose every usable target is drawn out counts
/// as having none for this query, so the next pool in order answers.
fn usable(
    health: &HealthView,
    rec: &GslbRecord,
    pool: &crate::gslb::Pool,
    v6: bool,
    rotation: u64,
    client: IpAddr,
) -> Order {
    if health.pool_drained(pool) {
        return Order::new();
    }
    if health.any_share() {
        return usable_shifted(health, rec, pool, v6, rotation, client);
    }
    pool.family(v6)
        .iter()
        .copied()
        .filter(|&i| health.usable(&pool.targets[i as usize]))
        .collect()
}

/// [`usable`] while some target is shifted: out of line, so the common case stays small.
#[inline(never)]
fn usable_shifted(
    health: &HealthView,
    rec: &GslbRecord,
    pool: &crate::gslb::Pool,
    v6: bool,
    rotation: u64,
    client: IpAddr,
) -> Order {
    pool.family(v6)
        .iter()
        .copied()
        .filter(|&i| {
            let t = &pool.targets[i as usize];
            health.usable(t)
                && health
                    .share(&t.addr)
                    .is_none_or(|s| policy::kept(rec.policy, s, rotation, client, t.addr))
        })
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
            Reason::Default => break,
        }
    }
    Specificity::Default
}
