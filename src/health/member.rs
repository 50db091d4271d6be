//! The monitor's part in a fleet: it joins through the NATS link, publishes its own votes,
//! takes the fleet's verdicts, drains, pool drains and shifts, and describes the fleet for
//! the admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use super::monitor::{fmt_time, Inner, Monitor};
use super::pool_drains::{Drained, PoolKey};
use super::shifts::Shift;
use super::state_file::Manual;
use super::status::{FleetStatus, NodeVote, PeerStatus, TargetFleet};
use crate::fleet::nodes::{Heard, Me};
use crate::fleet::{
    now_ms, probe_id, FleetHealth, FleetState, FleetView, Member, NodeVotes, ProbeSet, Tally, Votes,
};
use crate::snapshot::Snapshot;

/// This node's probes as the fleet knows them, for one snapshot.
pub(super) struct OwnProbes {
    /// The snapshot they are for (weak: it keeps the allocation, so no other snapshot can
    /// take its address while this is cached).
    snapshot: Weak<Snapshot>,
    pub set: Arc<ProbeSet>,
    /// `pos[j]`: where the snapshot's probe `j` is in `set`.
    pub pos: Vec<usize>,
    /// For each probe of `set`: how long a vote on it counts (3 intervals), in ms.
    pub horizon_ms: Vec<u64>,
}

impl OwnProbes {
    fn new(snap: &Arc<Snapshot>) -> OwnProbes {
        let ids: Vec<u64> = snap
            .gslb
            .probes
            .iter()
            .map(|p| probe_id(p.addr, &p.check))
            .collect();
        let set = ProbeSet::new(ids.iter().copied());
        let pos: Vec<usize> = ids
            .iter()
            .map(|id| set.position(*id).expect("in the set"))
            .collect();
        let mut horizon_ms = vec![0; set.len()];
        for (j, p) in snap.gslb.probes.iter().enumerate() {
            horizon_ms[pos[j]] = 3 * p.check.interval.as_millis() as u64;
        }
        OwnProbes {
            snapshot: Arc::downgrade(snap),
            set: Arc::new(set),
            pos,
            horizon_ms,
        }
    }
}

impl Inner {
    /// This node's probes for `snap`, computed once per snapshot.
    pub(super) fn own_probes(&self, snap: &Arc<Snapshot>) -> Arc<OwnProbes> {
        let mut own = self.own.lock().unwrap();
        if let Some(o) = own.as_ref() {
            if std::ptr::eq(o.snapshot.as_ptr(), Arc::as_ptr(snap)) {
                return o.clone();
            }
        }
        let o = Arc::new(OwnProbes::new(snap));
        *own = Some(o.clone());
        o
    }

    /// The quorum verdict on every probe of `snap`, given this node's own (`own_up`).
    pub(super) fn quorum(
        &self,
        f: &FleetState,
        snap: &Arc<Snapshot>,
        own_up: &[bool],
    ) -> Vec<bool> {
        let own = self.own_probes(snap);
        let tally = f
            .votes
            .lock()
            .unwrap()
            .tally(&f.key(), &own.set, &own.horizon_ms, now_ms());
        own_up
            .iter()
            .enumerate()
            .map(|(j, up)| tally[own.pos[j]].quorum_up(*up))
            .collect()
    }
}

/// The monitor as the link sees it; it does not keep the monitor alive.
struct Handle(Weak<Inner>);

impl Handle {
    /// `f` of the settings made by hand, while the monitor lives.
    fn read<T>(&self, f: impl FnOnce(&Manual) -> T) -> Option<T> {
        let inner = self.0.upgrade()?;
        let manual = inner.manual.lock().unwrap();
        Some(f(&manual))
    }

    /// Changes the settings made by hand with `f`, which says whether anything changed and
    /// whether answers can change with it; saves them, and rebuilds the view when answers
    /// can change. True when something changed.
    fn change(&self, f: impl FnOnce(&mut Manual) -> (bool, bool)) -> bool {
        let Some(inner) = self.0.upgrade() else {
            return false;
        };
        let (changed, answers) = {
            let mut manual = inner.manual.lock().unwrap();
            let (changed, answers) = f(&mut manual);
            if changed {
                manual.save_or_log();
            }
            (changed, answers)
        };
        if changed && answers {
            inner.publish();
        }
        changed
    }

    /// A shift changed: the ramp loop follows it.
    fn shifts_changed(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.shifts_changed.notify_one();
        }
    }
}

impl Member for Handle {
    fn own_votes(&self) -> (Arc<ProbeSet>, NodeVotes) {
        let Some(inner) = self.0.upgrade() else {
            let empty = Arc::new(ProbeSet::default());
            let votes = NodeVotes::new(now_ms(), &empty, |_| true);
            return (empty, votes);
        };
        let snap = inner.shared.snapshot();
        let own = inner.own_probes(&snap);
        let mut up = vec![true; own.set.len()];
        for (j, u) in inner.own_up(&snap).into_iter().enumerate() {
            up[own.pos[j]] = u;
        }
        let votes = NodeVotes::new(now_ms(), &own.set, |k| up[k]);
        (own.set.clone(), votes)
    }

