//! End-to-end tests of CNAME pools and nearest data centres (spec §11) against the real
//! `gslbd serve`: answers over UDP and TCP with ECS, CNAMEs followed inside our zones, the
//! nearest data centre checked against `maxminddb`'s own coordinates and an independent
//! haversine, black-box sampling of every ECS scope, and the configuration problems.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use serde_json::json;

use common::geo::*;
use common::*;

const CITY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoLite2-City-Test.mmdb"
);

/// Data centres of the `near` record: name and [latitude, longitude].
const DCS: [(&str, f64, f64); 4] = [
    ("ams", 52.37, 4.9),
    ("tyo", 35.68, 139.69),
    ("sea", 47.6, -122.3),
    ("tyo-2", 35.68, 139.69),
];

/// `example.org.`: `www` with CNAME pools (one out of our zones, one into them), `near`
/// with data centres, `static` the in-zone alias target.
fn fixture() -> Zones {
    let z = Zones::new();
    write_regions(
        &z,
        json!({
            "china":  [ { "countries": ["CN"] } ],
            "europe": [ { "continents": ["EU"] } ],
            "lab":    [ { "networks": ["10.0.0.0/8"] } ]
        }),
        &[],
    );
    let mut pools = serde_json::Map::new();
    for (i, (name, lat, lon)) in DCS.iter().enumerate() {
        pools.insert(
            name.to_string(),
            json!({ "coordinates": [lat, lon],
                    "targets": [format!("198.51.100.{}", i + 1), format!("2001:db8:d::{}", i + 1)] }),
        );
    }
    pools.insert("lab".into(), json!({ "targets": ["10.9.9.9"] }));
    pools.insert("default".into(), json!({ "targets": ["192.0.2.99"] }));
    write_zone(
        &z,
        "example.org.",
        json!({
            "www": { "gslb": "web" },
            "near": { "gslb": "near" },
            "static": { "A": ["192.0.2.50"], "AAAA": ["2001:db8::50"] }
        }),
        json!({
            "web": { "ttl": 30, "pools": {
                "europe": { "cname": "edge.cdn.example.net." },
                "china": { "cname": "static" },
                "default": { "targets": ["192.0.2.1", "2001:db8::1"] } } },
            "near": { "nearest": true, "policy": "all", "pools": pools }
        }),
    );
    z
}

