//! Differential test: gslbd's hand-written wire path (`dns::handler::handle`, which parses in
//! place and writes pre-serialised records) against an independent responder built on
//! hickory-proto (`tests/reference`), on random valid queries, mutated queries and random
//! bytes, over UDP and TCP, for the shipped example and for extra zones that exercise
//! truncation, CNAME chains across zones and more GSLB policies, with DNS cookies (valid,
//! expired, foreign, malformed, repeated) and NSID requests to servers with and without an
//! NSID, at clock readings around the 32-bit wrap. The replies must be the same message (see
//! `reference::compare`); more cases with `PROPTEST_CASES=5000`.

#[path = "differential/gen.rs"]
mod gen;
mod reference;
#[path = "differential/spec.rs"]
mod spec;

use gslbd::dnssec::SigCache;
use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, RecordType};
use proptest::prelude::*;

use gslbd::dns::edns::{CookieSecret, EdnsConfig};
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::health::HealthView;
use gslbd::snapshot::Snapshot;
use reference::compare::{compare, expand, hex, Agreement};
use reference::cookies::ServerEdns;

/// The cookie secret both implementations are given, and another one.
const SECRET: [u8; 16] = *b"differential-key";
const OTHER_SECRET: [u8; 16] = *b"some-other-nodes";
/// A long NSID: 128 bytes, the most `--nsid` takes.
const LONG_NSID: &[u8] = &[b'n'; 128];

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
    /// The server's clock (seconds mod 2^32) and its NSID.
    now: u32,
    nsid: Option<&'static [u8]>,
}

impl Case {
    /// A UDP query from 192.0.2.200 to the example, with no NSID configured.
    fn plain(rotation: u64) -> Case {
        Case {
            extra: false,
            src: "192.0.2.200".parse().unwrap(),
            tcp: false,
            rotation,
            now: 1_750_000_000,
            nsid: None,
        }
    }
}

/// A server clock: mostly today, often next to the 32-bit wrap, sometimes anything.
fn clock() -> BoxedStrategy<u32> {
    prop_oneof![
        2 => 1_700_000_000u32..1_900_000_000,
        1 => u32::MAX - 4000..=u32::MAX,
        1 => 0u32..4000,
        1 => any::<u32>(),
    ]
    .boxed()
}

/// The COOKIE option data `plan` describes for a query from `src` to a server at `now`.
fn cookie_bytes(plan: &gen::CookiePlan, src: IpAddr, now: u32) -> Vec<u8> {
    match plan {
        gen::CookiePlan::ClientOnly(c) => c.to_vec(),
        gen::CookiePlan::Raw(bytes) => bytes.clone(),
        gen::CookiePlan::Minted {
            client,
            age,
            other_address,
            other_secret,
            version,
            reserved,
        } => {
            let secret = if *other_secret { OTHER_SECRET } else { SECRET };
            let ip = match (src, other_address) {
                (_, false) => src,
                (IpAddr::V4(a), true) => IpAddr::V4((u32::from(a) ^ 1).into()),
                (IpAddr::V6(a), true) => IpAddr::V6((u128::from(a) ^ 1).into()),
            };
            let stamp = (i64::from(now) - age).rem_euclid(1 << 32) as u32;
            let mut bytes = client.to_vec();
            bytes.extend(reference::cookies::mint(
                &secret, client, ip, *version, *reserved, stamp,
            ));
            bytes
        }
    }
}

/// A query for one of the configurations (mostly asking for its names) and its case.
fn case() -> BoxedStrategy<(spec::QuerySpec, Case)> {
    let query = prop_oneof![
        gen::query(false).prop_map(|q| (false, q)),
        gen::query(true).prop_map(|q| (true, q)),
    ];
    let client = (gen::address(), any::<bool>(), any::<u64>());
    let nsid = prop::sample::select(&[None, Some(b"ns1.gslbd.test" as &[u8]), Some(LONG_NSID)][..]);
    let server = (clock(), nsid, gen::cookies());
    (query, client, server)
        .prop_map(
            |((extra, mut q), (src, tcp, rotation), (now, nsid, cookies))| {
                if let Some(e) = &mut q.edns {
                    e.cookies = cookies.iter().map(|c| cookie_bytes(c, src, now)).collect();
                }
                let case = Case {
                    extra,
                    src,
                    tcp,
                    rotation,
                    now,
                    nsid,
                };
                (q, case)
            },
        )
        .boxed()
}

