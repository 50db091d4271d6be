//! The health view: an immutable picture of which targets may be answered, read per query.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::gslb::Target;

/// Which probes are up and which addresses are drained, for one snapshot's probe list.
#[derive(Debug, Default, Clone)]
pub struct HealthView {
    /// `up[i]` for `GslbSet::probes[i]`; missing entries count as up.
    pub up: Vec<bool>,
    /// Addresses taken out of every answer by hand.
    pub drained: HashSet<IpAddr>,
    /// Whose probes `up` follows (shown by explain): this node's, or the fleet's quorum.
    pub decided_by: &'static str,
}

/// A target's state as the selector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetHealth {
    Up,
    Down,
    Drained,
}

impl HealthView {
    /// Every target up, nothing drained.
    pub fn all_up() -> Self {
        HealthView::default()
    }

    pub fn state(&self, target: &Target) -> TargetHealth {
        if !self.drained.is_empty() && self.drained.contains(&target.addr) {
            return TargetHealth::Drained;
        }
        match target.probe {
            Some(p) if !self.up.get(p).copied().unwrap_or(true) => TargetHealth::Down,
            _ => TargetHealth::Up,
        }
    }

    pub fn usable(&self, target: &Target) -> bool {
        self.state(target) == TargetHealth::Up
    }
}
