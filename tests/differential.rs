//! Differential test: gslbd's hand-written wire path (`dns::handler::handle`, which parses in
//! place and writes pre-serialised records) against an independent responder built on
//! hickory-proto (`tests/reference`), on random valid queries, mutated queries and random
//! bytes, over UDP and TCP, for the shipped example and for extra zones that exercise
//! truncation, CNAME chains across zones and more GSLB policies. The replies must be the
//! same message (see `reference::compare`); more cases with `PROPTEST_CASES=5000`.

#[path = "differential/gen.rs"]
mod gen;
mod reference;
#[path = "differential/spec.rs"]
mod spec;

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;

use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::health::HealthView;
use gslbd::snapshot::Snapshot;
use reference::compare::{compare, expand, hex, Agreement};

/// The shipped example (`zones/`), then the extra zones (`tests/reference/zones/`).
fn snapshots() -> &'static [Snapshot; 2] {
    static SNAPS: OnceLock<[Snapshot; 2]> = OnceLock::new();
    SNAPS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let geo = root.join("geo");
        [
            reference::load(&root.join("zones"), &geo),
            reference::load(&root.join("tests/reference/zones"), &geo),
        ]
    })
}

/// Where one query goes and who sends it, as both implementations see it.
#[derive(Debug, Clone)]
struct Case {
    extra: bool,
    src: IpAddr,
    tcp: bool,
    rotation: u64,
}

/// A query for one of the configurations (mostly asking for its names) and its case.
fn case() -> BoxedStrategy<(spec::QuerySpec, Case)> {
    let query = prop_oneof![
        gen::query(false).prop_map(|q| (false, q)),
        gen::query(true).prop_map(|q| (true, q)),
    ];
    let client = (gen::address(), any::<bool>(), any::<u64>());
    (query, client)
        .prop_map(|((extra, q), (src, tcp, rotation))| {
            let case = Case {
                extra,
                src,
                tcp,
                rotation,
            };
            (q, case)
        })
        .boxed()
}

fn handler_reply(case: &Case, packet: &[u8]) -> Option<Vec<u8>> {
    let health = HealthView::all_up();
    let mut ctx = Context {
        snapshot: &snapshots()[case.extra as usize],
        health: &health,
        rotation: case.rotation,
        trace: None,
    };
    let transport = if case.tcp {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let mut out = Vec::new();
    handle(&mut ctx, packet, case.src, transport, &mut out).map(|_| out)
}

fn reference_reply(case: &Case, packet: &[u8]) -> Option<Vec<u8>> {
    let snap = &snapshots()[case.extra as usize];
    let health = HealthView::all_up();
    reference::respond(snap, &health, case.rotation, packet, case.src, case.tcp)
}

/// Runs `packet` through both and compares. Raw bytes must be identical whenever the reply
/// holds no name hickory would compress differently from the handler (see `compressible`).
fn differential(case: &Case, packet: &[u8]) -> Result<Agreement, TestCaseError> {
    let got = handler_reply(case, packet);
    let want = reference_reply(case, packet);
    let verdict = compare(packet, got.as_deref(), want.as_deref())
        .map_err(|e| TestCaseError::fail(format!("{case:?}\n{e}")))?;
    if let (Agreement::Same { raw_identical }, Some(w)) = (verdict, &want) {
        let msg = Message::from_vec(w).unwrap();
        prop_assert!(
            raw_identical || compressible(&msg),
            "{case:?}: raw bytes differ though no name can be compressed differently\n\
             query {}\nhandler   {}\nreference {}",
            hex(packet),
            hex(got.as_deref().unwrap()),
            hex(w)
        );
    }
    Ok(verdict)
}

/// True when the message holds a name other than the question's (owners reached through a
/// CNAME, a negative answer's SOA, names in NS/CNAME/SOA/PTR/MX RDATA): the handler writes
/// those uncompressed, hickory compresses them where it can.
fn compressible(msg: &Message) -> bool {
    let Some(q) = msg.queries.first() else {
        return false;
    };
    msg.all_sections().any(|r| {
        !r.name.eq_case(q.name())
            || matches!(
                r.record_type(),
                RecordType::NS
                    | RecordType::CNAME
                    | RecordType::SOA
                    | RecordType::PTR
                    | RecordType::MX
            )
    })
}

/// Proptest settings: `default_cases` unless `PROPTEST_CASES` says otherwise.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn valid_queries_get_the_reference_reply((q, case) in case()) {
        differential(&case, &q.encode())?;
    }

    #[test]
    fn mutated_queries_get_the_reference_reply((q, case) in case(), m in gen::mutations()) {
        differential(&case, &spec::mutate(&q.encode(), &m))?;
    }

    #[test]
    fn random_bytes_get_the_reference_reply(
        bytes in prop::collection::vec(any::<u8>(), 0..96), (_, case) in case()
    ) {
        differential(&case, &bytes)?;
    }
}

