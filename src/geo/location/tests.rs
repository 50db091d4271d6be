//! Tests for `LocationDb` on mmdb-writer-built databases and MaxMind's test databases.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use maxminddb::Reader;
use mmdb_writer::{IpVersion, RecordSize, Writer};
use serde::Serialize;

use super::{Location, LocationDb, RawLocation, SubdivisionCode};
use crate::geo::error::GeoError;
use crate::geo::testdb::{write_location_db, write_location_db_v4, LocationSpec, TempDir};

pub(crate) const CITY_DB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/geo/testdata/GeoLite2-City-Test.mmdb"
);
pub(crate) const COUNTRY_DB: &str = concat!(
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
        coordinates: None,
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

/// What `maxminddb` itself says about `addr` (the old per-query path): the decoded location
/// (`prefix_len` 0) and the length of the database network the address is in.
pub(crate) fn reference(reader: &Reader<Vec<u8>>, addr: IpAddr) -> (Location, u8) {
    let addr = addr.to_canonical();
    if addr.is_ipv6() && reader.metadata().ip_version == 4 {
        return (Location::default(), 0);
    }
    let r = reader.lookup(addr).unwrap();
    let n = r.network().unwrap();
    let len = if n.is_ipv4() == addr.is_ipv4() {
        n.prefix()
    } else {
        0
    };
    let loc = r
        .decode::<RawLocation<'_>>()
        .unwrap()
        .map(RawLocation::into_location)
        .unwrap_or_default();
    (loc, len)
}

/// The block `prefix_len` reports for `addr`, in the canonical family.
pub(crate) fn block(addr: IpAddr, prefix_len: u8) -> IpNet {
    IpNet::new(addr.to_canonical(), prefix_len).unwrap().trunc()
}

/// Both ends of `net`, and addresses next to them, in the middle and spread over it.
pub(crate) fn samples(net: IpNet) -> Vec<IpAddr> {
    let (first, last, v4) = match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
            true,
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast()), false),
    };
    let span = last - first;
    let mut offsets = vec![0, span, span / 2, span / 3, span / 7 * 5, span / 1000];
    if span > 0 {
        offsets.extend([1, span - 1]);
    }
    offsets
        .into_iter()
        .map(|o| {
            let a = first + o;
            if v4 {
                IpAddr::from(std::net::Ipv4Addr::from(a as u32))
            } else {
                IpAddr::from(std::net::Ipv6Addr::from(a))
            }
        })
        .collect()
}

/// Checks `db.lookup(addr)` against `maxminddb`: the same location; a block at least as wide
/// as the database network; and every sampled address of the block getting the same answer
/// from both (so the block is never wider than the answer allows).
fn check_block(db: &LocationDb, reader: &Reader<Vec<u8>>, addr: IpAddr) -> Location {
    let got = db.lookup(addr);
    let (want, net_len) = reference(reader, addr);
    let record = Location {
        prefix_len: 0,
        ..got
    };
    assert_eq!(record, want, "{addr}");
    // An IPv6 block never contains ::ffff:0:0/96 (looked up as IPv4), even where the
    // database network does (IPv6 in an IPv4-only database).
    let net_len = match addr.to_canonical() {
        IpAddr::V6(a) => net_len.max(((u128::from(a) ^ 0xffff << 32).leading_zeros() + 1) as u8),
        IpAddr::V4(_) => net_len,
    };
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

/// Every network `maxminddb` walks (with and without data, aliases included), at both ends
/// and in the middle. Returns the number of networks, and of addresses whose block is wider
/// than their database network.
fn check_every_network(db: &LocationDb, reader: &Reader<Vec<u8>>) -> (usize, usize) {
    let opts = maxminddb::WithinOptions::default()
        .include_networks_without_data()
        .include_aliased_networks();
    let (mut count, mut wider) = (0, 0);
    for r in reader.networks(opts).unwrap() {
        let n = r.unwrap().network().unwrap();
        let net = IpNet::new(n.network(), n.prefix()).unwrap();
        for addr in [net.network(), net.broadcast(), samples(net)[2]] {
            let l = check_block(db, reader, addr);
            wider += usize::from(l.prefix_len < reference(reader, addr).1);
        }
        count += 1;
    }
    (count, wider)
}

fn open_both(path: &Path) -> (LocationDb, Reader<Vec<u8>>) {
    (
        LocationDb::open(path).unwrap(),
        Reader::open_readfile(path).unwrap(),
    )
}

#[test]
fn built_db_fields_and_prefix_lengths() {
    for v4_only in [false, true] {
        let (dir, db) = built(v4_only);
        let reader = Reader::open_readfile(dir.join("loc.mmdb")).unwrap();
        let l = check_block(&db, &reader, ip("1.2.3.4"));
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
            summary(&check_block(&db, &reader, ip("5.6.7.8"))),
            (Some("FR"), Some("EU"), None, 24)
        );
        // 5.6.8.1 is in the /16 but 5.6.7.0/24 differs: block 5.6.8.0/21.
        assert_eq!(
            summary(&check_block(&db, &reader, ip("5.6.8.1"))),
            (Some("DE"), Some("EU"), None, 21)
        );
        // An empty record (9.9.9.0/24) and one whose codes are all malformed and dropped
        // (10.0.0.0/8) say nothing, like no data at all: 5.7.0.0 to the end of IPv4 is one
        // answer, so 9.9.9.9 and 10.1.1.1 get its block 8.0.0.0/5.
        assert_eq!(
            check_block(&db, &reader, ip("9.9.9.9")),
            Location::unknown(5)
        );
        assert_eq!(
            check_block(&db, &reader, ip("10.1.1.1")),
            Location::unknown(5)
        );
        // Not in the database: the empty block around the address.
        assert_eq!(
            check_block(&db, &reader, ip("100.0.0.1")),
            Location::unknown(2)
        );
        assert_eq!(
            check_block(&db, &reader, ip("200.1.1.1")),
            Location::unknown(1)
        );
        // IPv4-mapped IPv6 is looked up as IPv4, with an IPv4 prefix length.
        assert_eq!(db.lookup(ip("::ffff:1.2.3.4")), db.lookup(ip("1.2.3.4")));
        assert_eq!(db.lookup(ip("::ffff:5.6.8.1")).prefix_len, 21);
        check_every_network(&db, &reader);
    }
}

