//! Unit tests of the limiter: buckets per network, kind and name; seconds; slip; exemptions;
//! the truncated reply checked with hickory.

use super::*;
use crate::dns::edns::CookieVerdict;

fn rrl(rate: u32, slip: u32) -> Rrl {
    Rrl::new(RrlConfig {
        rate,
        slip,
        table_size: 1 << 12,
    })
}

fn packet(name: &str) -> Vec<u8> {
    let mut p = vec![0u8; 12];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 1, 0, 1]);
    p
}

fn outcome(rcode: u16, zone_slot: u16) -> Outcome {
    Outcome {
        rcode,
        zone_slot,
        ..Outcome::default()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// How many of `n` responses are sent whole.
fn sent(r: &Rrl, o: &Outcome, name: &str, client: &str, now: u32, n: usize) -> usize {
    let p = packet(name);
    let mut slip = SlipCounter::default();
    (0..n)
        .filter(|_| r.check(o, &p, ip(client), now, &mut slip) == Verdict::Send)
        .count()
}

#[test]
fn a_bucket_sends_rate_responses_a_second_then_limits() {
    let r = rrl(5, 2);
    let ok = outcome(rcode::NOERROR, 1);
    assert_eq!(sent(&r, &ok, "www.example.com", "192.0.2.1", 100, 20), 5);
    // Same second: still limited; the next second starts over.
    assert_eq!(sent(&r, &ok, "www.example.com", "192.0.2.1", 100, 3), 0);
    assert_eq!(sent(&r, &ok, "www.example.com", "192.0.2.1", 101, 20), 5);
    // Of each run's limited responses (15, 3, 15) every second one is slipped, the others
    // dropped (each run has its own slip cycle).
    assert_eq!(r.slipped.load(Relaxed), 7 + 1 + 7);
    assert_eq!(r.dropped.load(Relaxed), 8 + 2 + 8);
}

#[test]
fn networks_names_and_kinds_are_counted_apart() {
    let r = rrl(3, 0);
    let ok = outcome(rcode::NOERROR, 1);
    assert_eq!(sent(&r, &ok, "a.example.com", "192.0.2.1", 7, 10), 3);
    // The same /24 shares the bucket; another /24 and another name do not.
    assert_eq!(sent(&r, &ok, "a.example.com", "192.0.2.200", 7, 10), 0);
    assert_eq!(sent(&r, &ok, "a.example.com", "192.0.3.1", 7, 10), 3);
    assert_eq!(sent(&r, &ok, "b.example.com", "192.0.2.1", 7, 10), 3);
    // Case does not make a new name.
    assert_eq!(sent(&r, &ok, "A.Example.COM", "192.0.2.9", 7, 10), 0);
    // IPv6: per /56.
    assert_eq!(
        sent(&r, &ok, "a.example.com", "2001:db8:0:1ff::1", 7, 10),
        3
    );
    assert_eq!(
        sent(&r, &ok, "a.example.com", "2001:db8:0:100::2", 7, 10),
        0
    );
    assert_eq!(
        sent(&r, &ok, "a.example.com", "2001:db8:0:200::1", 7, 10),
        3
    );
}

#[test]
fn nxdomain_and_wildcards_count_per_zone_and_errors_per_network() {
    let r = rrl(4, 0);
    let nx = outcome(rcode::NXDOMAIN, 1);
    let sent_nx: usize = (0..20)
        .map(|i| sent(&r, &nx, &format!("r{i}.example.com"), "192.0.2.1", 9, 1))
        .sum();
    assert_eq!(sent_nx, 4, "random names of one zone share a bucket");
    assert_eq!(
        sent(
            &r,
            &outcome(rcode::NXDOMAIN, 2),
            "x.example.org",
            "192.0.2.1",
            9,
            10
        ),
        4
    );
    let wild = Outcome {
        wildcard: true,
        ..outcome(rcode::NOERROR, 1)
    };
    let sent_wild: usize = (0..20)
        .map(|i| {
            sent(
                &r,
                &wild,
                &format!("r{i}.cdn.example.com"),
                "192.0.2.1",
                9,
                1,
            )
        })
        .sum();
    assert_eq!(sent_wild, 4);
    let refused = outcome(rcode::REFUSED, 0);
    let sent_err: usize = (0..20)
        .map(|i| {
            sent(
                &r,
                &refused,
                &format!("n{i}.elsewhere.net"),
                "192.0.2.1",
                9,
                1,
            )
        })
        .sum();
    assert_eq!(sent_err, 4, "errors share one bucket per network");
}

#[test]
fn eight_byte_lowercase_is_ascii_lowercase_of_every_byte() {
    for seed in 0u64..2000 {
        let w = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (seed << 7);
        let want: Vec<u8> = w.to_le_bytes().iter().map(u8::to_ascii_lowercase).collect();
        assert_eq!(lowercase(w).to_le_bytes().to_vec(), want, "{w:#x}");
    }
    for b in 0..=255u8 {
        let w = u64::from_le_bytes([b; 8]);
        assert_eq!(
            lowercase(w),
            u64::from_le_bytes([b.to_ascii_lowercase(); 8]),
            "{b}"
        );
    }
}

#[test]
fn a_valid_server_cookie_is_never_limited() {
    let r = rrl(1, 0);
    let proven = Outcome {
        cookie: CookieVerdict::Valid,
        ..outcome(rcode::NOERROR, 1)
    };
    assert_eq!(sent(&r, &proven, "www.example.com", "192.0.2.1", 1, 50), 50);
}

#[test]
fn slip_zero_drops_everything_and_slip_one_truncates_everything() {
    for (slip, slipped) in [(0, 0), (1, 10)] {
        let r = rrl(1, slip);
        sent(
            &r,
            &outcome(rcode::NOERROR, 1),
            "www.example.com",
            "192.0.2.1",
            1,
            11,
        );
        assert_eq!(r.slipped.load(Relaxed), slipped, "slip {slip}");
        assert_eq!(r.dropped.load(Relaxed), 10 - slipped, "slip {slip}");
    }
}

#[test]
fn a_truncated_reply_keeps_the_header_and_question_only() {
    use hickory_proto::op::{Message, MessageType, Query};
    use hickory_proto::rr::{Name, RData, Record, RecordType};
    let mut m = Message::new(
        0x1234,
        MessageType::Response,
        hickory_proto::op::OpCode::Query,
    );
    m.metadata.authoritative = true;
    m.add_query(Query::query(
        Name::from_ascii("www.example.com.").unwrap(),
        RecordType::A,
    ));
    m.add_answer(Record::from_rdata(
        Name::from_ascii("www.example.com.").unwrap(),
        30,
        RData::A("192.0.2.1".parse().unwrap()),
    ));
    let mut wire = m.to_vec().unwrap();
    truncate(&mut wire);
    let t = Message::from_vec(&wire).unwrap();
    assert!(t.metadata.truncation);
    assert_eq!(t.metadata.id, 0x1234);
    assert_eq!(t.queries, m.queries);
    assert!(t.answers.is_empty() && t.authorities.is_empty() && t.additionals.is_empty());
}
