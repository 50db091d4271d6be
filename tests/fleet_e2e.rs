//! The fleet end to end (spec §10): a 3-node NATS cluster with JetStream and 3 `gslbd serve`
//! nodes, each probing one backend from its own source address (tests/common/vantage.rs), so
//! each has its own vantage point on loopback. Under `quorum` a target failing from 1 of 3
//! vantage points stays in every node's answers and failing from 2 of 3 leaves all of them;
//! under `local` it leaves exactly the nodes that see it fail; with NATS gone every node
//! answers from its own probes, and the fleet view returns when NATS is back.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Value};

use common::health::{self, *};
use common::nats::NatsCluster;
use common::vantage::{Answer, VantageBackend};
use common::*;

const T: Timing = Timing {
    interval: 0.3,
    timeout: 0.2,
    rise: 2,
    fall: 2,
};

/// How long a fleet verdict may take to show in answers: a probe flip, publication, 3
/// heartbeats of slack, and the rejoin backoff.
const FLEET_PATIENCE: Duration = Duration::from_secs(8);
/// How long the fleet view may take to return after the whole NATS cluster restarted.
const REJOIN_PATIENCE: Duration = Duration::from_secs(30);

fn lo(test: u8, host: u8) -> IpAddr {
    health::lo(64, test, host)
}

/// One fleet of three nodes (a, b, c) with their vantage points, serving `www.<origin>`
/// from a checked target and a fixed one.
struct Fleet {
    backend: VantageBackend,
    sources: [IpAddr; 3],
    nodes: Vec<Server>,
    target: IpAddr,
    fixed: IpAddr,
    name: String,
    _zones: Zones,
}

impl Fleet {
    fn start(test: u8, nats: &NatsCluster, mode: &str) -> Fleet {
        let backend = VantageBackend::http(lo(test, 10), 0);
        let (target, fixed) = (backend.ip(), lo(test, 12));
        let sources = [lo(test, 2), lo(test, 3), lo(test, 4)];
        let origin = format!("f{test}.test.");
        let z = Zones::new();
        let targets: Vec<Value> = vec![
            json!({ "address": target.to_string(), "check": "hc" }),
            json!(fixed.to_string()),
        ];
        write_zone(
            &z,
            &origin,
            1,
            json!({ "www": { "gslb": "web" } }),
            json!({ "hc": T.check("http", backend.port(), json!({})) }),
            json!({ "web": { "pools": { "default": { "targets": targets } } } }),
        );
        let fleet = nats.fleet_arg();
        let nodes = ["a", "b", "c"]
            .iter()
            .zip(sources)
            .map(|(node, src)| {
                let src = src.to_string();
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
                        "--fleet",
                        &fleet,
                        "--node",
                        node,
                        "--fleet-health",
                        mode,
                    ],
                )
            })
            .collect();
        Fleet {
            backend,
            sources,
            nodes,
            target,
            fixed,
            name: format!("www.{origin}"),
            _zones: z,
        }
    }

    /// Fails the probes of the nodes in `failing` (indices), answers the others.
    fn fail_from(&self, failing: &[usize]) {
        for (i, src) in self.sources.iter().enumerate() {
            let a = if failing.contains(&i) {
                Answer::Status(503)
            } else {
                Answer::Healthy
            };
            self.backend.answer(*src, a);
        }
    }

    /// Waits until node `i` answers with the target (`with`) or without it.
    fn expect(&self, i: usize, with: bool, what: &str) {
        self.expect_within(i, with, what, FLEET_PATIENCE)
    }

    fn expect_within(&self, i: usize, with: bool, what: &str, patience: Duration) {
        let want = if with {
            vec![self.target, self.fixed]
        } else {
            vec![self.fixed]
        };
        let node = &self.nodes[i];
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_answer(node, &self.name, None, &want, patience)
        }));
        if let Err(e) = got {
            eprintln!("node {i} ({what}) log:\n{}", node.stderr());
            std::panic::resume_unwind(e);
        }
    }

    /// Waits until node `i`'s `/v1/status` shows the target's fleet verdict `verdict`
    /// decided by `decided_by`, with the votes `votes` (node, up, counted); returns the
    /// whole status.
    fn fleet_row(
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
    fn explained_health(&self, i: usize) -> Value {
        let path = format!("/v1/explain?name={}&client=192.0.2.1", self.name);
        get_json(&self.nodes[i], &path)["health"].clone()
    }

    /// Node `i`'s `gslbd_fleet_connected`.
    fn connected_metric(&self, i: usize) -> f64 {
        common::metrics::scrape(self.nodes[i].admin_addr()).must("gslbd_fleet_connected", &[])
    }

    /// Waits until node `i`'s own probe sees the target `up`.
    fn own_probe(&self, i: usize, up: bool) {
        let want = if up { "up" } else { "down" };
        wait_for(&format!("node {i}: own probe {want}"), T.patience(), || {
            let r = row(&self.nodes[i], self.target);
            (r["state"] == want)
                .then_some(())
                .ok_or_else(|| r.to_string())
        });
    }
}

