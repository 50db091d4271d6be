//! Counters and gauges. The query path counts into per-thread cells that only their own
//! thread writes (no locks, no shared cache lines); a scrape sums them and renders
//! Prometheus text.

mod cells;
mod edge;

pub use cells::{Outcome, QueryCells, Via, MAX_POOLS, MAX_ZONES};
use cells::{BUCKETS, COOKIE_RESULTS, DECIDERS, QTYPES, RCODES};

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::snapshot::Snapshot;

/// Interns zone and pool names to stable slots so counters survive reloads.
#[derive(Default)]
struct Names {
    zones: Vec<String>,
    pools: Vec<String>,
}

fn intern(list: &mut Vec<String>, name: &str, max: usize) -> u16 {
    if let Some(i) = list.iter().position(|n| n == name) {
        return i as u16 + 1;
    }
    if list.len() >= max {
        return max as u16;
    }
    list.push(name.to_string());
    list.len() as u16
}

/// All metrics of the process.
#[derive(Default)]
pub struct Metrics {
    workers: Mutex<Vec<Arc<QueryCells>>>,
    names: Mutex<Names>,
    pub probes_ok: AtomicU64,
    pub probes_failed: AtomicU64,
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    /// File-watcher events that found the files as the last load read them.
    pub reloads_unchanged: AtomicU64,
    pub generation: AtomicU64,
    /// The connection tables of the TCP listeners (read at scrape time).
    pub tcp_tables: Mutex<Vec<Arc<crate::dns::tcp::ConnTable>>>,
    /// The response rate limiter, when on (read at scrape time).
    pub rrl: Mutex<Option<Arc<crate::dns::rrl::Rrl>>>,
    /// The AF_XDP queues' counters (read at scrape time).
    pub xdp: Mutex<Vec<Arc<crate::dns::xdp::QueueCounters>>>,
}

/// Health figures gathered at scrape time.
pub struct TargetGauge {
    pub address: String,
    pub check: String,
    pub up: bool,
    pub drained: bool,
}

impl Metrics {
    /// Cells for one query thread (`shared` false) or for many tasks (`shared` true),
    /// counting queries that arrive `via` one transport.
    pub fn register(&self, shared: bool, via: Via) -> Arc<QueryCells> {
        let c = Arc::new(QueryCells::new(shared, via));
        self.workers.lock().unwrap().push(c.clone());
        c
    }

    pub fn probe(&self, ok: bool) {
        if ok {
            &self.probes_ok
        } else {
            &self.probes_failed
        }
        .fetch_add(1, Relaxed);
    }

    /// Gives every zone and pool of a new snapshot its counter slot.
    pub fn assign_slots(&self, snap: &mut Snapshot) {
        let mut names = self.names.lock().unwrap();
        for z in &mut snap.zones {
            z.metrics_slot = intern(&mut names.zones, &z.origin.to_string(), MAX_ZONES);
        }
        for r in &mut snap.gslb.records {
            for p in &mut r.pools {
                p.metrics_slot = intern(&mut names.pools, &p.name, MAX_POOLS);
            }
        }
    }

