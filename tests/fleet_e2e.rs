//! The fleet end to end (spec §10): a 3-node NATS cluster with JetStream and 3 `gslbd serve`
//! nodes, each probing one backend from its own source address (tests/common/vantage.rs), so
//! each has its own vantage point on loopback. Under `quorum` a target failing from 1 of 3
//! vantage points stays in every node's answers and failing from 2 of 3 leaves all of them;
//! under `local` it leaves exactly the nodes that see it fail; with NATS gone every node
//! answers from its own probes, and the fleet view returns when NATS is back; a watch lost
//! on NATS's side is noticed and drains keep arriving.

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;

use common::fleet::Fleet;
use common::health::row;
use common::nats::NatsCluster;
use common::wait_for;

/// Spec §10: once NATS is back, the fleet view returns within this.
const REJOIN_BOUND: Duration = Duration::from_secs(5);

/// gslbd's buckets (each is the stream `KV_<bucket>`).
const STREAMS: [&str; 3] = ["KV_gslbd_votes", "KV_gslbd_drains", "KV_gslbd_nodes"];

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
    // A drain made on b while NATS is gone applies on b at once and waits to be published.
    let other = f.more[0];
    f.drain(1, other, true);
    assert_eq!(row(&f.nodes[1], other)["state"], "drained");
    assert_eq!(row(&f.nodes[0], other)["state"], "up");
    // NATS is back when its servers run and gslbd's replicated buckets have leaders again
    // (after a restart of the whole cluster, elections take NATS some seconds).
    nats.start_all();
    for s in STREAMS {
        nats.wait_stream_current(s);
    }
    let back = Instant::now();
    f.expect_within(0, true, "NATS back: the fleet view returns", REJOIN_BOUND);
    assert_eq!(f.connected_metric(0), 1.0);
    assert_eq!(f.explained_health(0), "fleet quorum");
    // b's drain reached the others when b rejoined.
    for i in [0, 2] {
        let left = REJOIN_BOUND.saturating_sub(back.elapsed());
        wait_for(&format!("node {i}: b's drain"), left, || {
            let r = row(&f.nodes[i], other);
            (r["state"] == "drained").then_some(()).ok_or_else(|| {
                format!(
                    "{r}\nnode {i}'s log:\n{}\nnode b's log:\n{}",
                    f.nodes[i].stderr(),
                    f.nodes[1].stderr()
                )
            })
        });
    }
}

/// A node's watch on a bucket is a consumer on one NATS server. One lost without a word
/// (its server restarted, or the cluster re-elected leaders just after the node joined) is
/// noticed within two checks and the node rejoins, so drains keep arriving within seconds,
/// not after the client's own 10-second heartbeat timeout.
#[test]
fn a_watch_lost_on_the_servers_side_is_noticed_and_drains_keep_arriving() {
    let nats = NatsCluster::start(3);
    let f = Fleet::start(8, &nats, "quorum");
    for i in 0..3 {
        f.connected(i);
    }
    let gone = nats.delete_consumers(0, "KV_gslbd_drains");
    assert!(gone.len() >= 3, "every node watches the drains: {gone:?}");
    let t0 = Instant::now();
    let other = f.more[0];
    f.drain(1, other, true);
    // The drain bound (2 s) plus two checks (1 s each) and the rejoin.
    for i in [0, 2] {
        let left = REJOIN_BOUND.saturating_sub(t0.elapsed());
        wait_for(&format!("node {i}: b's drain"), left, || {
            let r = row(&f.nodes[i], other);
            (r["state"] == "drained")
                .then_some(())
                .ok_or_else(|| format!("{r}\nnode {i}'s log:\n{}", f.nodes[i].stderr()))
        });
    }
}
