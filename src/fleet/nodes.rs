//! Every node's description in the `gslbd_nodes` bucket (version, configuration generation
//! and fingerprint), and the fleet as `/v1/fleet` shows it: who is heard, and whose files
//! differ from the majority's (configuration drift).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::votes::FleetHealth;

/// A node counts as connected when heard from within this long (3 heartbeats at most).
pub const HEARD_WITHIN_MS: u64 = 3_000;
/// A node silent for longer is left out of the fleet (the nodes bucket forgets it too).
pub const FORGOTTEN_AFTER_MS: u64 = 600_000;

/// The configuration a node serves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    /// Counts successful loads since the node started (1: the first).
    pub generation: u64,
    /// SHA-256 of the files loaded (see `fingerprint`), hex.
    pub fingerprint: String,
    /// When it was loaded (RFC 3339).
    pub loaded_at: String,
}

/// What a node publishes about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub node: String,
    pub version: String,
    #[serde(flatten)]
    pub loaded: Loaded,
    /// When it published this, milliseconds since the Unix epoch (its clock).
    pub at_ms: u64,
}

impl NodeInfo {
    /// This node's description now.
    pub fn mine(node: &str, loaded: Loaded, at_ms: u64) -> Self {
        NodeInfo {
            node: node.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            loaded,
            at_ms,
        }
    }
}

/// The descriptions read from the bucket, by key.
#[derive(Debug, Clone, Default)]
pub struct Nodes {
    by_key: BTreeMap<String, NodeInfo>,
}

impl Nodes {
    pub fn set(&mut self, key: &str, info: NodeInfo) {
        self.by_key.insert(key.to_string(), info);
    }

    pub fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
    }
}

/// `GET /v1/fleet`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetView {
    /// This node's name.
    pub node: String,
    pub mode: FleetHealth,
    /// Whether this node hears NATS now.
    pub connected: bool,
    /// The fingerprint more than half of the connected nodes have, if one has.
    pub majority_fingerprint: Option<String>,
    /// How many nodes are flagged.
    pub drift_nodes: usize,
    pub nodes: Vec<NodeRow>,
}

/// One node in `/v1/fleet`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeRow {
    pub node: String,
    /// This is the node answering.
    #[serde(rename = "self")]
    pub me: bool,
    /// Heard from within the last 3 seconds (this node: NATS can be reached).
    pub connected: bool,
    pub last_seen: String,
    /// Unknown (`null`) until the node's description has been read.
    pub version: Option<String>,
    pub generation: Option<u64>,
    pub fingerprint: Option<String>,
    pub loaded_at: Option<String>,
    /// Its fingerprint differs from the majority's, or no majority exists.
    pub drift: bool,
}

/// The node whose view of the fleet it is.
pub struct Me<'a> {
    pub name: &'a str,
    /// Its key in the buckets.
    pub key: &'a str,
    pub mode: FleetHealth,
    /// Whether it hears NATS now.
    pub connected: bool,
    pub loaded: &'a Loaded,
}

/// What one node's view of the fleet is made of.
pub struct Heard<'a> {
    pub me: Me<'a>,
    /// The descriptions read.
    pub nodes: &'a Nodes,
    /// When each node last published its votes (its heartbeat), by key.
    pub beats: HashMap<String, u64>,
    pub now_ms: u64,
}

