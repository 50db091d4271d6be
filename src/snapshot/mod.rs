//! The compiled, immutable configuration that the query path reads: zones, names, records.

mod zone;

use rustc_hash::FxHashMap;

pub use crate::dns::rr::RrTail;
pub use zone::{Additional, Delegation, Lookup, Node, Rrset, Zone};

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

/// Where a query name falls.
pub enum Found<'s> {
    /// Not inside any of our zones.
    NotAuthoritative,
    /// Inside `zone`; `lookup` tells where in it.
    InZone { zone: &'s Zone, lookup: Lookup<'s> },
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
    #[inline]
    pub fn find(&self, qname: &[u8]) -> Found<'_> {
        match self.zone_for(qname) {
            None => Found::NotAuthoritative,
            Some(zone) => Found::InZone {
                zone,
                lookup: zone.lookup(qname),
            },
        }
    }

    /// For the apex of `child`: the zone above it that we also serve, when it delegates
    /// `child` (holds the cut), and the cut as found there.
    pub fn parent_side(&self, child: &Zone) -> Option<(&Zone, Lookup<'_>)> {
        let origin = child.origin.as_bytes();
        if origin.len() <= 1 {
            return None;
        }
        let parent = self.zone_for(&origin[origin[0] as usize + 1..])?;
        match parent.lookup(origin) {
            l @ Lookup::Referral { cut: 0, .. } => Some((parent, l)),
            _ => None,
        }
    }
}
