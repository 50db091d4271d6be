//! The health monitor: one probe task per distinct (address, check), their rise/fall state,
//! and publication of the health view next to the snapshot it belongs to, with what was set
//! by hand (drains, pool drains, shifts: `drains.rs`, `pool_drains.rs`, `shifts.rs`). Its
//! part in a fleet (votes, fleet-wide settings) is in `member.rs`.

use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use super::probe::{NetProbe, Probe};
use super::source::ProbeSource;
use super::state::ProbeState;
use super::state_file::Manual;
use super::status::TargetStatus;
use super::view::{HealthView, Share};
use crate::fleet::{now_ms, FleetHealth, FleetState};
use crate::gslb::CheckSpec;
use crate::metrics::Metrics;
use crate::snapshot::Snapshot;
use crate::state::{Serving, Shared};

/// A probe's identity: the same address checked the same way is one probe, whatever the
/// names of the checks or zones that ask for it.
pub type ProbeKey = (IpAddr, CheckSpec);

pub(super) struct Entry {
    pub(super) state: Arc<Mutex<ProbeState>>,
    task: tokio::task::AbortHandle,
}

pub(super) struct Inner {
    pub(super) shared: Arc<Shared>,
    metrics: Arc<Metrics>,
    pub(super) probes: Mutex<HashMap<ProbeKey, Entry>>,
    /// Drains, pool drains and shifts, and the state file they are saved in.
    pub(super) manual: Mutex<Manual>,
    /// Poked when a shift changes, so the ramp loop rebuilds the view while it ramps.
    pub(super) shifts_changed: Arc<tokio::sync::Notify>,
    /// Whether the ramp loop runs (started by the first `install`).
    ramp_started: AtomicBool,
    /// The local addresses probes connect from.
    source: ProbeSource,
    /// The fleet this node belongs to, when it runs with `--fleet`.
    pub(super) fleet: Mutex<Option<Arc<FleetState>>>,
    /// This node's probes as the fleet knows them, for the latest snapshot asked about.
    pub(super) own: Mutex<Option<Arc<super::member::OwnProbes>>>,
}

/// Owns every probe task. Cheap to clone.
#[derive(Clone)]
pub struct Monitor {
    pub(super) inner: Arc<Inner>,
}

impl Monitor {
    /// A monitor publishing into `shared`, its probes connecting from `source`. Drains,
    /// pool drains and shifts are read from `state_file` when it exists.
    pub fn new(shared: Arc<Shared>, state_file: Option<PathBuf>, source: ProbeSource) -> Self {
        Monitor {
            inner: Arc::new(Inner {
                metrics: shared.metrics.clone(),
                shared,
                probes: Mutex::new(HashMap::new()),
                manual: Mutex::new(Manual::load(state_file)),
                shifts_changed: Arc::new(tokio::sync::Notify::new()),
                ramp_started: AtomicBool::new(false),
                source,
                fleet: Mutex::new(None),
                own: Mutex::new(None),
            }),
        }
    }

    /// Starts probes the snapshot needs and stops those it no longer needs (the state of
    /// unchanged probes survives), then serves `snapshot` with its health view. Must be
    /// called inside a tokio runtime.
    pub fn install(&self, snapshot: Arc<Snapshot>) {
        {
            let mut probes = self.inner.probes.lock().unwrap();
            let wanted: HashMap<ProbeKey, &str> = snapshot
                .gslb
                .probes
                .iter()
                .map(|p| ((p.addr, p.check.clone()), p.check_name.as_str()))
                .collect();
            probes.retain(|key, entry| {
                let keep = wanted.contains_key(key);
                if !keep {
                    entry.task.abort();
                }
                keep
            });
            for (key, name) in wanted {
                if probes.contains_key(&key) {
                    continue;
                }
                let state = Arc::new(Mutex::new(ProbeState::new(SystemTime::now())));
                let task = self.spawn_probe(&key, name, state.clone());
                probes.insert(key, Entry { state, task });
            }
        }
        let inner = &self.inner;
        if !inner.ramp_started.swap(true, Ordering::Relaxed) {
            tokio::spawn(super::shifts::ramp_loop(Arc::downgrade(inner)));
        }
        if let Some(f) = inner.fleet.lock().unwrap().as_ref() {
            f.set_shortest_interval(snapshot.gslb.probes.iter().map(|p| p.check.interval).min());
        }
        inner.shared.update(|_| Serving {
            health: Arc::new(inner.view_for(&snapshot)),
            snapshot,
        });
    }