#[test]
fn built_db_ipv6() {
    let (dir, db) = built(false);
    let reader = Reader::open_readfile(dir.join("loc.mmdb")).unwrap();
    let l = check_block(&db, &reader, ip("2001:db8:1::1"));
    assert_eq!(summary(&l), (Some("JP"), Some("AS"), Some("13"), 32));
    assert!(l.is_subdivision("JP-13"));
    // IPv6 in an IPv4-only database: nothing, in the widest block that does not contain
    // ::ffff:0:0/96 (looked up as IPv4): 2001:db8:1::1 and ::ffff:0:0 share 2 bits.
    let (_dir, db) = built(true);
    assert_eq!(db.lookup(ip("2001:db8:1::1")), Location::unknown(3));
    assert_eq!(db.lookup(ip("::1")), Location::unknown(81));
}

/// IPv6 forms that `maxminddb` resolves through the IPv4 subtree (IPv4-compatible `::/96`,
/// Teredo `2001::/32` and 6to4 `2002::/16` aliases) get the IPv4 answer, with the IPv4 block
/// under the alias prefix as their block.
#[test]
fn ipv4_aliases_in_ipv6_tree() {
    let (dir, db) = built(false);
    let reader = Reader::open_readfile(dir.join("loc.mmdb")).unwrap();
    let v4 = db.lookup(ip("5.6.8.1"));
    assert_eq!(v4.country_str(), Some("DE"));
    for (addr, alias_len) in [
        ("::5.6.8.1", 96),
        ("2001:0:506:801::1", 32),
        ("2002:506:801::1", 16),
    ] {
        let l = check_block(&db, &reader, ip(addr));
        assert_eq!(
            l,
            Location {
                prefix_len: alias_len + v4.prefix_len,
                ..v4
            },
            "{addr}"
        );
    }
    // Around the aliases, the IPv6 space is empty.
    check_block(&db, &reader, ip("2003::1"));
    check_block(&db, &reader, ip("2001:1::1"));
    check_block(&db, &reader, ip("::1:0:0:1"));
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
    let (db, reader) = open_both(Path::new(CITY_DB));
    assert_eq!(db.info().database_type, "GeoLite2-City");
    assert_eq!(db.info().path, Path::new(CITY_DB));
    let l = check_block(&db, &reader, ip("81.2.69.161"));
    assert_eq!(summary(&l), (Some("GB"), Some("EU"), Some("ENG"), 27));
    assert!(l.is_subdivision("GB-ENG"));
    assert_eq!(
        summary(&check_block(&db, &reader, ip("216.160.83.57"))),
        (Some("US"), Some("NA"), Some("WA"), 29)
    );
    // Two subdivisions (ENG/WBK): the first one is reported.
    assert_eq!(
        summary(&check_block(&db, &reader, ip("2.125.160.218"))),
        (Some("GB"), Some("EU"), Some("ENG"), 29)
    );
    let l = check_block(&db, &reader, ip("2a02:d500::1"));
    assert_eq!(summary(&l).0, None);
    assert_eq!(summary(&l).1, Some("EU"));
    let l = check_block(&db, &reader, ip("2001:218::1"));
    assert_eq!(
        (l.country_str(), l.continent_str()),
        (Some("JP"), Some("AS"))
    );
    assert_eq!(
        db.lookup(ip("::ffff:81.2.69.161")),
        db.lookup(ip("81.2.69.161"))
    );
    let miss = check_block(&db, &reader, ip("127.0.0.1"));
    assert_eq!(summary(&miss).0, None);
    assert!(miss.prefix_len < 32);
    // The 6to4 form of 81.2.69.161 gets the IPv4 answer, as from maxminddb.
    let six_to_four = check_block(&db, &reader, ip("2002:5102:45a1::1"));
    assert_eq!(six_to_four.country_str(), Some("GB"));
}

