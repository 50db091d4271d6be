//! Generates the benchmark data set: full-size location and ASN databases (hundreds of
//! thousands of networks, MaxMind format), a gslbd configuration using them, and query files
//! in dnsperf `-B` format.
//!
//! `cargo run --release --example gen_bench_data -- OUT_DIR [NETWORKS=400000]`
//!
//! Writes OUT_DIR/geo/{location.mmdb, asn.mmdb, regions.json}, OUT_DIR/zones/example.test.json,
//! and OUT_DIR/queries/{static.bin, geo.bin, geo-isp.bin, nx.bin, wild.bin, referral.bin,
//! geo-wild.bin}, each also as `NAME-do.bin`: the same queries with the EDNS DO bit set, for
//! signed runs. Deterministic (fixed seed).
//!
//! The zone also holds a static wildcard (`*.wild`), a delegation (`sub`, one in-bailiwick
//! name server with glue and one out of the zone) and a GSLB wildcard (`*.cdn`, the same
//! record as `geo`), so that `benches/compare.sh` can compare an exact name with a made-up one
//! and with a referral; the other servers it runs serve the same names from zone files.

#[path = "../src/geo/testdb.rs"]
mod testdb;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::IpNet;
use testdb::{IspSpec, LocationSpec};

/// A small, fast, seeded PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const COUNTRIES: [(&str, &str); 12] = [
    ("US", "NA"),
    ("CA", "NA"),
    ("MX", "NA"),
    ("GB", "EU"),
    ("DE", "EU"),
    ("FR", "EU"),
    ("SE", "EU"),
    ("CN", "AS"),
    ("JP", "AS"),
    ("IN", "AS"),
    ("BR", "SA"),
    ("AU", "OC"),
];

