//! What `/v1/status` says about health: each target's state and, in a fleet, the verdict
//! the answers follow with every node's vote, and this node's view of its peers.

use std::net::IpAddr;

use serde::Serialize;

use crate::fleet::FleetHealth;

/// One row of `/v1/status` `targets`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetStatus {
    pub address: IpAddr,
    pub check: Option<String>,
    pub state: &'static str,
    pub since: Option<String>,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
    /// What the probe says, drained or not (always true without a check).
    #[serde(skip)]
    pub probe_up: bool,
    /// In a fleet: the verdict the answers follow and every node's vote behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<TargetFleet>,
    /// A gradual shift of this target (spec §11): its share now and its ramp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<ShiftStatus>,
}

/// A target's gradual shift as `/v1/status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShiftStatus {
    /// The share of answers it keeps now (0..1).
    pub share: f64,
    pub from: f64,
    pub to: f64,
    pub started: String,
    pub ends: String,
    /// Whether the share still moves.
    pub ramping: bool,
    /// The node whose API made it (in a fleet).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub by: String,
}

impl ShiftStatus {
    pub fn new(s: &super::shifts::Shift, now_ms: u64) -> Self {
        let at = |ms: u64| {
            super::monitor::fmt_time(
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(ms),
            )
        };
        ShiftStatus {
            share: (s.share_at(now_ms) * 1e4).round() / 1e4,
            from: s.from,
            to: s.to,
            started: at(s.start_ms),
            ends: at(s.end_ms()),
            ramping: s.ramping(now_ms),
            by: s.by.clone(),
        }
    }
}

/// A checked target's health as the fleet sees it (`/v1/status`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetFleet {
    /// `up` or `down`: what the answers follow (drains aside).
    pub verdict: &'static str,
    /// Whose probes decided: `quorum`, `local`, or `local: NATS unreachable`.
    pub decided_by: &'static str,
    pub votes: Vec<NodeVote>,
}

/// One node's vote on a probe.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NodeVote {
    pub node: String,
    pub up: bool,
    /// False for a vote older than 3 probe intervals, which no longer counts.
    pub counted: bool,
}

/// This node's place in its fleet (`/v1/status` `fleet`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FleetStatus {
    pub node: String,
    pub mode: FleetHealth,
    /// Whether NATS can be reached now; without it answers follow this node's own probes.
    pub connected: bool,
    /// The other nodes whose votes were read, with when they last published.
    pub peers: Vec<PeerStatus>,
}

/// Another node as last heard through NATS.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeerStatus {
    pub node: String,
    pub last_seen: String,
    /// How many probes it votes on.
    pub probes: usize,
}
