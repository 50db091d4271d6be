//! The request handler: one query packet in, one response packet out, no allocation.

use std::net::IpAddr;

use super::edns::{CookieVerdict, EdnsConfig};
use super::gslb_answer::{self, Next, Place};
use super::query::{
    self, Edns, Query, Reject, CLASS_CH, CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_AXFR,
    TYPE_CNAME, TYPE_DS, TYPE_IXFR, TYPE_TXT,
};
use super::referral::{refer, At, Cut};
use super::response::{rcode, OptReply, Owner, ReplyHeader, Section, Writer, OUR_PAYLOAD};
use super::signed::{Denial, Signer};
use crate::dns::name::suffix_offset;
use crate::dnssec::{SigCache, TYPE_NXNAME};
use crate::health::HealthView;
use crate::metrics::Outcome;
use crate::select::Trace;
use crate::snapshot::{Additional, Found, Lookup, Node, Snapshot, Zone};

/// What one query is answered from, plus per-thread state.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub health: &'a HealthView,
    /// Advances on every query: drives round-robin and weighted rotation.
    pub rotation: u64,
    /// Filled with the GSLB decision when set (explain).
    pub trace: Option<&'a mut Trace>,
    /// NSID and cookie secret.
    pub edns: &'a EdnsConfig,
    /// Seconds since the Unix epoch (mod 2^32), read once per batch: cookie timestamps and
    /// signature validity.
    pub now: u32,
    /// The thread's signature cache (DNSSEC answers of signed zones).
    pub sigs: &'a mut SigCache,
}

/// How the query arrived; decides the size limit of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

impl<'a> Context<'a> {
    /// A context for one query served from `serving` at `now` (see `edns::unix_now`).
    pub fn serving(
        serving: &'a crate::state::Serving,
        edns: &'a EdnsConfig,
        rotation: u64,
        now: u32,
        sigs: &'a mut SigCache,
    ) -> Self {
        Context {
            snapshot: &serving.snapshot,
            health: &serving.health,
            rotation,
            trace: None,
            edns,
            now,
            sigs,
        }
    }
}

/// Longest CNAME chain followed inside our zones.
const MAX_CHAIN: usize = 8;

/// Answers one packet into `out`. Returns what happened, or `None` when the packet deserves
/// no reply.
pub fn handle(
    ctx: &mut Context<'_>,
    packet: &[u8],
    src: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Option<Outcome> {
    let q = match query::parse(packet) {
        Ok(q) => q,
        Err(reject) => {
            let (id, opcode, rd, code, opt_do) = match reject {
                Reject::Drop => return None,
                Reject::CookieOnly { id, rd, cd, edns } => {
                    let h = ReplyHeader {
                        id,
                        opcode: 0,
                        rd,
                        cd,
                    };
                    let limit = size_limit(Some(&edns), transport);
                    return Some(server_cookie(ctx, h, &edns, src, limit, out));
                }
                Reject::FormErr {
                    id,
                    opcode,
                    rd,
                    opt_do,
                } => (id, opcode, rd, rcode::FORMERR, opt_do),
                Reject::NotImp {
                    id,
                    opcode,
                    rd,
                    opt_do,
                } => (id, opcode, rd, rcode::NOTIMP, opt_do),
            };
            // The options of a rejected query are not acted on: the OPT has none.
            let opt = opt_do.map(OptReply::bare);
            let h = ReplyHeader {
                id,
                opcode,
                rd,
                cd: false,
            };
            Writer::new(out, h, None).finish(code, false, opt.as_ref(), usize::MAX);
            return Some(Outcome {
                rcode: code,
                ..Outcome::default()
            });
        }
    };
    Some(answer(ctx, &q, src, transport, out))
}

/// The reply to a request of a server cookie alone (RFC 7873 §5.4): no question, no
/// answer, the client cookie with a server cookie of ours, NOERROR (BADVERS for a later EDNS
/// version, whose OPT has no options).
#[cold]
#[inline(never)]
fn server_cookie(
    ctx: &Context<'_>,
    h: ReplyHeader,
    e: &Edns,
    src: IpAddr,
    limit: usize,
    out: &mut Vec<u8>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let opt = opt_reply(ctx.edns, ctx.now, e, src, &mut outcome.cookie);
    let code = if e.version > 0 {
        rcode::BADVERS
    } else {
        rcode::NOERROR
    };
    outcome.truncated = Writer::new(out, h, None).finish(code, false, Some(&opt), limit);
    outcome.rcode = code;
    outcome
}

/// The OPT of the reply to a query with EDNS `e` from `src`: ECS echoed with scope 0 (the
/// answer sets the scope), our server cookie for a client cookie, and our NSID when asked
/// and configured. A query of a later EDNS version gets BADVERS and an OPT without options.
fn opt_reply<'c>(
    cfg: &'c EdnsConfig,
    now: u32,
    e: &Edns,
    src: IpAddr,
    verdict: &mut CookieVerdict,
) -> OptReply<'c> {
    if e.version > 0 {
        return OptReply::bare(e.dnssec_ok);
    }
    let cookie = e.cookie.map(|c| {
        // The client is the packet's source, never the ECS address.
        let (option, v) = cfg.cookie_secret.reply(&c, src, now);
        *verdict = v;
        option
    });
    OptReply {
        dnssec_ok: e.dnssec_ok,
        compact_ok: e.dnssec_ok && e.compact_ok,
        ecs: e.ecs.map(|ecs| (ecs, 0)),
        cookie,
        nsid: cfg.nsid.as_deref().filter(|_| e.nsid),
    }
}

