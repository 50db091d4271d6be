//! Nearest data centre (spec §11): after the client's regions, the pools with coordinates by
//! great-circle distance, ties in file order; clients without coordinates go to `default`;
//! the ECS scope covers the block in which the client's coordinates hold.

use proptest::prelude::*;

use super::*;

const FRA: (f64, f64) = (50.11, 8.68);
const TYO: (f64, f64) = (35.68, 139.69);
const NYC: (f64, f64) = (40.71, -74.0);
const SFO: (f64, f64) = (37.77, -122.42);

fn at<'a>(country: &'a str, continent: &'a str, c: Option<(f64, f64)>) -> LocationSpec<'a> {
    LocationSpec {
        coordinates: c,
        ..loc(country, continent, None)
    }
}

fn nearest_fixture() -> Fixture {
    let c = |(lat, lon): (f64, f64)| json!([lat, lon]);
    fixture(
        &[
            ("10.0.0.0/16", at("DE", "EU", Some(FRA))),
            ("10.1.0.0/16", at("JP", "AS", Some(TYO))),
            ("10.2.0.0/16", at("US", "NA", Some(NYC))),
            ("10.3.0.0/16", at("CN", "AS", None)),
            ("10.4.0.0/16", at("US", "NA", Some(SFO))),
        ],
        &[],
        json!({ "lab": [ { "networks": ["10.2.5.0/24"] } ] }),
        json!({ "near": { "nearest": true, "policy": "all", "check": "c", "pools": {
            "lab": { "targets": ["192.0.2.1"] },
            "fra": { "coordinates": c(FRA), "targets": ["192.0.2.10", "2001:db8::10"] },
            "tyo": { "coordinates": c(TYO), "targets": ["192.0.2.11"] },
            "nyc": { "coordinates": c(NYC), "targets": ["192.0.2.12", "2001:db8::12"] },
            "sfo": { "coordinates": c(SFO), "targets": ["192.0.2.13"] },
            "sfo-b": { "coordinates": c(SFO), "targets": ["192.0.2.14"] },
            "default": { "targets": ["192.0.2.99", "2001:db8::99"] } } } }),
    )
}

/// The health view with the named pools' targets down.
fn down(f: &Fixture, pools: &[&str]) -> HealthView {
    let rec = f.record("near");
    let mut h = HealthView::all_up();
    h.up = vec![true; f.snap.gslb.probes.len()];
    for p in rec
        .pools
        .iter()
        .filter(|p| pools.contains(&p.name.as_str()))
    {
        for t in &p.targets {
            h.up[t.probe.unwrap()] = false;
        }
    }
    h
}

/// (pool, scope), asserting both selection paths agree.
fn both(f: &Fixture, client: &str, qtype: u16, h: &HealthView) -> (String, u8, Specificity) {
    let rec = f.record("near");
    let client: IpAddr = client.parse().unwrap();
    let fast = select(&f.snap, h, rec, client, qtype, 0, None);
    let mut trace = Trace::default();
    let slow = select(&f.snap, h, rec, client, qtype, 0, Some(&mut trace));
    assert_eq!(fast, slow, "{client}: both paths");
    let name = fast
        .pool
        .map_or("NODATA".into(), |p| rec.pools[p].name.clone());
    (name, fast.scope, fast.decided_by)
}

#[test]
fn clients_go_to_the_nearest_data_centre_and_ties_keep_file_order() {
    let f = nearest_fixture();
    let up = down(&f, &[]);
    // The coordinates hold for each /16 (its neighbours are elsewhere); in 10.2.0.0/16 the
    // lab /24 narrows the block the regions hold for.
    for (client, want, scope) in [
        ("10.0.0.1", "fra", 16),
        ("10.1.2.3", "tyo", 16),
        ("10.2.0.9", "nyc", 22),
        ("10.2.128.9", "nyc", 17),
        // sfo and sfo-b are at the same place: the first listed wins.
        ("10.4.0.1", "sfo", 16),
    ] {
        let got = both(&f, client, TYPE_A, &up);
        assert_eq!(got, (want.into(), scope, Specificity::Nearest), "{client}");
    }
}

#[test]
fn regions_come_first_and_clients_without_coordinates_get_default() {
    let f = nearest_fixture();
    let up = down(&f, &[]);
    // In the lab network (New York coordinates): the region's pool, scope of the region.
    assert_eq!(
        both(&f, "10.2.5.1", TYPE_A, &up),
        ("lab".into(), 24, Specificity::Network)
    );
    // The database knows China but not where in it: default, for the whole /16.
    assert_eq!(
        both(&f, "10.3.0.1", TYPE_A, &up),
        ("default".into(), 16, Specificity::Default)
    );
    // Not in the database at all.
    let (pool, _, by) = both(&f, "192.0.2.200", TYPE_A, &up);
    assert_eq!((pool.as_str(), by), ("default", Specificity::Default));
}

