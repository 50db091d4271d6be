//! The reload preview is exact: for random configurations and random edits of regions
//! (networks, lists, countries, continents, subdivisions, ASNs, ISPs), pools (added,
//! removed, renamed with their region, targets of each family, fallbacks) and `default`,
//! every client whose answering pool changes (as the real selector, all targets up, says)
//! lies in a reported range with that move, and every reported range really moves.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::dns::query::{TYPE_A, TYPE_AAAA};
use crate::geo::classes::spans::IPV4_MAPPED;
use crate::geo::testdb::{self, LocationSpec, TempDir};
use crate::health::HealthView;
use crate::select::select;

mod names;

const REGIONS: [&str; 5] = ["r0", "r1", "r2", "r3", "r4"];
const COUNTRIES: [(&str, &str, &str); 4] = [
    ("CN", "AS", "BJ"),
    ("DE", "EU", "BE"),
    ("US", "NA", "CA"),
    ("FR", "EU", "IDF"),
];

/// Where clients (their database networks) and data centres are: [latitude, longitude].
const PLACES: [(f64, f64); 5] = [
    (50.1, 8.7),
    (35.7, 139.7),
    (40.7, -74.0),
    (-33.9, 151.2),
    (1.3, 103.8),
];
/// The data centres a `nearest` record may have.
const DCS: [&str; 3] = ["dc0", "dc1", "dc2"];

/// A prefix inside 10.0.0.0/16 or 2001:db8::/48, as in the class table tests.
fn net(v6: bool, a: u32, len: u8) -> IpNet {
    if v6 {
        let addr = (0x2001_0db8u128 << 96) | (u128::from(a) << 64);
        IpNet::new(IpAddr::V6(addr.into()), 32 + len)
            .unwrap()
            .trunc()
    } else {
        IpNet::new(IpAddr::V4((0x0a00_0000 | a).into()), len)
            .unwrap()
            .trunc()
    }
}

fn nets() -> impl Strategy<Value = Vec<IpNet>> {
    prop::collection::vec(
        (prop::bool::weighted(0.3), 0u32..65536, 16u8..=26).prop_map(|(v6, a, l)| net(v6, a, l)),
        1..4,
    )
}

/// One rule of a region, as JSON (a `networks_file` rule carries its list's lines).
#[derive(Debug, Clone)]
enum Rule {
    Networks(Vec<IpNet>),
    File(Vec<IpNet>),
    Countries(Vec<usize>),
    Continent(usize),
    Subdivision(usize),
    Asns(Vec<u32>),
    Isp,
    CountryAsn(usize, u32),
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![
        nets().prop_map(Rule::Networks),
        nets().prop_map(Rule::File),
        prop::collection::vec(0..COUNTRIES.len(), 1..3).prop_map(Rule::Countries),
        (0..COUNTRIES.len()).prop_map(Rule::Continent),
        (0..COUNTRIES.len()).prop_map(Rule::Subdivision),
        prop::collection::vec(1u32..5, 1..3).prop_map(Rule::Asns),
        Just(Rule::Isp),
        (0..COUNTRIES.len(), 1u32..5).prop_map(|(c, a)| Rule::CountryAsn(c, a)),
    ]
}

#[derive(Debug, Clone)]
struct PoolSpec {
    v4: usize,
    v6: usize,
    fallback: Vec<String>,
}

/// Regions (name → rules) and the pools of the one GSLB record `web`, which may be
/// `nearest` with data centres (name → place, pool).
#[derive(Debug, Clone)]
struct Cfg {
    regions: BTreeMap<String, Vec<Rule>>,
    pools: BTreeMap<String, PoolSpec>,
    nearest: bool,
    dcs: BTreeMap<String, (usize, PoolSpec)>,
}

fn dc() -> impl Strategy<Value = (usize, PoolSpec)> {
    (0..PLACES.len(), pool())
}

