//! Tests for `CoordinateDb` against `maxminddb`'s own decoding of MaxMind's City test
//! database, and for great-circle distances against known values.

use std::net::IpAddr;

use ipnet::IpNet;
use maxminddb::Reader;

use super::{CoordinateDb, Point};
use crate::geo::location::tests::{block, samples, CITY_DB, COUNTRY_DB};

/// What `maxminddb` decodes as `location` for `addr`, in 10⁻⁶ degrees.
fn reference(reader: &Reader<Vec<u8>>, addr: IpAddr) -> Option<(i64, i64)> {
    let r = reader.lookup(addr).unwrap();
    let city: maxminddb::geoip2::City = r.decode().unwrap()?;
    let micro = |d: f64| (d * 1e6).round() as i64;
    Some((
        micro(city.location.latitude?),
        micro(city.location.longitude?),
    ))
}

fn micro(p: Option<&Point>) -> Option<(i64, i64)> {
    p.map(|p| ((p.lat * 1e6).round() as i64, (p.lon * 1e6).round() as i64))
}

#[test]
fn every_network_of_the_city_test_db_has_maxminds_coordinates_over_its_whole_block() {
    let db = CoordinateDb::open(CITY_DB).unwrap();
    let reader = Reader::open_readfile(CITY_DB).unwrap();
    assert!(!db.is_empty());
    let opts = maxminddb::WithinOptions::default().include_networks_without_data();
    let (mut networks, mut located) = (0, 0);
    for r in reader.networks(opts).unwrap() {
        let n = r.unwrap().network().unwrap();
        let net = IpNet::new(n.network(), n.prefix()).unwrap();
        for addr in [net.network(), net.broadcast(), samples(net)[2]] {
            let (got, len) = db.lookup(addr);
            let want = reference(&reader, addr);
            assert_eq!(micro(got), want, "{addr} in {net}");
            located += usize::from(want.is_some());
            // The block reported holds the same coordinates everywhere.
            let blk = block(addr, len);
            for s in samples(blk) {
                assert_eq!(micro(db.lookup(s).0), want, "{s} in {blk} (from {addr})");
                assert_eq!(reference(&reader, s), want, "{s} in {blk} (from {addr})");
            }
        }
        networks += 1;
    }
    assert!(
        networks > 100 && located > 100,
        "{networks} networks, {located} located"
    );
}

#[test]
fn known_places_of_the_test_db() {
    let db = CoordinateDb::open(CITY_DB).unwrap();
    // MaxMind's test data: 81.2.69.142 is London, 175.16.199.1 Changchun.
    let london = db.lookup("81.2.69.142".parse().unwrap()).0.unwrap();
    assert!((london.lat - 51.5142).abs() < 1e-6 && (london.lon + 0.0931).abs() < 1e-6);
    let changchun = db.lookup("175.16.199.1".parse().unwrap()).0.unwrap();
    assert!((changchun.lat - 43.88).abs() < 1e-6, "{changchun:?}");
    // 192.0.2.1 (documentation) is in no database.
    assert!(db.lookup("192.0.2.1".parse().unwrap()).0.is_none());
}

#[test]
fn a_country_database_has_no_coordinates() {
    let db = CoordinateDb::open(COUNTRY_DB).unwrap();
    assert!(db.is_empty());
    assert!(db.lookup("81.2.69.142".parse().unwrap()).0.is_none());
}

#[test]
fn great_circle_distances_match_known_values() {
    let p = |lat, lon| Point::new(lat, lon).unwrap();
    // One degree of longitude on the equator: 2πR/360.
    let one = p(0.0, 0.0).distance_km(&p(0.0, 1.0));
    assert!((one - 111.1950).abs() < 1e-3, "{one}");
    // Antipodes: πR, where acos would lose precision.
    let half = p(10.0, 20.0).distance_km(&p(-10.0, -160.0));
    assert!((half - 20015.115).abs() < 1e-2, "{half}");
    // London (51.5074, -0.1278) to Paris (48.8566, 2.3522): 343.5 km by the haversine formula.
    let haversine = |a: (f64, f64), b: (f64, f64)| {
        let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
        let dla = la2 - la1;
        let dlo = (b.1 - a.1).to_radians();
        let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
        2.0 * super::EARTH_RADIUS_KM * h.sqrt().asin()
    };
    let places = [
        (51.5074, -0.1278),
        (48.8566, 2.3522),
        (35.6895, 139.6917),
        (-33.8688, 151.2093),
        (40.7128, -74.006),
        (0.0, 179.9),
        (0.0, -179.9),
        (90.0, 0.0),
    ];
    for a in places {
        for b in places {
            let got = p(a.0, a.1).distance_km(&p(b.0, b.1));
            let want = haversine(a, b);
            assert!((got - want).abs() < 1e-6, "{a:?} {b:?}: {got} vs {want}");
            // Closeness orders exactly as distance does.
            for c in places {
                let (pa, pb, pc) = (p(a.0, a.1), p(b.0, b.1), p(c.0, c.1));
                if pa.distance_km(&pb) + 1e-6 < pa.distance_km(&pc) {
                    assert!(pa.closeness(&pb) > pa.closeness(&pc));
                }
            }
        }
    }
    assert!((p(51.5074, -0.1278).distance_km(&p(48.8566, 2.3522)) - 343.5).abs() < 0.5);
}

#[test]
fn out_of_range_coordinates_are_refused() {
    for (lat, lon) in [(90.1, 0.0), (-91.0, 0.0), (0.0, 180.5), (f64::NAN, 0.0)] {
        assert!(Point::new(lat, lon).is_none(), "{lat} {lon}");
    }
}