#[test]
fn maxmind_country_test_db() {
    let (db, reader) = open_both(Path::new(COUNTRY_DB));
    assert_eq!(
        summary(&check_block(&db, &reader, ip("81.2.69.161"))),
        (Some("GB"), Some("EU"), None, 27)
    );
    let l = check_block(&db, &reader, ip("50.114.0.1"));
    assert_eq!(
        (l.country_str(), l.continent_str()),
        (Some("US"), Some("NA"))
    );
}

/// Every network of MaxMind's test databases, with or without data and through aliases:
/// the same answers as `maxminddb`, in blocks at least as wide as its networks.
#[test]
fn maxmind_test_dbs_agree_with_maxminddb_everywhere() {
    for path in [CITY_DB, COUNTRY_DB] {
        let (db, reader) = open_both(Path::new(path));
        let (n, _) = check_every_network(&db, &reader);
        assert!(n > 200, "{path}: {n}");
        assert!(db.info().records > 10 && db.heap_bytes() > 0);
    }
}

/// A deterministic pseudo-random generator for the generated databases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Serialize)]
struct Iso<'a> {
    iso_code: &'a str,
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<Iso<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registered_country: Option<Iso<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continent: Option<BTreeMap<&'a str, &'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subdivisions: Option<Vec<Iso<'a>>>,
}

fn record<'a>(
    country: Option<&'a str>,
    registered: Option<&'a str>,
    continent: Option<&'a str>,
    sub: Option<&'a str>,
) -> Record<'a> {
    Record {
        country: country.map(|iso_code| Iso { iso_code }),
        registered_country: registered.map(|iso_code| Iso { iso_code }),
        continent: continent.map(|c| BTreeMap::from([("code", c)])),
        subdivisions: sub.map(|iso_code| vec![Iso { iso_code }]),
    }
}

/// Writes a database of random nested and adjacent networks whose records often decode
/// alike (same codes, or a country only given as `registered_country`, or nothing valid).
fn write_random_db(path: &Path, seed: u64, ip_version: IpVersion, record_size: RecordSize) {
    let pool = [
        record(Some("US"), None, Some("NA"), Some("CA")),
        record(None, Some("US"), Some("NA"), Some("CA")),
        record(Some("DE"), Some("DE"), Some("EU"), None),
        record(None, None, None, None),
        record(Some("JP"), None, Some("AS"), Some("13")),
        record(Some("USA"), None, Some("NA"), None),
        record(Some("XX"), None, Some("N"), Some("TOOLONG")),
        record(Some("FR"), None, Some("EU"), Some("IDF")),
    ];
    let mut rng = Rng(seed);
    let mut nets: Vec<(IpNet, usize)> = Vec::new();
    for _ in 0..300 {
        let v4 = ip_version == IpVersion::V4 || rng.below(3) > 0;
        let net = if v4 {
            // A few /8s, so that networks nest and touch.
            let a = ((1 + rng.below(3) as u32) << 24) | (rng.next() as u32 & 0x00ff_ffff);
            let len = 8 + rng.below(23) as u8;
            IpNet::new(std::net::Ipv4Addr::from(a).into(), len).unwrap()
        } else {
            let a = (0x2400u128 << 112) | (u128::from(rng.next() & 0xf_ffff) << 92);
            let len = 12 + rng.below(40) as u8;
            IpNet::new(std::net::Ipv6Addr::from(a).into(), len).unwrap()
        };
        nets.push((net.trunc(), rng.below(pool.len() as u64) as usize));
    }
    // Parents first, so children override them.
    nets.sort_by_key(|(n, _)| n.prefix_len());
    let mut w = Writer::builder("GeoIP2-City")
        .ip_version(ip_version)
        .record_size(record_size)
        .build();
    for (net, i) in nets {
        w.insert(net, &pool[i]).unwrap();
    }
    std::fs::write(path, w.to_bytes().unwrap()).unwrap();
}

