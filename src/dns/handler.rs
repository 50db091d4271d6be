//! The request handler: one query packet in, one response packet out, no allocation.

use std::net::IpAddr;

use super::query::{
    self, Query, Reject, CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_ANY, TYPE_AXFR, TYPE_CNAME, TYPE_IXFR,
};
use super::response::{rcode, OptReply, Owner, ReplyHeader, Writer, OUR_PAYLOAD};
use crate::dns::name::suffix_offset;
use crate::health::HealthView;
use crate::select::{self, Trace};
use crate::snapshot::{Found, Node, Snapshot, Zone};

/// What one query is answered from, plus per-thread state.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub health: &'a HealthView,
    /// Advances on every query: drives round-robin and weighted rotation.
    pub rotation: u64,
    /// Filled with the GSLB decision when set (explain).
    pub trace: Option<&'a mut Trace>,
}

/// How the query arrived; decides the size limit of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Longest CNAME chain followed inside our zones.
const MAX_CHAIN: usize = 8;

/// Answers one packet into `out`. Returns false when the packet deserves no reply.
pub fn handle(
    ctx: &mut Context<'_>,
    packet: &[u8],
    src: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> bool {
    let q = match query::parse(packet) {
        Ok(q) => q,
        Err(reject) => {
            let (id, opcode, rd, code) = match reject {
                Reject::Drop => return false,
                Reject::FormErr { id, opcode, rd } => (id, opcode, rd, rcode::FORMERR),
                Reject::NotImp { id, opcode, rd } => (id, opcode, rd, rcode::NOTIMP),
            };
            let h = ReplyHeader {
                id,
                opcode,
                rd,
                cd: false,
            };
            Writer::new(out, h, None).finish(code, false, None, usize::MAX);
            return true;
        }
    };
    answer(ctx, &q, src, transport, out);
    true
}

fn size_limit(q: &Query<'_>, transport: Transport) -> usize {
    match (transport, &q.edns) {
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
) {
    let snap = ctx.snapshot;
    let h = ReplyHeader {
        id: q.id,
        opcode: q.opcode,
        rd: q.rd,
        cd: q.cd,
    };
    let limit = size_limit(q, transport);
    let mut opt = q.edns.map(|e| OptReply {
        dnssec_ok: e.dnssec_ok,
        ecs: e.ecs.map(|ecs| (ecs, 0)),
    });
    let mut w = Writer::new(out, h, Some(q.question));
    if let Some(e) = &q.edns {
        if e.version > 0 {
            if let Some(o) = &mut opt {
                o.ecs = None;
            }
            return w.finish(rcode::BADVERS, false, opt.as_ref(), limit);
        }
    }
    if q.qclass != CLASS_IN || q.qtype == TYPE_AXFR || q.qtype == TYPE_IXFR {
        return w.finish(rcode::REFUSED, false, opt.as_ref(), limit);
    }
    let qname = q.qname();
    let (zone, node) = match snap.find(qname) {
        Found::NotAuthoritative => return w.finish(rcode::REFUSED, false, opt.as_ref(), limit),
        Found::InZone { zone, node } => (zone, node),
    };
    let mut code = rcode::NOERROR;
    let mut owner_name = qname;
    let mut owner = Owner::Ptr(12);
    let mut zone = zone;
    let mut node = node;
    let mut negative_zone: Option<&Zone> = None;
    for _ in 0..MAX_CHAIN {
        match node {
            None => {
                code = rcode::NXDOMAIN;
                negative_zone = Some(zone);
            }
            Some(Node::Empty) => negative_zone = Some(zone),
            Some(Node::Gslb(i)) => match q.qtype {
                TYPE_A | TYPE_AAAA => {
                    let rec = &snap.gslb.records[*i];
                    // The client is the ECS address when one was given, else the sender.
                    let ecs = q.edns.and_then(|e| e.ecs).filter(|e| e.source_prefix > 0);
                    let client = ecs.map_or(src, |e| e.addr);
                    let sel = select::select(
                        snap,
                        ctx.health,
                        rec,
                        client,
                        q.qtype,
                        ctx.rotation,
                        ctx.trace.as_deref_mut(),
                    );
                    if let (Some(o), Some(e)) = (&mut opt, ecs) {
                        o.ecs = Some((e, sel.scope));
                    }
                    match sel.pool {
                        Some(p) => {
                            let pool = &rec.pools[p];
                            for &t in &sel.targets {
                                w.answer(owner, &pool.targets[t as usize].tail.0);
                            }
                        }
                        None => negative_zone = Some(zone),
                    }
                }
                TYPE_ANY if w.answer_count() == 0 => w.answer(owner, &zone.hinfo.0),
                _ => negative_zone = Some(zone),
            },
            Some(Node::Static(sets)) => {
                if q.qtype == TYPE_ANY && w.answer_count() == 0 {
                    w.answer(owner, &zone.hinfo.0);
                } else {
                    match sets.iter().find(|s| s.rtype == q.qtype) {
                        Some(set) => set.records.iter().for_each(|r| w.answer(owner, &r.0)),
                        None => negative_zone = Some(zone),
                    }
                }
            }
            Some(Node::Cname { tail, target }) => {
                w.answer(owner, &tail.0);
                if q.qtype == TYPE_CNAME || q.qtype == TYPE_ANY {
                    break;
                }
                match snap.find(target.as_bytes()) {
                    Found::NotAuthoritative => break,
                    Found::InZone { zone: z, node: n } => {
                        owner_name = target.as_bytes();
                        owner = Owner::Name(owner_name);
                        zone = z;
                        node = n;
                        continue;
                    }
                }
            }
        }
        break;
    }
    if let Some(z) = negative_zone {
        // The SOA owner is the zone origin: point into the question when it is a suffix.
        let soa_owner = match suffix_offset(qname, z.origin.as_bytes()) {
            Some(off) => Owner::Ptr(12 + off as u16),
            None => Owner::Name(z.origin.as_bytes()),
        };
        w.authority(soa_owner, &z.soa_negative.0);
    }
    let _ = owner_name;
    w.finish(code, true, opt.as_ref(), limit);
}
