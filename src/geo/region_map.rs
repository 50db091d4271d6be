//! The compiled region map: which regions a client belongs to, how specifically, and for how
//! wide an address block that decision holds.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use super::{AsnDb, AsnInfo, Location, LocationDb, Lookup, PrefixTable, SubdivisionCode};
use crate::gslb::Needs;

/// How specific a matching rule is; lower sorts first (spec §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Specificity {
    Network,
    SubdivisionIsp,
    Subdivision,
    CountryIsp,
    Isp,
    Country,
    Continent,
    Default,
}

impl Specificity {
    /// The kind of rule that decided, as shown in metrics and explain.
    pub fn kind(self) -> &'static str {
        match self {
            Specificity::Network => "network",
            Specificity::SubdivisionIsp | Specificity::Subdivision => "subdivision",
            Specificity::CountryIsp | Specificity::Country => "country",
            Specificity::Isp => "isp",
            Specificity::Continent => "continent",
            Specificity::Default => "default",
        }
    }
}

/// One rule: every present condition must match.
#[derive(Debug, Default)]
pub struct Rule {
    pub region: u32,
    /// Position of the rule in its region (0-based), for explain.
    pub index: usize,
    pub networks: bool,
    pub asns: Vec<u32>,
    pub isps: Vec<String>,
    pub countries: Vec<[u8; 2]>,
    pub subdivisions: Vec<([u8; 2], SubdivisionCode)>,
    pub continents: Vec<[u8; 2]>,
    pub specificity: Option<Specificity>,
    /// A short description such as `networks_file lists/chinanet.txt + asns [4134]`.
    pub summary: String,
}

#[derive(Debug)]
pub struct Region {
    pub name: String,
    pub rules: Vec<u32>,
    pub needs: Needs,
}

/// Regions compiled from `geo/regions.json`.
#[derive(Debug, Default)]
pub struct RegionMap {
    pub regions: Vec<Region>,
    pub rules: Vec<Rule>,
    by_name: HashMap<String, u32>,
    /// Every `networks`/`networks_file` prefix; the value is the rule index.
    pub networks: PrefixTable<u32>,
    pub location: Option<LocationDb>,
    pub asn: Option<AsnDb>,
}

/// What is known about one client address: only the lookups some record needs.
#[derive(Debug)]
pub struct ClientInfo<'a> {
    pub addr: IpAddr,
    pub networks: Option<Lookup<'a, u32>>,
    pub location: Option<Location>,
    pub asn: Option<AsnInfo<'a>>,
}

impl ClientInfo<'_> {
    /// The number of leading address bits on which everything looked up depends.
    pub fn scope(&self) -> u8 {
        let mut s = 0;
        if let Some(n) = &self.networks {
            s = s.max(n.scope);
        }
        if let Some(l) = &self.location {
            s = s.max(l.prefix_len);
        }
        if let Some(a) = &self.asn {
            s = s.max(a.prefix_len);
        }
        s
    }
}

/// A region that a client matched, through its most specific rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionMatch {
    pub region: u32,
    pub rule: u32,
    pub specificity: Specificity,
    /// Length of the matching network prefix (network rules only).
    pub prefix_len: u8,
}

impl RegionMatch {
    /// Sort key: specificity, then longer prefix, then file order.
    pub fn key(&self) -> (Specificity, u8, u32) {
        (self.specificity, u8::MAX - self.prefix_len, self.region)
    }
}

impl RegionMap {
    pub fn new(
        regions: Vec<Region>,
        rules: Vec<Rule>,
        networks: PrefixTable<u32>,
        location: Option<LocationDb>,
        asn: Option<AsnDb>,
    ) -> Self {
        let by_name = regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i as u32))
            .collect();
        RegionMap {
            regions,
            rules,
            by_name,
            networks,
            location,
            asn,
        }
    }

    pub fn region_id(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    pub fn needs(&self, region: u32) -> Needs {
        self.regions[region as usize].needs
    }

    pub fn name(&self, region: u32) -> &str {
        &self.regions[region as usize].name
    }

    /// Looks up what `needs` asks for about `addr`.
    pub fn classify(&self, addr: IpAddr, needs: Needs) -> ClientInfo<'_> {
        ClientInfo {
            addr,
            networks: needs.networks.then(|| self.networks.lookup(addr)),
            location: if needs.location {
                self.location.as_ref().map(|db| db.lookup(addr))
            } else {
                None
            },
            asn: if needs.asn {
                self.asn.as_ref().map(|db| db.lookup(addr))
            } else {
                None
            },
        }
    }

    /// Whether `region` matches the client, and through which rule.
    pub fn match_region(&self, info: &ClientInfo<'_>, region: u32) -> Option<RegionMatch> {
        self.regions[region as usize]
            .rules
            .iter()
            .filter_map(|&r| {
                let (specificity, prefix_len) = self.match_rule(info, r)?;
                Some(RegionMatch {
                    region,
                    rule: r,
                    specificity,
                    prefix_len,
                })
            })
            .min_by_key(|m| m.key())
    }

    fn match_rule(&self, info: &ClientInfo<'_>, r: u32) -> Option<(Specificity, u8)> {
        let rule = &self.rules[r as usize];
        let mut prefix_len = 0;
        if rule.networks {
            prefix_len = info
                .networks
                .as_ref()?
                .iter()
                .filter(|m| m.value == r)
                .map(|m| m.prefix_len)
                .max()?;
        }
        if !rule.asns.is_empty() || !rule.isps.is_empty() {
            let asn = info.asn.as_ref()?;
            let by_number = asn.asn.is_some_and(|a| rule.asns.contains(&a));
            let by_name = rule.isps.iter().any(|name| asn.matches_org(name));
            if !(by_number || by_name) {
                return None;
            }
        }
        if !rule.countries.is_empty()
            || !rule.subdivisions.is_empty()
            || !rule.continents.is_empty()
        {
            let loc = info.location.as_ref()?;
            if !rule.countries.is_empty()
                && !loc.country.is_some_and(|c| rule.countries.contains(&c))
            {
                return None;
            }
            if !rule.subdivisions.is_empty()
                && !rule
                    .subdivisions
                    .iter()
                    .any(|(c, s)| loc.country == Some(*c) && loc.subdivision == Some(*s))
            {
                return None;
            }
            if !rule.continents.is_empty()
                && !loc.continent.is_some_and(|c| rule.continents.contains(&c))
            {
                return None;
            }
        }
        Some((rule.specificity?, prefix_len))
    }
}