fn qname(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A query with EDNS (payload 1232) and, optionally, an ECS option.
fn query(name: &str, qtype: u16, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    p.extend_from_slice(&qname(name));
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    let mut opt = Vec::new();
    if let Some((addr, prefix)) = ecs {
        let (family, octets) = match addr {
            IpAddr::V4(a) => (1u16, a.octets().to_vec()),
            IpAddr::V6(a) => (2u16, a.octets().to_vec()),
        };
        let n = (prefix as usize).div_ceil(8);
        opt.extend_from_slice(&8u16.to_be_bytes());
        opt.extend_from_slice(&((4 + n) as u16).to_be_bytes());
        opt.extend_from_slice(&family.to_be_bytes());
        opt.extend_from_slice(&[prefix, 0]);
        opt.extend_from_slice(&octets[..n]);
    }
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    p.extend_from_slice(&(opt.len() as u16).to_be_bytes());
    p.extend_from_slice(&opt);
    p
}

/// Writes `queries` to `path` (`NAME.bin`) and the same with DO set to `NAME-do.bin`.
fn write_queries(path: &Path, queries: &[Vec<u8>]) {
    let frame = |queries: &mut dyn Iterator<Item = Vec<u8>>| {
        let mut out = Vec::new();
        for q in queries {
            out.extend_from_slice(&(q.len() as u16).to_be_bytes());
            out.extend_from_slice(&q);
        }
        out
    };
    std::fs::write(path, frame(&mut queries.iter().cloned())).expect("write queries");
    let stem = path.file_stem().unwrap().to_str().unwrap();
    let with_do = path.with_file_name(format!("{stem}-do.bin"));
    std::fs::write(
        with_do,
        frame(&mut queries.iter().map(|q| set_dnssec_ok(q))),
    )
    .expect("write DO queries");
}

/// `q` (as [`query`] makes it: one question, then the OPT record and its options last) with
/// the DO bit (RFC 3225: the top bit of the OPT TTL's flags) set.
fn set_dnssec_ok(q: &[u8]) -> Vec<u8> {
    let mut q = q.to_vec();
    // Skip the header and the question name, type and class.
    let mut at = 12;
    while q[at] != 0 {
        at += 1 + q[at] as usize;
    }
    at += 1 + 4;
    // The OPT record: owner (root, 1 byte), type, class, then TTL = ext rcode, version, flags.
    assert_eq!(
        &q[at..at + 3],
        &[0, 0, 41],
        "an OPT record after the question"
    );
    q[at + 7] |= 0x80;
    q
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = Path::new(args.get(1).map_or("target/bench-data", String::as_str)).to_path_buf();
    let target: usize = args
        .get(2)
        .map_or(400_000, |s| s.parse().expect("NETWORKS"));
    for d in ["geo", "zones", "queries"] {
        std::fs::create_dir_all(out.join(d)).expect("create dirs");
    }
    let mut rng = Rng(0x6a09_e667_f3bc_c908);

    // IPv4 1.0.0.0 - 223.255.255.255 cut into aligned blocks of /16 to /24 with small gaps.
    let mut nets: Vec<(IpNet, usize)> = Vec::with_capacity(target + 16);
    let mut addr: u64 = 1 << 24;
    let end: u64 = 224 << 24;
    let span = (end - addr) as f64;
    // Average block size so that `target` blocks cover the space.
    let avg = span / target as f64;
    let min_len = (32 - (avg * 2.5).log2().ceil() as u8).clamp(8, 24);
    let max_len = min_len + 8;
    while addr < end && nets.len() < target {
        let len = min_len + rng.below((max_len - min_len + 1) as u64) as u8;
        let size = 1u64 << (32 - len);
        // Align up.
        addr = addr.div_ceil(size) * size;
        if addr + size > end {
            break;
        }
        if rng.below(10) > 0 {
            let net = IpNet::new(IpAddr::V4(Ipv4Addr::from(addr as u32)), len).unwrap();
            nets.push((net, rng.below(COUNTRIES.len() as u64) as usize));
        }
        addr += size;
    }
    // Some IPv6 too.
    for i in 0..(target / 20) as u64 {
        let a = (0x2001_0200u128 << 96) | ((i as u128) << 80);
        let net = IpNet::new(IpAddr::V6(Ipv6Addr::from(a)), 48).unwrap();
        nets.push((net, rng.below(COUNTRIES.len() as u64) as usize));
    }
    let loc: Vec<(IpNet, LocationSpec<'_>)> = nets
        .iter()
        .map(|&(n, c)| {
            let (country, continent) = COUNTRIES[c];
            (
                n,
                LocationSpec {
                    country: Some(country),
                    registered_country: Some(country),
                    continent: Some(continent),
                    subdivision: None,
                    coordinates: None,
                },
            )
        })
        .collect();
    testdb::write_location_db(&out.join("geo/location.mmdb"), &loc).expect("location db");
    let asn_names = [
        "Chinanet",
        "China Unicom",
        "Comcast",
        "Deutsche Telekom",
        "NTT",
    ];
    let asn: Vec<(IpNet, IspSpec<'_>)> = nets
        .iter()
        .enumerate()
        .map(|(i, &(n, _))| {
            let asn = [4134u32, 4837, 7922, 3320, 2914][i % 5];
            (
                n,
                IspSpec {
                    asn: Some(asn),
                    as_organization: Some(asn_names[i % 5]),
                    ..IspSpec::default()
                },
            )
        })
        .collect();
    testdb::write_isp_db(&out.join("geo/asn.mmdb"), &asn).expect("asn db");
    eprintln!("databases: {} networks each", nets.len());

    let regions = serde_json::json!({
        "version": 1,
        "databases": { "location": "location.mmdb", "asn": "asn.mmdb" },
        "regions": {
            "na": [ { "continents": ["NA"] } ],
            "eu": [ { "continents": ["EU"] } ],
            "as": [ { "continents": ["AS"] } ],
            "cn-telecom": [ { "asns": [4134] } ],
        }
    });
    std::fs::write(out.join("geo/regions.json"), regions.to_string()).unwrap();
    let zone = serde_json::json!({
        "version": 1, "origin": "example.test.", "ttl": 3600,
        "soa": { "mname": "ns1.example.test.", "rname": "hostmaster.example.test.", "serial": 1,
                 "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60 },
        "records": {
            "@": { "NS": ["ns1.example.test."] },
            "ns1": { "A": ["192.0.2.53"] },
            "www": { "A": ["192.0.2.10"], "ttl": 30 },
            "geo": { "gslb": "geo" },
            "geo-isp": { "gslb": "geo-isp" },
            "*.wild": { "A": ["192.0.2.20"] },
            "*.cdn": { "gslb": "geo" },
            "sub": { "NS": ["ns1.sub.example.test.", "ns.other.test."] },
            "ns1.sub": { "A": ["192.0.2.54"] },
        },
        "gslb": {
            "geo": { "ttl": 30, "pools": {
                "na": { "targets": ["192.0.2.1"] }, "eu": { "targets": ["192.0.2.2"] },
                "as": { "targets": ["192.0.2.3"] }, "default": { "targets": ["192.0.2.4"] } } },
            "geo-isp": { "ttl": 30, "pools": {
                "cn-telecom": { "targets": ["192.0.2.5"] }, "na": { "targets": ["192.0.2.1"] },
                "eu": { "targets": ["192.0.2.2"] }, "as": { "targets": ["192.0.2.3"] },
                "default": { "targets": ["192.0.2.4"] } } },
        }
    });
    std::fs::write(out.join("zones/example.test.json"), zone.to_string()).unwrap();

    // Queries: 5000 client /24s inside the databases' IPv4 networks.
    let v4: Vec<&(IpNet, usize)> = nets.iter().filter(|(n, _)| n.addr().is_ipv4()).collect();
    let mut clients = Vec::new();
    for _ in 0..5000 {
        let (net, _) = v4[rng.below(v4.len() as u64) as usize];
        let IpNet::V4(n) = net else { unreachable!() };
        let offset = rng.below(1u64 << (32 - n.prefix_len())) as u32;
        let a = (u32::from(n.network()) + offset) & 0xffff_ff00;
        clients.push(IpAddr::V4(Ipv4Addr::from(a)));
    }
    let geo: Vec<Vec<u8>> = clients
        .iter()
        .map(|&c| query("geo.example.test.", 1, Some((c, 24))))
        .collect();
    write_queries(&out.join("queries/geo.bin"), &geo);
    // The same clients at a name that only the `*.cdn` wildcard makes up.
    let geo_wild: Vec<Vec<u8>> = clients
        .iter()
        .map(|&c| query("edge.cdn.example.test.", 1, Some((c, 24))))
        .collect();
    write_queries(&out.join("queries/geo-wild.bin"), &geo_wild);
    let isp: Vec<Vec<u8>> = clients
        .iter()
        .map(|&c| query("geo-isp.example.test.", 1, Some((c, 24))))
        .collect();
    write_queries(&out.join("queries/geo-isp.bin"), &isp);
    write_queries(
        &out.join("queries/static.bin"),
        &[query("www.example.test.", 1, None)],
    );
    write_queries(
        &out.join("queries/wild.bin"),
        &[query("host.wild.example.test.", 1, None)],
    );
    write_queries(
        &out.join("queries/referral.bin"),
        &[query("www.sub.example.test.", 1, None)],
    );
    let nx: Vec<Vec<u8>> = (0..1000)
        .map(|i| query(&format!("nx{i}.example.test."), 1, None))
        .collect();
    write_queries(&out.join("queries/nx.bin"), &nx);
    eprintln!("wrote {}", out.display());
}
