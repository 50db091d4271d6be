//! Every node's latest votes and the verdict they give: under `quorum` a checked target is
//! down when more than half of the nodes that reported on it recently say so; a node's votes
//! stop counting 3 probe intervals after it last published them. Votes travel as one bit per
//! probe of the node's `ProbeSet`; the ids travel apart, when the set changes.

use std::collections::HashMap;
use std::sync::Arc;

use super::probe_set::ProbeSet;

/// Whose probes decide health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetHealth {
    /// Only this node's own probes.
    Local,
    /// A majority of the fleet's recent votes.
    #[default]
    Quorum,
}

/// Format version of the encoded votes.
const VERSION: u8 = 2;

/// One node's votes as it published them: bit `i` says whether the `i`-th probe of the set
/// with digest `digest` is up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeVotes {
    /// When it published them, milliseconds since the Unix epoch (its clock).
    pub at_ms: u64,
    pub digest: u64,
    pub len: usize,
    words: Vec<u64>,
}

impl NodeVotes {
    /// Votes on `set` at `at_ms`, `up(i)` for its `i`-th probe.
    pub fn new(at_ms: u64, set: &ProbeSet, up: impl Fn(usize) -> bool) -> NodeVotes {
        let len = set.len();
        let mut words = vec![0u64; len.div_ceil(64)];
        for i in (0..len).filter(|&i| up(i)) {
            words[i / 64] |= 1 << (i % 64);
        }
        NodeVotes {
            at_ms,
            digest: set.digest(),
            len,
            words,
        }
    }

    pub fn up(&self, i: usize) -> bool {
        i < self.len && self.words[i / 64] & (1 << (i % 64)) != 0
    }

    /// Version, time, set digest, count, then the bits: 10,000 probes take 1.27 kB.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(21 + 8 * self.words.len());
        out.push(VERSION);
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        out.extend_from_slice(&self.digest.to_be_bytes());
        out.extend_from_slice(&(self.len as u32).to_be_bytes());
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Reads `encode`'s output; `None` for anything else (another version, a torn value).
    pub fn decode(b: &[u8]) -> Option<NodeVotes> {
        if b.len() < 21 || b[0] != VERSION {
            return None;
        }
        let at_ms = u64::from_be_bytes(b[1..9].try_into().ok()?);
        let digest = u64::from_be_bytes(b[9..17].try_into().ok()?);
        let len = u32::from_be_bytes(b[17..21].try_into().ok()?) as usize;
        if b.len() - 21 != len.div_ceil(64) * 8 {
            return None;
        }
        let words: Vec<u64> = b[21..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        // No bits past the end.
        if len % 64 != 0 && words.last().is_some_and(|w| w >> (len % 64) != 0) {
            return None;
        }
        Some(NodeVotes {
            at_ms,
            digest,
            len,
            words,
        })
    }
}

/// What is known of another node.
#[derive(Debug, Default)]
struct Peer {
    /// Its probe sets as last published (the newest last; two kept, so votes on the set
    /// before a reload still read while the new one is on its way).
    sets: Vec<Arc<ProbeSet>>,
    votes: Option<NodeVotes>,
    /// Where each probe of this node's set is in the peer's set, when they differ.
    map: Option<Mapping>,
}

/// From one set (digest `from`) to another (`to`): each probe's position, if there.
#[derive(Debug)]
struct Mapping {
    from: u64,
    to: u64,
    pos: Arc<Vec<Option<u32>>>,
}

impl Peer {
    /// Where this node's probe `k` of `own` is among the peer's votes, for every `k`; `None`
    /// while the peer's votes cannot be read (no votes, or on a set not yet received).
    fn positions(&mut self, own: &ProbeSet) -> Option<Positions> {
        let votes = self.votes.as_ref()?;
        if votes.digest == own.digest() {
            return Some(Positions::Same);
        }
        if let Some(m) = &self.map {
            if m.from == own.digest() && m.to == votes.digest {
                return Some(Positions::Mapped(m.pos.clone()));
            }
        }
        let theirs = self.sets.iter().find(|s| s.digest() == votes.digest)?;
        let map: Arc<Vec<Option<u32>>> = Arc::new(
            own.ids()
                .iter()
                .map(|id| theirs.position(*id).map(|p| p as u32))
                .collect(),
        );
        self.map = Some(Mapping {
            from: own.digest(),
            to: votes.digest,
            pos: map.clone(),
        });
        Some(Positions::Mapped(map))
    }
}

enum Positions {
    Same,
    Mapped(Arc<Vec<Option<u32>>>),
}

impl Positions {
    fn get(&self, k: usize) -> Option<usize> {
        match self {
            Positions::Same => Some(k),
            Positions::Mapped(m) => m.get(k).copied().flatten().map(|p| p as usize),
        }
    }
}

/// The other nodes' votes fresh enough to count, per probe of this node's set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub up: u32,
    pub down: u32,
}

