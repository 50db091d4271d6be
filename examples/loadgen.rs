//! A closed-loop, batched (sendmmsg/recvmmsg) DNS-over-UDP load generator for benchmarks.
//!
//! `loadgen PORT QUERIES.bin SECONDS [WINDOW] [SOCKETS] [BATCH]`
//!
//! Reads queries in dnsperf's `-B` format (2-byte length, then the message), keeps WINDOW
//! queries in flight spread over SOCKETS connected sockets on 127.0.0.1, runs for SECONDS
//! (bounded) and prints one line of `key=value` figures: qps, lost, latency percentiles (µs).
//! With `SPIN=1` in the environment it polls for replies instead of sleeping in `poll(2)`, so
//! its own wake-up does not count in the latency. Sends to 127.0.0.1, or with `TARGET=ADDR` to
//! another IPv4 address of 127.0.0.0/8 or 10.0.0.0/8 (a network namespace the benchmark made,
//! as `benches/compare.sh --xdp` does); never anywhere else.

use std::time::{Duration, Instant};

const MAX_BATCH: usize = 64;
const LOST_AFTER: Duration = Duration::from_secs(1);

fn read_queries(path: &str) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let mut out = Vec::new();
    let mut rest = &data[..];
    while rest.len() >= 2 {
        let n = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        if rest.len() < 2 + n {
            break;
        }
        out.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    assert!(!out.is_empty(), "{path} holds no queries");
    out
}

/// One connected socket and the queries it has in flight, indexed by DNS id.
struct Flow {
    fd: i32,
    next_id: u16,
    in_flight: usize,
    /// Send time (ns since start, +1) per DNS id; 0 means free.
    sent: Vec<u64>,
}

/// The address to load: 127.0.0.1, or TARGET when it is loopback or in 10.0.0.0/8.
fn target() -> [u8; 4] {
    let Ok(t) = std::env::var("TARGET") else {
        return [127, 0, 0, 1];
    };
    let a: std::net::Ipv4Addr = t.parse().expect("TARGET is an IPv4 address");
    assert!(
        a.is_loopback() || a.octets()[0] == 10,
        "TARGET must be loopback or in 10.0.0.0/8 (a network namespace of the benchmark)"
    );
    a.octets()
}

