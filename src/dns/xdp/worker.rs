//! One AF_XDP queue's worker thread: takes a batch of received frames, answers each DNS
//! query through the same `Answerer` as the kernel's UDP workers, writes the reply into the
//! query's own frame and sends it from there; frames without a reply go back to the fill
//! ring, and so do sent ones once the kernel has completed them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::frame;
use super::socket::{XskSocket, FRAMES, FRAME_SIZE};
use super::QueueCounters;
use crate::dns::datagram::Answerer;
use crate::dns::mmsg::MAX_QUERY;
use crate::metrics::Outcome;
use crate::state::Shared;

/// Frames taken from the receive ring at a time.
const BATCH: u32 = 64;
/// How long an idle worker sleeps before it looks at the stop flag again.
const STOP_POLL_MS: i32 = 100;

/// Serves `sock` until `stop` is set. `seed` sets apart the worker's rotation; after a
/// batch the worker keeps looking at the receive ring for `busy_poll` before it sleeps
/// (`--udp-busy-poll`, as the kernel path's UDP threads).
pub fn run(
    mut sock: XskSocket,
    shared: &Shared,
    stop: &AtomicBool,
    seed: usize,
    counters: &QueueCounters,
    busy_poll: Duration,
) {
    let mut answerer = Answerer::new(seed);
    let cells = shared.metrics.register(false, crate::metrics::Via::Xdp);
    let mut reply = Vec::with_capacity(FRAME_SIZE as usize);
    let mut outcomes = [None::<Outcome>; BATCH as usize];
    let mut back = [0u64; BATCH as usize];
    let mut last_batch = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        recycle(&mut sock);
        let n = sock.rx.ready(BATCH);
        if n == 0 {
            if last_batch.elapsed() < busy_poll {
                std::hint::spin_loop();
            } else {
                sock.wait(STOP_POLL_MS);
            }
            continue;
        }
        let start = Instant::now();
        last_batch = start;
        // One snapshot for the whole batch, as on the kernel path.
        let serving = shared.serving.load();
        let now = crate::dns::edns::unix_now();
        let room = sock.tx.free(n);
        let (mut sent, mut returned, mut tx_full) = (0u32, 0usize, 0u64);
        for i in 0..n {
            let desc = sock.rx.read(i);
            let Some(frame) = sock.umem.frame(desc.addr) else {
                outcomes[i as usize] = None;
                continue;
            };
            let len = (desc.len as usize).min(frame.len());
            reply.clear();
            let mut outcome = None;
            if let Some(d) = frame::parse(&frame[..len]).filter(|d| d.len <= MAX_QUERY) {
                let query = &frame[d.offset..d.offset + d.len];
                outcome = answerer.answer(shared, &serving, now, query, d.peer, &mut reply);
                let fits = !reply.is_empty() && d.offset + reply.len() <= frame.len();
                if fits && sent < room {
                    // The reply goes out of the query's own frame.
                    frame[d.offset..d.offset + reply.len()].copy_from_slice(&reply);
                    let total = frame::reply(frame, &d, reply.len());
                    let out = libc::xdp_desc {
                        addr: desc.addr,
                        len: total as u32,
                        options: 0,
                    };
                    sock.tx.write(sent, out);
                    sent += 1;
                    outcomes[i as usize] = outcome;
                    continue;
                }
                if fits {
                    tx_full += 1;
                }
            }
            outcomes[i as usize] = outcome;
            back[returned] = desc.addr;
            returned += 1;
        }
        drop(serving);
        sock.rx.release(n);
        if sent > 0 {
            sock.tx.submit(sent);
            if sock.tx.needs_wakeup() {
                sock.kick_tx();
            }
        }
        give_back(&mut sock, &back[..returned]);
        let nanos = start.elapsed().as_nanos() as u64;
        for o in &outcomes[..n as usize] {
            match o {
                Some(o) => cells.record(o, nanos),
                None => cells.dropped(),
            }
        }
        counters.add(
            u64::from(sent),
            n as u64 - u64::from(sent) - tx_full,
            tx_full,
        );
    }
}

/// Frames the kernel has finished sending go back to the fill ring.
fn recycle(sock: &mut XskSocket) {
    let done = sock.completion.ready(FRAMES);
    if done == 0 {
        return;
    }
    // The fill ring holds every frame, so it has room for all that come back.
    let room = sock.fill.free(done);
    for i in 0..room {
        let addr = sock.completion.read(i);
        sock.fill.write(i, addr & !u64::from(FRAME_SIZE - 1));
    }
    sock.fill.submit(room);
    sock.completion.release(room);
}

/// Frames that carried no reply go straight back to the fill ring.
fn give_back(sock: &mut XskSocket, addrs: &[u64]) {
    if addrs.is_empty() {
        return;
    }
    let room = sock.fill.free(addrs.len() as u32);
    for (i, &a) in addrs[..room as usize].iter().enumerate() {
        sock.fill.write(i as u32, a & !u64::from(FRAME_SIZE - 1));
    }
    sock.fill.submit(room);
}
