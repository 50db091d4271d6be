//! A fleet at scale on one machine: one real `gslbd serve --fleet` node and NODES-1
//! simulated nodes (publishers with their own NATS connections) voting on the real node's
//! PROBES checked targets through a local `nats-server -js`, the way real nodes publish (one
//! bit per probe at every 1 s heartbeat, at once on a flip). Prints NATS traffic, the real
//! node's CPU and memory without and with the fleet, and how long a quorum flip takes to show
//! in the real node's DNS answers.
//!
//! `fleet_sim [NODES] [PROBES] [SECONDS]` (defaults 100 10000 20), from `cargo run --release
//! --example fleet_sim`; needs `nats-server` and `target/release/gslbd`. Everything listens on
//! 127.0.0.1 and is stopped by pid at the end; every wait has a deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use gslbd::fleet::{now_ms, probe_id, NodeVotes, ProbeSet};
use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

const READY: Duration = Duration::from_secs(60);

/// The processes started here, stopped by the panic hook too (release builds abort).
static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn started(child: &Child) {
    STARTED.lock().unwrap().push(child.id());
}
const FLIPS: usize = 10;
const FLIP_DEADLINE: Duration = Duration::from_secs(10);

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("NODES PROBES SECONDS: numbers"))
        .collect();
    let nodes = args.first().copied().unwrap_or(100).max(2);
    let probes = args.get(1).copied().unwrap_or(10_000).clamp(1, 60_000);
    let seconds = args.get(2).copied().unwrap_or(20).clamp(1, 600) as u64;
    let dir = tempfile::tempdir().expect("tempdir");
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        for pid in STARTED.lock().map(|v| v.clone()).unwrap_or_default() {
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        hook(info)
    }));

    let nats_port = free_port();
    let nats_mon = free_port();
    let mut nats = Command::new("nats-server")
        .args(["-js", "-a", "127.0.0.1", "-p", &nats_port.to_string()])
        .args(["-m", &nats_mon.to_string(), "-sd"])
        .arg(dir.path().join("nats"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server (apt install nats-server)");
    started(&nats);
    wait(READY, "nats-server", || {
        TcpStream::connect(("127.0.0.1", nats_port)).is_ok()
    });

    let (zones, geo) = (dir.path().join("zones"), dir.path().join("geo"));
    write_zone(&zones, probes);
    std::fs::create_dir_all(&geo).unwrap();
    let url = format!("nats://127.0.0.1:{nats_port}");
    let mut server = Command::new("target/release/gslbd")
        .arg("serve")
        .arg("--zones")
        .arg(&zones)
        .arg("--geo")
        .arg(&geo)
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
        .args(["--udp-threads", "1", "--no-watch", "--fleet", &url])
        .args(["--node", "real"])
        .env("GSLBD_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("target/release/gslbd (cargo build --release)");
    started(&server);
    let dns = listening(&mut server);
    let pid = server.id();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let pids = (pid, nats.id());
    // Where target i's probe is in the probe set, as gslbd identifies probes.
    let snap = gslbd::config::load(&gslbd::config::Paths { zones, geo }).expect("the zone loads");
    let ids: Vec<u64> = (0..probes)
        .map(|i| {
            let addr: std::net::IpAddr = target(i).parse().unwrap();
            let p = snap.gslb.probes.iter().find(|p| p.addr == addr).unwrap();
            probe_id(p.addr, &p.check)
        })
        .collect();
    let report = rt.block_on(run(&url, nats_mon, pids, dns, &ids, seconds, nodes));
    stop(&mut server);
    stop(&mut nats);
    print!("{report}");
}

async fn run(
    url: &str,
    nats_mon: u16,
    pids: (u32, u32),
    dns: SocketAddr,
    ids: &[u64],
    seconds: u64,
    nodes: usize,
) -> String {
    let probes = ids.len();
    let client = async_nats::connect(url).await.expect("connect");
    let js = jetstream::new(client);
    // The real node's probe set, as it published it.
    let set = {
        let deadline = Instant::now() + READY;
        loop {
            if let Ok(kv) = js.get_key_value("gslbd_votes").await {
                if let Ok(Some(b)) = kv.get("real.ids").await {
                    if let Some(set) = ProbeSet::decode(&b) {
                        break set;
                    }
                }
            }
            assert!(Instant::now() < deadline, "the real node never published");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(set.len(), probes, "the real node votes on every target");
    let kv = js.get_key_value("gslbd_votes").await.unwrap();
    let mut out = String::new();
    let window = Duration::from_secs(seconds);

    // The real node alone: its own probes and heartbeat.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let alone = Sample::take(pids, nats_mon, window).await;

    // The simulated nodes: every probe up, each publishing at its own phase of the second.
    let truth = Arc::new(Mutex::new(vec![true; probes]));
    let set = Arc::new(set);
    let (flip_tx, flip_rx) = tokio::sync::watch::channel(0u64);
    let mut sims = Vec::new();
    for i in 1..nodes {
        let client = async_nats::connect(url).await.expect("connect");
        let kv = jetstream::new(client)
            .get_key_value("gslbd_votes")
            .await
            .unwrap();
        let key = format!("sim{i}");
        kv.put(format!("{key}.ids"), set.encode().into())
            .await
            .unwrap();
        let (set, truth, mut flips) = (set.clone(), truth.clone(), flip_rx.clone());
        let phase = Duration::from_millis((1000 * i / nodes) as u64);
        let (acked_tx, acked) = tokio::sync::watch::channel(0u64);
        sims.push(acked);
        tokio::spawn(async move {
            tokio::time::sleep(phase).await;
            let mut beat = tokio::time::interval(Duration::from_secs(1));
            loop {
                let flip = tokio::select! {
                    _ = beat.tick() => None,
                    r = flips.changed() => match r {
                        Ok(()) => Some(*flips.borrow_and_update()),
                        Err(_) => return,
                    },
                };
                let votes = {
                    let t = truth.lock().unwrap();
                    NodeVotes::new(now_ms(), &set, |k| t[k])
                };
                if kv.put(&key, votes.encode().into()).await.is_err() {
                    return;
                }
                if let Some(round) = flip {
                    let _ = acked_tx.send(round);
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let fleet = Sample::take(pids, nats_mon, window).await;
    let vote_bytes = NodeVotes::new(0, &set, |_| true).encode().len();

    // Flips: every simulated node turns probe k down (then up) at once; how long until the
    // real node's answer follows (its own probe says down throughout: connection refused).
    let mut took = Vec::new();
    for r in 0..FLIPS {
        let i = (r / 2 * 7919) % probes;
        let name = format!("t{i}.sim.test.");
        let want_up = r % 2 == 1;
        if !want_up {
            wait_answer(dns, &name, true).await;
        }
        truth.lock().unwrap()[set.position(ids[i]).expect("in the set")] = want_up;
        let round = r as u64 + 1;
        flip_tx.send_replace(round);
        // Every simulated node has published the flip.
        for s in &mut sims {
            let _ = tokio::time::timeout(FLIP_DEADLINE, s.wait_for(|v| *v >= round)).await;
        }
        let t0 = Instant::now();
        wait_answer(dns, &name, want_up).await;
        took.push(t0.elapsed());
    }
    took.sort();
    drop(kv);

    use std::fmt::Write as _;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let _ = writeln!(out, "fleet_sim: {nodes} nodes (1 real, {} simulated), {probes} checked targets, {seconds} s windows", nodes - 1);
    let _ = writeln!(out, "votes value: {vote_bytes} bytes a node a heartbeat (1 s); probe set: {} bytes, on change only", set.encode().len());
    let _ = writeln!(out, "{:<32}{:>14}{:>14}", "", "real alone", "with fleet");
    // (label, alone, with the fleet, scale, unit)
    let rows: [(&str, f64, f64, f64, &str); 7] = [
        ("NATS messages in /s", alone.in_msgs, fleet.in_msgs, 1.0, ""),
        ("NATS bytes in /s", alone.in_bytes, fleet.in_bytes, 1.0, ""),
        (
            "NATS messages out /s",
            alone.out_msgs,
            fleet.out_msgs,
            1.0,
            "",
        ),
        (
            "NATS bytes out /s",
            alone.out_bytes,
            fleet.out_bytes,
            1.0,
            "",
        ),
        (
            "real node CPU (of one core)",
            alone.cpu,
            fleet.cpu,
            100.0,
            "%",
        ),
        (
            "real node RSS",
            alone.rss_kb,
            fleet.rss_kb,
            1.0 / 1024.0,
            " MB",
        ),
        (
            "nats-server CPU (of one core)",
            alone.nats_cpu,
            fleet.nats_cpu,
            100.0,
            "%",
        ),
    ];
    for (label, a, f, scale, unit) in rows {
        let digits = usize::from(!unit.is_empty());
        let w = 14 - unit.len();
        let _ = writeln!(
            out,
            "{label:<32}{:>w$.digits$}{unit}{:>w$.digits$}{unit}",
            a * scale,
            f * scale
        );
    }
    let _ = writeln!(
        out,
        "quorum flip to answer ({FLIPS} flips): median {:.1} ms, max {:.1} ms",
        ms(took[took.len() / 2]),
        ms(*took.last().unwrap())
    );
    out
}

/// Rates over one window.
struct Sample {
    in_msgs: f64,
    in_bytes: f64,
    out_msgs: f64,
    out_bytes: f64,
    cpu: f64,
    nats_cpu: f64,
    rss_kb: f64,
}

impl Sample {
    async fn take((pid, nats_pid): (u32, u32), nats_mon: u16, window: Duration) -> Sample {
        let v0 = varz(nats_mon);
        let (c0, n0) = (cpu_ticks(pid), cpu_ticks(nats_pid));
        let t0 = Instant::now();
        tokio::time::sleep(window).await;
        let v1 = varz(nats_mon);
        let (c1, n1) = (cpu_ticks(pid), cpu_ticks(nats_pid));
        let secs = t0.elapsed().as_secs_f64();
        let rate = |k: &str| (v1[k].as_f64().unwrap() - v0[k].as_f64().unwrap()) / secs;
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Sample {
            in_msgs: rate("in_msgs"),
            in_bytes: rate("in_bytes"),
            out_msgs: rate("out_msgs"),
            out_bytes: rate("out_bytes"),
            cpu: (c1 - c0) as f64 / tick / secs,
            nats_cpu: (n1 - n0) as f64 / tick / secs,
            rss_kb: rss_kb(pid),
        }
    }
}

/// Waits until `name`'s A answer has an address (`up`) or none.
async fn wait_answer(dns: SocketAddr, name: &str, up: bool) {
    let deadline = Instant::now() + FLIP_DEADLINE;
    loop {
        if (a_count(dns, name) > 0) == up {
            return;
        }
        assert!(Instant::now() < deadline, "{name} never turned {up}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn a_count(dns: SocketAddr, name: &str) -> usize {
    let mut m = Message::query();
    m.metadata.id = 7;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    sock.send_to(&m.to_vec().unwrap(), dns).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv(&mut buf) {
        Ok(n) => Message::from_vec(&buf[..n]).map_or(0, |r| r.answers.len()),
        Err(_) => 0,
    }
}

/// One zone: `t<i>` answers target i (checked: TCP port 9 on a loopback address, which
/// refuses) or nothing when the fleet says it is down.
fn write_zone(dir: &Path, probes: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut records = serde_json::json!({ "@": { "NS": ["ns1.sim.test."] } });
    let mut gslb = serde_json::Map::new();
    for i in 0..probes {
        let addr = target(i);
        records[format!("t{i}")] = serde_json::json!({ "gslb": format!("t{i}") });
        gslb.insert(
            format!("t{i}"),
            serde_json::json!({ "all_down": "nodata", "pools": { "default": { "targets": [
                { "address": addr, "check": "hc" } ] } } }),
        );
    }
    let zone = serde_json::json!({
        "version": 1, "origin": "sim.test.", "ttl": 300,
        "soa": { "mname": "ns1.sim.test.", "rname": "hostmaster.sim.test.", "serial": 1,
                 "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60 },
        "records": records,
        "checks": { "hc": { "type": "tcp", "port": 9, "interval": 10, "timeout": 1,
                            "rise": 1, "fall": 1 } },
        "gslb": gslb,
    });
    std::fs::write(dir.join("sim.test.json"), zone.to_string()).unwrap();
}

/// Target `i`'s address.
fn target(i: usize) -> String {
    format!("127.1.{}.{}", i / 250, i % 250 + 1)
}

/// Reads the server's stdout up to its listening line; returns the DNS address.
fn listening(child: &mut Child) -> SocketAddr {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("gslbd listening on ") {
                let _ = tx.send(rest.trim_end_matches(" (udp+tcp)").to_string());
            }
        }
    });
    let line = rx.recv_timeout(READY).expect("gslbd never listened");
    line.parse().expect("listening address")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait(within: Duration, what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn varz(port: u16) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let json = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(json).expect("varz JSON")
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn rss_kb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn stop(child: &mut Child) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
