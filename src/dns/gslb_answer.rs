//! The answer of a GSLB name to A, AAAA (or CNAME): the selected pool's addresses, or a CNAME pool's
//! alias (to be followed when it leads into our zones), with the TTL the selection says and
//! the ECS scope it holds for.

use std::net::IpAddr;

use super::query::{Query, TYPE_CNAME};
use super::referral::At;
use super::response::{OptReply, Section, Writer};
use super::signed::Signer;
use crate::dns::name::WireName;
use crate::gslb::GslbRecord;
use crate::health::HealthView;
use crate::metrics::Outcome;
use crate::select::{self, Trace};
use crate::snapshot::{Snapshot, Zone};

/// What is left to do after a GSLB answer.
pub(super) enum Next<'s> {
    /// The addresses are written.
    Done,
    /// No pool answers the family: NODATA.
    NoData,
    /// A CNAME pool's alias is written: go on at its target.
    Follow(&'s WireName),
}

/// Where and how a GSLB answer is written.
pub(super) struct Place<'a, 'w, 'c> {
    pub at: &'a At<'a>,
    pub zone: &'a Zone,
    pub w: &'a mut Writer<'w>,
    pub signer: Option<&'a mut Signer<'c>>,
    pub opt: Option<&'a mut OptReply<'c>>,
    pub outcome: &'a mut Outcome,
}

/// Selects for `rec` and writes the answer.
#[allow(clippy::too_many_arguments)]
// Out of line: the static answers of `handler::answer` stay small enough to inline.
#[inline(never)]
pub(super) fn answer<'s>(
    snap: &'s Snapshot,
    health: &HealthView,
    rotation: u64,
    trace: Option<&mut Trace>,
    rec: &'s GslbRecord,
    q: &Query<'_>,
    src: IpAddr,
    place: Place<'_, '_, '_>,
) -> Next<'s> {
    let Place {
        at,
        zone,
        w,
        signer,
        opt,
        outcome,
    } = place;
    let owner = at.owner(0);
    // The client is the ECS address when one was given, else the sender.
    let ecs = q.edns.and_then(|e| e.ecs).filter(|e| e.source_prefix > 0);
    let client = ecs.map_or(src, |e| e.addr);
    let sel = select::select(snap, health, rec, client, q.qtype, rotation, trace);
    if let (Some(o), Some(e)) = (opt, ecs) {
        // After a CNAME pool the answer depends on every GSLB decision of the chain.
        let before = o.ecs.map_or(0, |(_, s)| s);
        o.ecs = Some((e, sel.scope.max(before)));
    }
    let Some(p) = sel.pool else {
        return Next::NoData;
    };
    let pool = &rec.pools[p];
    if q.qtype == TYPE_CNAME && pool.cname.is_none() {
        return Next::NoData;
    }
    outcome.gslb = Some((pool.metrics_slot, sel.decided_by));
    let ttl = sel.ttl(rec);
    let write = |w: &mut Writer<'_>, tail: &[u8]| {
        if ttl == rec.ttl {
            w.answer(owner, tail);
        } else {
            w.answer_with_ttl(owner, tail, ttl);
        }
    };
    if let Some(c) = &pool.cname {
        outcome.cname = true;
        write(w, &c.tail.0);
        if let Some(s) = signer {
            let rdata = std::iter::once(c.tail.rdata());
            s.rrsigs(
                w,
                Section::Answer,
                owner,
                at.name,
                zone,
                TYPE_CNAME,
                ttl,
                rdata,
            );
        }
        return match q.qtype {
            TYPE_CNAME => Next::Done,
            _ => Next::Follow(&c.target),
        };
    }
    for &t in &sel.targets {
        write(w, &pool.targets[t as usize].tail.0);
    }
    if let Some(s) = signer {
        // One signature per set of addresses, whatever their order.
        let rdatas = sel
            .targets
            .iter()
            .map(|&t| pool.targets[t as usize].tail.rdata());
        s.rrsigs(
            w,
            Section::Answer,
            owner,
            at.name,
            zone,
            q.qtype,
            ttl,
            rdatas,
        );
    }
    Next::Done
}
