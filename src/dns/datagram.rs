//! One DNS query over UDP answered the same way whichever socket brought it: the kernel's
//! UDP sockets (`udp`) or AF_XDP (`xdp`). The handler, then response rate limiting, then
//! the sampled query log.

use std::net::SocketAddr;

use super::handler::{handle, Context, Transport};
use super::rrl::{self, SlipCounter, Verdict};
use crate::dnssec::SigCache;
use crate::metrics::Outcome;
use crate::state::{Serving, Shared};

/// What one worker thread keeps between datagrams.
pub struct Answerer {
    rotation: u64,
    sigs: SigCache,
    slip: SlipCounter,
}

impl Answerer {
    /// A worker's answerer. Each worker starts its rotation elsewhere (`seed`, its index), so
    /// that the per-query draws of gradual shifts and round-robin starts on different threads
    /// are not in step.
    pub fn new(seed: usize) -> Self {
        Answerer {
            rotation: (seed as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            sigs: SigCache::default(),
            slip: SlipCounter::default(),
        }
    }

    /// Answers `packet` from `peer` into `reply` (empty on entry; left empty when nothing is
    /// to be sent). `None`: the packet deserved no reply at all.
    pub fn answer(
        &mut self,
        shared: &Shared,
        serving: &Serving,
        now: u32,
        packet: &[u8],
        peer: SocketAddr,
        reply: &mut Vec<u8>,
    ) -> Option<Outcome> {
        self.rotation = self.rotation.wrapping_add(1);
        let mut ctx = Context::serving(serving, &shared.edns, self.rotation, now, &mut self.sigs);
        let o = handle(&mut ctx, packet, peer.ip(), Transport::Udp, reply);
        if let (Some(limiter), Some(out)) = (&shared.rrl, &o) {
            match limiter.check(out, packet, peer.ip(), now, &mut self.slip) {
                Verdict::Send => {}
                Verdict::Slip => rrl::truncate(reply),
                Verdict::Drop => reply.clear(),
            }
        }
        match &o {
            None => reply.clear(),
            Some(o) if shared.query_log_every > 0 => {
                if self.rotation % shared.query_log_every == 0 {
                    super::query_log::log_query(packet, peer, o);
                }
            }
            Some(_) => {}
        }
        o
    }
}