    /// Prometheus text exposition.
    pub fn render(
        &self,
        targets: &[TargetGauge],
        fleet: Option<(&crate::health::FleetStatus, &crate::fleet::FleetView)>,
    ) -> String {
        let workers = self.workers.lock().unwrap().clone();
        let names = self.names.lock().unwrap();
        let sum = |f: &dyn Fn(&QueryCells) -> &AtomicU64| -> u64 {
            workers.iter().map(|w| f(w).load(Relaxed)).sum()
        };
        let label = |list: &[String], slot: usize, max: usize| -> String {
            match slot {
                0 => "none".into(),
                s if s >= max => "other".into(),
                s => list.get(s - 1).cloned().unwrap_or_default(),
            }
        };
        let mut o = String::with_capacity(8192);
        let _ = writeln!(o, "# HELP gslbd_queries_total DNS queries answered, by zone, type and response code.\n# TYPE gslbd_queries_total counter");
        for zone in 0..=MAX_ZONES {
            for (qi, (_, qt)) in QTYPES.iter().enumerate() {
                for (ri, (_, rc)) in RCODES.iter().enumerate() {
                    let i = (zone * QTYPES.len() + qi) * RCODES.len() + ri;
                    let n = sum(&|w| &w.queries[i]);
                    if n > 0 {
                        let z = label(&names.zones, zone, MAX_ZONES);
                        let _ = writeln!(
                            o,
                            "gslbd_queries_total{{zone=\"{z}\",qtype=\"{qt}\",rcode=\"{rc}\"}} {n}"
                        );
                    }
                }
            }
        }
        let _ = writeln!(o, "# HELP gslbd_queries_by_transport_total DNS queries answered, by how they arrived: udp, tcp, tls (DNS over TLS), quic (DNS over QUIC), xdp (UDP through AF_XDP). Listed for the transports gslbd serves.\n# TYPE gslbd_queries_by_transport_total counter");
        for via in Via::ALL {
            let mut listed = false;
            let mut n = 0u64;
            for w in workers.iter().filter(|w| w.via == via) {
                listed = true;
                n += w.queries.iter().map(|c| c.load(Relaxed)).sum::<u64>();
            }
            if listed {
                let _ = writeln!(
                    o,
                    "gslbd_queries_by_transport_total{{transport=\"{}\"}} {n}",
                    via.as_str()
                );
            }
        }
        let _ = writeln!(o, "# HELP gslbd_answers_total GSLB answers, by pool and the kind of rule that decided.\n# TYPE gslbd_answers_total counter");
        for pool in 0..=MAX_POOLS {
            for (di, d) in DECIDERS.iter().enumerate() {
                let n = sum(&|w| &w.answers[pool * DECIDERS.len() + di]);
                if n > 0 {
                    let p = label(&names.pools, pool, MAX_POOLS);
                    let _ = writeln!(
                        o,
                        "gslbd_answers_total{{pool=\"{p}\",decided_by=\"{}\"}} {n}",
                        d.kind()
                    );
                }
            }
        }
        let _ = writeln!(o, "# HELP gslbd_ecs_queries_total Queries with and without an EDNS Client Subnet option.\n# TYPE gslbd_ecs_queries_total counter");
        for (i, v) in ["false", "true"].iter().enumerate() {
            let _ = writeln!(
                o,
                "gslbd_ecs_queries_total{{ecs=\"{v}\"}} {}",
                sum(&|w| &w.ecs[i])
            );
        }
        let _ = writeln!(o, "# HELP gslbd_cookies_total Queries with a DNS cookie, by what it was worth: new (client cookie only), valid (our server cookie), invalid (a server cookie that is not ours, or expired).\n# TYPE gslbd_cookies_total counter");
        for (i, r) in COOKIE_RESULTS.iter().enumerate() {
            let _ = writeln!(
                o,
                "gslbd_cookies_total{{result=\"{r}\"}} {}",
                sum(&|w| &w.cookies[i])
            );
        }
        let _ = writeln!(o, "# HELP gslbd_dnssec_signatures_total RRSIGs put in answers to DO queries, by where they came from: made (signed now) or cached (the signature cache).\n# TYPE gslbd_dnssec_signatures_total counter");
        for (i, r) in ["made", "cached"].iter().enumerate() {
            let _ = writeln!(
                o,
                "gslbd_dnssec_signatures_total{{result=\"{r}\"}} {}",
                sum(&|w| &w.signatures[i])
            );
        }
        let simple = [
            (
                "gslbd_truncated_total",
                "UDP answers sent truncated (TC) because they did not fit.",
                sum(&|w| &w.truncated),
            ),
            (
                "gslbd_cname_answers_total",
                "GSLB answers that were a CNAME pool's alias (by pool: gslbd_answers_total).",
                sum(&|w| &w.cname_answers),
            ),
            (
                "gslbd_malformed_total",
                "Packets answered FORMERR or dropped as malformed.",
                sum(&|w| &w.malformed),
            ),
        ];
        for (name, help, v) in simple {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        self.render_edge(&mut o);
        let _ = writeln!(o, "# HELP gslbd_reloads_total Configuration reloads, by result.\n# TYPE gslbd_reloads_total counter");
        let _ = writeln!(
            o,
            "gslbd_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "gslbd_reloads_total{{result=\"failed\"}} {}",
            self.reloads_failed.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "gslbd_reloads_total{{result=\"unchanged\"}} {}",
            self.reloads_unchanged.load(Relaxed)
        );
        let _ = writeln!(o, "# HELP gslbd_config_generation Generation of the configuration being served.\n# TYPE gslbd_config_generation gauge\ngslbd_config_generation {}", self.generation.load(Relaxed));
        if let Some((f, view)) = fleet {
            let me_drifts = view.nodes.iter().any(|n| n.me && n.drift);
            let _ = writeln!(o, "# HELP gslbd_fleet_drift_nodes Nodes whose loaded files differ from the fleet majority's.\n# TYPE gslbd_fleet_drift_nodes gauge\ngslbd_fleet_drift_nodes {}", view.drift_nodes);
            let _ = writeln!(o, "# HELP gslbd_fleet_config_drift Whether this node's loaded files differ from the fleet majority's.\n# TYPE gslbd_fleet_config_drift gauge\ngslbd_fleet_config_drift {}", me_drifts as u8);
            let _ = writeln!(o, "# HELP gslbd_fleet_connected Whether NATS can be reached (0: answering from this node's own probes).\n# TYPE gslbd_fleet_connected gauge\ngslbd_fleet_connected {}", f.connected as u8);
            let _ = writeln!(o, "# HELP gslbd_fleet_peers Other nodes whose votes were read.\n# TYPE gslbd_fleet_peers gauge\ngslbd_fleet_peers {}", f.peers.len());
        }
        let _ = writeln!(o, "# HELP gslbd_probes_total Health probes, by result.\n# TYPE gslbd_probes_total counter");
        let _ = writeln!(
            o,
            "gslbd_probes_total{{result=\"ok\"}} {}",
            self.probes_ok.load(Relaxed)
        );
        let _ = writeln!(
            o,
            "gslbd_probes_total{{result=\"failed\"}} {}",
            self.probes_failed.load(Relaxed)
        );
        let _ = writeln!(o, "# HELP gslbd_target_up Whether a checked target is up (1) or down (0).\n# TYPE gslbd_target_up gauge");
        for t in targets.iter().filter(|t| !t.check.is_empty()) {
            let _ = writeln!(
                o,
                "gslbd_target_up{{address=\"{}\",check=\"{}\"}} {}",
                t.address, t.check, t.up as u8
            );
        }
        let count = |f: &dyn Fn(&TargetGauge) -> bool| targets.iter().filter(|t| f(t)).count();
        let _ = writeln!(
            o,
            "# HELP gslbd_targets Targets by state.\n# TYPE gslbd_targets gauge"
        );
        let _ = writeln!(
            o,
            "gslbd_targets{{state=\"up\"}} {}",
            count(&|t| t.up && !t.drained)
        );
        let _ = writeln!(
            o,
            "gslbd_targets{{state=\"down\"}} {}",
            count(&|t| !t.up && !t.drained)
        );
        let _ = writeln!(
            o,
            "gslbd_targets{{state=\"drained\"}} {}",
            count(&|t| t.drained)
        );
        let _ = writeln!(o, "# HELP gslbd_query_duration_seconds Time to handle one query, receive to send.\n# TYPE gslbd_query_duration_seconds histogram");
        let mut cum = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cum += sum(&|w| &w.latency[i]);
            let _ = writeln!(
                o,
                "gslbd_query_duration_seconds_bucket{{le=\"{le}\"}} {cum}"
            );
        }
        cum += sum(&|w| &w.latency[BUCKETS.len()]);
        let _ = writeln!(
            o,
            "gslbd_query_duration_seconds_bucket{{le=\"+Inf\"}} {cum}"
        );
        let _ = writeln!(
            o,
            "gslbd_query_duration_seconds_sum {}",
            sum(&|w| &w.latency_sum_ns) as f64 * 1e-9
        );
        let _ = writeln!(o, "gslbd_query_duration_seconds_count {cum}");
        o
    }
}
