//! The monitor's part in a fleet: it joins through the NATS link, publishes its own votes,
//! takes the fleet's verdicts and drains, and describes the fleet for the admin API.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::monitor::{fmt_time, Inner, Monitor};
use super::status::{FleetStatus, NodeVote, PeerStatus, TargetFleet};
use crate::fleet::nodes::Heard;
use crate::fleet::{probe_id, FleetHealth, FleetState, FleetView, Member, NodeVotes, Votes};
use crate::gslb::Probe;

/// The monitor as the link sees it; it does not keep the monitor alive.
struct Handle(Weak<Inner>);

impl Member for Handle {
    fn own_votes(&self) -> NodeVotes {
        let Some(inner) = self.0.upgrade() else {
            return NodeVotes::default();
        };
        let probes = inner.probes.lock().unwrap();
        NodeVotes {
            at_ms: crate::fleet::now_ms(),
            up: probes
                .iter()
                .map(|((addr, check), e)| (probe_id(*addr, check), e.state.lock().unwrap().up))
                .collect(),
        }
    }

    fn fleet_changed(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.publish();
        }
    }

    fn pending_drains(&self) -> Vec<(IpAddr, bool)> {
        self.0
            .upgrade()
            .map(|i| i.drains.lock().unwrap().pending())
            .unwrap_or_default()
    }

    fn drain_published(&self, addr: IpAddr, drained: bool) {
        if let Some(inner) = self.0.upgrade() {
            inner.drains.lock().unwrap().published(addr, drained);
        }
    }

    fn fleet_drains(&self, all: BTreeSet<IpAddr>) {
        if let Some(inner) = self.0.upgrade() {
            let changed = inner.drains.lock().unwrap().replace(all);
            if changed {
                tracing::info!("fleet: drains read from the fleet");
                inner.publish();
            }
        }
    }

    fn fleet_drain(&self, addr: IpAddr, drained: bool) {
        if let Some(inner) = self.0.upgrade() {
            let changed = inner.drains.lock().unwrap().apply(addr, drained);
            if changed {
                tracing::info!(target_addr = %addr, drained, "fleet: drain changed by another node");
                inner.publish();
            }
        }
    }
}

impl Monitor {
    /// Joins the fleet of `state`: starts the NATS link (inside a tokio runtime); from then
    /// on verdicts follow `--fleet-health` while NATS can be reached, this node's own probes
    /// otherwise, and drains are the fleet's.
    pub fn join_fleet(&self, state: Arc<FleetState>) {
        let snap = self.inner.shared.snapshot();
        state.set_shortest_interval(snap.gslb.probes.iter().map(|p| p.check.interval).min());
        *self.inner.fleet.lock().unwrap() = Some(state.clone());
        let member: Arc<dyn Member> = Arc::new(Handle(Arc::downgrade(&self.inner)));
        tokio::spawn(crate::fleet::link::run(state, member));
    }

    /// The fleet this node belongs to, when it runs with `--fleet`.
    pub fn fleet(&self) -> Option<Arc<FleetState>> {
        self.inner.fleet.lock().unwrap().clone()
    }

    /// This node's place in its fleet (`/v1/status`).
    pub fn fleet_status(&self) -> Option<FleetStatus> {
        let f = self.fleet()?;
        let peers = f.votes.lock().unwrap().nodes();
        let me = f.key();
        Some(FleetStatus {
            node: f.config.node.clone(),
            mode: f.config.health,
            connected: f.connected(),
            peers: peers
                .into_iter()
                .filter(|(n, ..)| *n != me)
                .map(|(node, at_ms, probes)| PeerStatus {
                    node,
                    last_seen: fmt_time(SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms)),
                    probes,
                })
                .collect(),
        })
    }

    /// The fleet's nodes and their configuration drift (`/v1/fleet`).
    pub fn fleet_view(&self) -> Option<FleetView> {
        let f = self.fleet()?;
        let beats = f
            .votes
            .lock()
            .unwrap()
            .nodes()
            .into_iter()
            .map(|(n, at, _)| (n, at))
            .collect();
        let loaded = f.loaded.lock().unwrap().clone();
        let nodes = f.nodes.lock().unwrap().clone();
        let key = f.key();
        Some(
            Heard {
                me: (
                    &f.config.node,
                    &key,
                    f.config.health,
                    f.connected(),
                    &loaded,
                ),
                nodes: &nodes,
                beats,
                now_ms: crate::fleet::now_ms(),
            }
            .view(),
        )
    }
}

/// A checked target's fleet verdict and the votes behind it, as `/v1/status` shows it.
pub(super) fn target_fleet(
    f: &FleetState,
    votes: &Votes,
    p: &Probe,
    own_up: bool,
    now_ms: u64,
) -> TargetFleet {
    let id = probe_id(p.addr, &p.check);
    let c = &f.config;
    let v = votes.verdict(&c.node, id, own_up, p.check.interval, now_ms, c.health);
    let (up, decided_by) = match (f.connected(), c.health) {
        (false, _) => (own_up, "local: NATS unreachable"),
        (true, FleetHealth::Local) => (own_up, "local"),
        (true, FleetHealth::Quorum) => (v.up, "quorum"),
    };
    TargetFleet {
        verdict: if up { "up" } else { "down" },
        decided_by,
        votes: v
            .votes
            .into_iter()
            .map(|(node, up, counted)| NodeVote { node, up, counted })
            .collect(),
    }
}
