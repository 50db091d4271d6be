//! GeoDNS test helpers: fixtures over the shipped MaxMind test databases, and queries with
//! EDNS Client Subnet over UDP or TCP whose echoed option is checked.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use super::*;

#[derive(Debug, Clone, Copy)]
pub enum Via {
    Udp,
    Tcp,
}

pub const BOTH: [Via; 2] = [Via::Udp, Via::Tcp];

pub fn send(addr: SocketAddr, via: Via, m: &Message) -> Message {
    match via {
        Via::Udp => udp(addr, m),
        Via::Tcp => tcp(addr, m),
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("bad IP {s:?}: {e}"))
}

pub fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|s| ip(s)).collect()
}

/// The A/AAAA addresses of the answer section, in answer order.
pub fn addr_list(m: &Message) -> Vec<IpAddr> {
    super::answer_addresses(m).into_iter().collect()
}

pub fn addr_set(m: &Message) -> BTreeSet<IpAddr> {
    addr_list(m).into_iter().collect()
}

/// `address` with every bit past `prefix` cleared: what an ECS option carries.
pub fn masked(address: &str, prefix: u8) -> IpAddr {
    match ip(address) {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(prefix))
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(prefix))
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// Asks `name`/`rtype` with ECS `client`/`prefix` (the address is masked to the prefix, as a
/// well-behaved resolver sends it).
pub fn ask_ecs(
    addr: SocketAddr,
    via: Via,
    name: &str,
    rtype: RecordType,
    client: &str,
    prefix: u8,
) -> Message {
    let sent = masked(client, prefix).to_string();
    send(addr, via, &with_ecs(query(name, rtype), &sent, prefix))
}

/// Asserts that the reply echoes the ECS option of the query (family, source prefix, address)
/// and returns its scope prefix.
pub fn echoed_scope(r: &Message, client: &str, prefix: u8) -> u8 {
    let ecs = reply_ecs(r).unwrap_or_else(|| panic!("reply must echo ECS: {r}"));
    let want = masked(client, prefix);
    assert_eq!(
        ecs.addr().is_ipv4(),
        want.is_ipv4(),
        "ECS family must be echoed: {r}"
    );
    assert_eq!(ecs.source_prefix(), prefix, "ECS source prefix echoed: {r}");
    assert_eq!(ecs.addr(), want, "ECS address echoed: {r}");
    ecs.scope_prefix()
}

/// Writes `regions.json` into the fixture's geo directory, pointing `databases` at the shipped
/// MaxMind test databases, plus any `(file name, contents)` list files.
pub fn write_regions(z: &Zones, regions: Value, files: &[(&str, &str)]) {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("geo/testdata");
    let doc = json!({
        "version": 1,
        "databases": {
            "location": testdata.join("GeoLite2-City-Test.mmdb"),
            "asn": testdata.join("GeoLite2-ASN-Test.mmdb"),
        },
        "regions": regions,
    });
    std::fs::write(
        z.geo_dir().join("regions.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .expect("write regions.json");
    for (name, contents) in files {
        std::fs::write(z.geo_dir().join(name), contents).expect("write list file");
    }
}

/// Writes zone `origin` with the given records and `gslb` section.
pub fn write_zone(z: &Zones, origin: &str, records: Value, gslb: Value) {
    let mut zone: Value = serde_json::from_str(&zone_json(origin, 3600, 60, records)).unwrap();
    zone["gslb"] = gslb;
    z.file(
        &format!("{}.json", origin.trim_end_matches('.')),
        &serde_json::to_string_pretty(&zone).unwrap(),
    );
}

/// Starts the server on a fixture, failing with `gslbd check`'s verdict when it is refused.
pub fn serve(z: Zones) -> Server {
    let out = z.check();
    assert!(
        out.status.success(),
        "fixture must be valid:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Server::with_zones(z)
}