/// A plain query with EDNS (payload 1232, DO) and, when given, ECS.
fn spec(name: &str, qtype: u16, ecs: Option<Option<(IpAddr, u8)>>) -> spec::QuerySpec {
    spec::QuerySpec {
        id: 7,
        opcode: 0,
        rd: true,
        cd: false,
        ad: false,
        name: Name::from_ascii(name).unwrap(),
        qtype,
        qclass: 1,
        edns: ecs.map(|ecs| spec::EdnsSpec {
            version: 0,
            dnssec_ok: true,
            z: 0,
            payload: 1232,
            ecs,
            other: None,
        }),
        shape: spec::Shape::Plain,
    }
}

/// Every known name with every query type, without EDNS, with EDNS and with ECS, over UDP
/// and TCP, in both configurations; reports how many replies are byte-identical.
#[test]
fn every_name_and_type_gets_the_reference_reply() {
    let ecs = [
        None,
        Some(None),
        Some(Some(("81.2.69.160".parse().unwrap(), 27))),
        Some(Some(("175.16.199.0".parse().unwrap(), 24))),
        Some(Some(("2001:480::".parse().unwrap(), 48))),
    ];
    let (mut same, mut total) = (0, 0);
    for (extra, list) in [(false, gen::EXAMPLE_NAMES), (true, gen::EXTRA_NAMES)] {
        let names = [list, gen::BIG_NAMES].join(" ");
        for name in names.split_whitespace() {
            for &qtype in gen::QTYPES {
                for (ecs, tcp) in ecs.iter().flat_map(|e| [(*e, false), (*e, true)]) {
                    let case = Case {
                        extra,
                        src: "192.0.2.200".parse().unwrap(),
                        tcp,
                        rotation: total,
                    };
                    let packet = spec(name, qtype, ecs).encode();
                    if let Agreement::Same { raw_identical } = differential(&case, &packet)
                        .unwrap_or_else(|e| panic!("{name} {qtype}: {e}"))
                    {
                        same += raw_identical as u64;
                    }
                    total += 1;
                }
            }
        }
    }
    eprintln!("{same} of {total} replies byte-identical, the rest equal but for compression");
    assert!(0 < same && same < total, "{same} of {total}");
}