    fn fleet_changed(&self) {
        if let Some(inner) = self.0.upgrade() {
            inner.publish();
        }
    }

    fn pending_drains(&self) -> Vec<(IpAddr, bool)> {
        self.read(|m| m.drains.pending())
            .unwrap_or_default()
            .into_iter()
            .map(|(a, d)| (a, d.is_some()))
            .collect()
    }

    fn drain_published(&self, addr: IpAddr, drained: bool) {
        self.change(|m| (m.drains.published(&addr, &drained.then_some(())), false));
    }

    fn fleet_drains(&self, all: BTreeSet<IpAddr>) {
        let all = all.into_iter().map(|a| (a, ())).collect();
        if self.change(|m| (m.drains.replace(all), true)) {
            tracing::info!("fleet: drains read from the fleet");
        }
    }

    fn fleet_drain(&self, addr: IpAddr, drained: bool) {
        if self.change(|m| (m.drains.apply(addr, drained.then_some(())), true)) {
            tracing::info!(target_addr = %addr, drained, "fleet: drain changed by another node");
        }
    }

    fn pending_shifts(&self) -> Vec<(IpAddr, Option<Shift>)> {
        self.read(|m| m.shifts.pending()).unwrap_or_default()
    }

    fn shift_published(&self, addr: &IpAddr, shift: &Option<Shift>) {
        self.change(|m| (m.shifts.published(addr, shift), false));
    }

    fn fleet_shifts(&self, all: BTreeMap<IpAddr, Shift>) {
        if self.change(|m| (m.shifts.replace(all), true)) {
            tracing::info!("fleet: shifts read from the fleet");
            self.shifts_changed();
        }
    }

    fn fleet_shift(&self, addr: IpAddr, shift: Option<Shift>) {
        let to = shift.as_ref().map(|s| s.to);
        if self.change(|m| (m.shifts.apply(addr, shift), true)) {
            tracing::info!(target_addr = %addr, to, "fleet: shift changed by another node");
            self.shifts_changed();
        }
    }

    fn pending_pool_drains(&self) -> Vec<(PoolKey, Option<Drained>)> {
        self.read(|m| m.pools.pending()).unwrap_or_default()
    }

    fn pool_drain_published(&self, key: &PoolKey, drained: &Option<Drained>) {
        self.change(|m| (m.pools.published(key, drained), false));
    }

    fn fleet_pool_drains(&self, all: BTreeMap<PoolKey, Drained>) {
        if self.change(|m| (m.pools.replace(all), true)) {
            tracing::info!("fleet: pool drains read from the fleet");
        }
    }

    fn fleet_pool_drain(&self, key: PoolKey, drained: Option<Drained>) {
        let on = drained.is_some();
        let (record, pool) = (key.record.clone(), key.pool.clone());
        if self.change(|m| (m.pools.apply(key, drained), true)) {
            tracing::info!(
                record,
                pool,
                drained = on,
                "fleet: pool drain changed by another node"
            );
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
                me: Me {
                    name: &f.config.node,
                    key: &key,
                    mode: f.config.health,
                    connected: f.connected(),
                    loaded: &loaded,
                },
                nodes: &nodes,
                beats,
                now_ms: now_ms(),
            }
            .view(),
        )
    }
}

/// A checked target's fleet verdict and the votes behind it, as `/v1/status` shows it: probe
/// `j` of the snapshot.
pub(super) fn target_fleet(
    f: &FleetState,
    votes: &mut Votes,
    own: &OwnProbes,
    j: usize,
    own_up: bool,
    now_ms: u64,
) -> TargetFleet {
    let k = own.pos[j];
    let mut all = votes.votes_on(&f.key(), &own.set, k, own.horizon_ms[k], now_ms);
    let mut tally = Tally::default();
    for &(_, up, counted) in &all {
        match (counted, up) {
            (true, true) => tally.up += 1,
            (true, false) => tally.down += 1,
            (false, _) => {}
        }
    }
    all.push((f.config.node.clone(), own_up, true));
    all.sort();
    let (up, decided_by) = match (f.connected(), f.config.health) {
        (false, _) => (own_up, "local: NATS unreachable"),
        (true, FleetHealth::Local) => (own_up, "local"),
        (true, FleetHealth::Quorum) => (tally.quorum_up(own_up), "quorum"),
    };
    TargetFleet {
        verdict: if up { "up" } else { "down" },
        decided_by,
        votes: all
            .into_iter()
            .map(|(node, up, counted)| NodeVote { node, up, counted })
            .collect(),
    }
}
