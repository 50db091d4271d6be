//! What the NATS link asks of the node it connects: its votes, drains, pool drains and
//! shifts to publish, and where to put what the fleet says.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use std::sync::Arc;

use super::probe_set::ProbeSet;
use super::votes::NodeVotes;
use crate::health::pool_drains::Drained;
use crate::health::{PoolKey, Shift};

/// The node side of the link (implemented by the health monitor).
pub trait Member: Send + Sync + 'static {
    /// This node's probe set and its own verdicts on it, to publish.
    fn own_votes(&self) -> (Arc<ProbeSet>, NodeVotes);
    /// What the fleet says changed (votes arrived, the link went up or down): the health
    /// view must be built again.
    fn fleet_changed(&self);
    /// Drains (`true`) and undrains made through this node and not yet published.
    fn pending_drains(&self) -> Vec<(IpAddr, bool)>;
    /// That drain or undrain is in the bucket now.
    fn drain_published(&self, addr: IpAddr, drained: bool);
    /// Every drain the fleet holds (read on joining); replaces what this node knew.
    fn fleet_drains(&self, all: BTreeSet<IpAddr>);
    /// One drain or undrain made by any node.
    fn fleet_drain(&self, addr: IpAddr, drained: bool);
    /// Shifts made (`Some`) or removed through this node and not yet published.
    fn pending_shifts(&self) -> Vec<(IpAddr, Option<Shift>)>;
    /// That shift change is in the bucket now.
    fn shift_published(&self, addr: &IpAddr, shift: &Option<Shift>);
    /// Every shift the fleet holds (read on joining); replaces what this node knew.
    fn fleet_shifts(&self, all: BTreeMap<IpAddr, Shift>);
    /// One shift made or removed by any node.
    fn fleet_shift(&self, addr: IpAddr, shift: Option<Shift>);
    /// Pool drains (`Some`) and undrains made through this node and not yet published.
    fn pending_pool_drains(&self) -> Vec<(PoolKey, Option<Drained>)>;
    /// That pool drain or undrain is in the bucket now.
    fn pool_drain_published(&self, key: &PoolKey, drained: &Option<Drained>);
    /// Every pool drain the fleet holds (read on joining); replaces what this node knew.
    fn fleet_pool_drains(&self, all: BTreeMap<PoolKey, Drained>);
    /// One pool drain or undrain made by any node.
    fn fleet_pool_drain(&self, key: PoolKey, drained: Option<Drained>);
}