/// The largest reply: TCP's 64 KiB, or over UDP 512 bytes without EDNS and the client's
/// payload size (at least 512, at most ours) with it.
fn size_limit(edns: Option<&Edns>, transport: Transport) -> usize {
    match (transport, edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.payload.clamp(512, OUR_PAYLOAD) as usize,
    }
}

fn answer(
    ctx: &mut Context<'_>,
    q: &Query<'_>,
    src: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome {
    let snap = ctx.snapshot;
    let mut outcome = Outcome {
        qtype: q.qtype,
        ecs: q.edns.is_some_and(|e| e.ecs.is_some()),
        ..Outcome::default()
    };
    let h = ReplyHeader {
        id: q.id,
        opcode: q.opcode,
        rd: q.rd,
        cd: q.cd,
    };
    let limit = size_limit(q.edns.as_ref(), transport);
    let mut opt = q
        .edns
        .as_ref()
        .map(|e| opt_reply(ctx.edns, ctx.now, e, src, &mut outcome.cookie));
    let mut w = Writer::new(out, h, Some(q.question));
    if let Some(e) = &q.edns {
        if e.version > 0 {
            if let Some(o) = &mut opt {
                o.ecs = None;
            }
            outcome.rcode = rcode::BADVERS;
            outcome.truncated = w.finish(rcode::BADVERS, false, opt.as_ref(), limit);
            return outcome;
        }
    }
    if q.qtype == TYPE_NXNAME {
        // A meta-type that only appears in NSEC bitmaps (RFC 9824 §3.5).
        outcome.rcode = rcode::FORMERR;
        outcome.truncated = w.finish(rcode::FORMERR, false, opt.as_ref(), limit);
        return outcome;
    }
    if q.qclass != CLASS_IN || q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR {
        if let Some(txt) = (q.qclass == CLASS_CH)
            .then(|| ctx.edns.chaos.find(q.qname()))
            .flatten()
        {
            // id.server., version.bind. and their kin: TXT (or ANY) answered, other types
            // empty (RFC 4892 §2.3).
            if q.qtype == TYPE_TXT || q.qtype == TYPE_ANY {
                w.answer(Owner::Ptr(12), txt);
            }
            outcome.truncated = w.finish(rcode::NOERROR, true, opt.as_ref(), limit);
            return outcome;
        }
        outcome.rcode = rcode::REFUSED;
        outcome.zone_slot = snap.zone_for(q.qname()).map_or(0, |z| z.metrics_slot);
        outcome.truncated = w.finish(rcode::REFUSED, false, opt.as_ref(), limit);
        return outcome;
    }
    let qname = q.qname();
    let (mut zone, mut lookup) = match snap.find(qname) {
        Found::NotAuthoritative => {
            outcome.rcode = rcode::REFUSED;
            outcome.truncated = w.finish(rcode::REFUSED, false, opt.as_ref(), limit);
            return outcome;
        }
        Found::InZone { zone, lookup } => (zone, lookup),
    };
    if q.qtype == TYPE_DS && qname == zone.origin.as_bytes() {
        // DS belongs to the parent side of a cut (RFC 4035 §3.1.4.1): when we serve the
        // parent too, it answers.
        if let Some((parent, l)) = snap.parent_side(zone) {
            (zone, lookup) = (parent, l);
        }
    }
    outcome.zone_slot = zone.metrics_slot;
    let reserve = opt.as_ref().map_or(0, OptReply::wire_len);
    // DNSSEC records go with the answer when the query set DO; each RRset is signed when
    // its zone is.
    let dnssec_ok = q.edns.is_some_and(|e| e.dnssec_ok);
    let compact_ok = q.edns.is_some_and(|e| e.compact_ok);
    let mut signer = dnssec_ok.then_some(Signer {
        cache: &mut *ctx.sigs,
        now: ctx.now,
    });
    let mut code = rcode::NOERROR;
    let mut aa = true;
    // The name being answered (the question, then each CNAME target) and where it is.
    let mut at = At {
        name: qname,
        base: Some(12),
    };
    let mut visited: [&[u8]; MAX_CHAIN] = [&[]; MAX_CHAIN];
    let mut negative: Option<(&Zone, Denial<'_>)> = None;
    let mut extra: &[Additional] = &[];
    let mut follow = None;
    for hop in 0..MAX_CHAIN {
        let owner = at.owner(0);
        let node = match lookup {
            Lookup::NxDomain => {
                negative = Some((zone, Denial::NoName));
                break;
            }
            Lookup::Referral { cut, delegation } => {
                if cut == 0 && q.qtype == TYPE_DS {
                    // The DS RRset at a cut is the parent's, answered authoritatively.
                    match &delegation.ds {
                        Some(ds) => {
                            ds.records.iter().for_each(|r| w.answer(owner, &r.0));
                            if let Some(s) = &mut signer {
                                s.rrsigs_of(
                                    &mut w,
                                    Section::Answer,
                                    owner,
                                    at.name,
                                    zone,
                                    &ds.records,
                                );
                            }
                        }
                        None => negative = Some((zone, Denial::NoDs)),
                    }
                } else {
                    aa = w.answer_count() > 0;
                    let cut = Cut {
                        owner: at.owner(cut),
                        name: &at.name[cut..],
                        zone,
                    };
                    refer(
                        &mut w,
                        &cut,
                        delegation,
                        signer.as_mut(),
                        snap,
                        limit,
                        reserve,
                    );
                }
                break;
            }
            Lookup::Node { node, wildcard } => {
                outcome.wildcard |= wildcard;
                node
            }
        };
        match node {
            Node::Empty | Node::Delegation(_) => negative = Some((zone, Denial::NoData(node))),
            Node::Gslb(i) => match q.qtype {
                // CNAME: what a CNAME pool answers this client, else NODATA.
                TYPE_A | TYPE_AAAA | TYPE_CNAME => {
                    let place = Place {
                        at: &at,
                        zone,
                        w: &mut w,
                        signer: signer.as_mut(),
                        opt: opt.as_mut(),
                        outcome: &mut outcome,
                    };
                    let rec = &snap.gslb.records[*i];
                    let trace = ctx.trace.as_deref_mut().map(Trace::next_slot);
                    match gslb_answer::answer(
                        snap,
                        ctx.health,
                        ctx.rotation,
                        trace,
                        rec,
                        q,
                        src,
                        place,
                    ) {
                        Next::Done => {}
                        Next::NoData => negative = Some((zone, Denial::NoData(node))),
                        Next::Follow(target) => follow = Some(target),
                    }
                }
                TYPE_ANY if w.answer_count() == 0 => {
                    w.answer(owner, &zone.hinfo.0);
                    if let Some(s) = &mut signer {
                        let hinfo = std::slice::from_ref(&zone.hinfo);
                        s.rrsigs_of(&mut w, Section::Answer, owner, at.name, zone, hinfo);
                    }
                }
                _ => negative = Some((zone, Denial::NoData(node))),
            },
            Node::Static(sets) => {
                let found = if q.qtype == TYPE_ANY && w.answer_count() == 0 {
                    Some(std::slice::from_ref(&zone.hinfo))
                } else {
                    sets.iter().find(|s| s.rtype == q.qtype).map(|set| {
                        extra = &set.additional;
                        &set.records[..]
                    })
                };
                match found {
                    Some(records) => {
                        records.iter().for_each(|r| w.answer(owner, &r.0));
                        if let Some(s) = &mut signer {
                            s.rrsigs_of(&mut w, Section::Answer, owner, at.name, zone, records);
                        }
                    }
                    None => negative = Some((zone, Denial::NoData(node))),
                }
            }
            Node::Cname { tail, target } => {
                w.answer(owner, &tail.0);
                if let Some(s) = &mut signer {
                    let cname = std::slice::from_ref(tail);
                    s.rrsigs_of(&mut w, Section::Answer, owner, at.name, zone, cname);
                }
                if q.qtype != TYPE_CNAME && q.qtype != TYPE_ANY {
                    follow = Some(target);
                }
            }
        }
        // A CNAME (static or a CNAME pool's) is followed inside our zones; a loop (possible
        // across zones) ends the chain.
        let Some(target) = follow.take() else {
            break;
        };
        visited[hop] = at.name;
        if visited[..=hop].contains(&target.as_bytes()) {
            break;
        }
        match snap.find(target.as_bytes()) {
            Found::NotAuthoritative => break,
            Found::InZone { zone: z, lookup: l } => {
                at = At {
                    name: target.as_bytes(),
                    base: None,
                };
                zone = z;
                lookup = l;
            }
        }
    }
    if let Some((z, denial)) = negative {
        let signed = signer.is_some() && z.dnssec.is_some();
        if matches!(denial, Denial::NoName) {
            // A signed zone answers a DO query with a compact denial (RFC 9824): NOERROR
            // with NXNAME in the NSEC, or NXDOMAIN to a query that set CO.
            code = if signed && !compact_ok {
                rcode::NOERROR
            } else {
                rcode::NXDOMAIN
            };
        }
        // The SOA owner is the zone origin: point into the question when it is a suffix.
        let soa_owner = match suffix_offset(qname, z.origin.as_bytes()) {
            Some(off) => Owner::Ptr(12 + off as u16),
            None => Owner::Name(z.origin.as_bytes()),
        };
        w.authority(soa_owner, &z.soa_negative.0);
        if let Some(s) = &mut signer {
            let soa = std::slice::from_ref(&z.soa_negative);
            s.rrsigs_of(
                &mut w,
                Section::Authority,
                soa_owner,
                z.origin.as_bytes(),
                z,
                soa,
            );
            s.deny(&mut w, at.owner(0), at.name, snap, z, denial, q.qtype);
        }
    }
    for a in extra {
        let mark = w.mark();
        w.additional(a.owner.as_bytes(), &a.records);
        if let Some(s) = &mut signer {
            let owner = Owner::Name(a.owner.as_bytes());
            s.rrsigs_of(
                &mut w,
                Section::Additional,
                owner,
                a.owner.as_bytes(),
                zone,
                &a.records,
            );
        }
        if !w.fits(limit, reserve) {
            w.rollback(mark);
            break;
        }
    }
    if let Some(s) = &mut signer {
        (outcome.signatures_made, outcome.signatures_cached) = s.cache.take_counts();
    }
    outcome.rcode = code;
    outcome.truncated = w.finish(code, aa, opt.as_ref(), limit);
    outcome
}
