//! TCP under abuse: thousands of idle, half-prefix and half-sent connections, first from one
//! address, then from many networks at once, never keep a client on another address from
//! getting TCP answers within 100 ms, the whole time.

mod common;

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::RecordType;

use common::metrics::scrape;
use common::*;

/// The bound every TCP answer of the well-behaved client must meet.
const BOUND: Duration = Duration::from_millis(100);
const ATTACK: usize = 5000;

/// Lets this process hold the attack's sockets.
fn raise_fd_limit() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut l);
        l.rlim_cur = l.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &l);
    }
    assert!(
        l.rlim_cur as usize > ATTACK + 512,
        "this test needs {} open files, the limit is {}",
        ATTACK + 512,
        l.rlim_cur
    );
}

/// One abusive connection: idle, half a length prefix, or a prefix and half a message.
fn abuse(source: IpAddr, to: SocketAddr, i: usize) -> Option<TcpStream> {
    let mut c = tcp_connect_from(source, to).ok()?;
    let _ = match i % 3 {
        0 => Ok(()),
        1 => c.write_all(&[0]),
        _ => c.write_all(&[0, 40, 0x12, 0x34, 0x01]),
    };
    Some(c)
}

/// The well-behaved client: a fresh connection and one query, again and again, until `done`;
/// returns every answer's time.
fn client(to: SocketAddr, done: Arc<AtomicBool>) -> Vec<Duration> {
    let framed = frame(&encode(&query("static.example.com.", RecordType::A)));
    let mut times = Vec::new();
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 99, 7));
    // Bounded: at most 20 s of asking.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done.load(Ordering::SeqCst) && Instant::now() < deadline {
        let start = Instant::now();
        let answered = (|| -> std::io::Result<()> {
            let mut c = tcp_connect_from(source, to)?;
            c.write_all(&framed)?;
            assert_eq!(decode(&read_framed(&mut c)?).answers.len(), 2);
            Ok(())
        })();
        // A failed query counts as never answered.
        times.push(match answered {
            Ok(()) => start.elapsed(),
            Err(_) => Duration::MAX,
        });
        // Pacing only: the client asks about 200 times a second.
        std::thread::sleep(Duration::from_millis(5));
    }
    times
}

fn check(times: &[Duration], phase: &str) {
    assert!(times.len() >= 20, "{phase}: only {} queries", times.len());
    let mut sorted = times.to_vec();
    sorted.sort();
    eprintln!(
        "{phase}: {} TCP answers, median {:?}, 99th percentile {:?}, worst {:?}",
        sorted.len(),
        sorted[sorted.len() / 2],
        sorted[sorted.len() * 99 / 100],
        sorted[sorted.len() - 1]
    );
    let worst = times.iter().max().unwrap();
    let late = times.iter().filter(|&&t| t > BOUND).count();
    assert_eq!(
        late,
        0,
        "{phase}: {late} of {} TCP answers took longer than {BOUND:?} (worst {worst:?})",
        times.len()
    );
}

/// Runs `attack` while the client asks; returns the attack's connections (kept open until
/// the caller drops them) and the client's answer times.
fn under_attack(
    s: &Server,
    attack: impl FnOnce() -> Vec<TcpStream>,
) -> (Vec<TcpStream>, Vec<Duration>) {
    let done = Arc::new(AtomicBool::new(false));
    let asking = {
        let (to, done) = (s.addr(), done.clone());
        std::thread::spawn(move || client(to, done))
    };
    let held = attack();
    // The attack's connections stay open while the client asks for another half second.
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::SeqCst);
    (held, asking.join().expect("client thread"))
}

#[test]
fn thousands_of_slow_connections_never_keep_another_client_from_tcp_answers() {
    raise_fd_limit();
    let s = Server::start(
        &example_zones(),
        &example_geo(),
        &["--admin", "127.0.0.1:0", "--tcp-idle-timeout", "30"],
    );
    let to = s.addr();

    // One address opens 5,000 connections: it gets its network's share (256), no more.
    let one = IpAddr::V4(Ipv4Addr::new(127, 0, 98, 2));
    let (held, times) = under_attack(&s, || {
        (0..ATTACK).filter_map(|i| abuse(one, to, i)).collect()
    });
    check(&times, "one address");
    let m = scrape(s.admin_addr());
    let refused = m.must("gslbd_tcp_closed_total", &[("reason", "per_client")]);
    assert!(
        refused >= (ATTACK - 256 - 10) as f64,
        "only {refused} refused for their network"
    );
    assert!(m.must("gslbd_tcp_connections", &[]) <= 256.0 + 1.0);
    drop(held);

    // 25 networks, 200 connections each: 5,000, far over the global cap of 1,024. The
    // newest take the places of the oldest that never completed a query.
    let (held, times) = under_attack(&s, || {
        (0..ATTACK)
            .filter_map(|i| {
                let net = IpAddr::V4(Ipv4Addr::new(127, 0, 100 + (i % 25) as u8, 2));
                abuse(net, to, i)
            })
            .collect()
    });
    check(&times, "25 networks");
    let m = scrape(s.admin_addr());
    let evicted = m.must("gslbd_tcp_closed_total", &[("reason", "evicted")]);
    assert!(evicted >= 1000.0, "only {evicted} evicted");
    assert!(m.must("gslbd_tcp_connections", &[]) <= 1024.0);
    drop(held);
}
