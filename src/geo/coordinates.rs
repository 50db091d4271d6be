//! `CoordinateDb`: where on Earth a client is (`location.latitude`/`longitude` of a City
//! database), for records that send clients to the nearest data centre (spec §11).
//!
//! It is the same file as the [`super::LocationDb`] flattened a second time, on coordinates
//! alone, and only when some record asks for `nearest`. Kept apart so that the country and
//! region answers (and so their ECS scopes) are not split into the much smaller blocks in
//! which coordinates stay the same.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{LookupResult, MaxMindDbError};
use serde::Deserialize;

use super::error::GeoError;
use super::mmdb::{DbInfo, FlatRecord, Mmdb};

/// The mean radius of the Earth (IUGG), in kilometres: great-circle distances are shown in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// A City database flattened to coordinates.
#[derive(Debug)]
pub struct CoordinateDb {
    db: Mmdb<Point>,
}

/// A point on the sphere, as the unit vector from the Earth's centre: the great-circle
/// order of distances from a point is the reverse order of dot products with it, so sorting
/// pools by distance costs three multiplications each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Degrees, as given.
    pub lat: f64,
    pub lon: f64,
    v: [f64; 3],
}

impl Point {
    /// The point at `lat` (−90..=90) and `lon` (−180..=180) degrees; `None` outside those.
    pub fn new(lat: f64, lon: f64) -> Option<Point> {
        if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
            return None;
        }
        let (la, lo) = (lat.to_radians(), lon.to_radians());
        Some(Point {
            lat,
            lon,
            v: [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()],
        })
    }

    /// Larger is nearer: the cosine of the central angle between the two points.
    #[inline]
    pub fn closeness(&self, other: &Point) -> f64 {
        self.v[0] * other.v[0] + self.v[1] * other.v[1] + self.v[2] * other.v[2]
    }

    /// The great-circle distance in kilometres (accurate at every angle: atan2 of the cross
    /// and dot products, not acos).
    pub fn distance_km(&self, other: &Point) -> f64 {
        let [a, b] = [self.v, other.v];
        let cross = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        let sin = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
        sin.atan2(self.closeness(other)) * EARTH_RADIUS_KM
    }
}

impl CoordinateDb {
    /// Reads `path` (a City database) and keeps the coordinates of every network. A
    /// database without any (a Country database) opens, with no coordinates: see
    /// [`CoordinateDb::is_empty`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, GeoError> {
        Ok(CoordinateDb {
            db: Mmdb::open(path.as_ref())?,
        })
    }

    /// Where `addr` is, if the database says, and the length of the widest aligned block
    /// around it with the same coordinates (0..=32 for IPv4 and IPv4-mapped IPv6). Never
    /// allocates.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> (Option<&Point>, u8) {
        self.db.lookup(addr)
    }

    /// Every IPv4 (`v6` false) or IPv6 range as (first, last, coordinates), in order,
    /// covering the whole space once, as [`CoordinateDb::lookup`] answers: the space walked
    /// block by block, each lookup's block being one where the answer is the same (MaxMind's
    /// IPv6 aliases of IPv4 come out spread over their prefixes). The IPv4-mapped IPv6 block
    /// is one range with no coordinates: its clients are looked up as IPv4. For tools that
    /// reason about all clients at once (the reload preview), not for queries.
    pub fn spans(&self, v6: bool) -> impl Iterator<Item = (u128, u128, Option<&Point>)> + '_ {
        const MAPPED: u128 = 0xFFFF << 32;
        const MAPPED_END: u128 = MAPPED | 0xFFFF_FFFF;
        let (bits, max) = if v6 {
            (128u32, u128::MAX)
        } else {
            (32, u128::from(u32::MAX))
        };
        let mut next = Some(0u128);
        std::iter::from_fn(move || {
            let a = next?;
            let (first, last, point) = if v6 && (MAPPED..=MAPPED_END).contains(&a) {
                (a, MAPPED_END, None)
            } else {
                let addr = if v6 {
                    IpAddr::V6(a.into())
                } else {
                    IpAddr::V4((a as u32).into())
                };
                let (point, len) = self.lookup(addr);
                let host = bits - u32::from(len);
                let ones = if host >= 128 {
                    u128::MAX
                } else {
                    (1 << host) - 1
                };
                (a, a | ones, point)
            };
            next = (last < max).then(|| last + 1);
            Some((first, last, point))
        })
    }

    /// True when no network has coordinates.
    pub fn is_empty(&self) -> bool {
        self.db.records().is_empty()
    }

    /// The file, type, build time and number of distinct points.
    pub fn info(&self) -> DbInfo<'_> {
        self.db.info()
    }

    /// Approximate heap memory used, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.db.heap_bytes()
    }
}

/// Coordinates as read, in units of 10⁻⁶ degree: exact for MaxMind's four decimals, and
/// hashable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Micro {
    lat: i32,
    lon: i32,
    known: bool,
}

impl FlatRecord for Point {
    type Key<'a> = Micro;

    fn decode<'a, S: AsRef<[u8]>>(found: &LookupResult<'a, S>) -> Result<Micro, MaxMindDbError> {
        let raw = found.decode::<RawCity>()?.unwrap_or_default();
        let micro = |d: f64| (d * 1e6).round() as i32;
        Ok(match (raw.location.latitude, raw.location.longitude) {
            (Some(lat), Some(lon)) if Point::new(lat, lon).is_some() => Micro {
                lat: micro(lat),
                lon: micro(lon),
                known: true,
            },
            _ => Micro::default(),
        })
    }

    fn is_empty(key: &Micro) -> bool {
        !key.known
    }

    fn from_key(key: Micro) -> Point {
        Point::new(f64::from(key.lat) / 1e6, f64::from(key.lon) / 1e6)
            .expect("checked when decoded")
    }
}

/// The only part of a City record that is decoded.
#[derive(Deserialize, Default)]
struct RawCity {
    #[serde(default)]
    location: RawPoint,
}

#[derive(Deserialize, Default)]
struct RawPoint {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

#[cfg(test)]
mod tests;
