//! Response rate limiting end to end, from many loopback source addresses (127.0.x.y: one
//! /24 each): a network flooding one name, random names (NXDOMAIN), random names under a
//! wildcard, or names outside our zones is limited to the rate, every second limited reply
//! slipped with TC; another network's answers are untouched; TCP from the flooding network
//! is never limited; the metrics count what was dropped and slipped.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

use common::metrics::{scrape, scrape_until};
use common::*;

const RATE: usize = 10;

/// gslbd with RRL at `RATE`, set with `flag`: `--rrl` (the spec's name) or `--rrl-rate`.
fn server(flag: &str) -> Server {
    Server::start(
        &example_zones(),
        &example_geo(),
        &[
            "--admin",
            "127.0.0.1:0",
            "--udp-threads",
            "1",
            flag,
            &RATE.to_string(),
            "--rrl-slip",
            "2",
        ],
    )
}

fn src(net: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, net, 9))
}

/// What came back for a burst of queries.
#[derive(Debug, Default)]
struct Replies {
    /// Whole replies (no TC), with their response code.
    full: Vec<ResponseCode>,
    /// Truncated replies (TC, no records).
    slipped: usize,
    sent: usize,
}

impl Replies {
    fn dropped(&self) -> usize {
        self.sent - self.full.len() - self.slipped
    }
}

/// Sends every query from `source` at once, waits until the server has handled all of them
/// (its query counter), then reads every reply that is there.
fn burst(s: &Server, source: IpAddr, queries: &[(String, RecordType)]) -> Replies {
    let sock = UdpSocket::bind(SocketAddr::new(source, 0)).expect("bind source");
    let before = scrape(s.admin_addr()).sum("gslbd_queries_total");
    for (i, (name, t)) in queries.iter().enumerate() {
        let mut q = query(name, *t);
        q.metadata.id = i as u16;
        sock.send_to(&encode(&q), s.addr()).unwrap();
    }
    let want = before + queries.len() as f64;
    let m = scrape_until(s.admin_addr(), |m| m.sum("gslbd_queries_total") >= want);
    assert!(
        m.sum("gslbd_queries_total") >= want,
        "the server did not handle all {} queries",
        queries.len()
    );
    // Every reply was sent before the counter moved: it is in our socket buffer now.
    sock.set_nonblocking(true).unwrap();
    let mut out = Replies {
        sent: queries.len(),
        ..Replies::default()
    };
    let mut buf = [0u8; 4096];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        let m = Message::from_vec(&buf[..n]).expect("a DNS reply");
        let (name, _) = &queries[m.metadata.id as usize];
        assert_eq!(
            m.queries[0].name().to_string().to_lowercase(),
            format!("{}.", name.trim_end_matches('.')).to_lowercase(),
            "the reply echoes its question"
        );
        if m.metadata.truncation {
            assert!(
                m.answers.is_empty() && m.authorities.is_empty(),
                "a slipped reply carries no records: {m}"
            );
            out.slipped += 1;
        } else {
            out.full.push(m.metadata.response_code);
        }
    }
    out
}

fn same(name: &str, n: usize) -> Vec<(String, RecordType)> {
    (0..n).map(|_| (name.to_string(), RecordType::A)).collect()
}

fn random(suffix: &str, n: usize) -> Vec<(String, RecordType)> {
    let mut rng = Rng::new(7);
    (0..n)
        .map(|_| (format!("r{:x}.{suffix}", rng.next_u64()), RecordType::A))
        .collect()
}

/// A limited burst: at most the rate per second passes whole (a burst may straddle two
/// seconds), every second limited reply is slipped with TC, the rest dropped.
fn assert_limited(r: &Replies, want: ResponseCode, what: &str) {
    assert!(
        !r.full.is_empty() && r.full.len() <= 2 * RATE,
        "{what}: {} whole replies of {} (rate {RATE})",
        r.full.len(),
        r.sent
    );
    assert!(r.full.iter().all(|c| *c == want), "{what}: {:?}", r.full);
    let limited = r.sent - r.full.len();
    assert_eq!(
        r.slipped,
        limited / 2,
        "{what}: slip 2 of {limited} limited"
    );
    assert_eq!(r.dropped(), limited - limited / 2, "{what}");
}

#[test]
fn a_flooding_network_is_limited_and_the_others_are_not() {
    let s = server("--rrl");
    let m0 = scrape(s.admin_addr());
    assert_eq!(
        m0.must("gslbd_rrl_limited_total", &[("action", "dropped")]),
        0.0
    );

    // One name from 127.0.60.0/24, 300 times.
    let flood = burst(&s, src(60), &same("static.example.com.", 300));
    assert_limited(&flood, ResponseCode::NoError, "one name");

    // Another network asking the same name, within the rate: every answer whole.
    let calm = burst(&s, src(61), &same("static.example.com.", RATE / 2));
    assert_eq!(calm.full.len(), RATE / 2, "{calm:?}");
    assert_eq!(calm.slipped, 0);

    // Random names: NXDOMAIN is counted per zone, so random names do not escape.
    let nx = burst(&s, src(62), &random("example.com.", 200));
    assert_limited(&nx, ResponseCode::NXDomain, "NXDOMAIN");
    // Random names under a wildcard: per zone too.
    let wild = burst(&s, src(63), &random("cdn.example.com.", 200));
    assert_limited(&wild, ResponseCode::NoError, "wildcard");
    // Names outside our zones: REFUSED, one bucket per network.
    let refused = burst(&s, src(64), &random("elsewhere.test.", 200));
    assert_limited(&refused, ResponseCode::Refused, "errors");

    // TCP is never limited, even from the flooding network.
    let flood_net = src(60);
    for _ in 0..3 * RATE {
        let r = tcp_from(
            flood_net,
            s.addr(),
            &query("static.example.com.", RecordType::A),
        );
        assert_eq!(r.answers.len(), 2, "{r}");
    }

    let m = scrape(s.admin_addr());
    let all = [&flood, &nx, &wild, &refused];
    let slipped: usize = all.iter().map(|r| r.slipped).sum();
    let dropped: usize = all.iter().map(|r| r.dropped()).sum();
    assert_eq!(
        m.must("gslbd_rrl_limited_total", &[("action", "slipped")]),
        slipped as f64
    );
    assert_eq!(
        m.must("gslbd_rrl_limited_total", &[("action", "dropped")]),
        dropped as f64
    );
}

/// A query over TCP from `source`.
fn tcp_from(source: IpAddr, to: SocketAddr, q: &Message) -> Message {
    use std::io::Write;
    let mut c = tcp_connect_from(source, to).expect("TCP connect");
    c.write_all(&frame(&encode(q))).unwrap();
    decode(&read_framed(&mut c).expect("TCP reply"))
}

#[test]
fn the_limit_starts_over_every_second() {
    let s = server("--rrl-rate");
    let first = burst(&s, src(70), &same("www.example.com.", 4 * RATE));
    assert!(first.full.len() <= 2 * RATE, "{first:?}");
    // Once the second has passed, the same network gets the rate again.
    let start = Instant::now();
    let again = loop {
        let r = burst(&s, src(70), &same("www.example.com.", RATE / 2));
        if r.full.len() == RATE / 2 || start.elapsed() > Duration::from_secs(3) {
            break r;
        }
        // The bucket still counts the first second: ask again in a moment.
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(again.full.len(), RATE / 2, "{again:?}");
    assert!(start.elapsed() <= Duration::from_millis(2100));
}
