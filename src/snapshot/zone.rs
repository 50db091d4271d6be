//! One compiled zone: its names, what each holds, and how a query name finds its data
//! (exact names, wildcards, zone cuts).

use std::path::PathBuf;

use rustc_hash::FxHashMap;

use crate::dns::name::WireName;
use crate::dns::rr::RrTail;

/// One authoritative zone.
#[derive(Debug)]
pub struct Zone {
    pub origin: WireName,
    pub file: PathBuf,
    pub serial: u32,
    /// The SOA record as it appears in answers and in AUTHORITY of negative answers: the
    /// tail (type .. rdata) with the zone TTL, and the same with the negative-caching TTL.
    pub soa: RrTail,
    pub soa_negative: RrTail,
    /// The RFC 8482 answer to ANY queries (HINFO "RFC8482"), with the zone TTL.
    pub hinfo: RrTail,
    /// Every name of the zone above its cuts, the cuts themselves, wildcard owners (`*.x`)
    /// and empty non-terminals. Glue below a cut is not here: it lives in its delegation.
    pub nodes: FxHashMap<WireName, Node>,
    /// Number of names holding data (empty non-terminals not counted, glue counted).
    pub names: usize,
    /// Whether any owner is a wildcard; without one a missing name is NXDOMAIN at once.
    pub has_wildcards: bool,
    /// Whether the zone has delegations below its apex.
    pub has_cuts: bool,
    /// Counter slot for metrics (assigned when the snapshot is installed).
    pub metrics_slot: u16,
    /// The keys that sign the zone, when it is signed (DNSSEC, answered to DO queries).
    pub dnssec: Option<Box<crate::dnssec::ZoneKeys>>,
}

/// What a name holds.
#[derive(Debug)]
pub enum Node {
    /// An empty non-terminal: exists because names below it do; answers NODATA.
    Empty,
    /// Static RRsets, sorted by type.
    Static(Vec<Rrset>),
    /// An alias. `tail` is the CNAME record; `target` the name it points to.
    Cname { tail: RrTail, target: WireName },
    /// A GSLB name: A/AAAA come from `GslbSet::records[index]`.
    Gslb(usize),
    /// A zone cut below the apex: queries at or below it get a referral.
    Delegation(Box<Delegation>),
}

/// All records of one type at one name.
#[derive(Debug)]
pub struct Rrset {
    pub rtype: u16,
    pub records: Vec<RrTail>,
    /// For NS, MX and SRV: the static addresses of the in-zone names the records point to,
    /// sent in ADDITIONAL when they fit.
    pub additional: Vec<Additional>,
}

impl Rrset {
    pub fn new(rtype: u16, records: Vec<RrTail>) -> Self {
        Rrset {
            rtype,
            records,
            additional: Vec::new(),
        }
    }
}

/// The A or AAAA RRset of one name, for the additional section.
#[derive(Debug, Clone)]
pub struct Additional {
    pub owner: WireName,
    pub records: Vec<RrTail>,
}

impl Additional {
    /// Bytes this RRset takes on the wire, its owner written in full before every record.
    pub fn wire_len(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.wire_len(self.owner.as_bytes().len()))
            .sum()
    }
}

/// A delegation: the child's name servers, its DS records, and the glue that goes with a
/// referral.
#[derive(Debug)]
pub struct Delegation {
    /// The NS RRset of the cut (served in AUTHORITY of referrals, never authoritatively).
    pub ns: Rrset,
    /// The DS RRset at the cut, answered authoritatively by this (the parent) zone.
    pub ds: Option<Rrset>,
    /// Addresses of the name servers at or below the cut (RFC 9471 in-domain glue): a
    /// referral that cannot carry all of them is truncated.
    pub glue: Vec<Additional>,
    /// Addresses of name servers elsewhere in this zone (sibling glue): sent when they fit.
    pub sibling: Vec<Additional>,
}

