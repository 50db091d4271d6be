//! A test fleet: three `gslbd serve` nodes (a, b, c) joined through a NATS cluster, each
//! with its own copy of the configuration, its own state file and its own vantage point on
//! one checked backend (`--probe-source`), serving `www` (round robin) and one name per
//! deterministic policy over the checked target and fixed ones.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use super::health::{self, *};
use super::nats::NatsCluster;
use super::vantage::{Answer, VantageBackend};
use super::*;

pub const T: Timing = Timing {
    interval: 0.3,
    timeout: 0.2,
    rise: 2,
    fall: 2,
};

/// How long a fleet verdict may take to show in answers: a probe flip, publication, 3
/// heartbeats of slack, and the rejoin backoff.
pub const FLEET_PATIENCE: Duration = Duration::from_secs(8);

/// The nodes' names, in index order.
pub const NODES: [&str; 3] = ["a", "b", "c"];

/// The names served besides `www`, one per deterministic policy.
pub const POLICIES: [&str; 4] = ["first", "all", "sticky", "weighted"];

fn lo(test: u8, host: u8) -> IpAddr {
    health::lo(64, test, host)
}

pub struct Fleet {
    pub backend: VantageBackend,
    pub sources: [IpAddr; 3],
    pub nodes: Vec<Server>,
    /// The checked target.
    pub target: IpAddr,
    /// `www`'s other target, never checked.
    pub fixed: IpAddr,
    /// The policy names' other targets, never checked.
    pub more: [IpAddr; 2],
    /// `www.<origin>`.
    pub name: String,
    pub origin: String,
    nats_arg: String,
    mode: String,
    /// Each node's configuration.
    pub zones: Vec<Zones>,
    /// Each node's state file lives here (outside its configuration).
    state: tempfile::TempDir,
}

impl Fleet {
    /// Starts the three nodes with `--fleet-health mode`, every node with the same files.
    pub fn start(test: u8, nats: &NatsCluster, mode: &str) -> Fleet {
        let backend = VantageBackend::http(lo(test, 10), 0);
        let (target, fixed) = (backend.ip(), lo(test, 12));
        let mut f = Fleet {
            backend,
            sources: [lo(test, 2), lo(test, 3), lo(test, 4)],
            nodes: Vec::new(),
            target,
            fixed,
            more: [lo(test, 13), lo(test, 14)],
            name: String::new(),
            origin: format!("f{test}.test."),
            nats_arg: nats.fleet_arg(),
            mode: mode.to_string(),
            zones: (0..3).map(|_| Zones::new()).collect(),
            state: tempfile::tempdir().expect("tempdir"),
        };
        f.name = format!("www.{}", f.origin);
        for i in 0..3 {
            f.write(i, 1);
        }
        f.nodes = (0..3).map(|i| f.start_node(i)).collect();
        f
    }

    /// Writes node `i`'s zone with SOA serial `serial`.
    pub fn write(&self, i: usize, serial: u32) {
        let checked = json!({ "address": self.target.to_string(), "check": "hc" });
        let www = vec![checked.clone(), json!(self.fixed.to_string())];
        let mut records = json!({ "www": { "gslb": "web" } });
        let mut gslb = json!({ "web": { "pools": { "default": { "targets": www } } } });
        for (k, policy) in POLICIES.iter().enumerate() {
            let mut targets = vec![checked.clone(), json!(self.fixed.to_string())];
            for (j, a) in self.more.iter().enumerate() {
                let weight = 1 + (j + k) % 3;
                targets.push(json!({ "address": a.to_string(), "weight": weight }));
            }
            records[*policy] = json!({ "gslb": policy });
            gslb[*policy] = json!({
                "policy": policy,
                "pools": { "default": { "targets": targets } }
            });
        }
        write_zone(
            &self.zones[i],
            &self.origin,
            serial,
            records,
            json!({ "hc": T.check("http", self.backend.port(), json!({})) }),
            gslb,
        );
    }

    fn state_file(&self, i: usize) -> PathBuf {
        self.state.path().join(format!("{}.json", NODES[i]))
    }

    fn start_node(&self, i: usize) -> Server {
        let src = self.sources[i].to_string();
        let state = self.state_file(i).display().to_string();
        let z = &self.zones[i];
        Server::start(
            z.zones_dir(),
            z.geo_dir(),
            &[
                "--admin",
                "127.0.0.1:0",
                "--udp-threads",
                "1",
                "--probe-source",
                &src,
                "--state-file",
                &state,
                "--fleet",
                &self.nats_arg,
                "--node",
                NODES[i],
                "--fleet-health",
                &self.mode,
            ],
        )
    }

