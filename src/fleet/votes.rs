//! Every node's latest votes on every probe, and the verdict they give: under `quorum` a
//! checked target is down when more than half of the nodes that reported on it recently say
//! so; a node's votes stop counting 3 probe intervals after it last published them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::gslb::CheckSpec;

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

/// A probe's identity across the fleet: the same address checked the same way has the same
/// id on every node with the same configuration (the first 8 bytes of a SHA-256 of both).
pub fn probe_id(addr: IpAddr, check: &CheckSpec) -> u64 {
    let text = serde_json::to_string(&(addr, check)).expect("serialisable");
    let d = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    u64::from_be_bytes(d.as_ref()[..8].try_into().expect("8 bytes"))
}

/// One node's votes as it last published them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeVotes {
    /// When it published them, milliseconds since the Unix epoch (its clock).
    pub at_ms: u64,
    /// Probe id → up.
    pub up: HashMap<u64, bool>,
}

/// Format version of the encoded votes.
const VERSION: u8 = 1;

impl NodeVotes {
    /// Compact form for the key-value bucket: version, time, then (id, up) pairs; 9 bytes a
    /// probe, so 10,000 probes take 90 kB.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + 9 * self.up.len());
        out.push(VERSION);
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        let mut ids: Vec<(&u64, &bool)> = self.up.iter().collect();
        ids.sort();
        for (id, up) in ids {
            out.extend_from_slice(&id.to_be_bytes());
            out.push(*up as u8);
        }
        out
    }

    /// Reads `encode`'s output; `None` for anything else (another version, a torn value).
    pub fn decode(b: &[u8]) -> Option<NodeVotes> {
        if b.len() < 9 || b[0] != VERSION || (b.len() - 9) % 9 != 0 {
            return None;
        }
        let at_ms = u64::from_be_bytes(b[1..9].try_into().ok()?);
        let mut up = HashMap::with_capacity((b.len() - 9) / 9);
        for e in b[9..].chunks_exact(9) {
            let id = u64::from_be_bytes(e[..8].try_into().ok()?);
            match e[8] {
                0 => up.insert(id, false),
                1 => up.insert(id, true),
                _ => return None,
            };
        }
        Some(NodeVotes { at_ms, up })
    }
}

/// The verdict on one probe and the votes behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub up: bool,
    /// (node, up, counted): every node that voted on the probe; `counted` is false for a
    /// vote too old to count.
    pub votes: Vec<(String, bool, bool)>,
}

/// The other nodes' votes, as read from the bucket.
#[derive(Debug, Clone, Default)]
pub struct Votes {
    nodes: HashMap<String, NodeVotes>,
}

impl Votes {
    /// Replaces `node`'s votes (a newer publication).
    pub fn set(&mut self, node: &str, votes: NodeVotes) {
        self.nodes.insert(node.to_string(), votes);
    }

    /// Every other node heard from: name, when it last published (ms since the Unix epoch)
    /// and how many probes it votes on; by name.
    pub fn nodes(&self) -> Vec<(String, u64, usize)> {
        let mut v: Vec<_> = self
            .nodes
            .iter()
            .map(|(n, v)| (n.clone(), v.at_ms, v.up.len()))
            .collect();
        v.sort();
        v
    }

    /// Forgets `node` (its key was deleted or expired).
    pub fn remove(&mut self, node: &str) {
        self.nodes.remove(node);
    }