/// Where a name falls inside a zone.
#[derive(Debug)]
pub enum Lookup<'z> {
    /// The name exists: its node, or the node of the wildcard that synthesises it (then
    /// `wildcard` is true and the answer is owned by the query name).
    Node { node: &'z Node, wildcard: bool },
    /// The name is at or below a zone cut; `cut` is the offset of the cut's name in the
    /// query name.
    Referral {
        cut: usize,
        delegation: &'z Delegation,
    },
    /// No such name, and no wildcard to make one up.
    NxDomain,
}

/// Longest wire name: a wildcard name is built in a stack buffer of this size.
const MAX_NAME: usize = 255;

impl Zone {
    /// `, 2 wildcards, 1 delegation` (empty when the zone has neither), for summaries.
    pub fn shape(&self) -> String {
        let count = |f: fn(&WireName, &Node) -> bool| {
            self.nodes
                .iter()
                .filter(|(name, node)| f(name, node))
                .count()
        };
        let wildcards = count(|name, _| name.as_bytes().starts_with(b"\x01*"));
        let cuts = count(|_, node| matches!(node, Node::Delegation(_)));
        let mut out = String::new();
        for (n, what) in [(wildcards, "wildcard"), (cuts, "delegation")] {
            if n > 0 {
                let s = if n == 1 { "" } else { "s" };
                out.push_str(&format!(", {n} {what}{s}"));
            }
        }
        out
    }

    /// `, signed with 2 keys: KSK 12345 alg 13, ZSK 23456 alg 13` (empty when unsigned), for
    /// summaries. No parentheses: scripts read the file name from the `(FILE)` that follows.
    pub fn signing(&self) -> String {
        let Some(keys) = &self.dnssec else {
            return String::new();
        };
        let n = keys.keys.len();
        let list: Vec<String> = keys
            .keys
            .iter()
            .map(|k| {
                let role = if k.is_ksk() { "KSK" } else { "ZSK" };
                format!("{role} {} alg {}", k.tag, k.algorithm.number())
            })
            .collect();
        let s = if n == 1 { "" } else { "s" };
        format!(", signed with {n} key{s}: {}", list.join(", "))
    }

    /// Finds `qname` (lowercase wire format, at or below the origin) in the zone, following
    /// RFC 1034 §4.3.2 and RFC 4592: an exact name first; otherwise the closest existing
    /// ancestor (the closest encloser) decides: a zone cut gives a referral, a wildcard
    /// child `*.<closest encloser>` synthesises the name, anything else means NXDOMAIN.
    #[inline]
    pub fn lookup(&self, qname: &[u8]) -> Lookup<'_> {
        if let Some(node) = self.nodes.get(qname) {
            return match node {
                Node::Delegation(delegation) => Lookup::Referral { cut: 0, delegation },
                node => Lookup::Node {
                    node,
                    wildcard: false,
                },
            };
        }
        if !self.has_wildcards && !self.has_cuts {
            return Lookup::NxDomain;
        }
        self.closest_encloser(qname)
    }

    #[cold]
    fn closest_encloser(&self, qname: &[u8]) -> Lookup<'_> {
        let origin_len = self.origin.as_bytes().len();
        let mut off = 0usize;
        // Ancestors from the parent of `qname` up to the origin, which always exists.
        while qname.len() - off > origin_len {
            off += qname[off] as usize + 1;
            let ancestor = &qname[off..];
            let Some(node) = self.nodes.get(ancestor) else {
                continue;
            };
            if let Node::Delegation(delegation) = node {
                return Lookup::Referral {
                    cut: off,
                    delegation,
                };
            }
            if !self.has_wildcards || ancestor.len() + 2 > MAX_NAME {
                return Lookup::NxDomain;
            }
            let mut buf = [0u8; MAX_NAME];
            buf[0] = 1;
            buf[1] = b'*';
            buf[2..2 + ancestor.len()].copy_from_slice(ancestor);
            return match self.nodes.get(&buf[..2 + ancestor.len()]) {
                Some(node) => Lookup::Node {
                    node,
                    wildcard: true,
                },
                None => Lookup::NxDomain,
            };
        }
        Lookup::NxDomain
    }
}