fn cnames(m: &Message) -> Vec<(String, String)> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some((r.name.to_string(), c.0.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn cname_pools_answer_their_alias_and_aliases_into_our_zones_are_followed() {
    let z = fixture();
    let s = Server::start(z.zones_dir(), z.geo_dir(), &["--admin", "127.0.0.1:0"]);
    for via in BOTH {
        for rtype in [RecordType::A, RecordType::AAAA] {
            // Europe (London): the CDN's alias, out of our zones, not followed.
            let r = ask_ecs(s.addr(), via, "www.example.org.", rtype, "81.2.69.161", 32);
            assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
            assert!(r.authoritative, "{r}");
            assert_eq!(
                cnames(&r),
                [("www.example.org.".into(), "edge.cdn.example.net.".into())],
                "{r}"
            );
            assert_eq!(r.answers.len(), 1, "{r}");
            assert_eq!(r.answers[0].ttl, 30, "the record's TTL: {r}");
            assert!(echoed_scope(&r, "81.2.69.161", 32) > 0, "{r}");
            // China: the alias is ours, so its addresses follow in the same answer.
            let r = ask_ecs(s.addr(), via, "www.example.org.", rtype, "175.16.199.0", 32);
            assert_eq!(
                cnames(&r),
                [("www.example.org.".into(), "static.example.org.".into())],
                "{r}"
            );
            let want = match rtype {
                RecordType::A => ip("192.0.2.50"),
                _ => ip("2001:db8::50"),
            };
            assert_eq!(addr_list(&r), [want], "{r}");
            // Elsewhere: the default pool's addresses.
            let r = ask_ecs(s.addr(), via, "www.example.org.", rtype, "8.8.8.8", 32);
            assert!(cnames(&r).is_empty(), "{r}");
            assert_eq!(addr_list(&r).len(), 1, "{r}");
        }
        // A CNAME query gets what a CNAME pool answers that client, and NODATA where the
        // answer is addresses.
        let r = ask_ecs(
            s.addr(),
            via,
            "www.example.org.",
            RecordType::CNAME,
            "81.2.69.161",
            32,
        );
        assert_eq!(cnames(&r).len(), 1, "{r}");
        let r = ask_ecs(
            s.addr(),
            via,
            "www.example.org.",
            RecordType::CNAME,
            "8.8.8.8",
            32,
        );
        assert_eq!(r.response_code, ResponseCode::NoError, "{r}");
        assert!(r.answers.is_empty(), "{r}");
    }
    // dig agrees on the wire.
    if let Some(out) = dig_short(s.addr(), "www.example.org.", "81.2.69.161/32") {
        assert_eq!(out.trim(), "edge.cdn.example.net.", "{out}");
    }
    // Metrics: 2 transports x (2 types x 2 aliases + 1 CNAME query) = 10 alias answers (+1
    // from dig), counted by pool and decider too.
    let m = common::metrics::scrape_until(s.admin_addr(), |m| {
        m.get("gslbd_cname_answers_total", &[]).unwrap_or(0.0) >= 10.0
    });
    let n = m.must("gslbd_cname_answers_total", &[]);
    assert!(
        n == 10.0 || n == 11.0,
        "{}",
        m.family("gslbd_cname_answers_total")
    );
    let europe = m.must(
        "gslbd_answers_total",
        &[("pool", "europe"), ("decided_by", "continent")],
    );
    assert!(europe >= 6.0, "{}", m.family("gslbd_answers_total"));

    // A CNAME pool has no targets to probe; it is taken out by draining the pool.
    let (code, body) = s.http("POST", "/v1/pools/web/europe/drain", None);
    assert_eq!(code, 200, "{body}");
    let r = ask_ecs(
        s.addr(),
        Via::Udp,
        "www.example.org.",
        RecordType::A,
        "81.2.69.161",
        32,
    );
    assert!(
        cnames(&r).is_empty(),
        "drained: the default pool answers: {r}"
    );
    assert_eq!(addr_list(&r), [ip("192.0.2.1")], "{r}");
    let (code, body) = s.http("POST", "/v1/pools/web/europe/undrain", None);
    assert_eq!(code, 200, "{body}");
    let r = ask_ecs(
        s.addr(),
        Via::Udp,
        "www.example.org.",
        RecordType::A,
        "81.2.69.161",
        32,
    );
    assert_eq!(cnames(&r).len(), 1, "undrained: the alias again: {r}");
}

/// `dig +short` through ECS, when dig is installed.
fn dig_short(addr: std::net::SocketAddr, name: &str, subnet: &str) -> Option<String> {
    let out = std::process::Command::new("dig")
        .args([
            &format!("@{}", addr.ip()),
            "-p",
            &addr.port().to_string(),
            "+short",
            "+tries=1",
            &format!("+subnet={subnet}"),
            name,
            "A",
        ])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where MaxMind's own reader says `addr` is.
fn located(reader: &maxminddb::Reader<Vec<u8>>, addr: IpAddr) -> Option<(f64, f64)> {
    let city: maxminddb::geoip2::City = reader.lookup(addr).ok()?.decode().ok()??;
    Some((city.location.latitude?, city.location.longitude?))
}

/// Great-circle distance by the haversine formula (radians of arc).
fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((b.1 - a.1).to_radians() / 2.0).sin().powi(2);
    2.0 * h.sqrt().asin()
}

/// The address of the data centre a client should get: the nearest (first listed on a
/// tie), or default without coordinates; the lab region comes before either.
fn expected(reader: &maxminddb::Reader<Vec<u8>>, client: IpAddr, v6: bool) -> IpAddr {
    if let IpAddr::V4(a) = client {
        if a.octets()[0] == 10 {
            return ip("10.9.9.9");
        }
    }
    let Some(here) = located(reader, client) else {
        return ip("192.0.2.99");
    };
    let mut best = (f64::INFINITY, 0);
    for (i, (_, lat, lon)) in DCS.iter().enumerate() {
        let d = haversine(here, (*lat, *lon));
        if d < best.0 - 1e-12 {
            best = (d, i);
        }
    }
    let n = best.1 + 1;
    if v6 {
        IpAddr::V6(format!("2001:db8:d::{n}").parse::<Ipv6Addr>().unwrap())
    } else {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, n as u8))
    }
}

