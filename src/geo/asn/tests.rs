//! Tests for `AsnDb` on mmdb-writer-built databases and MaxMind's ASN/ISP test databases.

use std::net::IpAddr;

use ipnet::IpNet;

use super::{eq_ignore_case, AsnDb, AsnInfo};
use crate::geo::testdb::{write_asn_db, write_isp_db, IspSpec, TempDir};

const ASN_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoLite2-ASN-Test.mmdb"
);
const ISP_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoIP2-ISP-Test.mmdb"
);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn built_asn_db() {
    let dir = TempDir::new("geo-asn").unwrap();
    let path = dir.join("asn.mmdb");
    write_asn_db(
        &path,
        &[
            (net("1.0.0.128/25"), 13335, "Cloudflare, Inc."),
            (net("1.0.0.0/24"), 15169, "Google Inc."),
            (net("2001:db8::/32"), 64512, "Exämple Ünïcode GmbH"),
        ],
    )
    .unwrap();
    let db = AsnDb::open(&path).unwrap();
    assert_eq!(db.database_type(), "GeoLite2-ASN");
    let a = db.lookup(ip("1.0.0.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.isp, a.prefix_len),
        (Some(15169), Some("Google Inc."), None, 25)
    );
    assert!(a.matches_org("google inc.") && a.matches_org("GOOGLE INC."));
    assert!(!a.matches_org("Google") && !a.matches_org("Google Inc. "));
    let a = db.lookup(ip("::ffff:1.0.0.200"));
    assert_eq!((a.asn, a.prefix_len), (Some(13335), 25));
    let a = db.lookup(ip("2001:db8:ffff::1"));
    assert_eq!((a.asn, a.prefix_len), (Some(64512), 32));
    assert!(a.matches_org("EXÄMPLE ÜNÏCODE GMBH") && a.matches_org("exämple ünïcode gmbh"));
    assert!(!a.matches_org("example unicode gmbh"));
    // 1.0.1.1: outside 1.0.0.0/24 but inside the empty 1.0.1.0/24 next to it.
    assert_eq!(db.lookup(ip("1.0.1.1")), AsnInfo::unknown(24));
    assert!(!db.lookup(ip("1.0.1.1")).matches_org(""));
}

#[test]
fn built_isp_db_org_names() {
    let dir = TempDir::new("geo-isp").unwrap();
    let path = dir.join("isp.mmdb");
    let spec = IspSpec {
        asn: Some(64500),
        as_organization: Some("AS Org"),
        isp: Some("The ISP"),
        organization: Some("The Customer"),
    };
    let no_asn = IspSpec {
        asn: None,
        as_organization: None,
        isp: Some(""),
        organization: Some("Only Org"),
    };
    write_isp_db(
        &path,
        &[
            (net("198.51.100.0/24"), spec),
            (net("203.0.113.0/24"), no_asn),
        ],
    )
    .unwrap();
    let db = AsnDb::open(&path).unwrap();
    let a = db.lookup(ip("198.51.100.7"));
    assert_eq!(a.asn, Some(64500));
    assert_eq!(
        a.org_names().collect::<Vec<_>>(),
        ["The ISP", "The Customer", "AS Org"]
    );
    for name in ["the isp", "THE CUSTOMER", "as org"] {
        assert!(a.matches_org(name), "{name}");
    }
    let b = db.lookup(ip("203.0.113.1"));
    assert_eq!(
        (b.asn, b.isp, b.organization),
        (None, None, Some("Only Org"))
    );
    assert_eq!(b.org_names().collect::<Vec<_>>(), ["Only Org"]);
}

#[test]
fn maxmind_asn_test_db() {
    let db = AsnDb::open(ASN_DB).unwrap();
    let a = db.lookup(ip("1.128.0.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(1221), Some("Telstra Pty Ltd"), 11)
    );
    assert!(a.matches_org("TELSTRA PTY LTD"));
    let a = db.lookup(ip("12.81.96.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(7018), None, 19)
    );
    let a = db.lookup(ip("2001:1700::1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(6730), Some("Sunrise Communications AG"), 27)
    );
    let miss = db.lookup(ip("127.0.0.1"));
    assert_eq!((miss.asn, miss.org_names().count()), (None, 0));
}

#[test]
fn maxmind_isp_test_db() {
    let db = AsnDb::open(ISP_DB).unwrap();
    let a = db.lookup(ip("1.128.0.1"));
    assert_eq!(a.asn, Some(1221));
    assert_eq!(
        a.org_names().collect::<Vec<_>>(),
        ["Telstra Internet", "Telstra Internet", "Telstra Pty Ltd"]
    );
    assert_eq!(a.prefix_len, 11);
    let a = db.lookup(ip("1.0.128.1"));
    assert_eq!(
        (a.asn, a.isp, a.prefix_len),
        (None, Some("TOT Public Company Limited"), 17)
    );
    assert!(a.matches_org("tot public company limited"));
}

#[test]
fn case_insensitive_equality() {
    assert!(eq_ignore_case("Akamai", "AKAMAI"));
    // Simple lower-casing, not full case folding.
    assert!(!eq_ignore_case("Straße", "STRASSE"));
    assert!(eq_ignore_case("ÖBB", "öbb"));
    assert!(!eq_ignore_case("a", "ab"));
    assert!(eq_ignore_case("", ""));
}