fn pool() -> impl Strategy<Value = PoolSpec> {
    (
        0usize..3,
        0usize..3,
        prop::collection::vec(prop::sample::select(&REGIONS[..]), 0..3),
    )
        // A pool needs a target, of either family.
        .prop_map(|(v4, v6, f)| PoolSpec {
            v4: if v4 + v6 == 0 { 1 } else { v4 },
            v6,
            fallback: f.into_iter().map(str::to_string).collect(),
        })
}

fn cfg() -> impl Strategy<Value = Cfg> {
    (
        prop::collection::btree_map(
            prop::sample::select(&REGIONS[..]).prop_map(str::to_string),
            prop::collection::vec(rule(), 1..3),
            1..5,
        ),
        prop::collection::btree_map(
            prop::sample::select(&REGIONS[..]).prop_map(str::to_string),
            pool(),
            0..5,
        ),
        pool(),
        any::<bool>(),
        prop::collection::btree_map(
            prop::sample::select(&DCS[..]).prop_map(str::to_string),
            dc(),
            0..3,
        ),
    )
        .prop_map(|(regions, mut pools, default, nearest, dcs)| {
            pools.insert("default".into(), default);
            Cfg {
                regions,
                pools,
                nearest,
                dcs,
            }
        })
}

/// One edit of a configuration.
#[derive(Debug, Clone)]
enum Edit {
    Rules(usize, Vec<Rule>),
    RemoveRegion(usize),
    /// Renames a region and its pool (both must exist; the new name must be free).
    Rename(usize, usize),
    Pool(usize, PoolSpec),
    RemovePool(usize),
    Default(PoolSpec),
    Nearest(bool),
    /// Adds, moves or replaces a data centre.
    Dc(usize, usize, PoolSpec),
    RemoveDc(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..REGIONS.len(), prop::collection::vec(rule(), 1..3))
            .prop_map(|(r, v)| Edit::Rules(r, v)),
        (0..REGIONS.len()).prop_map(Edit::RemoveRegion),
        (0..REGIONS.len(), 0..REGIONS.len()).prop_map(|(a, b)| Edit::Rename(a, b)),
        (0..REGIONS.len(), pool()).prop_map(|(r, p)| Edit::Pool(r, p)),
        (0..REGIONS.len()).prop_map(Edit::RemovePool),
        pool().prop_map(Edit::Default),
        any::<bool>().prop_map(Edit::Nearest),
        (0..DCS.len(), dc()).prop_map(|(d, (place, p))| Edit::Dc(d, place, p)),
        (0..DCS.len()).prop_map(Edit::RemoveDc),
    ]
}

impl Cfg {
    fn apply(&mut self, e: &Edit) {
        match e {
            Edit::Rules(r, rules) => {
                self.regions.insert(REGIONS[*r].into(), rules.clone());
            }
            Edit::RemoveRegion(r) => {
                self.regions.remove(REGIONS[*r]);
            }
            Edit::Rename(a, b) => {
                let (a, b) = (REGIONS[*a].to_string(), REGIONS[*b].to_string());
                if self.regions.contains_key(&b) || self.pools.contains_key(&b) {
                    return;
                }
                if let Some(rules) = self.regions.remove(&a) {
                    self.regions.insert(b.clone(), rules);
                }
                if let Some(p) = self.pools.remove(&a) {
                    self.pools.insert(b.clone(), p);
                }
                for p in self.pools.values_mut() {
                    for f in &mut p.fallback {
                        if *f == a {
                            *f = b.clone();
                        }
                    }
                }
            }
            Edit::Pool(r, p) => {
                self.pools.insert(REGIONS[*r].into(), p.clone());
            }
            Edit::RemovePool(r) => {
                self.pools.remove(REGIONS[*r]);
            }
            Edit::Default(p) => {
                self.pools.insert("default".into(), p.clone());
            }
            Edit::Nearest(on) => self.nearest = *on,
            Edit::Dc(d, place, p) => {
                self.dcs.insert(DCS[*d].into(), (*place, p.clone()));
            }
            Edit::RemoveDc(d) => {
                self.dcs.remove(DCS[*d]);
            }
        }
    }