/// Clients: MaxMind test networks around the world, one without coordinates, the lab.
const CLIENTS: &[&str] = &[
    "81.2.69.161",
    "81.2.69.142",
    "2.125.160.216",
    "89.160.20.112",
    "175.16.199.0",
    "216.160.83.56",
    "214.78.1.1",
    "67.43.156.1",
    "202.196.224.1",
    "2001:218::1",
    "2001:480::1",
    "2a02:d280::1",
    "192.0.2.200",
    "10.1.2.3",
];

#[test]
fn clients_get_the_nearest_data_centre_by_maxminds_coordinates() {
    let reader = maxminddb::Reader::open_readfile(CITY).unwrap();
    let s = serve(fixture());
    let mut seen = std::collections::BTreeSet::new();
    for client in CLIENTS {
        let c = ip(client);
        let full = if c.is_ipv4() { 32 } else { 128 };
        for (rtype, v6) in [(RecordType::A, false), (RecordType::AAAA, true)] {
            let r = ask_ecs(s.addr(), Via::Udp, "near.example.org.", rtype, client, full);
            let want = expected(&reader, c, v6);
            let got = addr_list(&r);
            // Neither the lab (a private network, without coordinates) nor default has an
            // IPv6 target.
            if (want == ip("10.9.9.9") || want == ip("192.0.2.99")) && v6 {
                assert!(got.is_empty(), "{client} AAAA: no IPv6 in default: {r}");
                continue;
            }
            assert_eq!(got, [want], "{client} {rtype}: {r}");
            seen.insert(want);
        }
    }
    // The clients reach several data centres, the lab and default.
    assert!(seen.len() >= 5, "{seen:?}");
}

#[test]
fn every_address_in_an_echoed_scope_gets_the_same_answer() {
    let s = serve(fixture());
    for client in CLIENTS {
        let c = ip(client);
        let full = if c.is_ipv4() { 32 } else { 128 };
        for name in ["near.example.org.", "www.example.org."] {
            let r = ask_ecs(s.addr(), Via::Udp, name, RecordType::A, client, full);
            let answer = (addr_list(&r), cnames(&r));
            let scope = echoed_scope(&r, client, full);
            assert!(
                scope > 0,
                "{name} from {client}: the answer depends on the client"
            );
            for other in samples(c, scope) {
                let o = other.to_string();
                let r2 = ask_ecs(s.addr(), Via::Udp, name, RecordType::A, &o, full);
                assert_eq!(
                    (addr_list(&r2), cnames(&r2)),
                    answer,
                    "{name}: {o} is in {client}/{scope} but answered differently"
                );
            }
        }
    }
}

/// Both ends of the `scope` block around `addr`, its middle and a few addresses spread over
/// it.
fn samples(addr: IpAddr, scope: u8) -> Vec<IpAddr> {
    let (bits, value): (u32, u128) = match addr {
        IpAddr::V4(a) => (32, u128::from(u32::from(a))),
        IpAddr::V6(a) => (128, u128::from(a)),
    };
    let host = bits - u32::from(scope);
    let span = if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    let first = value & !span;
    [0, span, span / 2, span / 3, span / 7 * 5, span / 1000 + 1]
        .into_iter()
        .map(|o| first + o.min(span))
        .map(|a| match addr {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(a as u32)),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(a)),
        })
        .collect()
}

#[test]
fn explain_shows_the_alias_and_the_distances() {
    let z = fixture();
    let out = std::process::Command::new(bin())
        .args([
            "explain",
            "--client",
            "2001:218::1",
            "near.example.org.",
            "A",
        ])
        .arg("--zones")
        .arg(z.zones_dir())
        .arg("--geo")
        .arg(z.geo_dir())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    line_with(&text, "", &["coordinates: 35.68536, 139.75309"]);
    line_with(&text, "", &["tyo (nearest data centre, 5.7 km): chosen"]);
    line_with(
        &text,
        "",
        &["tyo-2 (nearest data centre, 5.7 km): not needed"],
    );
    line_with(&text, "", &["decided by: nearest"]);
    let out = std::process::Command::new(bin())
        .args([
            "explain",
            "--json",
            "--client",
            "81.2.69.161",
            "www.example.org.",
            "AAAA",
        ])
        .arg("--zones")
        .arg(z.zones_dir())
        .arg("--geo")
        .arg(z.geo_dir())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pools = v["gslb"]["pools"].as_array().unwrap();
    assert_eq!(pools[0]["cname"], "edge.cdn.example.net.", "{v:#}");
    assert_eq!(pools[0]["outcome"], "chosen: CNAME edge.cdn.example.net.");
}