    /// The verdict on probe `id` checked every `interval`, for node `me` whose own probe
    /// says `own_up`, at `now_ms`. `Local` and a fleet without other fresh votes give the
    /// own verdict.
    pub fn verdict(
        &self,
        me: &str,
        id: u64,
        own_up: bool,
        interval: Duration,
        now_ms: u64,
        mode: FleetHealth,
    ) -> Verdict {
        let horizon = 3 * interval.as_millis() as u64;
        let mut votes = vec![(me.to_string(), own_up, true)];
        for (node, v) in &self.nodes {
            if node == me {
                continue;
            }
            if let Some(&up) = v.up.get(&id) {
                let fresh = now_ms.saturating_sub(v.at_ms) <= horizon;
                votes.push((node.clone(), up, fresh));
            }
        }
        votes.sort();
        let up = match mode {
            FleetHealth::Local => own_up,
            FleetHealth::Quorum => {
                let counted: Vec<bool> = votes.iter().filter(|v| v.2).map(|v| v.1).collect();
                let down = counted.iter().filter(|up| !**up).count();
                down * 2 <= counted.len()
            }
        };
        Verdict { up, votes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;
    const ID: u64 = 42;
    const IV: Duration = Duration::from_secs(5);

    fn fleet(votes: &[(&str, bool, u64)]) -> Votes {
        let mut v = Votes::default();
        for (node, up, age_ms) in votes {
            v.set(
                node,
                NodeVotes {
                    at_ms: NOW - age_ms,
                    up: [(ID, *up)].into(),
                },
            );
        }
        v
    }

    fn up(v: &Votes, own: bool, mode: FleetHealth) -> bool {
        v.verdict("a", ID, own, IV, NOW, mode).up
    }

    #[test]
    fn one_of_three_down_stays_up_under_quorum_but_not_locally() {
        let v = fleet(&[("b", true, 0), ("c", true, 1000)]);
        assert!(up(&v, false, FleetHealth::Quorum), "1 of 3 down");
        assert!(!up(&v, false, FleetHealth::Local));
        let v = fleet(&[("b", false, 0), ("c", true, 0)]);
        assert!(!up(&v, false, FleetHealth::Quorum), "2 of 3 down");
        let v = fleet(&[("b", false, 0), ("c", false, 0)]);
        assert!(
            !up(&v, true, FleetHealth::Quorum),
            "2 of 3 down, this node not"
        );
        assert!(up(&v, true, FleetHealth::Local));
    }

    #[test]
    fn votes_older_than_three_intervals_stop_counting() {
        // b and c say down, but c's last word is 15.001 s old (3 × 5 s).
        let v = fleet(&[("b", false, 0), ("c", false, 15_001)]);
        let verdict = v.verdict("a", ID, true, IV, NOW, FleetHealth::Quorum);
        assert!(verdict.up, "1 of 2 counted votes down: not more than half");
        assert_eq!(
            verdict.votes,
            [
                ("a".into(), true, true),
                ("b".into(), false, true),
                ("c".into(), false, false)
            ]
        );
        let v = fleet(&[("b", false, 0), ("c", false, 15_000)]);
        assert!(
            !up(&v, true, FleetHealth::Quorum),
            "exactly 3 intervals still counts"
        );
    }

    #[test]
    fn alone_or_without_votes_on_the_probe_a_node_trusts_itself() {
        assert!(!up(&Votes::default(), false, FleetHealth::Quorum));
        assert!(up(&Votes::default(), true, FleetHealth::Quorum));
        let mut v = fleet(&[("b", true, 0)]);
        v.set(
            "c",
            NodeVotes {
                at_ms: NOW,
                up: [(ID + 1, false)].into(),
            },
        );
        // b says up, a says down: 1 of 2 down is not more than half.
        assert!(up(&v, false, FleetHealth::Quorum));
        v.remove("b");
        assert!(!up(&v, false, FleetHealth::Quorum), "b forgotten");
        // Our own published votes, read back from the bucket, are not counted twice.
        v.set(
            "a",
            NodeVotes {
                at_ms: NOW,
                up: [(ID, true)].into(),
            },
        );
        assert!(!up(&v, false, FleetHealth::Quorum));
    }

    #[test]
    fn votes_round_trip_and_garbage_is_refused() {
        let v = NodeVotes {
            at_ms: NOW,
            up: [(1, true), (u64::MAX, false), (7, true)].into(),
        };
        let b = v.encode();
        assert_eq!(b.len(), 9 + 27);
        assert_eq!(NodeVotes::decode(&b), Some(v));
        assert_eq!(NodeVotes::decode(&b[..b.len() - 1]), None);
        assert_eq!(NodeVotes::decode(&[2; 18]), None);
        let mut bad = b.clone();
        bad[17] = 9;
        assert_eq!(NodeVotes::decode(&bad), None);
    }

    #[test]
    fn probe_ids_depend_on_address_and_check_only() {
        let spec = |port| CheckSpec {
            kind: crate::gslb::CheckKind::Tcp,
            port,
            path: String::new(),
            host: None,
            expect: vec![],
            body_contains: None,
            insecure: false,
            interval: IV,
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
        };
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(probe_id(a, &spec(80)), probe_id(a, &spec(80)));
        assert_ne!(probe_id(a, &spec(80)), probe_id(a, &spec(81)));
        assert_ne!(probe_id(a, &spec(80)), probe_id(b, &spec(80)));
    }
}