fn connect(port: u16) -> i32 {
    // SAFETY: plain socket calls on a fresh descriptor with valid, sized arguments.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, 0);
        assert!(fd >= 0, "socket");
        let mut sa: libc::sockaddr_in = std::mem::zeroed();
        sa.sin_family = libc::AF_INET as libc::sa_family_t;
        sa.sin_port = port.to_be();
        sa.sin_addr.s_addr = u32::from_ne_bytes(target());
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::connect(fd, (&sa as *const libc::sockaddr_in).cast(), len),
            0
        );
        let size: libc::c_int = 4 << 20;
        for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        fd
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: loadgen PORT QUERIES.bin SECONDS [WINDOW=256] [SOCKETS=4] [BATCH=32]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse().expect("PORT");
    let queries = read_queries(&args[2]);
    let seconds: f64 = args[3].parse().expect("SECONDS");
    assert!(
        seconds > 0.0 && seconds <= 600.0,
        "SECONDS must be in (0, 600]"
    );
    let arg = |i: usize, d: usize| args.get(i).map_or(d, |s| s.parse().expect("number"));
    let window = arg(4, 256);
    let sockets = arg(5, 4).max(1);
    let batch = arg(6, 32).clamp(1, MAX_BATCH);
    let per_flow = (window / sockets).max(1);
    // SPIN=1: never sleep waiting for replies, so the client's own wake-up (a vCPU leaving
    // idle, tens of microseconds on a virtual machine) does not count as server latency.
    let spin = std::env::var_os("SPIN").is_some_and(|v| v == "1");

    let mut flows: Vec<Flow> = (0..sockets)
        .map(|_| Flow {
            fd: connect(port),
            next_id: 0,
            in_flight: 0,
            sent: vec![0; 65536],
        })
        .collect();

    let mut out_bufs = vec![[0u8; 512]; MAX_BATCH];
    let mut in_bufs = vec![[0u8; 2048]; MAX_BATCH];
    // SAFETY: iovec and mmsghdr are plain C structs for which all-zero is a valid value.
    let mut out_iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; MAX_BATCH];
    let mut in_iov: Vec<libc::iovec> = vec![unsafe { std::mem::zeroed() }; MAX_BATCH];
    let mut out_msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; MAX_BATCH];
    let mut in_msgs: Vec<libc::mmsghdr> = vec![unsafe { std::mem::zeroed() }; MAX_BATCH];

    let mut latency_us = vec![0u64; 100_001];
    let (mut sent, mut answered, mut lost, mut stray) = (0u64, 0u64, 0u64, 0u64);
    let mut rcodes = [0u64; 16];
    let mut next_query = 0usize;
    let start = Instant::now();
    let duration = Duration::from_secs_f64(seconds);
    let hard_stop = duration + Duration::from_secs(2);
    let mut last_sweep = Duration::ZERO;

    loop {
        let now = start.elapsed();
        let stopping = now >= duration;
        if (stopping && flows.iter().all(|f| f.in_flight == 0)) || now >= hard_stop {
            break;
        }
        let now_ns = now.as_nanos() as u64 + 1;
        let mut busy = false;
        for f in &mut flows {
            if !stopping && f.in_flight < per_flow {
                let want = (per_flow - f.in_flight).min(batch);
                let mut k = 0;
                let mut tries = 0;
                while k < want && tries < 65536 {
                    tries += 1;
                    let id = f.next_id;
                    f.next_id = f.next_id.wrapping_add(1);
                    if f.sent[id as usize] != 0 {
                        continue;
                    }
                    let q = &queries[next_query];
                    next_query = (next_query + 1) % queries.len();
                    let len = q.len().min(512);
                    out_bufs[k][..len].copy_from_slice(&q[..len]);
                    out_bufs[k][..2].copy_from_slice(&id.to_be_bytes());
                    out_iov[k] = libc::iovec {
                        iov_base: out_bufs[k].as_mut_ptr().cast(),
                        iov_len: len,
                    };
                    out_msgs[k].msg_hdr.msg_iov = &mut out_iov[k];
                    out_msgs[k].msg_hdr.msg_iovlen = 1;
                    f.sent[id as usize] = now_ns;
                    k += 1;
                }
                // SAFETY: the first k headers point at live iovecs and buffers.
                let r = unsafe { libc::sendmmsg(f.fd, out_msgs.as_mut_ptr(), k as u32, 0) };
                let ok = r.max(0) as usize;
                for buf in &out_bufs[ok..k] {
                    f.sent[u16::from_be_bytes([buf[0], buf[1]]) as usize] = 0;
                }
                busy |= ok > 0;
                f.in_flight += ok;
                sent += ok as u64;
            }
            for j in 0..MAX_BATCH {
                in_iov[j] = libc::iovec {
                    iov_base: in_bufs[j].as_mut_ptr().cast(),
                    iov_len: in_bufs[j].len(),
                };
                in_msgs[j].msg_hdr.msg_iov = &mut in_iov[j];
                in_msgs[j].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: every header points at a live iovec and buffer of the stated length.
            let r = unsafe {
                libc::recvmmsg(
                    f.fd,
                    in_msgs.as_mut_ptr(),
                    MAX_BATCH as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if r > 0 {
                busy = true;
                let t = start.elapsed().as_nanos() as u64 + 1;
                for j in 0..r as usize {
                    if in_msgs[j].msg_len < 12 {
                        continue;
                    }
                    let b = &in_bufs[j];
                    let id = u16::from_be_bytes([b[0], b[1]]) as usize;
                    let t0 = std::mem::take(&mut f.sent[id]);
                    if t0 == 0 {
                        stray += 1;
                        continue;
                    }
                    f.in_flight -= 1;
                    answered += 1;
                    rcodes[(b[3] & 0x0f) as usize] += 1;
                    let us = ((t - t0) / 1000) as usize;
                    let last = latency_us.len() - 1;
                    latency_us[us.min(last)] += 1;
                }
            }
        }
        if now - last_sweep > Duration::from_millis(50) {
            last_sweep = now;
            let limit = LOST_AFTER.as_nanos() as u64;
            for f in &mut flows {
                if f.in_flight == 0 {
                    continue;
                }
                for t in f
                    .sent
                    .iter_mut()
                    .filter(|t| **t != 0 && now_ns - **t > limit)
                {
                    *t = 0;
                    f.in_flight -= 1;
                    lost += 1;
                }
            }
        }
        if !busy && !spin {
            let mut fds: Vec<libc::pollfd> = flows
                .iter()
                .map(|f| libc::pollfd {
                    fd: f.fd,
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            // SAFETY: fds is a valid array of pollfd of the given length.
            unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1) };
        }
    }
    let unanswered: u64 = flows.iter().map(|f| f.in_flight as u64).sum();
    let percentile = |p: f64| -> usize {
        let goal = ((answered as f64) * p).ceil().max(1.0) as u64;
        let mut acc = 0;
        latency_us
            .iter()
            .position(|&c| {
                acc += c;
                acc >= goal
            })
            .unwrap_or(latency_us.len())
    };
    println!(
        "qps={:.0} sent={sent} answered={answered} lost={} stray={stray} noerror={} nxdomain={} refused={} p50_us={} p99_us={} p999_us={}",
        answered as f64 / seconds,
        lost + unanswered,
        rcodes[0],
        rcodes[3],
        rcodes[5],
        percentile(0.5),
        percentile(0.99),
        percentile(0.999)
    );
}
