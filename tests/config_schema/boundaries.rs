//! Both sides of every constraint the schema adds to the JSON types (ranges, address and
//! prefix formats, code patterns, enums, required and forbidden keys), as values put at one
//! place of a seed file: those the schema and the loader both accept, and those both reject.

use serde_json::{json, Value};

/// One place of a seed file (by its `what`), as a JSON pointer, with values valid there and
/// values invalid there.
pub struct Boundary {
    pub seed: &'static str,
    pub at: &'static str,
    pub valid: Vec<Value>,
    pub invalid: Vec<Value>,
}

fn b(seed: &'static str, at: &'static str, valid: Vec<Value>, invalid: Vec<Value>) -> Boundary {
    Boundary {
        seed,
        at,
        valid,
        invalid,
    }
}

const ZONE: &str = "a zone with every key";
const REGIONS: &str = "regions with every condition";

pub fn boundaries() -> Vec<Boundary> {
    vec![
        b(
            ZONE,
            "/version",
            vec![json!(1)],
            vec![json!(0), json!(2), json!("1")],
        ),
        b(
            ZONE,
            "/checks/h/port",
            vec![json!(1), json!(65535)],
            vec![json!(0), json!(65536), json!(-1), json!(80.5)],
        ),
        b(
            ZONE,
            "/checks/h/expect/0",
            vec![json!(100), json!(599)],
            vec![json!(99), json!(600), json!(0)],
        ),
        b(
            ZONE,
            "/checks/h/interval",
            vec![json!(0.6), json!(86400), json!(1), json!(null)],
            vec![json!(0), json!(-1), json!(86400.5), json!("5")],
        ),
        b(
            ZONE,
            "/checks/h/timeout",
            vec![json!(0.001), json!(4.9)],
            vec![json!(0), json!(-0.5)],
        ),
        b(
            ZONE,
            "/checks/h/rise",
            vec![json!(1), json!(4294967295u64)],
            vec![json!(0), json!(4294967296u64)],
        ),
        b(ZONE, "/checks/h/fall", vec![json!(1)], vec![json!(0)]),
        b(
            ZONE,
            "/checks/h/path",
            vec![json!("/"), json!("/a/b?c=d"), json!(null)],
            vec![json!("healthz"), json!("")],
        ),
        b(
            ZONE,
            "/checks/h/type",
            vec![json!("https"), json!("http")],
            vec![json!("HTTP"), json!("udp")],
        ),
        b(
            ZONE,
            "/gslb/web/max_answers",
            vec![json!(1), json!(4294967295u64)],
            vec![json!(0), json!(-1)],
        ),
        b(
            ZONE,
            "/gslb/web/policy",
            ["round_robin", "weighted", "sticky", "first", "all"]
                .map(|p| json!(p))
                .to_vec(),
            vec![json!("round-robin"), json!("Weighted"), json!(1)],
        ),
        b(
            ZONE,
            "/gslb/web/all_down",
            vec![json!("serve_all"), json!("nodata")],
            vec![json!("serve-all"), json!("NODATA")],
        ),
        b(
            ZONE,
            "/gslb/web/pools/europe/targets/0/weight",
            vec![json!(1), json!(4294967295u64)],
            vec![json!(0), json!(-3), json!(1.5)],
        ),
        b(
            ZONE,
            "/gslb/web/pools/europe/targets/1",
            vec![
                json!("::"),
                json!("::ffff:198.51.100.7"),
                json!("2001:DB8::A"),
                json!("198.51.100.7"),
            ],
            vec![
                json!("2001:db8::g"),
                json!("fe80::1%eth0"),
                json!("198.51.100.300"),
                json!("198.51.100"),
                json!("host.example."),
            ],
        ),
        b(
            ZONE,
            "/gslb/web/pools/europe/targets/0/address",
            vec![json!("0.0.0.0"), json!("2001:db8::7")],
            vec![json!("2001:db8::7/64"), json!(" 198.51.100.1")],
        ),
        b(
            ZONE,
            "/gslb/web/pools",
            vec![json!({ "default": { "targets": ["192.0.2.9"] } })],
            vec![json!({ "europe": { "targets": ["192.0.2.9"] } }), json!({})],
        ),
        b(
            ZONE,
            "/records/ns1/A/0",
            vec![json!("255.255.255.255"), json!("0.0.0.0")],
            vec![
                json!("256.0.0.1"),
                json!("01.2.3.4"),
                json!("1.2.3.4 "),
                json!("::1"),
            ],
        ),
        b(
            ZONE,
            "/records/ns1/AAAA/0",
            vec![json!("::ffff:1.2.3.4"), json!("2001:DB8::53"), json!("::")],
            vec![json!("1.2.3.4"), json!("2001:db8::53%1"), json!(":::")],
        ),
        b(
            ZONE,
            "/records/@/CAA/0/tag",
            vec![json!("a"), json!("issuewild"), json!("x".repeat(255))],
            vec![json!(""), json!("is-sue"), json!("x".repeat(256))],
        ),
        b(
            ZONE,
            "/records/@/CAA/0/flags",
            vec![json!(0), json!(255)],
            vec![json!(256), json!(-1)],
        ),
        b(
            ZONE,
            "/records/child/DS/0/digest",
            vec![
                json!("2bb183af5f22588179a53b0a98631fad1a292118a6d6a2a5a4b2a0f4e5b3c1d0"),
                json!("2BB183AF5F22588179A53B0A98631FAD 1A292118A6D6A2A5A4B2A0F4E5B3C1D0"),
            ],
            vec![json!(""), json!("xyz")],
        ),
        b(
            ZONE,
            "/records/@/ttls",
            vec![
                json!({ "NS": 0 }),
                json!({ "TXT": 4294967295u64, "CAA": 1 }),
            ],
            vec![json!({ "ns": 1 }), json!({ "SOA": 1 }), json!({ "NS": -1 })],
        ),
        b(
            ZONE,
            "/records/@/TXT/0",
            vec![
                json!([""]),
                json!(["a".repeat(255), "b"]),
                json!("c".repeat(300)),
            ],
            vec![json!([]), json!(["a".repeat(256)]), json!([1])],
        ),
        b(
            ZONE,
            "/gslb/near/pools/ams/coordinates",
            vec![json!([90, 180]), json!([-90, -180]), json!([0.5, -0.5])],
            vec![
                json!([90.01, 0]),
                json!([0, -180.01]),
                json!([0]),
                json!([0, 0, 0]),
                json!(["0", 0]),
            ],
        ),
        b(
            REGIONS,
            "/version",
            vec![json!(1)],
            vec![json!(2), json!(null)],
        ),
        b(
            REGIONS,
            "/regions/nets/0/networks/0",
            vec![
                json!("10.0.0.0/08"),
                json!("10.1.2.3/32"),
                json!("0.0.0.0/0"),
                json!("10.1.2.3"),
                json!("fd00::/128"),
                json!("fd00::/010"),
                json!("::/0"),
                json!("::ffff:10.0.0.0/104"),
                json!("FD00::1"),
            ],
            vec![
                json!("10.0.0.0/33"),
                json!("10.0.0.0/080"),
                json!("fd00::/129"),
                json!("fd00::/0008"),
                json!("10.0.0.0/8 "),
                json!("10.0.0/8"),
                json!("10/8"),
                json!("fe80::/10%eth0"),
                json!("europe"),
            ],
        ),
        b(
            REGIONS,
            "/regions/place/0/countries/0",
            vec![json!("cn"), json!("Gb")],
            vec![json!("C"), json!("CHN"), json!("C1"), json!("")],
        ),
        b(
            REGIONS,
            "/regions/place/1/subdivisions/0",
            vec![
                json!("gb-eng"),
                json!("US-C"),
                json!("FR-75"),
                json!("JP-13"),
            ],
            vec![
                json!("US-CALI"),
                json!("U-CA"),
                json!("US_CA"),
                json!("US-"),
                json!("US-C-A"),
            ],
        ),
        b(
            REGIONS,
            "/regions/far/0/continents/0",
            ["AF", "an", "As", "eU", "NA", "oc", "SA"]
                .map(|c| json!(c))
                .to_vec(),
            vec![json!("EUR"), json!("XX"), json!("AM"), json!("")],
        ),
        b(
            REGIONS,
            "/regions/isp/0",
            vec![
                json!({ "isps": ["Example ISP"] }),
                json!({ "asns": [4294967295u64] }),
            ],
            vec![json!({}), json!({ "asns": [-1] }), json!({ "asn": [1] })],
        ),
        b(
            REGIONS,
            "/regions/far",
            vec![json!([{ "continents": ["EU"] }, { "countries": ["CN"] }])],
            vec![json!([]), json!({ "continents": ["EU"] })],
        ),
        b(
            REGIONS,
            "/regions",
            vec![
                json!({}),
                json!({ "lab": [{ "networks": ["10.0.0.0/8"] }] }),
            ],
            vec![
                json!({ "default": [{ "networks": ["10.0.0.0/8"] }] }),
                json!([]),
            ],
        ),
    ]
}