/// Random databases (both tree kinds, all record sizes): every network and random
/// addresses, including IPv4 in its IPv6 alias forms, agree with `maxminddb`.
#[test]
fn random_dbs_agree_with_maxminddb() {
    let dir = TempDir::new("geo-location-random").unwrap();
    let mut seed = 0x5eed_1234_u64;
    for ip_version in [IpVersion::V6, IpVersion::V4] {
        for record_size in [RecordSize::Bits24, RecordSize::Bits28, RecordSize::Bits32] {
            seed += 1;
            let path = dir.join(&format!("r{seed}.mmdb"));
            write_random_db(&path, seed, ip_version, record_size);
            let (db, reader) = open_both(&path);
            let (n, mut merged) = check_every_network(&db, &reader);
            assert!(n > 100, "{n}");
            let mut rng = Rng(seed * 7);
            for _ in 0..300 {
                let a = ((1 + rng.below(4) as u32) << 24) | (rng.next() as u32 & 0x00ff_ffff);
                let v4 = std::net::Ipv4Addr::from(a);
                let l = check_block(&db, &reader, v4.into());
                let (_, net_len) = reference(&reader, v4.into());
                merged += usize::from(l.prefix_len < net_len);
                let o = v4.octets();
                let word = |i: usize| u16::from_be_bytes([o[i], o[i + 1]]);
                for form in [
                    format!("::{v4}"),
                    format!("::ffff:{v4}"),
                    format!("2002:{:x}:{:x}::9", word(0), word(2)),
                    format!("2001:0:{:x}:{:x}::9", word(0), word(2)),
                ] {
                    let l6 = check_block(&db, &reader, ip(&form));
                    if ip_version == IpVersion::V6 || form.starts_with("::ffff:") {
                        assert_eq!(l6.country, l.country, "{form}");
                    }
                }
                let a6 = (0x2400u128 << 112) | (u128::from(rng.next()) << 48);
                check_block(&db, &reader, std::net::Ipv6Addr::from(a6).into());
            }
            // Records that decode alike merge into blocks wider than their networks.
            assert!(merged > 0, "{ip_version:?} {record_size:?}: {merged}");
        }
    }
}

/// Sets record `bit` of the root node of a database file to `value`.
fn set_root_record(bytes: &mut [u8], record_size: u16, bit: usize, value: u32) {
    let v = value.to_be_bytes();
    match (record_size, bit) {
        (24, _) => bytes[bit * 3..bit * 3 + 3].copy_from_slice(&v[1..]),
        (28, 0) => {
            bytes[..3].copy_from_slice(&v[1..]);
            bytes[3] = (bytes[3] & 0x0f) | (v[0] << 4);
        }
        (28, _) => {
            bytes[4..7].copy_from_slice(&v[1..]);
            bytes[3] = (bytes[3] & 0xf0) | (v[0] & 0x0f);
        }
        _ => bytes[bit * 4..bit * 4 + 4].copy_from_slice(&v),
    }
}

/// A database whose search tree or data is broken fails to open, naming the file; it is
/// never a lookup-time failure.
#[test]
fn corrupt_db_fails_to_open() {
    let dir = TempDir::new("geo-location-corrupt").unwrap();
    let good = dir.join("good.mmdb");
    write_random_db(&good, 99, IpVersion::V6, RecordSize::Bits28);
    let bytes = std::fs::read(&good).unwrap();
    let meta = Reader::from_source(bytes.clone())
        .unwrap()
        .metadata()
        .clone();
    let max = (1u32 << (meta.record_size - 1) << 1).wrapping_sub(1);
    let cases: [(&str, usize, u32); 2] = [
        // 8000::/1 points far past the data section.
        ("bad-pointer.mmdb", 1, max),
        // ::/1 points back at the root: a cycle.
        ("cycle.mmdb", 0, 0),
    ];
    for (name, bit, value) in cases {
        let mut b = bytes.clone();
        set_root_record(&mut b, meta.record_size, bit, value);
        let path = dir.join(name);
        std::fs::write(&path, b).unwrap();
        let err = LocationDb::open(&path).unwrap_err();
        assert!(matches!(err, GeoError::Open { .. }), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains(name), "{msg}");
    }
    // A record of the wrong shape: `country` is a string, not a map.
    let path = dir.join("bad-record.mmdb");
    let mut w = Writer::builder("GeoIP2-City").build();
    w.insert(
        "1.2.3.0/24".parse::<IpNet>().unwrap(),
        &BTreeMap::from([("country", "US")]),
    )
    .unwrap();
    std::fs::write(&path, w.to_bytes().unwrap()).unwrap();
    let msg = LocationDb::open(&path).unwrap_err().to_string();
    assert!(
        msg.contains("bad-record.mmdb") && msg.contains("1.2.3.0/24"),
        "{msg}"
    );
}
