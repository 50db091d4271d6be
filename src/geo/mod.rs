//! Geolocation: prefix tables with ECS scope, and MaxMind location/ASN database readers.

pub mod asn;
pub mod classes;
pub mod coordinates;
pub mod error;
pub mod location;
mod mmdb;
pub mod prefix_table;
mod ranges;
#[cfg(test)]
pub mod testdb;

pub use asn::{AsnDb, AsnInfo};
pub use classes::ClassTable;
pub use coordinates::{CoordinateDb, Point};
pub use error::GeoError;
pub use location::{Location, LocationDb, SubdivisionCode};
pub use mmdb::DbInfo;
pub use prefix_table::{Lookup, Match, PrefixTable};
pub mod region_map;

pub use region_map::{ClientInfo, Region, RegionMap, RegionMatch, Rule, Specificity};