fn handler_reply(case: &Case, packet: &[u8]) -> Option<Vec<u8>> {
    let health = HealthView::all_up();
    let edns = EdnsConfig {
        nsid: case.nsid.map(|n| n.into()),
        cookie_secret: CookieSecret::new(SECRET),
        // No CHAOS answers: the reference refuses every class but IN
        // (tests/edns_options.rs checks them).
        chaos: Default::default(),
    };
    let mut ctx = Context {
        snapshot: &snapshots()[case.extra as usize],
        health: &health,
        rotation: case.rotation,
        trace: None,
        edns: &edns,
        now: case.now,
        sigs: &mut SigCache::default(),
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
    let server = ServerEdns {
        secret: SECRET,
        nsid: case.nsid.map(<[u8]>::to_vec),
        now: case.now,
    };
    reference::respond(
        snap,
        &health,
        case.rotation,
        packet,
        case.src,
        case.tcp,
        &server,
    )
}

/// Runs `packet` through both and compares. Raw bytes must be identical whenever the reply
/// holds no name hickory would compress differently from the handler (see `compressible`).
fn differential(case: &Case, packet: &[u8]) -> Result<Agreement, TestCaseError> {
    let got = handler_reply(case, packet);
    let want = reference_reply(case, packet);
    let verdict = match compare(packet, got.as_deref(), want.as_deref()) {
        Ok(v) => v,
        Err(_) if !case.tcp && fits_only_compressed(packet, got.as_deref(), want.as_deref()) => {
            return Ok(Agreement::Same {
                raw_identical: false,
            });
        }
        Err(e) => return Err(TestCaseError::fail(format!("{case:?}\n{e}"))),
    };
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

/// The one size difference the handler may have: it compresses names as hickory does, but
/// points only to names equal byte for byte (the question keeps the client's letter case,
/// which is not copied into other names) and remembers a bounded number of them, so near
/// the UDP limit hickory's reply may fit where the handler's does not. Waived exactly when
/// the handler's reply is the reference's with less in it (truncated, or with trailing
/// additional RRsets left out) and the reference's reply, written without any compression,
/// would not fit the limit. The limit is read by the reference's own parser, which accepts
/// queries hickory's message decoder refuses (an OPT outside ADDITIONAL).
fn fits_only_compressed(query: &[u8], got: Option<&[u8]>, want: Option<&[u8]>) -> bool {
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
    let (Some(got), Some(want), reference::parse::Parsed::Request(q)) =
        (got, want, reference::parse::parse(query))
    else {
        return false;
    };
    let (Ok(got), Ok(want)) = (Message::from_vec(got), Message::from_vec(want)) else {
        return false;
    };
    let limit = q
        .edns
        .as_ref()
        .map_or(512, |e| e.max_payload.clamp(512, 1232)) as usize;
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    if want.emit(&mut encoder).is_err() || bytes.len() <= limit {
        return false;
    }
    let truncated = got.truncation
        && !want.truncation
        && got.answers.is_empty()
        && got.authorities.is_empty()
        && got.response_code == want.response_code;
    let fewer_additionals = !got.truncation
        && got.answers == want.answers
        && got.authorities == want.authorities
        && got.response_code == want.response_code
        && got.additionals.len() < want.additionals.len()
        && want.additionals[..got.additionals.len()] == got.additionals[..];
    truncated || fewer_additionals
}

/// True when the message holds a name other than the question's (owners reached through a
/// CNAME, a negative answer's SOA, names in NS/CNAME/SOA/PTR/MX/SRV RDATA): where hickory
/// and the handler compress those differently (letter case, how many names they remember)
/// the bytes differ though the message is the same.
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
                    | RecordType::SRV
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
            cookies: Vec::new(),
            nsid: None,
        }),
        shape: spec::Shape::Plain,
    }
}

