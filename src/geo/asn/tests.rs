//! Tests for `AsnDb` on mmdb-writer-built databases and MaxMind's ASN/ISP test databases.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use maxminddb::Reader;

use super::{eq_ignore_case, AsnDb, AsnInfo, AsnRecord};
use crate::geo::error::GeoError;
use crate::geo::location::tests::{block, samples};
use crate::geo::mmdb::FlatRecord;
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

/// What `maxminddb` itself says about `addr` (the old per-query path): the decoded record
/// (`prefix_len` 0) and the length of the database network the address is in.
fn reference(reader: &Reader<Vec<u8>>, addr: IpAddr) -> (AsnInfo<'_>, u8) {
    let addr = addr.to_canonical();
    let r = reader.lookup(addr).unwrap();
    let n = r.network().unwrap();
    let len = if n.is_ipv4() == addr.is_ipv4() {
        n.prefix()
    } else {
        0
    };
    let info = if r.has_data() {
        AsnRecord::decode(&r).unwrap()
    } else {
        AsnInfo::default()
    };
    (info, len)
}

/// Checks `db.lookup(addr)` against `maxminddb`: the same record; a block at least as wide
/// as the database network; and every sampled address of the block getting the same answer
/// from both.
fn check_block<'a>(db: &'a AsnDb, reader: &Reader<Vec<u8>>, addr: IpAddr) -> AsnInfo<'a> {
    let got = db.lookup(addr);
    let (want, net_len) = reference(reader, addr);
    assert_eq!(
        AsnInfo {
            prefix_len: 0,
            ..got
        },
        want,
        "{addr}"
    );
    assert!(
        got.prefix_len <= net_len,
        "{addr}: block /{} narrower than the database network /{net_len}",
        got.prefix_len
    );
    let net = block(addr, got.prefix_len);
    for s in samples(net) {
        assert_eq!(db.lookup(s), got, "{s} in {net} (from {addr})");
        assert_eq!(reference(reader, s).0, want, "{s} in {net} (from {addr})");
    }
    got
}

/// Every network `maxminddb` walks (with and without data, aliases included).
fn check_every_network(db: &AsnDb, reader: &Reader<Vec<u8>>) -> usize {
    let opts = maxminddb::WithinOptions::default()
        .include_networks_without_data()
        .include_aliased_networks();
    let mut count = 0;
    for r in reader.networks(opts).unwrap() {
        let n = r.unwrap().network().unwrap();
        let net = IpNet::new(n.network(), n.prefix()).unwrap();
        for addr in [net.network(), net.broadcast(), samples(net)[2]] {
            check_block(db, reader, addr);
        }
        count += 1;
    }
    count
}

