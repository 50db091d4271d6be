//! Table tests of the selector: client → regions → pool → answer and ECS scope.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::json;

use super::*;
use crate::config;
use crate::dns::query::TYPE_A;
use crate::geo::testdb::{self, LocationSpec, TempDir};

/// A configuration in a temp dir: a location db, an ASN db, regions and one zone.
struct Fixture {
    _dir: TempDir,
    snap: Snapshot,
}

fn loc<'a>(country: &'a str, continent: &'a str, sub: Option<&'a str>) -> LocationSpec<'a> {
    LocationSpec {
        country: Some(country),
        registered_country: None,
        continent: Some(continent),
        subdivision: sub,
        coordinates: None,
    }
}

fn fixture(
    locations: &[(&str, LocationSpec<'_>)],
    asns: &[(&str, u32)],
    regions: serde_json::Value,
    gslb: serde_json::Value,
) -> Fixture {
    let dir = TempDir::new("select").unwrap();
    let geo = config::testing::geo_dir(&dir);
    let l: Vec<(IpNet, LocationSpec<'_>)> = locations
        .iter()
        .map(|(n, s)| (n.parse().unwrap(), *s))
        .collect();
    testdb::write_location_db(&geo.join("loc.mmdb"), &l).unwrap();
    let a: Vec<(IpNet, u32, &str)> = asns
        .iter()
        .map(|(n, asn)| (n.parse().unwrap(), *asn, "Some Carrier"))
        .collect();
    testdb::write_asn_db(&geo.join("asn.mmdb"), &a).unwrap();
    let snap = config::testing::load_with(&dir, regions, gslb);
    Fixture { _dir: dir, snap }
}

impl Fixture {
    fn record(&self, name: &str) -> &GslbRecord {
        self.snap
            .gslb
            .records
            .iter()
            .find(|r| r.name == name)
            .unwrap()
    }

    fn pick(&self, name: &str, client: &str, qtype: u16, health: &HealthView) -> (String, u8) {
        let rec = self.record(name);
        let sel = select(
            &self.snap,
            health,
            rec,
            client.parse().unwrap(),
            qtype,
            0,
            None,
        );
        let pool = sel
            .pool
            .map_or("NODATA".into(), |p| rec.pools[p].name.clone());
        (pool, sel.scope)
    }

    fn addrs(&self, name: &str, client: &str, qtype: u16, health: &HealthView) -> Vec<IpAddr> {
        let rec = self.record(name);
        let sel = select(
            &self.snap,
            health,
            rec,
            client.parse().unwrap(),
            qtype,
            0,
            None,
        );
        sel.targets
            .iter()
            .map(|&t| rec.pools[sel.pool.unwrap()].targets[t as usize].addr)
            .collect()
    }
}

fn pools(names: &[&str]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (i, n) in names.iter().enumerate() {
        m.insert(
            n.to_string(),
            json!({ "targets": [format!("192.0.2.{}", 100 + i)] }),
        );
    }
    serde_json::Value::Object(m)
}

fn specificity_fixture() -> Fixture {
    let regions = json!({
        "net":     [ { "networks": ["10.0.0.0/24"] } ],
        "gd-tel":  [ { "subdivisions": ["CN-GD"], "asns": [4134] } ],
        "gd":      [ { "subdivisions": ["CN-GD"] } ],
        "cn-tel":  [ { "countries": ["CN"], "asns": [4134] } ],
        "tel":     [ { "asns": [4134] } ],
        "cn":      [ { "countries": ["CN"] } ],
        "asia":    [ { "continents": ["AS"] } ],
        "eu":      [ { "continents": ["EU"] } ],
    });
    let all = [
        "net", "gd-tel", "gd", "cn-tel", "tel", "cn", "asia", "eu", "default",
    ];
    // Pools in an order unlike the specificity order: file order must not decide.
    let rev: Vec<&str> = all.iter().rev().copied().collect();
    fixture(
        &[
            ("10.0.0.0/16", loc("CN", "AS", Some("GD"))),
            ("10.1.0.0/16", loc("CN", "AS", None)),
            ("10.2.0.0/16", loc("DE", "EU", None)),
            ("10.3.0.0/16", loc("JP", "AS", None)),
        ],
        &[
            ("10.0.0.0/17", 4134),
            ("10.1.0.0/16", 4134),
            ("10.3.0.0/16", 4134),
        ],
        regions,
        json!({
            "all": { "policy": "all", "pools": pools(&rev) },
            "isp-or-country": { "policy": "all", "pools": pools(&["cn", "tel", "asia", "default"]) },
            "country-or-continent": { "policy": "all", "pools": pools(&["asia", "cn", "default"]) },
            "continent": { "policy": "all", "pools": pools(&["asia", "default"]) },
            "only-default": { "policy": "all", "pools": pools(&["default"]) },
        }),
    )
}

#[test]
fn specificity_order_of_the_spec() {
    let f = specificity_fixture();
    let up = HealthView::all_up();
    let table = [
        // (record, client, expected pool)
        ("all", "10.0.0.1", "net"),
        ("all", "10.0.100.1", "gd-tel"),
        ("all", "10.0.200.1", "gd"),
        ("all", "10.1.0.1", "cn-tel"),
        ("all", "10.3.0.1", "tel"),
        ("all", "10.2.0.1", "eu"),
        ("all", "192.168.1.1", "default"),
        ("isp-or-country", "10.1.0.1", "tel"),
        ("country-or-continent", "10.1.0.1", "cn"),
        ("continent", "10.1.0.1", "asia"),
        ("continent", "10.2.0.1", "default"),
    ];
    for (rec, client, want) in table {
        assert_eq!(
            f.pick(rec, client, TYPE_A, &up).0,
            want,
            "{rec} for {client}"
        );
    }
}

#[test]
fn scope_is_zero_when_the_answer_cannot_depend_on_the_client() {
    let f = specificity_fixture();
    let up = HealthView::all_up();
    assert_eq!(
        f.pick("only-default", "10.0.0.1", TYPE_A, &up),
        ("default".into(), 0)
    );
}

#[test]
fn scope_covers_nested_networks_inside_a_geoip_block() {
    // The spec's example: a networks rule 81.2.69.176/28 inside a GeoIP /27.
    let f = fixture(
        &[("81.2.69.160/27", loc("GB", "EU", Some("ENG")))],
        &[],
        json!({
            "special": [ { "networks": ["81.2.69.176/28"] } ],
            "europe": [ { "continents": ["EU"] } ],
        }),
        json!({ "web": { "policy": "all", "pools": pools(&["special", "europe", "default"]) } }),
    );
    let up = HealthView::all_up();
    let (pool, scope) = f.pick("web", "81.2.69.161", TYPE_A, &up);
    assert_eq!(pool, "europe");
    assert!(scope >= 28, "scope {scope} would cover 81.2.69.176/28");
    assert_eq!(
        f.pick("web", "81.2.69.180", TYPE_A, &up),
        ("special".into(), 28)
    );
}

#[test]
fn aaaa_falls_through_to_a_pool_with_ipv6_and_fallbacks_follow_health() {
    let f = fixture(
        &[("10.0.0.0/8", loc("CN", "AS", None))],
        &[],
        json!({ "cn": [ { "countries": ["CN"] } ], "asia": [ { "continents": ["AS"] } ] }),
        json!({
            "web": { "policy": "all", "check": "c", "pools": {
                "cn": { "targets": ["192.0.2.1", "192.0.2.2"], "fallback": ["asia"] },
                "asia": { "targets": ["192.0.2.3", "2001:db8::3"] },
                "default": { "targets": ["192.0.2.9", "2001:db8::9"] } } },
            "strict": { "policy": "all", "all_down": "nodata", "check": "c", "pools": {
                "cn": { "targets": ["192.0.2.1"] },
                "default": { "targets": ["192.0.2.9"] } } },
        }),
    );
    let up = HealthView::all_up();
    assert_eq!(f.pick("web", "10.1.1.1", TYPE_A, &up).0, "cn");
    assert_eq!(f.pick("web", "10.1.1.1", TYPE_AAAA, &up).0, "asia");
    let probe = |addr: &str| {
        f.snap
            .gslb
            .probes
            .iter()
            .position(|p| p.addr == addr.parse::<IpAddr>().unwrap())
            .unwrap()
    };
    let mut h = HealthView::all_up();
    h.up = vec![true; f.snap.gslb.probes.len()];
    h.up[probe("192.0.2.1")] = false;
    assert_eq!(
        f.addrs("web", "10.1.1.1", TYPE_A, &h),
        ["192.0.2.2".parse::<IpAddr>().unwrap()]
    );
    h.up[probe("192.0.2.2")] = false;
    assert_eq!(f.pick("web", "10.1.1.1", TYPE_A, &h).0, "asia");
    h.up[probe("192.0.2.3")] = false;
    assert_eq!(f.pick("web", "10.1.1.1", TYPE_A, &h).0, "default");
    h.up[probe("192.0.2.9")] = false;
    // Everything down: serve_all answers from the first pool in the order, ignoring health.
    let rec = f.record("web");
    let sel = select(
        &f.snap,
        &h,
        rec,
        "10.1.1.1".parse().unwrap(),
        TYPE_A,
        0,
        None,
    );
    assert!(sel.all_down);
    assert_eq!(rec.pools[sel.pool.unwrap()].name, "cn");
    assert_eq!(sel.targets.len(), 2);
    // nodata answers nothing.
    assert_eq!(f.pick("strict", "10.1.1.1", TYPE_A, &h).0, "NODATA");
    // Draining takes an address out even when its probe is up.
    let mut d = HealthView::all_up();
    d.drained.insert("192.0.2.1".parse().unwrap());
    assert_eq!(
        f.addrs("web", "10.1.1.1", TYPE_A, &d),
        ["192.0.2.2".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn nodata_for_a_family_no_pool_has_is_scope_zero() {
    let f = fixture(
        &[("10.0.0.0/8", loc("CN", "AS", None))],
        &[],
        json!({ "cn": [ { "countries": ["CN"] } ] }),
        json!({ "v4only": { "policy": "all", "pools": pools(&["cn", "default"]) } }),
    );
    let up = HealthView::all_up();
    assert_eq!(
        f.pick("v4only", "10.1.1.1", TYPE_AAAA, &up),
        ("NODATA".into(), 0)
    );
    assert_eq!(f.pick("v4only", "10.1.1.1", TYPE_A, &up), ("cn".into(), 8));
}

#[test]
fn sticky_scope_is_at_least_the_hashed_prefix() {
    let f = fixture(
        &[],
        &[],
        json!({}),
        json!({ "s": { "policy": "sticky", "pools": pools(&["default"]) } }),
    );
    let up = HealthView::all_up();
    assert_eq!(f.pick("s", "10.1.1.1", TYPE_A, &up).1, 24);
    assert_eq!(f.pick("s", "2001:db8::1", TYPE_A, &up).1, 56);
}

#[test]
fn trace_explains_the_decision() {
    let f = specificity_fixture();
    let rec = f.record("isp-or-country");
    let mut t = Trace::default();
    let up = HealthView::all_up();
    select(
        &f.snap,
        &up,
        rec,
        "10.1.0.1".parse().unwrap(),
        TYPE_A,
        0,
        Some(&mut t),
    );
    let regions: Vec<&str> = t.matched.iter().map(|m| m.region.as_str()).collect();
    assert_eq!(regions, ["tel", "cn", "asia"]);
    assert_eq!(t.pools[0].pool, "tel");
    assert_eq!(t.pools[0].outcome, "chosen");
    assert_eq!(t.decided_by, "isp");
    let text = t.to_string();
    assert!(
        text.contains("tel via rule 0 [asns [4134]] specificity Isp"),
        "{text}"
    );
}

mod cname;
mod degraded;
mod nearest;
mod props;
mod shift;