/// Every known name with every query type, without EDNS, with EDNS and with ECS, over UDP
/// and TCP, in both configurations; reports how many replies are byte-identical and checks
/// that none is longer than hickory's, which compresses every name it can.
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
                        tcp,
                        ..Case::plain(total)
                    };
                    let packet = spec(name, qtype, ecs).encode();
                    if let Agreement::Same { raw_identical } = differential(&case, &packet)
                        .unwrap_or_else(|e| panic!("{name} {qtype}: {e}"))
                    {
                        same += raw_identical as u64;
                    }
                    // The names here are lowercase, as the zone's are: the handler's
                    // compression leaves no reply longer than hickory's.
                    let got = handler_reply(&case, &packet).map_or(0, |r| r.len());
                    let want = reference_reply(&case, &packet).map_or(0, |r| r.len());
                    assert!(
                        got <= want,
                        "{name} {qtype} {case:?}: {got} bytes, hickory {want}"
                    );
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
        let case = Case::plain(0);
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
        src: "81.2.69.161".parse().unwrap(),
        tcp: true,
        ..Case::plain(3)
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

/// The UDP size limit is exact, and counts the OPT's options: an answer near the limits with
/// an EDNS payload size one below, equal to and one above its size is truncated, whole and
/// whole, in both implementations, with and without a cookie and a long NSID; the truncated
/// reply keeps the OPT with its options.
#[test]
fn truncation_happens_exactly_at_the_limit() {
    let mut exercised = 0;
    for with_options in [false, true] {
        for name in gen::BIG_NAMES.split_whitespace() {
            for qtype in [1, 28, 16] {
                let tcp = Case {
                    extra: true,
                    tcp: true,
                    nsid: with_options.then_some(LONG_NSID),
                    ..Case::plain(0)
                };
                let query = |payload: u16| {
                    let mut q = spec(name, qtype, Some(None));
                    let e = q.edns.as_mut().unwrap();
                    e.payload = payload;
                    if with_options {
                        e.cookies = vec![vec![7; 8]];
                        e.nsid = Some(Vec::new());
                    }
                    q.encode()
                };
                let size = reference_reply(&tcp, &query(1232)).unwrap().len();
                let udp = Case { tcp: false, ..tcp };
                for payload in [size - 1, size, size + 1] {
                    if !(512..=1232).contains(&payload) {
                        continue;
                    }
                    let q = query(payload as u16);
                    differential(&udp, &q).unwrap();
                    let reply = Message::from_vec(&reference_reply(&udp, &q).unwrap()).unwrap();
                    let tc = reply.metadata.truncation;
                    assert_eq!(tc, size > payload, "{name} type {qtype}, payload {payload}");
                    let options = reply.edns.as_ref().unwrap().options().as_ref().len();
                    assert_eq!(options, if with_options { 2 } else { 0 });
                    exercised += 1;
                }
            }
        }
    }
    assert!(exercised >= 18, "{exercised} sizes tried");
}

/// The reference's cookies are RFC 9018's: its own SipHash call reproduces the appendix's
/// server cookies (A.1, a new cookie; A.4, an IPv6 client under a rolled secret), so the
/// differential test holds the handler to the RFC, not only to a second copy of itself.
#[test]
fn reference_cookies_follow_rfc9018() {
    let unhex = |s: &str| -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let key = |s: &str| -> [u8; 16] { unhex(s).try_into().unwrap() };
    let a1 = reference::cookies::mint(
        &key("e5e973e5a6b2a43f48e7dc849e37bfcf"),
        &unhex("2464c4abcf10c957"),
        "198.51.100.100".parse().unwrap(),
        1,
        [0; 3],
        1559731985,
    );
    assert_eq!(a1, unhex("010000005cf79f111f8130c3eee29480"));
    let a4 = reference::cookies::mint(
        &key("445536bcd2513298075a5d379663c962"),
        &unhex("22681ab97d52c298"),
        "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap(),
        1,
        [0; 3],
        1559741961,
    );
    assert_eq!(a4, unhex("010000005cf7c609a6bb79d16625507a"));
}

