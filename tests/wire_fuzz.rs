//! Hostile input against the in-process request handler, checked against hickory-proto as an
//! independent decoder: random and mutated queries never panic, every reply decodes, echoes
//! the id and question, respects the size limit, and FORMERR goes exactly to what hickory
//! also finds malformed (or to what only the strict ECS checks of RFC 7871 reject).

use gslbd::dnssec::SigCache;
use std::net::IpAddr;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use proptest::prelude::*;

use gslbd::config::{self, Paths};
use gslbd::dns::edns::{CookieSecret, EdnsConfig};
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::health::HealthView;
use gslbd::snapshot::Snapshot;

fn example() -> Snapshot {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    config::load(&Paths {
        zones: root.join("zones"),
        geo: root.join("geo"),
    })
    .expect("shipped example loads")
}

fn snap() -> &'static Snapshot {
    static SNAP: std::sync::OnceLock<Snapshot> = std::sync::OnceLock::new();
    SNAP.get_or_init(example)
}

fn run(packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    let health = HealthView::all_up();
    let edns = EdnsConfig {
        nsid: Some(b"wire-fuzz".to_vec().into()),
        cookie_secret: CookieSecret::new([7; 16]),
        chaos: gslbd::dns::chaos::Chaos::new(Some(b"wire-fuzz"), Some(gslbd::dns::chaos::VERSION)),
    };
    let mut ctx = Context {
        snapshot: snap(),
        health: &health,
        rotation: 1,
        trace: None,
        edns: &edns,
        now: 1_700_000_000,
        sigs: &mut SigCache::default(),
    };
    let mut out = Vec::new();
    let src: IpAddr = "192.0.2.99".parse().unwrap();
    handle(&mut ctx, packet, src, transport, &mut out).map(|_| out)
}

fn valid_queries() -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for (name, qtype) in [
        ("www.example.com.", 1u16),
        ("WwW.Example.COM.", 28),
        ("nope.example.com.", 1),
        ("example.com.", 255),
        ("docs.example.com.", 1),
        ("long.example.com.", 16),
        ("example.org.", 1),
    ] {
        let mut m = Message::query();
        m.metadata.id = 0x4242;
        m.add_query(hickory_proto::op::Query::query(
            hickory_proto::rr::Name::from_ascii(name).unwrap(),
            hickory_proto::rr::RecordType::from(qtype),
        ));
        v.push(m.to_vec().unwrap());
        let mut e = m.clone();
        let mut edns = hickory_proto::op::Edns::new();
        edns.set_max_payload(1232);
        edns.options_mut()
            .insert(EdnsOption::Subnet("81.2.69.0/24".parse().unwrap()));
        e.set_edns(edns.clone());
        v.push(e.to_vec().unwrap());
        // A client cookie with a server cookie, and an NSID request.
        let mut c = m.clone();
        let mut cookie = vec![1, 2, 3, 4, 5, 6, 7, 8, 1, 0, 0, 0];
        cookie.extend_from_slice(&[0x42; 12]);
        edns.options_mut().insert(EdnsOption::Unknown(10, cookie));
        edns.options_mut()
            .insert(EdnsOption::NSID(Vec::new().as_slice().try_into().unwrap()));
        c.set_edns(edns);
        v.push(c.to_vec().unwrap());
    }
    v
}

/// Skips a possibly compressed name at `pos`; returns the position after it.
fn skip_name(p: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *p.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            1..=63 => pos += 1 + len as usize,
            0xc0..=0xff => return Some(pos + 2),
            _ => return None,
        }
    }
}

/// True when the packet's OPT record holds options whose lengths do not add up to its RDATA,
/// or a COOKIE option of a length RFC 7873 §5.2.2 forbids (not 8 and not 16 to 40), or two
/// COOKIE options, walked independently of the code under test.
fn opt_options_malformed(p: &[u8]) -> bool {
    let count = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]) as usize;
    let Some(mut pos) = skip_name(p, 12).map(|x| x + 4) else {
        return false;
    };
    for _ in 0..count(6) + count(8) + count(10) {
        let Some(after) = skip_name(p, pos) else {
            return false;
        };
        let Some(f) = p.get(after..after + 10) else {
            return false;
        };
        let rtype = u16::from_be_bytes([f[0], f[1]]);
        let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
        let Some(mut rdata) = p.get(after + 10..after + 10 + rdlen) else {
            return false;
        };
        if rtype == 41 {
            let mut cookies = 0;
            while !rdata.is_empty() {
                let Some(h) = rdata.get(..4) else { return true };
                let n = u16::from_be_bytes([h[2], h[3]]) as usize;
                if rdata.len() < 4 + n {
                    return true;
                }
                if u16::from_be_bytes([h[0], h[1]]) == 10 {
                    cookies += 1;
                    if cookies > 1 || !(n == 8 || (16..=40).contains(&n)) {
                        return true;
                    }
                }
                rdata = &rdata[4 + n..];
            }
        }
        pos = after + 10 + rdlen;
    }
    false
}