impl Tally {
    /// The quorum verdict with this node's own vote: down when more than half of the counted
    /// votes say down.
    pub fn quorum_up(self, own_up: bool) -> bool {
        let down = self.down + u32::from(!own_up);
        let counted = self.up + self.down + 1;
        down * 2 <= counted
    }
}

/// The other nodes' votes, as read from the bucket.
#[derive(Debug, Default)]
pub struct Votes {
    peers: HashMap<String, Peer>,
}

impl Votes {
    /// `node` published its probe set.
    pub fn set_probes(&mut self, node: &str, set: ProbeSet) {
        // Nodes with the same configuration share one copy (80 kB for 10,000 probes).
        let shared = self
            .peers
            .values()
            .flat_map(|p| p.sets.iter())
            .find(|s| s.digest() == set.digest())
            .cloned();
        let p = self.peers.entry(node.to_string()).or_default();
        if p.sets.last().is_some_and(|s| s.digest() == set.digest()) {
            return;
        }
        p.sets.push(shared.unwrap_or_else(|| Arc::new(set)));
        if p.sets.len() > 2 {
            p.sets.remove(0);
        }
    }

    /// `node` published its votes. True when a verdict may change (new bits, another set,
    /// a node not heard before); false for a heartbeat that only says the same again.
    pub fn set_votes(&mut self, node: &str, votes: NodeVotes) -> bool {
        let peer = self.peers.entry(node.to_string()).or_default();
        let same = peer
            .votes
            .as_ref()
            .is_some_and(|v| v.digest == votes.digest && v.words == votes.words);
        peer.votes = Some(votes);
        !same
    }

    /// Forgets `node` (its key was deleted).
    pub fn remove(&mut self, node: &str) {
        self.peers.remove(node);
    }

    /// Every other node heard from: name, when it last published (ms since the Unix epoch)
    /// and how many probes it votes on; by name.
    pub fn nodes(&self) -> Vec<(String, u64, usize)> {
        let mut v: Vec<_> = self
            .peers
            .iter()
            .filter_map(|(n, p)| p.votes.as_ref().map(|v| (n.clone(), v.at_ms, v.len)))
            .collect();
        v.sort();
        v
    }

    /// For every probe of `own` (set order): the other nodes' votes on it that count at
    /// `now_ms`, a vote counting for `horizon_ms[k]` after its node published it. Nodes named
    /// `me` (this node's own votes read back) are left out.
    pub fn tally(
        &mut self,
        me: &str,
        own: &ProbeSet,
        horizon_ms: &[u64],
        now_ms: u64,
    ) -> Vec<Tally> {
        let mut out = vec![Tally::default(); own.len()];
        for (node, peer) in &mut self.peers {
            if node == me {
                continue;
            }
            let Some(pos) = peer.positions(own) else {
                continue;
            };
            let votes = peer.votes.as_ref().expect("positions needs votes");
            let age = now_ms.saturating_sub(votes.at_ms);
            for (k, t) in out.iter_mut().enumerate() {
                if age > horizon_ms.get(k).copied().unwrap_or(0) {
                    continue;
                }
                match pos.get(k) {
                    Some(p) if votes.up(p) => t.up += 1,
                    Some(_) => t.down += 1,
                    None => {}
                }
            }
        }
        out
    }

    /// Every other node's vote on probe `k` of `own`: (node, up, counted), by name.
    pub fn votes_on(
        &mut self,
        me: &str,
        own: &ProbeSet,
        k: usize,
        horizon_ms: u64,
        now_ms: u64,
    ) -> Vec<(String, bool, bool)> {
        let mut out = Vec::new();
        for (node, peer) in &mut self.peers {
            if node == me {
                continue;
            }
            let Some(p) = peer.positions(own).and_then(|pos| pos.get(k)) else {
                continue;
            };
            let votes = peer.votes.as_ref().expect("positions needs votes");
            let fresh = now_ms.saturating_sub(votes.at_ms) <= horizon_ms;
            out.push((node.clone(), votes.up(p), fresh));
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests;
