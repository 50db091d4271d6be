//! Tests for `LocationDb` on mmdb-writer-built databases and MaxMind's test databases.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use super::{Location, LocationDb, SubdivisionCode};
use crate::geo::error::GeoError;
use crate::geo::prefix_table::PrefixTable;
use crate::geo::testdb::{write_location_db, write_location_db_v4, LocationSpec, TempDir};

const CITY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoLite2-City-Test.mmdb"
);
const COUNTRY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoLite2-Country-Test.mmdb"
);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn spec<'a>(
    country: Option<&'a str>,
    registered_country: Option<&'a str>,
    continent: Option<&'a str>,
    subdivision: Option<&'a str>,
) -> LocationSpec<'a> {
    LocationSpec {
        country,
        registered_country,
        continent,
        subdivision,
    }
}

fn entries() -> Vec<(IpNet, LocationSpec<'static>)> {
    vec![
        // Deliberately not sorted: the writer helper inserts parents first.
        (
            "5.6.7.0/24".parse().unwrap(),
            spec(Some("FR"), Some("DE"), Some("EU"), None),
        ),
        (
            "5.6.0.0/16".parse().unwrap(),
            spec(None, Some("de"), Some("EU"), None),
        ),
        (
            "1.2.3.0/24".parse().unwrap(),
            spec(Some("us"), Some("US"), Some("NA"), Some("ca")),
        ),
        ("9.9.9.0/24".parse().unwrap(), LocationSpec::default()),
        (
            "10.0.0.0/8".parse().unwrap(),
            spec(Some("USA"), None, Some("N"), Some("TOOLONG")),
        ),
        (
            "2001:db8::/32".parse().unwrap(),
            spec(Some("JP"), None, Some("AS"), Some("13")),
        ),
    ]
}

fn built(v4_only: bool) -> (TempDir, LocationDb) {
    let dir = TempDir::new("geo-location").unwrap();
    let path = dir.join("loc.mmdb");
    if v4_only {
        let v4: Vec<_> = entries()
            .into_iter()
            .filter(|(n, _)| matches!(n, IpNet::V4(_)))
            .collect();
        write_location_db_v4(&path, &v4).unwrap();
    } else {
        write_location_db(&path, &entries()).unwrap();
    }
    let db = LocationDb::open(&path).unwrap();
    (dir, db)
}

/// `(country, continent, subdivision, prefix_len)` as strings.
fn summary(l: &Location) -> (Option<&str>, Option<&str>, Option<&str>, u8) {
    (
        l.country_str(),
        l.continent_str(),
        l.subdivision.as_ref().map(SubdivisionCode::as_str),
        l.prefix_len,
    )
}

#[test]
fn built_db_fields_and_prefix_lengths() {
    for v4_only in [false, true] {
        let (_dir, db) = built(v4_only);
        let l = db.lookup(ip("1.2.3.4"));
        assert_eq!(
            summary(&l),
            (Some("US"), Some("NA"), Some("CA"), 24),
            "v4_only={v4_only}"
        );
        assert!(l.is_subdivision("US-CA") && l.is_subdivision("us-ca"));
        assert!(
            !l.is_subdivision("US-WA") && !l.is_subdivision("CA") && !l.is_subdivision("GB-CA")
        );
        assert!(l.is_country("us") && l.is_continent("NA") && !l.is_continent("EU"));
        // Nested prefix overrides its parent; country falls back to registered_country.
        assert_eq!(
            summary(&db.lookup(ip("5.6.7.8"))),
            (Some("FR"), Some("EU"), None, 24)
        );
        // 5.6.8.1 is in the /16 but the tree splits around 5.6.7.0/24: block 5.6.8.0/21.
        assert_eq!(
            summary(&db.lookup(ip("5.6.8.1"))),
            (Some("DE"), Some("EU"), None, 21)
        );
        // An empty record is data with nothing in it.
        assert_eq!(db.lookup(ip("9.9.9.9")), Location::unknown(24));
        // Malformed codes are dropped rather than truncated.
        assert_eq!(summary(&db.lookup(ip("10.1.1.1"))), (None, None, None, 8));
        // Not in the database: the empty block around the address.
        assert_eq!(db.lookup(ip("100.0.0.1")), Location::unknown(2));
        assert_eq!(db.lookup(ip("200.1.1.1")), Location::unknown(1));
        // IPv4-mapped IPv6 is looked up as IPv4, with an IPv4 prefix length.
        assert_eq!(db.lookup(ip("::ffff:1.2.3.4")), db.lookup(ip("1.2.3.4")));
        assert_eq!(db.lookup(ip("::ffff:5.6.8.1")).prefix_len, 21);
    }
}

#[test]
fn built_db_ipv6() {
    let (_dir, db) = built(false);
    let l = db.lookup(ip("2001:db8:1::1"));
    assert_eq!(summary(&l), (Some("JP"), Some("AS"), Some("13"), 32));
    assert!(l.is_subdivision("JP-13"));
    // IPv6 in an IPv4-only database: nothing, for the whole IPv6 space.
    let (_dir, db) = built(true);
    assert_eq!(db.lookup(ip("2001:db8:1::1")), Location::unknown(0));
}