#[test]
fn quorum_keeps_a_target_one_vantage_point_fails_and_drops_one_that_two_fail() {
    let nats = NatsCluster::start(3);
    let f = Fleet::start(1, &nats, "quorum");
    f.fail_from(&[0]);
    f.own_probe(0, false);
    // Node a sees it fail; the fleet (b and c say up) keeps it in every answer.
    for i in 0..3 {
        f.expect(i, true, "1 of 3 down");
    }
    // Every node's status shows the verdict and the votes behind it; explain names the view.
    let votes = [("a", false, true), ("b", true, true), ("c", true, true)];
    for i in 0..3 {
        let st = f.fleet_row(i, "up", "quorum", &votes);
        assert_eq!(st["fleet"]["connected"], true, "{st}");
        let peers: Vec<&Value> = st["fleet"]["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["node"])
            .collect();
        assert_eq!(peers.len(), 2, "the two other nodes: {st}");
        assert_eq!(f.explained_health(i), "fleet quorum");
        assert_eq!(f.connected_metric(i), 1.0);
    }
    // Failing from 2 of 3: out of every answer, also node c's, whose probe says up.
    f.fail_from(&[0, 1]);
    f.own_probe(1, false);
    f.own_probe(2, true);
    for i in 0..3 {
        f.expect(i, false, "2 of 3 down");
    }
    // Back up everywhere.
    f.fail_from(&[]);
    for i in 0..3 {
        f.expect(i, true, "all up");
    }
}

#[test]
fn local_mode_lets_each_node_decide_alone() {
    let nats = NatsCluster::start(3);
    let f = Fleet::start(2, &nats, "local");
    f.fail_from(&[0]);
    f.own_probe(0, false);
    f.expect(0, false, "a sees it down");
    f.expect(1, true, "b sees it up");
    f.expect(2, true, "c sees it up");
    f.fleet_row(
        0,
        "down",
        "local",
        &[("a", false, true), ("b", true, true), ("c", true, true)],
    );
    assert_eq!(
        f.explained_health(1),
        "this node's probes (--fleet-health local)"
    );
}

#[test]
fn without_nats_nodes_answer_from_their_own_probes_and_rejoin() {
    let mut nats = NatsCluster::start(3);
    let f = Fleet::start(3, &nats, "quorum");
    f.fail_from(&[0]);
    f.own_probe(0, false);
    f.expect(0, true, "the fleet keeps it");
    // Node a has heard both others before NATS goes.
    let heard = [("a", false, true), ("b", true, true), ("c", true, true)];
    f.fleet_row(0, "up", "quorum", &heard);
    nats.stop_all();
    // Alone, node a trusts its own probe.
    f.expect(0, false, "NATS gone: own probe");
    f.expect(1, true, "NATS gone: own probe");
    // ... and says so in its status, explain and metrics.
    // The others' last votes are shown, no longer counted.
    let last = [("a", false, true), ("b", true, false), ("c", true, false)];
    let st = f.fleet_row(0, "down", "local: NATS unreachable", &last);
    assert_eq!(st["fleet"]["connected"], false, "{st}");
    assert_eq!(
        f.explained_health(0),
        "this node's probes: NATS unreachable"
    );
    assert_eq!(f.connected_metric(0), 0.0);
    nats.start_all();
    // After a restart of the whole cluster its replicated bucket recovers only after the
    // meta leader is back (`start_all` waits for that much): allow for the stream too.
    f.expect_within(
        0,
        true,
        "NATS back: the fleet view returns",
        REJOIN_PATIENCE,
    );
    assert_eq!(f.connected_metric(0), 1.0);
    assert_eq!(f.explained_health(0), "fleet quorum");
}