    /// Drops what would make the configuration invalid: pools of regions that do not
    /// exist, fallbacks to pools that do not exist.
    fn valid(mut self) -> Cfg {
        let regions = &self.regions;
        self.pools
            .retain(|name, _| name == "default" || regions.contains_key(name));
        let names: Vec<String> = self.pools.keys().cloned().collect();
        for (name, p) in &mut self.pools {
            p.fallback.retain(|f| f != name && names.contains(f));
            p.fallback.dedup();
        }
        for (_, p) in self.dcs.values_mut() {
            p.fallback.retain(|f| names.contains(f));
            p.fallback.dedup();
        }
        // Data centres only with `nearest`, and `nearest` only with some.
        self.nearest &= !self.dcs.is_empty();
        if !self.nearest {
            self.dcs.clear();
        }
        self
    }

    /// Writes `dir/geo` (regions and lists next to the shared databases) and `dir/zones`,
    /// and loads them.
    fn load(&self, dir: &TempDir, dbs: &std::path::Path) -> Snapshot {
        let geo = dir.join("geo");
        let zones = dir.join("zones");
        std::fs::create_dir_all(geo.join("lists")).unwrap();
        std::fs::create_dir_all(&zones).unwrap();
        let mut regions = serde_json::Map::new();
        for (name, rules) in &self.regions {
            let rules: Vec<Value> = rules
                .iter()
                .enumerate()
                .map(|(i, r)| match r {
                    Rule::Networks(n) => json!({ "networks": n }),
                    Rule::File(n) => {
                        let file = format!("lists/{name}-{i}.txt");
                        let text: String = n.iter().map(|n| format!("{n}\n")).collect();
                        std::fs::write(geo.join(&file), format!("# list\n{text}")).unwrap();
                        json!({ "networks_file": file })
                    }
                    Rule::Countries(c) => {
                        json!({ "countries": c.iter().map(|&c| COUNTRIES[c].0).collect::<Vec<_>>() })
                    }
                    Rule::Continent(c) => json!({ "continents": [COUNTRIES[*c].1] }),
                    Rule::Subdivision(c) => {
                        json!({ "subdivisions": [format!("{}-{}", COUNTRIES[*c].0, COUNTRIES[*c].2)] })
                    }
                    Rule::Asns(a) => json!({ "asns": a }),
                    Rule::Isp => json!({ "isps": ["carrier three"] }),
                    Rule::CountryAsn(c, a) => json!({ "countries": [COUNTRIES[*c].0], "asns": [a] }),
                })
                .collect();
            regions.insert(name.clone(), Value::Array(rules));
        }
        let regions = json!({
            "version": 1,
            "databases": { "location": dbs.join("loc.mmdb"), "asn": dbs.join("asn.mmdb") },
            "regions": regions,
        });
        std::fs::write(geo.join("regions.json"), regions.to_string()).unwrap();
        let dcs = self
            .dcs
            .iter()
            .map(|(n, (place, p))| (n, p, Some(PLACES[*place])));
        let pools: serde_json::Map<String, Value> = self
            .pools
            .iter()
            .map(|(n, p)| (n, p, None))
            .chain(dcs)
            .enumerate()
            .map(|(i, (name, p, at))| {
                let mut targets: Vec<String> = (0..p.v4)
                    .map(|t| format!("192.0.2.{}", i * 4 + t + 1))
                    .collect();
                targets.extend((0..p.v6).map(|t| format!("2001:db8:ffff::{}", i * 4 + t + 1)));
                let mut pool = json!({ "targets": targets, "fallback": p.fallback });
                if let Some((lat, lon)) = at {
                    pool["coordinates"] = json!([lat, lon]);
                }
                (name.clone(), pool)
            })
            .collect();
        let zone = json!({
            "version": 1, "origin": "t.test.",
            "soa": { "mname": "ns.t.test.", "rname": "h.t.test.", "serial": 1, "refresh": 1,
                     "retry": 1, "expire": 1, "minimum": 1 },
            "records": { "@": { "NS": ["ns.t.test."] }, "ns": { "A": ["192.0.2.250"] },
                         "www": { "gslb": "web" } },
            "gslb": { "web": { "nearest": self.nearest, "pools": pools } },
        });
        std::fs::write(zones.join("t.test.json"), zone.to_string()).unwrap();
        let paths = Paths { zones, geo };
        let snapshot = config::load(&paths).unwrap_or_else(|p| panic!("{p}\n{self:?}"));
        config::testing::assert_files_match_schema(&paths);
        snapshot
    }
}