/// The reference alone gives the answers the README documents, so it is not a mirror of the
/// handler.
#[test]
fn reference_answers_as_documented() {
    let ask = |name: &str, qtype: u16, ecs: Option<(&str, u8)>| {
        let ecs = ecs.map(|(a, p)| (a.parse().unwrap(), p));
        let case = Case {
            extra: false,
            src: "192.0.2.200".parse().unwrap(),
            tcp: false,
            rotation: 0,
        };
        let reply = reference_reply(&case, &spec(name, qtype, Some(ecs)).encode()).unwrap();
        let m = Message::from_vec(&reply).unwrap();
        let scope = m
            .edns
            .as_ref()
            .and_then(|e| match e.option(EdnsCode::Subnet) {
                Some(EdnsOption::Subnet(s)) => Some(s.scope_prefix()),
                _ => None,
            });
        let mut data: Vec<String> = m.answers.iter().map(|r| r.data.to_string()).collect();
        data.sort();
        (m, data, scope)
    };
    let (m, data, scope) = ask("www.example.com.", 1, Some(("81.2.69.161", 32)));
    assert_eq!(data, ["198.51.100.10", "198.51.100.11"]);
    assert_eq!((scope, m.metadata.authoritative), (Some(27), true));
    let (_, data, scope) = ask("WWW.example.com.", 1, Some(("175.16.199.0", 24)));
    assert_eq!(
        (data, scope),
        (vec!["203.0.113.10".into(), "203.0.113.11".into()], Some(25))
    );
    let (_, data, _) = ask("www.example.com.", 28, Some(("81.2.69.161", 32)));
    assert_eq!(data, ["2001:db8:e::10"]);
    let (m, data, scope) = ask("nope.example.com.", 1, Some(("81.2.69.161", 32)));
    assert_eq!(
        (m.metadata.response_code, data.len(), scope),
        (ResponseCode::NXDomain, 0, Some(0))
    );
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(
        m.authorities[0].ttl, 60,
        "negative TTL min(3600, minimum 60)"
    );
    let (m, _, _) = ask("docs.example.com.", 1, None);
    assert_eq!(m.answers[0].data.to_string(), "www.example.com.");
    assert_eq!(m.answers.len(), 3, "the CNAME and www's two addresses");
    let (m, _, _) = ask("example.com.", 255, None);
    assert!(
        matches!(&m.answers[..], [r] if matches!(&r.data, RData::HINFO(h) if &*h.cpu == b"RFC8482"))
    );
    let (m, _, _) = ask("_udp.example.com.", 1, None);
    assert_eq!(
        (
            m.metadata.response_code,
            m.answers.len(),
            m.authorities.len()
        ),
        (ResponseCode::NoError, 0, 1)
    );
    let (m, _, _) = ask("example.org.", 1, None);
    assert_eq!(
        (m.metadata.response_code, m.metadata.authoritative),
        (ResponseCode::Refused, false)
    );
}

/// The comparison can fail: a changed TTL, a changed letter case or a changed flag is caught,
/// while expanding the handler's compression pointers is not a difference.
#[test]
fn comparison_catches_differences_but_not_compression() {
    let case = Case {
        extra: false,
        src: "81.2.69.161".parse().unwrap(),
        tcp: true,
        rotation: 3,
    };
    let query = spec("Docs.Example.COM.", 1, Some(None)).encode();
    let reply = handler_reply(&case, &query).unwrap();
    let ttl_at = reply.len() - 11 - 4 - 6; // the last A record's TTL (low byte), before the OPT
    for (at, bit) in [(ttl_at, 1), (12 + 1, 0x20), (3, 0x10), (2, 0x04)] {
        let mut changed = reply.clone();
        changed[at] ^= bit;
        assert!(
            compare(&query, Some(&reply), Some(&changed)).is_err(),
            "byte {at}"
        );
    }
    let expanded = expand(&reply).unwrap();
    assert!(
        expanded.len() > reply.len(),
        "the handler's reply uses pointers"
    );
    let verdict = compare(&query, Some(&reply), Some(&expanded)).unwrap();
    assert_eq!(
        verdict,
        Agreement::Same {
            raw_identical: false
        }
    );
    assert!(compare(&query, Some(&reply), None).is_err());
}

/// The UDP size limit is exact: an answer near the limits with an EDNS payload size one
/// below, equal to and one above its size is truncated, whole and whole, in both
/// implementations.
#[test]
fn truncation_happens_exactly_at_the_limit() {
    let mut exercised = 0;
    for name in gen::BIG_NAMES.split_whitespace() {
        for qtype in [1, 28, 16] {
            let tcp = Case {
                extra: true,
                src: "192.0.2.200".parse().unwrap(),
                tcp: true,
                rotation: 0,
            };
            let whole = reference_reply(&tcp, &spec(name, qtype, Some(None)).encode());
            let size = whole.unwrap().len();
            let udp = Case { tcp: false, ..tcp };
            for payload in [size - 1, size, size + 1] {
                if !(512..=1232).contains(&payload) {
                    continue;
                }
                let mut q = spec(name, qtype, Some(None));
                q.edns.as_mut().unwrap().payload = payload as u16;
                differential(&udp, &q.encode()).unwrap();
                let reply = Message::from_vec(&reference_reply(&udp, &q.encode()).unwrap());
                let tc = reply.unwrap().metadata.truncation;
                assert_eq!(tc, size > payload, "{name} type {qtype}, payload {payload}");
                exercised += 1;
            }
        }
    }
    assert!(exercised >= 9, "{exercised} sizes tried");
}