    fn spawn_probe(
        &self,
        key: &ProbeKey,
        name: &str,
        state: Arc<Mutex<ProbeState>>,
    ) -> tokio::task::AbortHandle {
        let (addr, spec) = key.clone();
        let weak = Arc::downgrade(&self.inner);
        let label = format!("{addr} check {name}");
        let offset = spread(key, spec.interval);
        let source = self.inner.source.for_target(addr);
        let handle = match NetProbe::new(addr, spec.clone(), source) {
            Ok(probe) => tokio::spawn(probe_loop(probe, spec, offset, state, weak, label)),
            Err(e) => {
                tracing::error!(target_addr = %addr, check = name, error = %e, "cannot build probe");
                tokio::spawn(async {})
            }
        };
        handle.abort_handle()
    }

    /// Every target of the served snapshot with its health.
    pub fn status(&self) -> Vec<TargetStatus> {
        let snap = self.inner.shared.snapshot();
        let probes = self.inner.probes.lock().unwrap();
        let manual = self.inner.manual.lock().unwrap();
        let now = now_ms();
        let shift = |addr: &IpAddr| {
            let s = manual
                .shifts
                .get(addr)
                .filter(|s| !s.finished_restore(now))?;
            Some(super::status::ShiftStatus::new(s, now))
        };
        let mut rows: Vec<TargetStatus> = Vec::new();
        let mut unchecked: BTreeSet<IpAddr> = BTreeSet::new();
        for t in snap
            .gslb
            .records
            .iter()
            .flat_map(|r| r.pools.iter())
            .flat_map(|p| p.targets.iter())
        {
            if t.probe.is_none() {
                unchecked.insert(t.addr);
            }
        }
        let fleet = self.fleet();
        let own = fleet.as_ref().map(|_| self.inner.own_probes(&snap));
        let mut votes = fleet.as_ref().map(|f| f.votes.lock().unwrap());
        for (j, p) in snap.gslb.probes.iter().enumerate() {
            let st = probes
                .get(&(p.addr, p.check.clone()))
                .map(|e| e.state.lock().unwrap().clone());
            let own_up = st.as_ref().is_none_or(|s| s.up);
            let fleet_row = match (&fleet, &own, votes.as_deref_mut()) {
                (Some(f), Some(o), Some(v)) => {
                    Some(super::member::target_fleet(f, v, o, j, own_up, now))
                }
                _ => None,
            };
            let state = match (&st, manual.drains.contains(&p.addr)) {
                (_, true) => "drained",
                (Some(s), _) if !s.up => "down",
                _ => "up",
            };
            rows.push(TargetStatus {
                address: p.addr,
                check: Some(p.check_name.clone()),
                state,
                since: st.as_ref().map(|s| fmt_time(s.since)),
                latency_ms: st
                    .as_ref()
                    .and_then(|s| s.last_latency)
                    .map(|l| (l.as_secs_f64() * 1e6).round() / 1e3),
                probe_up: own_up,
                error: st.and_then(|s| s.last_error),
                fleet: fleet_row,
                shift: shift(&p.addr),
            });
        }
        for addr in unchecked {
            rows.push(TargetStatus {
                address: addr,
                check: None,
                state: if manual.drains.contains(&addr) {
                    "drained"
                } else {
                    "up"
                },
                since: None,
                latency_ms: None,
                error: None,
                probe_up: true,
                fleet: None,
                shift: shift(&addr),
            });
        }
        rows.sort_by(|a, b| (a.address, &a.check).cmp(&(b.address, &b.check)));
        rows
    }

    /// (up, down) counts over distinct probes.
    pub fn counts(&self) -> (usize, usize) {
        let probes = self.inner.probes.lock().unwrap();
        let up = probes
            .values()
            .filter(|e| e.state.lock().unwrap().up)
            .count();
        (up, probes.len() - up)
    }
}

