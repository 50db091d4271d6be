//! The class table answers exactly what evaluating every rule per query answers, and its
//! scope is a block in which every address matches alike, never narrower than the lookups'.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::config;
use crate::geo::testdb::{self, LocationSpec, TempDir};

/// Every region `addr` matches, evaluated rule by rule (the per-query way).
fn slow(map: &RegionMap, addr: IpAddr, needs: Needs) -> (Vec<RegionMatch>, u8) {
    let info = map.classify(addr, needs);
    let mut m: Vec<RegionMatch> = (0..map.regions.len() as u32)
        .filter_map(|r| map.match_region(&info, r))
        .collect();
    m.sort_by_key(RegionMatch::key);
    (m, info.scope())
}

const COUNTRIES: [(&str, &str, &str); 4] = [
    ("CN", "AS", "BJ"),
    ("DE", "EU", "BE"),
    ("US", "NA", "CA"),
    ("FR", "EU", "IDF"),
];

/// Loads a configuration with a location DB, an ASN DB and regions of every kind, all
/// inside a small address space so that networks nest and collide.
fn load(
    locs: &[(IpNet, usize)],
    asns: &[(IpNet, u32)],
    nets: &[(IpNet, usize)],
) -> (TempDir, crate::snapshot::Snapshot) {
    let dir = TempDir::new("classes").unwrap();
    let geo = config::testing::geo_dir(&dir);
    let mut l: Vec<(IpNet, LocationSpec<'_>)> = locs
        .iter()
        .map(|&(n, c)| {
            let (country, continent, sub) = COUNTRIES[c];
            let spec = LocationSpec {
                country: Some(country),
                registered_country: None,
                continent: Some(continent),
                subdivision: Some(sub),
                coordinates: None,
            };
            (n, spec)
        })
        .collect();
    l.sort_by_key(|(n, _)| n.prefix_len());
    testdb::write_location_db(&geo.join("loc.mmdb"), &l).unwrap();
    let mut a: Vec<(IpNet, u32, &str)> = asns
        .iter()
        .map(|&(n, asn)| (n, asn, if asn == 3 { "Carrier Three" } else { "Other" }))
        .collect();
    a.sort_by_key(|(n, _, _)| n.prefix_len());
    testdb::write_asn_db(&geo.join("asn.mmdb"), &a).unwrap();
    let list = |r: usize| -> Vec<String> {
        nets.iter()
            .filter(|n| n.1 == r)
            .map(|n| n.0.to_string())
            .collect()
    };
    let mut regions = serde_json::Map::new();
    for r in 0..2 {
        if !list(r).is_empty() {
            regions.insert(format!("net{r}"), json!([{ "networks": list(r) }]));
        }
    }
    regions.insert("cn".into(), json!([{ "countries": ["CN"] }]));
    regions.insert("eu".into(), json!([{ "continents": ["EU"] }]));
    regions.insert("us-ca".into(), json!([{ "subdivisions": ["US-CA"] }]));
    regions.insert("as1".into(), json!([{ "asns": [1] }]));
    regions.insert("three".into(), json!([{ "isps": ["carrier three"] }]));
    regions.insert(
        "de-as2".into(),
        json!([{ "countries": ["DE"], "asns": [2] }, { "continents": ["NA"] }]),
    );
    let snap = config::testing::load_with(&dir, serde_json::Value::Object(regions), json!({}));
    (dir, snap)
}

/// Every set of lookups a record can need.
fn all_needs() -> impl Iterator<Item = Needs> {
    (1..8).map(Needs::from_bits)
}

/// A v4 prefix inside 10.0.0.0/16 or a v6 prefix inside 2001:db8::/48 (`a` picks the
/// address, `len` is taken relative to the enclosing block).
fn net(v6: bool, a: u32, len: u8) -> IpNet {
    if v6 {
        let addr = (0x2001_0db8u128 << 96) | (u128::from(a) << 64);
        IpNet::new(IpAddr::V6(Ipv6Addr::from(addr)), 32 + len)
            .unwrap()
            .trunc()
    } else {
        IpNet::new(IpAddr::V4((0x0a00_0000 | a).into()), len)
            .unwrap()
            .trunc()
    }
}

fn nets(max_region: usize) -> impl Strategy<Value = Vec<(bool, u32, u8, usize)>> {
    prop::collection::vec(
        (
            prop::bool::weighted(0.2),
            0u32..65536,
            16u8..=28,
            0..max_region,
        ),
        0..6,
    )
}

/// Client addresses near the interesting places, plus anywhere.
fn client() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u32..65536).prop_map(|a| IpAddr::V4((0x0a00_0000 | a).into())),
        any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
        (0u32..65536)
            .prop_map(|a| IpAddr::V6(((0x2001_0db8u128 << 96) | (u128::from(a) << 64)).into())),
        any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
        // Around the IPv4-mapped block, and the Teredo / 6to4 aliases of the IPv4 space.
        (0u128..1 << 40).prop_map(|a| IpAddr::V6(((0xFFFEu128 << 32) + a).into())),
        (any::<u32>(), 0u8..2).prop_map(|(a, which)| {
            let v4 = u128::from(0x0a00_0000 | (a & 0xFFFF));
            let v6 = if which == 0 {
                (0x2001u128 << 112) | (v4 << 64)
            } else {
                (0x2002u128 << 112) | (v4 << 80)
            };
            IpAddr::V6(v6.into())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    #[test]
    fn class_table_matches_rule_by_rule_evaluation(
        locs in nets(COUNTRIES.len()),
        asns in nets(4),
        networks in nets(2),
        clients in prop::collection::vec(client(), 24),
    ) {
        let to = |v: &[(bool, u32, u8, usize)]| -> Vec<(IpNet, usize)> {
            v.iter().map(|&(v6, a, len, x)| (net(v6, a, len), x)).collect()
        };
        let asns: Vec<(IpNet, u32)> = to(&asns).into_iter().map(|(n, x)| (n, x as u32)).collect();
        let (_dir, snap) = load(&to(&locs), &asns, &to(&networks));
        let map = &snap.geo;
        for needs in all_needs() {
            let table = ClassTable::build(map, needs);
            for &c in &clients {
                let (fast, scope) = table.lookup(c);
                let (want, lookups_scope) = slow(map, c, needs);
                prop_assert_eq!(fast, &want[..], "{} with {:?}", c, needs);
                // Never narrower than the lookups' own scope (which, for the networks table,
                // does not keep IPv6 blocks clear of the IPv4-mapped block; the class table does).
                let lookups_scope = match c.to_canonical() {
                    IpAddr::V6(a) => {
                        let a = u128::from(a);
                        lookups_scope.max(a.split_len(MAPPED)).max(a.split_len(MAPPED_END))
                    }
                    IpAddr::V4(_) => lookups_scope,
                };
                prop_assert!(scope <= lookups_scope, "{c}: scope /{scope} narrower than /{lookups_scope}");
                // Every address of the scope block matches alike: check its ends and middle.
                let block = IpNet::new(c.to_canonical(), scope).unwrap().trunc();
                for probe in [block.network(), block.broadcast(), c] {
                    prop_assert_eq!(table.lookup(probe).0, &want[..], "{} in {} (from {})", probe, block, c);
                }
            }
        }
    }
}

#[test]
fn a_coarse_map_over_many_networks_flattens_to_few_ranges() {
    // 256 /24s alternating between two countries of one continent, and one of another.
    let locs: Vec<(IpNet, usize)> = (0..256u32)
        .map(|i| {
            let n = IpNet::new(IpAddr::V4((0x0a00_0000 | i << 8).into()), 24).unwrap();
            (
                n,
                if i == 200 {
                    2
                } else if i % 2 == 0 {
                    1
                } else {
                    3
                },
            )
        })
        .collect();
    let (_dir, snap) = load(&locs, &[], &[]);
    let continents = Needs {
        location: true,
        ..Needs::default()
    };
    let t = ClassTable::build(&snap.geo, continents);
    // The /24s of DE and FR differ by country for the `cn` and `de-as2` regions' sake, but
    // not for any rule that can match without an ASN: they all fall in `eu`.
    let (m, scope) = t.lookup("10.0.1.1".parse().unwrap());
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(snap.geo.name(m[0].region), "eu");
    // 10.0.0.0–10.0.199.255 are all EU: the widest aligned block around 10.0.1.1 is /17.
    assert_eq!(scope, 17);
    let (m, scope) = t.lookup("10.0.200.7".parse().unwrap());
    assert_eq!(
        m.iter()
            .map(|m| snap.geo.name(m.region))
            .collect::<Vec<_>>(),
        ["us-ca", "de-as2"]
    );
    assert_eq!(scope, 24);
    // Outside the database: no region, and the scope spans the space between.
    let (m, scope) = t.lookup("192.0.2.1".parse().unwrap());
    assert!(m.is_empty());
    assert!(scope <= 2, "/{scope}");
    // Below 10.0.0.0, EU, US, EU, above 10.1.0.0: 256 networks became five ranges.
    assert_eq!(t.v4.ranges.len(), 5);
    // The IPv4 aliases of the IPv6 space (::/96, 2001::/32, 2002::/16) read the IPv4 table
    // instead of copying it.
    assert_eq!(t.aliases.len(), 3);
    assert!(t.v6.ranges.len() < 10, "{} IPv6 ranges", t.v6.ranges.len());
    for (alias, len) in [("::10.0.200.7", 96), ("2002:a00:c807::1", 16)] {
        let (m, scope) = t.lookup(alias.parse().unwrap());
        assert_eq!(snap.geo.name(m[0].region), "us-ca", "{alias}");
        assert_eq!(scope, len + 24, "{alias}");
    }
}

/// A span as the tests keep it: first, last (widened), matches.
type Span = (u128, u128, Vec<RegionMatch>);

/// Checks that `spans` run from 0 to `max` without gap or overlap, and returns them.
fn contiguous<K: Copy + Ord + std::fmt::Debug + Into<u128>>(
    spans: impl Iterator<Item = (K, K, Vec<RegionMatch>)>,
    max: u128,
) -> Vec<Span> {
    let mut next = 0u128;
    let mut done = false;
    let mut out = Vec::new();
    for (a, b, m) in spans {
        let (a, b): (u128, u128) = (a.into(), b.into());
        assert!(!done, "a span after the end of the space: {a:#x}");
        assert_eq!(a, next, "gap or overlap before {a:#x}");
        assert!(a <= b, "empty span {a:#x}-{b:#x}");
        if b == max {
            done = true;
        } else {
            next = b + 1;
        }
        out.push((a, b, m));
    }
    assert!(done, "the spans stop at {next:#x}");
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

    /// The spans of a class table cover each address space exactly once, and every address
    /// gets from `lookup` the matches of the span holding it.
    #[test]
    fn spans_cover_the_space_once_and_agree_with_lookup(
        locs in nets(COUNTRIES.len()),
        asns in nets(4),
        networks in nets(2),
        clients in prop::collection::vec(client(), 24),
    ) {
        let to = |v: &[(bool, u32, u8, usize)]| -> Vec<(IpNet, usize)> {
            v.iter().map(|&(v6, a, len, x)| (net(v6, a, len), x)).collect()
        };
        let asns: Vec<(IpNet, u32)> = to(&asns).into_iter().map(|(n, x)| (n, x as u32)).collect();
        let (_dir, snap) = load(&to(&locs), &asns, &to(&networks));
        for needs in all_needs() {
            let table = ClassTable::build(&snap.geo, needs);
            let v4 = contiguous(
                table.spans_v4().map(|(a, b, m)| (a, b, m.to_vec())),
                u128::from(u32::MAX),
            );
            let v6 = contiguous(table.spans_v6().map(|(a, b, m)| (a, b, m.to_vec())), u128::MAX);
            let mut probes = clients.clone();
            // Both ends of every span, and the ends of the IPv4-mapped block.
            for &(a, b, _) in &v4 {
                probes.extend([a, b].map(|x| IpAddr::V4((x as u32).into())));
            }
            for &(a, b, _) in v6.iter().take(2000) {
                probes.extend([a, b].map(|x| IpAddr::V6(x.into())));
            }
            probes.extend([spans::IPV4_MAPPED.0, spans::IPV4_MAPPED.1].map(|x| IpAddr::V6(x.into())));
            for c in probes {
                let (list, x): (&[Span], u128) = match c {
                    IpAddr::V4(a) => (&v4, u32::from(a).into()),
                    IpAddr::V6(a) => (&v6, u128::from(a)),
                };
                let i = list.partition_point(|s| s.1 < x);
                prop_assert_eq!(&list[i].2[..], table.lookup(c).0, "{} with {:?}", c, needs);
            }
        }
    }
}