#[test]
fn subdivision_code_parsing() {
    assert_eq!(SubdivisionCode::new("eng").unwrap().as_str(), "ENG");
    assert_eq!(
        format!("{:?}", SubdivisionCode::new("13").unwrap()),
        "\"13\""
    );
    for bad in ["", "ABCD", "C-A", "é"] {
        assert!(SubdivisionCode::new(bad).is_none(), "{bad}");
    }
}

#[test]
fn open_errors_name_the_file() {
    let err = LocationDb::open("/nonexistent/dir/x.mmdb").unwrap_err();
    assert!(matches!(err, GeoError::Open { .. }));
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/dir/x.mmdb"), "{msg}");
    let dir = TempDir::new("geo-location-bad").unwrap();
    let bad = dir.join("bad.mmdb");
    std::fs::write(&bad, b"this is not a MaxMind database at all").unwrap();
    let msg = LocationDb::open(&bad).unwrap_err().to_string();
    assert!(
        msg.contains("bad.mmdb") && msg.len() > bad.as_os_str().len() + 30,
        "{msg}"
    );
}

#[test]
fn maxmind_city_test_db() {
    let db = LocationDb::open(CITY_DB).unwrap();
    assert_eq!(db.database_type(), "GeoLite2-City");
    assert_eq!(db.path(), Path::new(CITY_DB));
    let l = db.lookup(ip("81.2.69.161"));
    assert_eq!(summary(&l), (Some("GB"), Some("EU"), Some("ENG"), 27));
    assert!(l.is_subdivision("GB-ENG"));
    assert_eq!(
        summary(&db.lookup(ip("216.160.83.57"))),
        (Some("US"), Some("NA"), Some("WA"), 29)
    );
    // Two subdivisions (ENG/WBK): the first one is reported.
    assert_eq!(
        summary(&db.lookup(ip("2.125.160.218"))),
        (Some("GB"), Some("EU"), Some("ENG"), 29)
    );
    assert_eq!(
        summary(&db.lookup(ip("2a02:d500::1"))),
        (None, Some("EU"), None, 29)
    );
    assert_eq!(
        summary(&db.lookup(ip("2001:218::1"))),
        (Some("JP"), Some("AS"), None, 32)
    );
    assert_eq!(db.lookup(ip("::ffff:81.2.69.161")), l);
    let miss = db.lookup(ip("127.0.0.1"));
    assert_eq!(summary(&miss).0, None);
    assert!(miss.prefix_len < 32);
}

#[test]
fn maxmind_country_test_db() {
    let db = LocationDb::open(COUNTRY_DB).unwrap();
    assert_eq!(
        summary(&db.lookup(ip("81.2.69.161"))),
        (Some("GB"), Some("EU"), None, 27)
    );
    assert_eq!(
        summary(&db.lookup(ip("50.114.0.1"))),
        (Some("US"), Some("NA"), None, 22)
    );
}

/// Every leaf of the search tree (with or without data): both ends report the leaf's
/// prefix length, and a `PrefixTable` over the data networks agrees on scopes.
#[test]
fn prefix_len_matches_every_tree_leaf_and_prefix_table_scope() {
    for path in [CITY_DB, COUNTRY_DB] {
        let db = LocationDb::open(path).unwrap();
        let reader = maxminddb::Reader::open_readfile(path).unwrap();
        let opts = maxminddb::WithinOptions::default().include_networks_without_data();
        let mut leaves = Vec::new();
        for r in reader.networks(opts).unwrap() {
            let r = r.unwrap();
            let n = r.network().unwrap();
            let net = IpNet::new(n.network(), n.prefix()).unwrap();
            leaves.push((net, r.has_data()));
        }
        assert!(leaves.len() > 200, "{}", leaves.len());
        let table: PrefixTable<usize> = leaves
            .iter()
            .enumerate()
            .filter(|(_, (_, has))| *has)
            .map(|(i, (net, _))| (*net, i))
            .collect();
        let mut checked = 0;
        for (i, &(net, has_data)) in leaves.iter().enumerate() {
            // Skip the IPv4-compatible ::a.b.c.d space; it is reported in IPv4 form.
            if matches!(net, IpNet::V6(n) if n.prefix_len() >= 96 && u128::from(n.network()) >> 32 == 0)
            {
                continue;
            }
            for addr in [net.network(), net.broadcast()] {
                let loc = db.lookup(addr);
                assert_eq!(loc.prefix_len, net.prefix_len(), "{addr} in {net}");
                let t = table.lookup(addr);
                if has_data {
                    assert_eq!(t.most_specific().map(|m| m.value), Some(i));
                    assert_eq!(t.scope, net.prefix_len(), "{addr} in {net}");
                } else {
                    assert!(
                        t.is_empty() && t.scope <= net.prefix_len(),
                        "{addr} in {net}"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 400);
    }
}