impl Heard<'_> {
    /// The fleet, nodes by name, drift flagged: a node drifts when its fingerprint is not
    /// the one held by more than half of the connected nodes (every node with a known
    /// fingerprint drifts when there is no such majority and they do not all agree).
    pub fn view(&self) -> FleetView {
        let Me {
            name,
            key,
            mode,
            connected,
            loaded,
        } = self.me;
        let mut rows: Vec<NodeRow> = Vec::new();
        rows.push(NodeRow {
            node: name.to_string(),
            me: true,
            connected,
            last_seen: fmt_ms(self.now_ms),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
            generation: Some(loaded.generation),
            fingerprint: Some(loaded.fingerprint.clone()).filter(|f| !f.is_empty()),
            loaded_at: Some(loaded.loaded_at.clone()),
            drift: false,
        });
        let mut keys: Vec<&String> = self.nodes.by_key.keys().chain(self.beats.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys.into_iter().filter(|k| k.as_str() != key) {
            let info = self.nodes.by_key.get(k);
            let seen = info
                .map(|i| i.at_ms)
                .into_iter()
                .chain(self.beats.get(k).copied())
                .max()
                .unwrap_or(0);
            let age = self.now_ms.saturating_sub(seen);
            if age > FORGOTTEN_AFTER_MS {
                continue;
            }
            rows.push(NodeRow {
                node: info.map_or_else(|| k.clone(), |i| i.node.clone()),
                me: false,
                connected: connected && age <= HEARD_WITHIN_MS,
                last_seen: fmt_ms(seen),
                version: info.map(|i| i.version.clone()),
                generation: info.map(|i| i.loaded.generation),
                // Empty until the node has fingerprinted its files.
                fingerprint: info
                    .map(|i| i.loaded.fingerprint.clone())
                    .filter(|f| !f.is_empty()),
                loaded_at: info.map(|i| i.loaded.loaded_at.clone()),
                drift: false,
            });
        }
        rows.sort_by(|a, b| a.node.cmp(&b.node));
        let mut count: HashMap<&str, usize> = HashMap::new();
        let voters = rows.iter().filter(|r| r.connected || r.me);
        let mut n = 0;
        for r in voters {
            n += 1;
            if let Some(f) = &r.fingerprint {
                *count.entry(f.as_str()).or_default() += 1;
            }
        }
        let majority = count
            .iter()
            .find(|(_, c)| **c * 2 > n)
            .map(|(f, _)| f.to_string());
        let known: Vec<&String> = rows.iter().filter_map(|r| r.fingerprint.as_ref()).collect();
        let all_agree = known.windows(2).all(|w| w[0] == w[1]);
        for r in &mut rows {
            r.drift = match (&r.fingerprint, &majority) {
                (None, _) => false,
                (Some(f), Some(m)) => f != m,
                (Some(_), None) => !all_agree,
            };
        }
        FleetView {
            node: name.to_string(),
            mode,
            connected,
            majority_fingerprint: majority,
            drift_nodes: rows.iter().filter(|r| r.drift).count(),
            nodes: rows,
        }
    }
}

fn fmt_ms(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn loaded(f: &str) -> Loaded {
        Loaded {
            generation: 1,
            fingerprint: f.into(),
            loaded_at: "2027-01-15T08:00:00.000Z".into(),
        }
    }

    fn view(mine: &str, others: &[(&str, &str, u64)]) -> FleetView {
        let mut nodes = Nodes::default();
        let mut beats = HashMap::new();
        for (n, f, age) in others {
            nodes.set(n, NodeInfo::mine(n, loaded(f), NOW - age.max(&60_000)));
            beats.insert(n.to_string(), NOW - age);
        }
        let me = loaded(mine);
        Heard {
            me: Me {
                name: "a",
                key: "a",
                mode: FleetHealth::Quorum,
                connected: true,
                loaded: &me,
            },
            nodes: &nodes,
            beats,
            now_ms: NOW,
        }
        .view()
    }

    fn drifting(v: &FleetView) -> Vec<&str> {
        v.nodes
            .iter()
            .filter(|r| r.drift)
            .map(|r| r.node.as_str())
            .collect()
    }

    #[test]
    fn the_node_that_differs_from_the_majority_is_flagged() {
        let v = view("x", &[("b", "x", 0), ("c", "y", 500)]);
        assert_eq!(v.majority_fingerprint.as_deref(), Some("x"));
        assert_eq!(drifting(&v), ["c"]);
        assert_eq!(v.drift_nodes, 1);
        let v = view("y", &[("b", "x", 0), ("c", "x", 0)]);
        assert_eq!(drifting(&v), ["a"], "this node too");
        let v = view("x", &[("b", "x", 0), ("c", "x", 0)]);
        assert!(drifting(&v).is_empty());
    }

    #[test]
    fn without_a_majority_every_node_is_flagged_and_silent_nodes_do_not_vote() {
        let v = view("x", &[("b", "y", 0)]);
        assert_eq!(v.majority_fingerprint, None);
        assert_eq!(drifting(&v), ["a", "b"]);
        // c and d, unheard for 10 s, do not make y the majority; they are still flagged.
        let v = view(
            "x",
            &[("b", "x", 0), ("c", "y", 10_000), ("d", "y", 10_000)],
        );
        assert_eq!(v.majority_fingerprint.as_deref(), Some("x"));
        assert_eq!(drifting(&v), ["c", "d"]);
        let c = v.nodes.iter().find(|r| r.node == "c").unwrap();
        assert!(!c.connected);
        // A node unheard for longer than the bucket keeps it is gone.
        let v = view("x", &[("b", "x", FORGOTTEN_AFTER_MS + 1)]);
        assert_eq!(v.nodes.len(), 1);
    }

    #[test]
    fn descriptions_round_trip_as_json() {
        let i = NodeInfo::mine("a", loaded("abc"), NOW);
        let j = serde_json::to_string(&i).unwrap();
        assert!(j.contains("\"fingerprint\":\"abc\""), "{j}");
        assert_eq!(serde_json::from_str::<NodeInfo>(&j).unwrap(), i);
    }
}