fn open_both(path: &Path) -> (AsnDb, Reader<Vec<u8>>) {
    (
        AsnDb::open(path).unwrap(),
        Reader::open_readfile(path).unwrap(),
    )
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
    let (db, reader) = open_both(&path);
    assert_eq!(db.info().database_type, "GeoLite2-ASN");
    check_every_network(&db, &reader);
    let a = check_block(&db, &reader, ip("1.0.0.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.isp, a.prefix_len),
        (Some(15169), Some("Google Inc."), None, 25)
    );
    assert!(a.matches_org("google inc.") && a.matches_org("GOOGLE INC."));
    assert!(!a.matches_org("Google") && !a.matches_org("Google Inc. "));
    let a = check_block(&db, &reader, ip("::ffff:1.0.0.200"));
    assert_eq!((a.asn, a.prefix_len), (Some(13335), 25));
    let a = check_block(&db, &reader, ip("2001:db8:ffff::1"));
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
    let (db, reader) = open_both(&path);
    check_every_network(&db, &reader);
    let a = check_block(&db, &reader, ip("198.51.100.7"));
    assert_eq!(a.asn, Some(64500));
    assert_eq!(
        a.org_names().collect::<Vec<_>>(),
        ["The ISP", "The Customer", "AS Org"]
    );
    for name in ["the isp", "THE CUSTOMER", "as org"] {
        assert!(a.matches_org(name), "{name}");
    }
    let b = check_block(&db, &reader, ip("203.0.113.1"));
    assert_eq!(
        (b.asn, b.isp, b.organization),
        (None, None, Some("Only Org"))
    );
    assert_eq!(b.org_names().collect::<Vec<_>>(), ["Only Org"]);
}

#[test]
fn maxmind_asn_test_db() {
    let (db, reader) = open_both(Path::new(ASN_DB));
    assert!(check_every_network(&db, &reader) > 200);
    let a = check_block(&db, &reader, ip("1.128.0.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(1221), Some("Telstra Pty Ltd"), 11)
    );
    assert!(a.matches_org("TELSTRA PTY LTD"));
    let a = check_block(&db, &reader, ip("12.81.96.1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(7018), None, 19)
    );
    let a = check_block(&db, &reader, ip("2001:1700::1"));
    assert_eq!(
        (a.asn, a.as_organization, a.prefix_len),
        (Some(6730), Some("Sunrise Communications AG"), 27)
    );
    let miss = check_block(&db, &reader, ip("127.0.0.1"));
    assert_eq!((miss.asn, miss.org_names().count()), (None, 0));
    assert!(db.info().records > 10 && db.heap_bytes() > 0);
}

#[test]
fn maxmind_isp_test_db() {
    let (db, reader) = open_both(Path::new(ISP_DB));
    assert!(check_every_network(&db, &reader) > 200);
    let a = check_block(&db, &reader, ip("1.128.0.1"));
    assert_eq!(a.asn, Some(1221));
    assert_eq!(
        a.org_names().collect::<Vec<_>>(),
        ["Telstra Internet", "Telstra Internet", "Telstra Pty Ltd"]
    );
    assert_eq!(a.prefix_len, 11);
    let a = check_block(&db, &reader, ip("1.0.128.1"));
    assert_eq!(
        (a.asn, a.isp, a.prefix_len),
        (None, Some("TOT Public Company Limited"), 17)
    );
    assert!(a.matches_org("tot public company limited"));
}

/// Names are interned with their record: equal records are stored once, and the names a
/// lookup returns live as long as the database.
#[test]
fn equal_records_are_stored_once() {
    let dir = TempDir::new("geo-asn-intern").unwrap();
    let path = dir.join("asn.mmdb");
    write_asn_db(
        &path,
        &[
            (net("1.0.0.0/24"), 64500, "Same Org"),
            (net("1.0.1.0/24"), 64500, "Same Org"),
            (net("1.0.3.0/24"), 64500, "Same Org"),
            (net("2001:db8::/32"), 64500, "Same Org"),
            (net("5.0.0.0/8"), 64501, "Other Org"),
        ],
    )
    .unwrap();
    let (db, reader) = open_both(&path);
    assert_eq!(db.info().records, 2);
    // 1.0.0.0/24 and 1.0.1.0/24 are one block; 1.0.3.0/24 is not aligned with them.
    assert_eq!(check_block(&db, &reader, ip("1.0.0.1")).prefix_len, 23);
    assert_eq!(check_block(&db, &reader, ip("1.0.3.1")).prefix_len, 24);
    let a = db.lookup(ip("1.0.1.1")).as_organization.unwrap();
    let b = db.lookup(ip("2001:db8::1")).as_organization.unwrap();
    assert!(std::ptr::eq(a, b));
}

/// A record that does not decode as an ASN record fails the open, naming the file and the
/// network.
#[test]
fn undecodable_record_fails_to_open() {
    let dir = TempDir::new("geo-asn-bad").unwrap();
    let path = dir.join("bad-asn.mmdb");
    let mut w = mmdb_writer::Writer::builder("GeoLite2-ASN").build();
    w.insert(
        net("198.51.100.0/24"),
        &std::collections::BTreeMap::from([("autonomous_system_number", "not a number")]),
    )
    .unwrap();
    std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
    let err = AsnDb::open(&path).unwrap_err();
    assert!(matches!(err, GeoError::Open { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("bad-asn.mmdb") && msg.contains("198.51.100.0/24"),
        "{msg}"
    );
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