#[test]
fn cname_pool_and_coordinate_mistakes_are_configuration_problems() {
    let z = Zones::new();
    write_regions(&z, json!({ "europe": [ { "continents": ["EU"] } ] }), &[]);
    write_zone(
        &z,
        "example.org.",
        json!({
            "www": { "gslb": "loop" }, "alias": { "CNAME": "www" },
            "two": { "gslb": "loop2" }, "one": { "gslb": "loop1" },
            "a": { "gslb": "both" }, "b": { "gslb": "none" }, "c": { "gslb": "coords" },
            "d": { "gslb": "lonely" }, "e": { "gslb": "named" }, "f": { "gslb": "bad" }
        }),
        json!({
            "loop": { "pools": { "europe": { "cname": "alias" },
                                  "default": { "targets": ["192.0.2.1"] } } },
            "loop1": { "pools": { "default": { "cname": "two" } } },
            "loop2": { "pools": { "europe": { "cname": "one.example.org." },
                                   "default": { "targets": ["192.0.2.1"] } } },
            "both": { "pools": { "default": { "cname": "x.example.net.",
                                               "targets": ["192.0.2.1"] } } },
            "none": { "pools": { "default": { "fallback": [] } } },
            "coords": { "pools": { "default": { "coordinates": [1, 2],
                                                 "targets": ["192.0.2.1"] } } },
            "lonely": { "nearest": true, "pools": { "default": { "targets": ["192.0.2.1"] } } },
            "named": { "nearest": true, "pools": {
                "fra": { "targets": ["192.0.2.2"] },
                "ams": { "coordinates": [52.37, 4.9], "targets": ["192.0.2.3"] },
                "default": { "targets": ["192.0.2.1"] } } },
            "bad": { "nearest": true, "pools": {
                "x": { "coordinates": [91, 0], "targets": ["192.0.2.2"] },
                "default": { "targets": ["192.0.2.1"] } } }
        }),
    );
    let err = check_fails(&z);
    let f = "example.org.json";
    line_with(
        &err,
        f,
        &[
            "gslb.loop.pools.europe.cname",
            "leads back to this record",
            "alias.example.org. -> www.example.org.",
        ],
    );
    line_with(
        &err,
        f,
        &[
            "gslb.loop1.pools.default.cname",
            "leads back",
            "gslb loop2 pool europe",
        ],
    );
    line_with(
        &err,
        f,
        &["gslb.both.pools.default", "either `targets` or a `cname`"],
    );
    line_with(
        &err,
        f,
        &[
            "gslb.none.pools.default.targets",
            "at least one target (or a `cname`)",
        ],
    );
    line_with(
        &err,
        f,
        &[
            "gslb.coords.pools.default.coordinates",
            "only by a record with",
        ],
    );
    line_with(
        &err,
        f,
        &[
            "gslb.lonely.nearest",
            "no pool of this record has `coordinates`",
        ],
    );
    line_with(
        &err,
        f,
        &[
            "gslb.named.pools.fra",
            "only a pool with `coordinates` may be named freely",
        ],
    );
    line_with(&err, f, &["gslb.bad.pools.x.coordinates", "[91, 0]"]);
    assert!(
        !err.contains("gslb.named.pools.ams"),
        "ams has coordinates: {err}"
    );

    // A Country database has no coordinates.
    let z = Zones::new();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("geo/testdata");
    std::fs::write(
        z.geo_dir().join("regions.json"),
        json!({ "version": 1,
                "databases": { "location": testdata.join("GeoLite2-Country-Test.mmdb") },
                "regions": {} })
        .to_string(),
    )
    .unwrap();
    write_zone(
        &z,
        "example.org.",
        json!({ "www": { "gslb": "web" } }),
        json!({ "web": { "nearest": true, "pools": {
            "ams": { "coordinates": [52.37, 4.9], "targets": ["192.0.2.3"] },
            "default": { "targets": ["192.0.2.1"] } } } }),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "regions.json",
        &["databases.location", "has no coordinates", "City database"],
    );
}
