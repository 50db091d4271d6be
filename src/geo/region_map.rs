//! The compiled region map: which regions a client belongs to, how specifically, and for how
//! wide an address block that decision holds.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use super::classes::ClassTable;
use super::{
    AsnDb, AsnInfo, CoordinateDb, Location, LocationDb, Lookup, PrefixTable, SubdivisionCode,
};
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
    /// Not a region: the nearest data centre of a `nearest` record (spec §11).
    Nearest,
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
            Specificity::Nearest => "nearest",
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

impl Rule {
    /// True if the rule has `asns` or `isps`.
    pub fn has_asn_condition(&self) -> bool {
        !self.asns.is_empty() || !self.isps.is_empty()
    }

    /// Whether the rule's `asns`/`isps` condition holds for `asn`; `None` if it has none.
    pub fn asn_condition(&self, asn: &AsnInfo<'_>) -> Option<bool> {
        if !self.has_asn_condition() {
            return None;
        }
        let by_number = asn.asn.is_some_and(|a| self.asns.contains(&a));
        Some(by_number || self.isps.iter().any(|name| asn.matches_org(name)))
    }
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
    /// The location database's coordinates, opened only when a record is `nearest`.
    pub coordinates: Option<CoordinateDb>,
    /// The map flattened per set of lookups ([`Needs::bits`]), for the sets records use.
    classes: [Option<Box<ClassTable>>; 8],
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
            coordinates: None,
            classes: Default::default(),
        }
    }

    /// Builds the class tables for every set of lookups in `needs` (skipping sets already
    /// built and the empty set). Called once while a configuration is compiled.
    pub fn prepare(&mut self, needs: impl IntoIterator<Item = Needs>) {
        for n in needs {
            if n.any() && self.classes[n.bits()].is_none() {
                self.classes[n.bits()] = Some(Box::new(ClassTable::build(self, n)));
            }
        }
    }

    /// Every class table built, with the lookups it was built for.
    pub fn class_tables(&self) -> impl Iterator<Item = (Needs, &ClassTable)> {
        self.classes
            .iter()
            .enumerate()
            .filter_map(|(bits, t)| Some((Needs::from_bits(bits), t.as_deref()?)))
    }

    /// The flattened map for `needs`, if [`RegionMap::prepare`] built it.
    pub fn class_table(&self, needs: Needs) -> Option<&ClassTable> {
        self.classes[needs.bits()].as_deref()
    }

    /// Every region `addr` matches using the lookups of `needs`, most specific first, and
    /// the ECS scope of that: one range lookup in the prepared class table. Without a
    /// prepared table (or with no lookups needed) nothing matches, at scope 0.
    #[inline]
    pub fn matches(&self, addr: IpAddr, needs: Needs) -> (&[RegionMatch], u8) {
        match self.class_table(needs) {
            Some(t) => t.lookup(addr),
            None => {
                debug_assert!(!needs.any(), "class table for {needs:?} not prepared");
                (&[], 0)
            }
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
        if rule.has_asn_condition() && rule.asn_condition(info.asn.as_ref()?) != Some(true) {
            return None;
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
