//! Selection, a pure function: (snapshot, health view, client, record, qtype) → the targets
//! to answer, the ECS scope the answer holds for, and, on request, a trace of why.

pub mod nearest;
pub mod order;
pub mod policy;
pub mod trace;

use std::net::IpAddr;
use std::ops::ControlFlow;

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
    // Where the client is, for a `nearest` record (and the block that holds for).
    let located = match rec.nearest.is_empty() {
        true => (None, 0),
        false => nearest::locate(snap, client),
    };
    let at = Client {
        matches: all_matches,
        class_scope,
        here: located.0,
        here_scope: located.1,
        addr: client,
    };
    let pick = Pick {
        health,
        rec,
        v6,
        rotation,
        client,
    };
    if trace.is_none() {
        if let Some(sel) = first_usable(&pick, &at) {
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
    // pool once), then the nearest data centres, then default.
    let mut order: SmallVec<[(usize, Reason); 16]> = SmallVec::new();
    order::walk::<()>(rec, all_matches, at.here, |p, why, _| {
        order.push((p, why));
        ControlFlow::Continue(())
    });

    let mut chosen = None;
    for &(p, _) in &order {
        if let Some(usable) = pick.answer_of(&rec.pools[p]) {
            chosen = Some((p, usable));
            break;
        }
    }
    let mut all_down = false;
    if chosen.is_none() {
        // The pool that would answer were every target up (the same walk as the reload
        // preview's).
        if let Some(p) = order::answering_pool(rec, all_matches, at.here, v6) {
            all_down = true;
            if rec.all_down == AllDown::ServeAll {
                chosen = Some((p, Order::from_slice(rec.pools[p].family(v6))));
            }
        }
    }

    let decided_by = chosen
        .as_ref()
        .and_then(|(p, _)| order.iter().find(|(q, _)| q == p))
        .map(|&(_, why)| root_reason(&order, &matches, why))
        .unwrap_or(Specificity::Default);

    // A record with no target of this family answers NODATA to everyone: scope 0.
    let any_target = rec.pools.iter().any(|p| p.answers_family(v6));
    // Without an answer, or after every pool was down, the whole order mattered.
    let root = match (&chosen, all_down) {
        (Some(_), false) => decided_by,
        _ => Specificity::Default,
    };
    let scope = if any_target {
        scope_for(rec, &at, root)
    } else {
        0
    };
    let degraded = match &chosen {
        _ if rec.ttl_degraded.is_none() => None,
        Some(_) if all_down => Some(Degraded::AllDown),
        Some((p, _)) => pick.degraded(*p, order[0].0),
        None => None,
    };
    let (pool, targets) = match chosen {
        Some((p, usable)) => (Some(p), pick.ordered(p, usable)),
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

/// The common case without building the whole pool order: walks the client's pool order
/// ([`order::walk`], as [`select`] does) and answers from the first pool that can. `None`
/// when no pool can (the `all_down` cases); [`select`] then takes the long way.
#[inline]
fn first_usable(pick: &Pick<'_>, at: &Client<'_>) -> Option<Selection> {
    let rec = pick.rec;
    let mut first = None;
    let (p, usable, decided_by) = order::walk(rec, at.matches, at.here, |p, _, root| {
        first.get_or_insert(p);
        match pick.answer_of(&rec.pools[p]) {
            Some(usable) => ControlFlow::Break((p, usable, root)),
            None => ControlFlow::Continue(()),
        }
    })?;
    Some(Selection {
        degraded: pick.degraded(p, first.unwrap_or(p)),
        pool: Some(p),
        targets: pick.ordered(p, usable),
        // A pool answers this family, so the answer can depend on the client.
        scope: scope_for(rec, at, decided_by),
        decided_by,
        all_down: false,
    })
}

/// What [`select`] knows of the client: its region matches, where it is, and the blocks
/// each holds for.
struct Client<'a> {
    matches: &'a [RegionMatch],
    class_scope: u8,
    /// For a `nearest` record: the client's coordinates, if known.
    here: Option<&'a crate::geo::Point>,
    here_scope: u8,
    addr: IpAddr,
}

/// The ECS scope of an answer from `rec` when some pool answers the queried family: the
/// region map's scope for the client (0 when no region is consulted); for a `nearest`
/// record whose order went past the regions (`root`: the stage that decided), never wider
/// than the block the client's coordinates hold for; and never below the block `sticky`
/// hashes.
fn scope_for(rec: &GslbRecord, at: &Client<'_>, root: Specificity) -> u8 {
    let mut scope = if rec.needs.any() { at.class_scope } else { 0 };
    if !rec.nearest.is_empty() && root >= Specificity::Nearest {
        scope = scope.max(at.here_scope);
    }
    if rec.policy == Policy::Sticky {
        scope.max(if at.addr.is_ipv6() { 56 } else { 24 })
    } else {
        scope
    }
}

/// What one query chooses targets with: the record, health, the queried family (`v6`), the
/// rotation of this query and the client (for shifts' draws and `sticky`).
#[derive(Clone, Copy)]
struct Pick<'a> {
    health: &'a HealthView,
    rec: &'a GslbRecord,
    v6: bool,
    rotation: u64,
    client: IpAddr,
}

impl Pick<'_> {
    /// The answer order of pool `p`'s usable targets under the record's policy.
    fn ordered(&self, p: usize, usable: Order) -> Order {
        policy::order(
            self.rec.policy,
            &self.rec.pools[p],
            usable,
            self.rotation,
            self.client,
            self.rec.max_answers,
            self.health,
        )
    }

    /// What `pool` answers this query with, if it can: its usable targets of the queried
    /// family (at least one; see [`Pick::usable`]), or, for a CNAME pool, no targets (the
    /// handler answers the alias). A pool drained by hand answers nothing.
    #[inline]
    fn answer_of(&self, pool: &crate::gslb::Pool) -> Option<Order> {
        if self.health.pool_drained(pool) {
            return None;
        }
        if pool.cname.is_some() {
            return Some(Order::new());
        }
        let usable = self.usable(pool);
        (!usable.is_empty()).then_some(usable)
    }

    /// The usable targets of `pool` that answer the queried family, in listed order,
    /// without the shifted targets this query's draw takes out (spec §11, see
    /// [`policy::kept`]). A pool whose every usable target is drawn out counts as having
    /// none for this query, so the next pool in order answers.
    fn usable(&self, pool: &crate::gslb::Pool) -> Order {
        if self.health.any_share() {
            return self.usable_shifted(pool);
        }
        pool.family(self.v6)
            .iter()
            .copied()
            .filter(|&i| self.health.usable(&pool.targets[i as usize]))
            .collect()
    }

    /// [`Pick::usable`] while some target is shifted: out of line, so the common case
    /// stays small.
    #[inline(never)]
    fn usable_shifted(&self, pool: &crate::gslb::Pool) -> Order {
        pool.family(self.v6)
            .iter()
            .copied()
            .filter(|&i| {
                let t = &pool.targets[i as usize];
                self.health.usable(t)
                    && self.health.share(&t.addr).is_none_or(|s| {
                        policy::kept(self.rec.policy, s, self.rotation, self.client, t.addr)
                    })
            })
            .collect()
    }

    /// Whether pool `p` answering is degraded, for a record with `ttl_degraded`: `first` is
    /// the client's first pool in order.
    #[inline]
    fn degraded(&self, p: usize, first: usize) -> Option<Degraded> {
        self.rec.ttl_degraded?;
        if p != first {
            return Some(Degraded::NotFirstPool);
        }
        let pool = &self.rec.pools[p];
        pool.family(self.v6)
            .iter()
            .any(|&i| {
                self.health.state(&pool.targets[i as usize]) == crate::health::TargetHealth::Down
            })
            .then_some(Degraded::TargetDown)
    }
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
