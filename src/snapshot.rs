//! The compiled, immutable configuration that the query path reads: zones, names, records.

use std::path::PathBuf;

use rustc_hash::FxHashMap;

use crate::dns::name::{label_offsets, suffix_offset, WireName};

/// Up to this many zones, the zone of a name is found by comparing suffixes directly.
const LINEAR_ZONES: usize = 8;
use crate::geo::RegionMap;
use crate::gslb::GslbSet;

/// Everything a query needs, built once per (re)load and then only read.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub zones: Vec<Zone>,
    zone_index: FxHashMap<WireName, usize>,
    pub gslb: GslbSet,
    pub geo: RegionMap,
}

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
    pub nodes: FxHashMap<WireName, Node>,
    /// Number of names holding data (empty non-terminals not counted).
    pub names: usize,
    /// Counter slot for metrics (assigned when the snapshot is installed).
    pub metrics_slot: u16,
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
}

/// A record without its owner name, pre-serialised: TYPE, CLASS, TTL, RDLENGTH, RDATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrTail(pub Box<[u8]>);

impl RrTail {
    pub fn new(rtype: u16, ttl: u32, rdata: &[u8]) -> Self {
        let mut v = Vec::with_capacity(10 + rdata.len());
        v.extend_from_slice(&rtype.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(rdata);
        RrTail(v.into_boxed_slice())
    }
}

/// All records of one type at one name.
#[derive(Debug)]
pub struct Rrset {
    pub rtype: u16,
    pub records: Vec<RrTail>,
}

/// Where a query name falls.
pub enum Found<'s> {
    /// Not inside any of our zones.
    NotAuthoritative,
    /// Inside `zone`; `node` is the name's node when it exists.
    InZone {
        zone: &'s Zone,
        node: Option<&'s Node>,
    },
}

impl Snapshot {
    pub fn new(zones: Vec<Zone>, gslb: GslbSet, mut geo: RegionMap) -> Self {
        geo.prepare(gslb.records.iter().map(|r| r.needs));
        let zone_index = zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.origin.clone(), i))
            .collect();
        Snapshot {
            zones,
            zone_index,
            gslb,
            geo,
        }
    }

    /// The zone holding `qname` (lowercase wire format): the one with the longest origin.
    pub fn zone_for(&self, qname: &[u8]) -> Option<&Zone> {
        if self.zones.len() <= LINEAR_ZONES {
            // A handful of zones: comparing suffixes beats hashing every suffix of the name.
            return self
                .zones
                .iter()
                .filter(|z| suffix_offset(qname, z.origin.as_bytes()).is_some())
                .max_by_key(|z| z.origin.as_bytes().len());
        }
        label_offsets(qname)
            .chain(std::iter::once(qname.len() - 1))
            .find_map(|off| self.zone_index.get(&qname[off..]))
            .map(|&i| &self.zones[i])
    }

    /// Looks up a lowercase wire-format name.
    pub fn find(&self, qname: &[u8]) -> Found<'_> {
        match self.zone_for(qname) {
            None => Found::NotAuthoritative,
            Some(zone) => Found::InZone {
                zone,
                node: zone.nodes.get(qname),
            },
        }
    }
}