/// What must hold for any reply to any packet.
fn check_reply(query: &[u8], reply: &[u8], transport: Transport) -> Result<(), TestCaseError> {
    let limit = match transport {
        Transport::Tcp => 65535,
        Transport::Udp => 1232,
    };
    prop_assert!(reply.len() <= limit, "reply of {} bytes", reply.len());
    let r = Message::from_vec(reply)
        .map_err(|e| TestCaseError::fail(format!("undecodable reply: {e}")))?;
    prop_assert_eq!(r.metadata.message_type, MessageType::Response);
    prop_assert_eq!(&reply[..2], &query[..2], "id echoed");
    prop_assert!(!r.metadata.recursion_available, "RA is never set");
    let q = Message::from_vec(query);
    if r.metadata.response_code == ResponseCode::FormErr {
        // Either hickory also rejects it, or it is malformed in a way only strict checks see:
        // a question count other than one, a compressed question, two OPTs, a bad ECS, or
        // EDNS options that overrun their OPT record (hickory drops those silently); or it
        // asks for the NXNAME meta-type, which is FORMERR (RFC 9824 §3.5).
        if let Ok(q) = &q {
            let arcount = u16::from_be_bytes([query[10], query[11]]);
            let nxname = q
                .queries
                .first()
                .is_some_and(|x| u16::from(x.query_type()) == 128);
            let strict = nxname
                || q.queries.len() != 1
                || query.get(12).is_some_and(|&b| b >= 0xc0)
                || arcount >= 2
                || q.edns
                    .as_ref()
                    .is_some_and(|e| e.option(EdnsCode::Subnet).is_some())
                || opt_options_malformed(query);
            prop_assert!(strict, "FORMERR for a query hickory finds valid: {}", q);
        }
        return Ok(());
    }
    if let Ok(q) = q {
        if q.metadata.op_code == OpCode::Query && q.queries.len() == 1 {
            prop_assert_eq!(r.queries.len(), 1, "the question is echoed");
            prop_assert_eq!(&r.queries[0], &q.queries[0]);
            prop_assert_eq!(
                r.edns.is_some(),
                q.edns.is_some(),
                "OPT in reply iff in query"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_replies_decode(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for t in [Transport::Udp, Transport::Tcp] {
            if let Some(reply) = run(&bytes, t) {
                prop_assert!(bytes.len() >= 12, "no reply to runts");
                prop_assert_eq!(bytes[2] & 0x80, 0, "no reply to responses");
                check_reply(&bytes, &reply, t)?;
            }
        }
    }

    #[test]
    fn mutated_queries_never_panic_and_replies_decode(
        which in 0usize..21,
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<Option<usize>>(),
    ) {
        let mut q = valid_queries()[which].clone();
        for (pos, val) in flips {
            let i = pos % q.len();
            q[i] = val;
        }
        if let Some(c) = cut {
            q.truncate(c % (q.len() + 1));
        }
        for t in [Transport::Udp, Transport::Tcp] {
            if let Some(reply) = run(&q, t) {
                check_reply(&q, &reply, t)?;
            }
        }
    }
}

#[test]
fn valid_queries_get_the_answers_hickory_expects() {
    for q in valid_queries() {
        let reply = run(&q, Transport::Udp).expect("a reply");
        let r = Message::from_vec(&reply).unwrap();
        let parsed = Message::from_vec(&q).unwrap();
        let name = parsed.queries[0].name().to_ascii().to_lowercase();
        let want = if name.ends_with("example.org.") {
            ResponseCode::Refused
        } else if name.starts_with("nope.") {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        assert_eq!(r.metadata.response_code, want, "{parsed}\n{r}");
        assert_eq!(r.metadata.authoritative, want != ResponseCode::Refused);
        assert_eq!(
            r.queries, parsed.queries,
            "question echoed with the client's case"
        );
        // A cookie gets the client cookie back with a 16-byte server cookie (the one sent
        // is not ours, so a new one); an NSID request gets the configured NSID.
        let asked = parsed.edns.as_ref();
        let cookie = |m: &Message| match m.edns.as_ref()?.option(EdnsCode::Cookie)? {
            EdnsOption::Unknown(10, data) => Some(data.clone()),
            other => panic!("COOKIE decoded as {other:?}"),
        };
        match cookie(&parsed) {
            Some(sent) => {
                let got = cookie(&r).expect("a COOKIE in the reply");
                assert_eq!(
                    (got.len(), &got[..9]),
                    (24, &[1, 2, 3, 4, 5, 6, 7, 8, 1][..])
                );
                assert_ne!(got[8..], sent[8..]);
            }
            None => assert!(cookie(&r).is_none()),
        }
        let nsid = r.edns.as_ref().and_then(|e| e.option(EdnsCode::NSID));
        match asked.and_then(|e| e.option(EdnsCode::NSID)) {
            Some(_) => assert!(
                matches!(nsid, Some(EdnsOption::NSID(n)) if n.as_ref() == b"wire-fuzz"),
                "{r:?}"
            ),
            None => assert!(nsid.is_none()),
        }
    }
}