    /// Stops node `i` (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again, with the same files and flags.
    pub fn restart(&mut self, i: usize) {
        self.nodes[i] = self.start_node(i);
    }

    /// Fails the probes of the nodes in `failing` (indices), answers the others.
    pub fn fail_from(&self, failing: &[usize]) {
        for (i, src) in self.sources.iter().enumerate() {
            let a = if failing.contains(&i) {
                Answer::Status(503)
            } else {
                Answer::Healthy
            };
            self.backend.answer(*src, a);
        }
    }

    /// Waits until node `i` answers `www` with the target (`with`) or without it.
    pub fn expect(&self, i: usize, with: bool, what: &str) {
        self.expect_within(i, with, what, FLEET_PATIENCE)
    }

    pub fn expect_within(&self, i: usize, with: bool, what: &str, patience: Duration) {
        let want = if with {
            vec![self.target, self.fixed]
        } else {
            vec![self.fixed]
        };
        self.expect_answer(i, &want, what, patience);
    }

    /// Waits until node `i` answers `www` with exactly `want`; its log when it does not.
    pub fn expect_answer(&self, i: usize, want: &[IpAddr], what: &str, patience: Duration) {
        let node = &self.nodes[i];
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_answer(node, &self.name, None, want, patience)
        }));
        if let Err(e) = got {
            eprintln!("node {} ({what}) log:\n{}", NODES[i], node.stderr());
            std::panic::resume_unwind(e);
        }
    }

    /// Waits until node `i` hears NATS.
    pub fn connected(&self, i: usize) {
        wait_for(
            &format!("node {} joins", NODES[i]),
            FLEET_PATIENCE,
            || match self.connected_metric(i) {
                1.0 => Ok(()),
                v => Err(format!("gslbd_fleet_connected {v}")),
            },
        );
    }

    /// Waits until node `i`'s `/v1/status` shows the target's fleet verdict `verdict`
    /// decided by `decided_by`, with the votes `votes` (node, up, counted); returns the
    /// whole status.
    pub fn fleet_row(
        &self,
        i: usize,
        verdict: &str,
        decided_by: &str,
        votes: &[(&str, bool, bool)],
    ) -> Value {
        let want_votes: Vec<Value> = votes
            .iter()
            .map(|(n, up, counted)| json!({ "node": n, "up": up, "counted": counted }))
            .collect();
        wait_for(&format!("node {i}: fleet row"), FLEET_PATIENCE, || {
            let st = get_json(&self.nodes[i], "/v1/status");
            let r = st["targets"]
                .as_array()
                .and_then(|t| {
                    t.iter()
                        .find(|r| r["address"] == json!(self.target.to_string()))
                })
                .cloned()
                .unwrap_or_default();
            let f = &r["fleet"];
            (f["verdict"] == verdict
                && f["decided_by"] == decided_by
                && f["votes"] == json!(want_votes))
            .then(|| st.clone())
            .ok_or_else(|| st.to_string())
        })
        .0
    }

    /// What explain says decided health on node `i`.
    pub fn explained_health(&self, i: usize) -> Value {
        let path = format!("/v1/explain?name={}&client=192.0.2.1", self.name);
        get_json(&self.nodes[i], &path)["health"].clone()
    }

    /// Node `i`'s metric `name` (no labels).
    pub fn metric(&self, i: usize, name: &str) -> f64 {
        super::metrics::scrape(self.nodes[i].admin_addr()).must(name, &[])
    }

    /// Node `i`'s `gslbd_fleet_connected`.
    pub fn connected_metric(&self, i: usize) -> f64 {
        self.metric(i, "gslbd_fleet_connected")
    }

    /// Waits until node `i`'s own probe sees the target `up`.
    pub fn own_probe(&self, i: usize, up: bool) {
        let want = if up { "up" } else { "down" };
        wait_for(&format!("node {i}: own probe {want}"), T.patience(), || {
            let r = row(&self.nodes[i], self.target);
            (r["state"] == want)
                .then_some(())
                .ok_or_else(|| r.to_string())
        });
    }

    /// `POST /v1/targets/<addr>/drain` (or undrain) on node `i`; asserts 200.
    pub fn drain(&self, i: usize, addr: IpAddr, on: bool) {
        let verb = if on { "drain" } else { "undrain" };
        let (code, body) = self.nodes[i].http("POST", &format!("/v1/targets/{addr}/{verb}"), None);
        assert_eq!(code, 200, "{verb} {addr} on {}: {body}", NODES[i]);
    }
}