/// Cookies at the edges of their lifetime, foreign and malformed cookies, NSID requests,
/// and NOTIMP/FORMERR with and without an OPT agree; and the reference shows what a client
/// sees: a young valid cookie echoed, an old or foreign one replaced, NSID only when asked
/// and configured, error replies with an OPT only when the query had a readable one.
#[test]
fn cookies_nsid_and_error_replies_agree_at_the_edges() {
    let cookie_of = |reply: &[u8]| -> Option<Vec<u8>> {
        let m = Message::from_vec(reply).unwrap();
        match m.edns?.option(EdnsCode::Cookie)? {
            EdnsOption::Unknown(10, d) => Some(d.clone()),
            other => panic!("{other:?}"),
        }
    };
    let client = [3u8; 8];
    for now in [1_750_000_000u32, 100, u32::MAX - 100] {
        for (age, echoed) in [
            (0i64, true),
            (1800, true),
            (1801, false),
            (3600, false),
            (3601, false),
            (-300, true),
            (-301, false),
        ] {
            for tcp in [false, true] {
                let case = Case {
                    tcp,
                    now,
                    nsid: Some(b"edge"),
                    ..Case::plain(age as u64)
                };
                let plan = gen::CookiePlan::Minted {
                    client,
                    age,
                    other_address: false,
                    other_secret: false,
                    version: 1,
                    reserved: [0; 3],
                };
                let sent = cookie_bytes(&plan, case.src, now);
                let mut q = spec("www.example.com.", 1, Some(None));
                q.edns.as_mut().unwrap().cookies = vec![sent.clone()];
                let packet = q.encode();
                differential(&case, &packet).unwrap();
                let got = cookie_of(&reference_reply(&case, &packet).unwrap()).unwrap();
                assert_eq!(got == sent, echoed, "age {age} at {now}");
                assert_eq!(got[..8], client);
                if !echoed {
                    let fresh =
                        reference::cookies::mint(&SECRET, &client, case.src, 1, [0; 3], now);
                    assert_eq!(got[8..], fresh[..], "age {age} at {now}");
                }
            }
        }
    }
    // Foreign cookies are replaced; malformed ones are FORMERR with an OPT.
    let case = Case {
        nsid: Some(b"edge"),
        ..Case::plain(1)
    };
    for (plan, formerr) in [
        (gen::CookiePlan::Raw(vec![1; 8]), false),
        (gen::CookiePlan::Raw(vec![1; 24]), false),
        (gen::CookiePlan::Raw(vec![1; 40]), false),
        (gen::CookiePlan::Raw(vec![1; 7]), true),
        (gen::CookiePlan::Raw(vec![1; 9]), true),
        (gen::CookiePlan::Raw(vec![1; 15]), true),
        (gen::CookiePlan::Raw(vec![1; 41]), true),
        (
            gen::CookiePlan::Minted {
                client,
                age: 10,
                other_address: true,
                other_secret: false,
                version: 1,
                reserved: [0; 3],
            },
            false,
        ),
        (
            gen::CookiePlan::Minted {
                client,
                age: 10,
                other_address: false,
                other_secret: true,
                version: 1,
                reserved: [0; 3],
            },
            false,
        ),
    ] {
        let sent = cookie_bytes(&plan, case.src, case.now);
        let mut q = spec("www.example.com.", 1, Some(None));
        q.edns.as_mut().unwrap().cookies = vec![sent.clone()];
        q.edns.as_mut().unwrap().nsid = Some(Vec::new());
        let packet = q.encode();
        differential(&case, &packet).unwrap();
        let reply = reference_reply(&case, &packet).unwrap();
        let m = Message::from_vec(&reply).unwrap();
        let edns = m.edns.as_ref().expect("an OPT in every reply");
        if formerr {
            assert_eq!(m.metadata.response_code, ResponseCode::FormErr, "{plan:?}");
            assert!(edns.options().as_ref().is_empty(), "{plan:?}");
        } else {
            assert_eq!(m.metadata.response_code, ResponseCode::NoError, "{plan:?}");
            let got = cookie_of(&reply).unwrap();
            assert_eq!((got.len(), got[..8] == sent[..8]), (24, true), "{plan:?}");
            assert_ne!(got, sent, "{plan:?}");
            assert!(
                matches!(edns.option(EdnsCode::NSID), Some(EdnsOption::NSID(n)) if n.as_ref() == b"edge")
            );
        }
    }
    // NOTIMP (opcodes 2 and 5), with and without an OPT.
    for opcode in [2u8, 5] {
        for edns in [None, Some(None)] {
            let mut q = spec("example.com.", 6, edns);
            q.opcode = opcode;
            let packet = q.encode();
            differential(&case, &packet).unwrap();
            let m = Message::from_vec(&reference_reply(&case, &packet).unwrap()).unwrap();
            assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
            assert_eq!(m.edns.is_some(), edns.is_some(), "opcode {opcode}");
            assert!(m.queries.is_empty() && m.answers.is_empty());
        }
    }
}