#[test]
fn down_or_familyless_data_centres_give_way_to_the_next_nearest() {
    let f = nearest_fixture();
    // From Frankfurt: New York (6,200 km) before San Francisco and Tokyo (9,100+ km).
    let h = down(&f, &["fra"]);
    assert_eq!(both(&f, "10.0.0.1", TYPE_A, &h).0, "nyc");
    let h = down(&f, &["fra", "nyc"]);
    assert_eq!(both(&f, "10.0.0.1", TYPE_A, &h).0, "sfo");
    let h = down(&f, &["fra", "nyc", "sfo", "sfo-b", "tyo"]);
    assert_eq!(
        both(&f, "10.0.0.1", TYPE_A, &h),
        ("default".into(), 16, Specificity::Default)
    );
    // Tokyo has no IPv6 target: AAAA from Tokyo goes to the nearest that has one
    // (Frankfurt 9,300 km, New York 10,850 km).
    let up = down(&f, &[]);
    assert_eq!(both(&f, "10.1.0.1", TYPE_AAAA, &up).0, "fra");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Against a brute-force haversine ranking: the answer is the nearest data centre
    /// whose targets are up (ties in file order), both selection paths agree, and every
    /// address in the scope block gets the same answer.
    #[test]
    fn the_answer_is_the_nearest_healthy_data_centre(
        dcs in prop::collection::vec((-90.0f64..90.0, -180.0f64..180.0), 1..7),
        known in (-90.0f64..90.0, -180.0f64..180.0),
        others in prop::collection::vec(
            prop::option::of((-90.0f64..90.0, -180.0f64..180.0)), 3),
        down_mask in any::<u8>(),
        clients in prop::collection::vec(0u32..(4 << 14), 6),
    ) {
        // Four /18s (in 10.0.0.0/16) with random places, some unknown (not all: a database
        // without coordinates is a configuration problem).
        let places: Vec<Option<(f64, f64)>> = std::iter::once(Some(known)).chain(others).collect();
        let nets: Vec<(String, LocationSpec<'_>)> = places.iter().enumerate()
            .map(|(i, p)| (format!("10.0.{}.0/18", i * 64), at("ZZ", "EU", *p)))
            .collect();
        let nets: Vec<(&str, LocationSpec<'_>)> =
            nets.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let mut pools = serde_json::Map::new();
        for (i, (lat, lon)) in dcs.iter().enumerate() {
            pools.insert(format!("dc{i}"), json!({
                "coordinates": [lat, lon], "targets": [format!("192.0.2.{}", i + 1)] }));
        }
        pools.insert("default".into(), json!({ "targets": ["192.0.2.99"] }));
        let f = fixture(&nets, &[], json!({}),
            json!({ "near": { "nearest": true, "check": "c", "pools": pools } }));
        let rec = f.record("near");
        let mut h = HealthView::all_up();
        h.up = (0..f.snap.gslb.probes.len()).map(|i| down_mask & (1 << (i % 8)) == 0).collect();
        let haversine = |a: (f64, f64), b: (f64, f64)| {
            let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
            let dla = la2 - la1;
            let dlo = (b.1 - a.1).to_radians();
            let x = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
            2.0 * x.sqrt().asin()
        };
        for c in clients {
            let client = IpAddr::V4((0x0a00_0000 | c).into());
            let place = places[(c >> 14) as usize];
            let (pool, scope, _) = both(&f, &client.to_string(), TYPE_A, &h);
            let want = place.and_then(|p| {
                // Coordinates as the database stores them (10^-6 degree).
                let p = ((p.0 * 1e6).round() / 1e6, (p.1 * 1e6).round() / 1e6);
                let mut best: Option<(f64, usize)> = None;
                for (i, dc) in dcs.iter().enumerate() {
                    let target = &rec.pools[rec.nearest[i]].targets[0];
                    if !h.usable(target) { continue; }
                    let d = haversine(p, *dc);
                    // A near-tie within rounding error is not a test of the ranking.
                    if let Some((b, _)) = best { if (d - b).abs() < 1e-9 { return None; } }
                    if best.is_none_or(|(b, _)| d < b) { best = Some((d, i)); }
                }
                best.map(|(_, i)| format!("dc{i}"))
            });
            if place.is_none() || want.is_some() {
                let want = want.unwrap_or_else(|| "default".into());
                prop_assert_eq!(&pool, &want, "{}", client);
            }
            let block = IpNet::new(client, scope).unwrap().trunc();
            let IpNet::V4(b) = block else { unreachable!() };
            let (lo, hi) = (u32::from(b.network()), u32::from(b.broadcast()));
            let samples = (0..=16u64).map(|k| lo + ((u64::from(hi - lo) * k / 16) as u32));
            for other in samples.map(|a| IpAddr::V4(a.into())) {
                let (p2, _, _) = both(&f, &other.to_string(), TYPE_A, &h);
                prop_assert_eq!(&p2, &pool, "{} in {} (from {})", other, block, client);
            }
        }
    }
}