impl Inner {
    fn view_for(&self, snap: &Arc<Snapshot>) -> HealthView {
        let fleet = self.fleet.lock().unwrap().clone();
        let decided_by = match &fleet {
            None => "this node's probes",
            Some(f) if !f.connected() => "this node's probes: NATS unreachable",
            Some(f) if f.config.health == FleetHealth::Local => {
                "this node's probes (--fleet-health local)"
            }
            Some(_) => "fleet quorum",
        };
        let own_up = self.own_up(snap);
        // The fleet decides when this node hears it and asks for a quorum.
        let up = match fleet.filter(|f| f.connected() && f.config.health == FleetHealth::Quorum) {
            Some(f) => self.quorum(&f, snap, &own_up),
            None => own_up,
        };
        let manual = self.manual.lock().unwrap();
        let now = now_ms();
        HealthView {
            up,
            drained: manual.drains.iter().map(|(a, _)| *a).collect(),
            decided_by,
            shares: shares_at(&manual, now),
            pool_drained: super::pool_drains::drained_ids(&snap.gslb, &manual.pools),
        }
    }

    /// What this node's own probes say of each probe of `snap` (up until probed).
    pub(super) fn own_up(&self, snap: &Snapshot) -> Vec<bool> {
        let probes = self.probes.lock().unwrap();
        snap.gslb
            .probes
            .iter()
            .map(|p| {
                probes
                    .get(&(p.addr, p.check.clone()))
                    .is_none_or(|e| e.state.lock().unwrap().up)
            })
            .collect()
    }

    /// Publishes the view being served with the shares of this moment: what a ramping
    /// shift needs, without asking every probe again.
    pub(super) fn publish_shares(&self) {
        self.shared.update(|cur| {
            let mut health = (*cur.health).clone();
            health.shares = shares_at(&self.manual.lock().unwrap(), now_ms());
            Serving {
                snapshot: cur.snapshot.clone(),
                health: Arc::new(health),
            }
        });
    }

    /// Publishes a fresh health view for the snapshot being served.
    pub(super) fn publish(&self) {
        self.shared.update(|cur| Serving {
            snapshot: cur.snapshot.clone(),
            health: Arc::new(self.view_for(&cur.snapshot)),
        });
    }
}

/// The shares of the shifted targets at `now_ms`, sorted by address as the ledger is; a
/// shift back to 1 that has arrived is no shift at all.
fn shares_at(manual: &Manual, now_ms: u64) -> Vec<(IpAddr, Share)> {
    manual
        .shifts
        .iter()
        .map(|(a, s)| (*a, Share::from_f64(s.share_at(now_ms))))
        .filter(|(_, s)| *s != Share::FULL)
        .collect()
}

pub(super) fn fmt_time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Where in the interval a probe's periodic runs fall, so probes do not fire together.
fn spread(key: &ProbeKey, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    let window = (interval / 2).min(Duration::from_secs(1));
    let nanos = window.as_nanos().max(1) as u64;
    Duration::from_nanos(h.finish() % nanos)
}

/// Probes at once, then every `interval` (shifted by `offset`), updating `state`. Flips are
/// logged and published.
async fn probe_loop<P: Probe>(
    probe: P,
    spec: CheckSpec,
    offset: Duration,
    state: Arc<Mutex<ProbeState>>,
    monitor: Weak<Inner>,
    label: String,
) {
    let start = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval_at(start + spec.interval + offset, spec.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let result = probe.check().await;
        let ok = result.is_ok();
        let (flipped, up, error) = {
            let mut s = state.lock().unwrap();
            let flipped = s.record(result, spec.rise, spec.fall, SystemTime::now());
            (flipped, s.up, s.last_error.clone())
        };
        let Some(inner) = monitor.upgrade() else {
            return;
        };
        inner.metrics.probe(ok);
        if flipped {
            if up {
                tracing::info!(target_name = %label, "target is up");
            } else {
                tracing::warn!(target_name = %label, error = error.as_deref().unwrap_or(""), "target is down");
            }
            inner.publish();
            if let Some(f) = inner.fleet.lock().unwrap().as_ref() {
                f.own_changed.notify_one();
            }
        }
        drop(inner);
        ticks.tick().await;
    }
}

#[cfg(test)]
mod tests;