/// Writes the location and ASN databases both configurations use: each location network
/// somewhere in `PLACES` or nowhere known (`place` out of range), and one known place
/// always (a database without coordinates cannot serve `nearest`).
fn write_dbs(dir: &TempDir, locs: &[(IpNet, usize, usize)], asns: &[(IpNet, u32)]) {
    let always = ("10.0.128.0/24".parse().unwrap(), 0, 0);
    let mut l: Vec<(IpNet, LocationSpec<'_>)> = locs
        .iter()
        .chain([&always])
        .map(|&(n, c, place)| {
            let (country, continent, sub) = COUNTRIES[c];
            let spec = LocationSpec {
                country: Some(country),
                registered_country: None,
                continent: Some(continent),
                subdivision: Some(sub),
                coordinates: PLACES.get(place).copied(),
            };
            (n, spec)
        })
        .collect();
    l.sort_by_key(|(n, _)| n.prefix_len());
    testdb::write_location_db(&dir.join("loc.mmdb"), &l).unwrap();
    let mut a: Vec<(IpNet, u32, &str)> = asns
        .iter()
        .map(|&(n, asn)| (n, asn, if asn == 3 { "Carrier Three" } else { "Other" }))
        .collect();
    a.sort_by_key(|(n, _, _)| n.prefix_len());
    testdb::write_asn_db(&dir.join("asn.mmdb"), &a).unwrap();
}

/// Client addresses near the interesting places, plus anywhere, as in the class table tests.
fn client() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..65536).prop_map(|a| IpAddr::V4((0x0a00_0000 | a).into())),
        any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
        (0u128..1 << 80).prop_map(|a| IpAddr::V6(((0x2001_0db8u128 << 96) | a).into())),
        any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
        (0u128..1 << 40).prop_map(|a| IpAddr::V6(((0xFFFEu128 << 32) + a).into())),
        (any::<u16>(), 0u8..3).prop_map(|(a, which)| {
            let v4 = u128::from(0x0a00_0000 | u32::from(a));
            IpAddr::V6(
                match which {
                    0 => (0x2001u128 << 112) | (v4 << 64),
                    1 => (0x2002u128 << 112) | (v4 << 80),
                    _ => v4,
                }
                .into(),
            )
        }),
    ]
}

/// A reported range: (IPv6 clients, first, last, from, to).
type Reported = (bool, u128, u128, Option<String>, Option<String>);

