//! The DNSSEC records of an answer to a DO query: RRSIGs after each RRset of a signed zone,
//! and compact denial of existence (RFC 9824): one NSEC at the name denied.

use smallvec::SmallVec;

use super::response::{Owner, Section, Writer};
use crate::dnssec::cache::RrsetId;
use crate::dnssec::{nsec, SigCache, TYPE_NSEC, TYPE_NXNAME, TYPE_RRSIG};
use crate::snapshot::{Node, RrTail, Snapshot, Zone};

/// Signs what an answer holds, from the thread's signature cache.
pub struct Signer<'c> {
    pub cache: &'c mut SigCache,
    /// Seconds since the Unix epoch (mod 2^32).
    pub now: u32,
}

/// What a negative answer denies at a name.
#[derive(Clone, Copy)]
pub enum Denial<'s> {
    /// The name does not exist.
    NoName,
    /// The name exists (this node) but has no RRset of the query type.
    NoData(&'s Node),
    /// A zone cut without DS: the NS RRset is all the parent has there.
    NoDs,
}

impl Signer<'_> {
    /// RRSIGs of the RRset of `name` (canonical form of the owner, which is written as
    /// `owner`) just written to `section`, by every key of `zone` that signs `rtype`;
    /// nothing when the zone is not signed.
    #[allow(clippy::too_many_arguments)]
    pub fn rrsigs<'r>(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: Owner<'_>,
        name: &[u8],
        zone: &Zone,
        rtype: u16,
        ttl: u32,
        rdatas: impl Iterator<Item = &'r [u8]> + Clone,
    ) {
        let Some(keys) = zone.dnssec.as_deref() else {
            return;
        };
        for key in keys.signing(rtype) {
            let signer = zone.origin.as_bytes();
            let id = RrsetId {
                owner: name,
                rtype,
                ttl,
            };
            let tail = self.cache.rrsig(key, signer, id, rdatas.clone(), self.now);
            w.push(section, owner, tail);
        }
    }

    /// RRSIGs of a stored RRset (all records of one type).
    pub fn rrsigs_of(
        &mut self,
        w: &mut Writer<'_>,
        section: Section,
        owner: Owner<'_>,
        name: &[u8],
        zone: &Zone,
        records: &[RrTail],
    ) {
        if let Some(first) = records.first() {
            let rdatas = records.iter().map(RrTail::rdata);
            self.rrsigs(
                w,
                section,
                owner,
                name,
                zone,
                first.rtype(),
                first.ttl(),
                rdatas,
            );
        }
    }

    /// The compact denial at `name` (written as `owner`) in AUTHORITY: an NSEC whose next
    /// name is `\000.<name>` and whose bitmap lists what the name holds (NXNAME when it
    /// does not exist), minus `qtype`, and its RRSIGs. Nothing when the zone is unsigned.
    #[allow(clippy::too_many_arguments)]
    pub fn deny(
        &mut self,
        w: &mut Writer<'_>,
        owner: Owner<'_>,
        name: &[u8],
        snap: &Snapshot,
        zone: &Zone,
        denial: Denial<'_>,
        qtype: u16,
    ) {
        if zone.dnssec.is_none() {
            return;
        }
        let mut types: SmallVec<[u16; 16]> = SmallVec::new();
        match denial {
            Denial::NoName => types.push(TYPE_NXNAME),
            Denial::NoDs => types.push(super::query::TYPE_NS),
            Denial::NoData(node) => node_types(snap, node, &mut types),
        }
        types.retain(|t| *t != qtype);
        types.extend([TYPE_RRSIG, TYPE_NSEC]);
        let ttl = zone.soa_negative.ttl();
        let mut tail = std::mem::take(&mut self.cache.nsec);
        nsec::compact_tail(&mut tail, name, &types, ttl);
        w.push(Section::Authority, owner, &tail);
        let rdata = [&tail[10..]];
        self.rrsigs(
            w,
            Section::Authority,
            owner,
            name,
            zone,
            TYPE_NSEC,
            ttl,
            rdata.iter().copied(),
        );
        self.cache.nsec = tail;
    }
}

/// The types a name holds, for the bitmap of its NSEC.
fn node_types(snap: &Snapshot, node: &Node, out: &mut SmallVec<[u16; 16]>) {
    use super::query::{TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DS, TYPE_NS};
    match node {
        Node::Empty => {}
        Node::Static(sets) => out.extend(sets.iter().map(|s| s.rtype)),
        Node::Cname { .. } => out.push(TYPE_CNAME),
        Node::Gslb(i) => {
            let rec = &snap.gslb.records[*i];
            for (v6, t) in [(false, TYPE_A), (true, TYPE_AAAA)] {
                if rec.pools.iter().any(|p| !p.family(v6).is_empty()) {
                    out.push(t);
                }
            }
        }
        Node::Delegation(d) => {
            out.push(TYPE_NS);
            if d.ds.is_some() {
                out.push(TYPE_DS);
            }
        }
    }
}
