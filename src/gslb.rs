//! Compiled GSLB records: pools of targets per region, policies, fail-over order, and the
//! distinct health probes they need.

use std::net::IpAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dns::name::WireName;
use crate::dns::rr::RrTail;
use crate::geo::Point;

/// How the healthy targets of a pool are ordered in an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Healthy targets rotate on every query (the default).
    #[default]
    RoundRobin,
    /// The share of answers a target leads is proportional to its weight.
    Weighted,
    /// The order is a consistent hash of the client subnet (/24, /56): a client keeps it.
    Sticky,
    /// Active/backup in listed order (one address per answer by default).
    First,
    /// Every healthy target, in listed order.
    All,
}

/// What to answer when no pool has a healthy target of the queried family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllDown {
    /// Fail open: answer from the first pool with targets, ignoring health (the default).
    #[default]
    ServeAll,
    /// Answer NOERROR with no records.
    Nodata,
}

/// The kind of a health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// An HTTP request for `path`.
    Http,
    /// An HTTPS request for `path` (the certificate is verified unless `insecure`).
    Https,
    /// A TCP connection (connect only).
    Tcp,
}

/// Every GSLB record of a snapshot, and the probes their targets need.
#[derive(Debug, Default)]
pub struct GslbSet {
    pub records: Vec<GslbRecord>,
    /// One entry per distinct (address, check definition) across all zones.
    pub probes: Vec<Probe>,
}

impl GslbSet {
    /// Numbers every pool of every record from 0 (`Pool::id`).
    pub fn number_pools(&mut self) {
        let pools = self.records.iter_mut().flat_map(|r| r.pools.iter_mut());
        for (i, p) in pools.enumerate() {
            p.id = i as u32;
        }
    }

    /// How many pools `number_pools` numbered.
    pub fn pool_count(&self) -> usize {
        self.records.iter().map(|r| r.pools.len()).sum()
    }
}

/// Which client lookups a record's answer can depend on.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Needs {
    pub networks: bool,
    pub location: bool,
    pub asn: bool,
}

impl Needs {
    pub fn any(&self) -> bool {
        self.networks || self.location || self.asn
    }

    /// The set numbered `bits` by [`Needs::bits`].
    pub fn from_bits(bits: usize) -> Needs {
        Needs {
            networks: bits & 1 != 0,
            location: bits & 2 != 0,
            asn: bits & 4 != 0,
        }
    }

    /// The lookups by name, e.g. `location+asn` (`none` for the empty set).
    pub fn names(&self) -> String {
        let names: Vec<&str> = [
            (self.networks, "networks"),
            (self.location, "location"),
            (self.asn, "asn"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join("+")
        }
    }

    /// The set as a number in 0..8 (networks 1, location 2, asn 4).
    pub fn bits(&self) -> usize {
        usize::from(self.networks) | usize::from(self.location) << 1 | usize::from(self.asn) << 2
    }
}

#[derive(Debug)]
pub struct GslbRecord {
    /// `web` in zone `example.com.`.
    pub name: String,
    pub zone: WireName,
    pub ttl: u32,
    /// The TTL of a degraded answer (not from the client's first pool, or a target of the
    /// answering pool down); `None`: always `ttl`.
    pub ttl_degraded: Option<u32>,
    pub policy: Policy,
    /// Addresses per answer at most; `None` means all healthy ones.
    pub max_answers: Option<usize>,
    pub all_down: AllDown,
    pub pools: Vec<Pool>,
    /// (region id, pool index) for every pool named after a region, in region file order.
    pub region_pools: Vec<(u32, usize)>,
    pub default_pool: usize,
    pub needs: Needs,
    /// `"nearest": true`: the pools with coordinates, in file order, tried by distance from
    /// the client after its regions and before `default`. Empty otherwise.
    pub nearest: Box<[usize]>,
}

impl GslbRecord {
    /// The pool named after `region`, if the record has one.
    #[inline]
    pub fn region_pool(&self, region: u32) -> Option<usize> {
        self.region_pools
            .iter()
            .find(|&&(r, _)| r == region)
            .map(|&(_, pool)| pool)
    }
}

#[derive(Debug)]
pub struct Pool {
    pub name: String,
    pub targets: Vec<Target>,
    /// Pool indices, in order.
    pub fallback: Vec<usize>,
    /// Counter slot for metrics (assigned when the snapshot is installed).
    pub metrics_slot: u16,
    /// This pool's number among every pool of the snapshot (`GslbSet::number_pools`): where
    /// the health view keeps whether it is drained.
    pub id: u32,
    /// Indices of the IPv4 targets (`[0]`) and the IPv6 targets (`[1]`), in listed order.
    pub by_family: [Box<[u16]>; 2],
    /// A CNAME pool (spec §11): answers A and AAAA with this alias instead of addresses; it
    /// has no targets.
    pub cname: Option<CnamePool>,
    /// Where the pool's data centre is, for records with `nearest`.
    pub coordinates: Option<Point>,
}

/// The alias a CNAME pool answers with.
#[derive(Debug)]
pub struct CnamePool {
    pub target: WireName,
    /// The CNAME record, pre-serialised with the record TTL.
    pub tail: RrTail,
}

impl Pool {
    pub fn new(name: String, targets: Vec<Target>, fallback: Vec<usize>) -> Self {
        let family = |v6: bool| -> Box<[u16]> {
            (0..targets.len() as u16)
                .filter(|&i| targets[i as usize].addr.is_ipv6() == v6)
                .collect()
        };
        Pool {
            by_family: [family(false), family(true)],
            name,
            targets,
            fallback,
            metrics_slot: 0,
            cname: None,
            coordinates: None,
            id: 0,
        }
    }

    /// Indices of the targets that answer A (`v6` false) or AAAA (`v6` true).
    pub fn family(&self, v6: bool) -> &[u16] {
        &self.by_family[v6 as usize]
    }

    /// Whether the pool can answer A (`v6` false) or AAAA (`v6` true) queries at all,
    /// health aside: it has targets of that family. This is what decides the answering
    /// pool with everything up (the selector's `all_down` fall-back and the reload
    /// preview). A pool answering with a CNAME answers both families.
    #[inline]
    pub fn answers_family(&self, v6: bool) -> bool {
        self.cname.is_some() || !self.family(v6).is_empty()
    }
}

#[derive(Debug)]
pub struct Target {
    pub addr: IpAddr,
    pub weight: u32,
    /// Index into `GslbSet::probes`; `None` when the target is not checked (always up).
    pub probe: Option<usize>,
    /// The A or AAAA record, pre-serialised with the record TTL.
    pub tail: RrTail,
}

/// A health check definition. Two checks with equal fields are the same check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CheckSpec {
    pub kind: CheckKind,
    pub port: u16,
    pub path: String,
    pub host: Option<String>,
    /// Accepted status codes; empty means any 2xx or 3xx.
    pub expect: Vec<u16>,
    pub body_contains: Option<String>,
    pub insecure: bool,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
}

/// One probe: an address checked with one definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Probe {
    pub addr: IpAddr,
    pub check: CheckSpec,
    /// The check's name where it was first defined (for display).
    pub check_name: String,
}