fn key(a: IpAddr) -> (bool, u128) {
    match a {
        IpAddr::V4(a) => (false, u32::from(a).into()),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

fn ip(v6: bool, a: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(a.into())
    } else {
        IpAddr::V4((a as u32).into())
    }
}

/// The pool the real selector picks for `client`, every target up.
fn selected(snap: &Snapshot, client: IpAddr, qtype: u16) -> Option<String> {
    let rec = &snap.gslb.records[0];
    let sel = select(snap, &HealthView::all_up(), rec, client, qtype, 0, None);
    sel.pool.map(|p| rec.pools[p].name.clone())
}

/// Both ends of every range of the class table `snap` uses for its record (and of the
/// coordinates, for a `nearest` record), and their neighbours.
fn table_edges(snap: &Snapshot, out: &mut Vec<IpAddr>) {
    let needs = snap.gslb.records[0].needs;
    let mut push = |v6: bool, a: u128, b: u128, max: u128| {
        out.push(ip(v6, a));
        out.push(ip(v6, b));
        if a > 0 {
            out.push(ip(v6, a - 1));
        }
        if b < max {
            out.push(ip(v6, b + 1));
        }
    };
    if let Some(db) = snap.geo.coordinates.as_ref() {
        for v6 in [false, true] {
            let max = if v6 { u128::MAX } else { u32::MAX.into() };
            for (a, b, _) in db.spans(v6).take(400) {
                push(v6, a, b, max);
            }
        }
    }
    let Some(t) = snap.geo.class_table(needs) else {
        return;
    };
    for (a, b, _) in t.spans_v4().take(400) {
        push(false, a.into(), b.into(), u32::MAX.into());
    }
    for (a, b, _) in t.spans_v6().take(400) {
        push(true, a, b, u128::MAX);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn reported_ranges_are_exactly_the_clients_whose_pool_moves(
        locs in prop::collection::vec(
            ((any::<bool>(), 0u32..65536, 16u8..=26), 0..COUNTRIES.len(), 0..PLACES.len() + 2), 0..6),
        asns in prop::collection::vec(((any::<bool>(), 0u32..65536, 16u8..=26), 1u32..5), 0..6),
        old in cfg(),
        edits in prop::collection::vec(edit(), 1..5),
        clients in prop::collection::vec(client(), 64),
    ) {
        let dbs = TempDir::new("preview-db").unwrap();
        let locs: Vec<(IpNet, usize, usize)> =
            locs.iter().map(|&((v6, a, l), c, p)| (net(v6, a, l), c, p)).collect();
        let asns: Vec<(IpNet, u32)> = asns.iter().map(|&((v6, a, l), n)| (net(v6, a, l), n)).collect();
        write_dbs(&dbs, &locs, &asns);
        let mut new = old.clone();
        for e in &edits {
            new.apply(e);
        }
        let (old, new) = (old.valid(), new.valid());
        let (od, nd) = (TempDir::new("preview-old").unwrap(), TempDir::new("preview-new").unwrap());
        let (os, ns) = (old.load(&od, dbs.path()), new.load(&nd, dbs.path()));
        let preview = compare(&os, &ns);

        for (qtype, rtype) in [(TYPE_A, "A"), (TYPE_AAAA, "AAAA")] {
            // The reported ranges of www for this type: (v6 clients, first, last, from, to).
            let reported: Vec<Reported> = preview
                .pools
                .iter()
                .filter(|p| p.name == "www.t.test." && p.rtype == rtype)
                .flat_map(|p| p.ranges.iter())
                .map(|r| {
                    let (v6, a) = key(r.start);
                    (v6, a, key(r.end).1, r.from.clone(), r.to.clone())
                })
                .collect();
            let mut probes = clients.clone();
            for &(v6, a, b, _, _) in &reported {
                let max = if v6 { u128::MAX } else { u32::MAX.into() };
                probes.extend([a, b, a + (b - a) / 2].map(|x| ip(v6, x)));
                if a > 0 { probes.push(ip(v6, a - 1)); }
                if b < max { probes.push(ip(v6, b + 1)); }
                // Ranges are coalesced: no two neighbours move the same way.
            }
            for w in reported.windows(2) {
                prop_assert!(
                    !(w[0].0 == w[1].0 && w[0].2 + 1 == w[1].1 && w[0].3 == w[1].3 && w[0].4 == w[1].4),
                    "neighbours not coalesced: {:?}", w
                );
            }
            table_edges(&os, &mut probes);
            table_edges(&ns, &mut probes);
            for c in probes {
                let (from, to) = (selected(&os, c, qtype), selected(&ns, c, qtype));
                // IPv4-mapped clients are answered (and reported) as their IPv4 address.
                let (v6, x) = match key(c) {
                    (true, x) if (IPV4_MAPPED.0..=IPV4_MAPPED.1).contains(&x) => (false, x & 0xFFFF_FFFF),
                    k => k,
                };
                let hit = reported.iter().find(|r| r.0 == v6 && r.1 <= x && x <= r.2);
                if from == to {
                    prop_assert!(hit.is_none(), "{} {}: reported {:?} but stays at {:?}", rtype, c, hit, from);
                } else {
                    let hit = hit.ok_or_else(|| TestCaseError::fail(format!(
                        "{rtype} {c}: {from:?} → {to:?} not reported; reported {reported:?}"
                    )))?;
                    prop_assert_eq!((&hit.3, &hit.4), (&from, &to), "{} {}", rtype, c);
                }
            }
        }
    }
}
