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
