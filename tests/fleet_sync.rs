//! What a fleet shares besides health (spec §10): drains made on any node reach every node
//! within 2 s and survive restarts and reloads, and so do shifts and pool drains (§11); each node's loaded files are fingerprinted
//! and a node whose files differ is flagged in `/v1/fleet` and the metrics; and answers of
//! the deterministic policies are the same whichever node a client asks.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::fleet::{Fleet, FLEET_PATIENCE, NODES, POLICIES};
use common::health::{ask, get_json};
use common::nats::NatsCluster;
use common::*;

/// Spec §10: a drain made on one node is applied on every node within this.
const DRAIN_BOUND: Duration = Duration::from_secs(2);

#[test]
fn drains_made_on_any_node_reach_every_node_and_survive_restarts_and_reloads() {
    let nats = NatsCluster::start(3);
    let mut f = Fleet::start(4, &nats, "quorum");
    for i in 0..3 {
        f.connected(i);
        f.expect(i, true, "healthy");
    }
    // Drained on a: gone from b's and c's answers within the bound.
    let t0 = Instant::now();
    f.drain(0, f.target, true);
    for i in 0..3 {
        let left = DRAIN_BOUND.saturating_sub(t0.elapsed());
        f.expect_within(i, false, "drained on a", left);
    }
    let row = common::health::row(&f.nodes[2], f.target);
    assert_eq!(row["state"], "drained", "{row}");

    // c is down while b undrains the target and drains the fixed address.
    f.stop(2);
    let t1 = Instant::now();
    f.drain(1, f.target, false);
    f.drain(1, f.fixed, true);
    let only_target = [f.target];
    for i in 0..2 {
        let left = DRAIN_BOUND.saturating_sub(t1.elapsed());
        f.expect_answer(i, &only_target, "changed on b", left);
    }
    // c comes back: its state file still says the target is drained and the fixed address
    // is not; the fleet's drains win.
    f.restart(2);
    f.connected(2);
    f.expect_answer(2, &only_target, "c restarted", DRAIN_BOUND);
    let st = get_json(&f.nodes[2], "/v1/status");
    let drained: BTreeSet<String> = st["targets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "drained")
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(drained, [f.fixed.to_string()].into(), "{st}");

    // A reload on a (new files) keeps the fleet's drains.
    f.write(0, 2);
    let (code, body) = f.nodes[0].http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    f.expect_answer(0, &only_target, "a reloaded", DRAIN_BOUND);
    // And an undrain on c reaches a and b.
    let t2 = Instant::now();
    f.drain(2, f.fixed, false);
    for i in 0..3 {
        let left = DRAIN_BOUND.saturating_sub(t2.elapsed());
        f.expect_within(i, true, "all undrained on c", left);
    }
}

/// Node `i`'s `/v1/status` shift of `addr` (null without one).
fn shift_of(f: &Fleet, i: usize, addr: IpAddr) -> Value {
    common::health::row(&f.nodes[i], addr)["shift"].clone()
}

/// Waits until node `i`'s `/v1/status` lists exactly `pools` (record, pool) as drained.
fn expect_pools_drained(f: &Fleet, i: usize, pools: &[(&str, &str)], within: Duration) {
    let want: Vec<(String, String)> = pools
        .iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect();
    wait_for(
        &format!("node {}: pools drained {want:?}", NODES[i]),
        within,
        || {
            let st = get_json(&f.nodes[i], "/v1/status");
            let got: Vec<(String, String)> = st["pools_drained"]
                .as_array()
                .ok_or_else(|| st.to_string())?
                .iter()
                .map(|p| {
                    (
                        p["record"].as_str().unwrap().into(),
                        p["pool"].as_str().unwrap().into(),
                    )
                })
                .collect();
            (got == want)
                .then_some(())
                .ok_or_else(|| format!("{got:?}"))
        },
    );
}

#[test]
fn shifts_and_pool_drains_made_on_any_node_reach_every_node_and_survive_restarts() {
    let nats = NatsCluster::start(3);
    let mut f = Fleet::start(7, &nats, "quorum");
    for i in 0..3 {
        f.connected(i);
        f.expect(i, true, "healthy");
    }
    // A shift of the fixed address to 0 over 1 s, made on a: every node ramps it out.
    let t0 = Instant::now();
    let (code, body) = f.nodes[0].http_body(
        "POST",
        &format!("/v1/targets/{}/weight", f.fixed),
        None,
        r#"{"weight": 0, "over": 1}"#,
    );
    assert_eq!(code, 200, "{body}");
    for (i, node) in NODES.iter().enumerate().skip(1) {
        let left = DRAIN_BOUND.saturating_sub(t0.elapsed());
        wait_for(&format!("node {node}: the shift arrives"), left, || {
            let s = shift_of(&f, i, f.fixed);
            (s["to"] == 0.0 && s["by"] == "a")
                .then_some(())
                .ok_or_else(|| s.to_string())
        });
    }
    for i in 0..3 {
        f.expect_answer(
            i,
            &[f.target],
            "shifted out on a",
            DRAIN_BOUND + Duration::from_secs(1),
        );
    }
    // Pool `default` of `web` drained on b: every node lists it and skips it (the record's
    // only pool, so all_down answers).
    let t1 = Instant::now();
    let (code, body) = f.nodes[1].http("POST", "/v1/pools/web/default/drain", None);
    assert_eq!(code, 200, "{body}");
    for i in 0..3 {
        expect_pools_drained(
            &f,
            i,
            &[("web", "default")],
            DRAIN_BOUND.saturating_sub(t1.elapsed()),
        );
        let e = get_json(
            &f.nodes[i],
            &format!("/v1/explain?name={}&client=192.0.2.1", f.name),
        );
        assert_eq!(e["gslb"]["pools"][0]["drained"], true, "{e}");
        assert_eq!(e["gslb"]["all_down"], true, "{e}");
    }

    // c is down while b restores the shift and undrains the pool; c's state file still says
    // shifted and drained: the fleet's settings win when it is back.
    f.stop(2);
    let (code, body) = f.nodes[1].http_body(
        "POST",
        &format!("/v1/targets/{}/weight", f.fixed),
        None,
        r#"{"weight": 1}"#,
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = f.nodes[1].http("POST", "/v1/pools/web/default/undrain", None);
    assert_eq!(code, 200, "{body}");
    for i in 0..2 {
        f.expect(i, true, "restored on b");
        expect_pools_drained(&f, i, &[], DRAIN_BOUND);
    }
    f.restart(2);
    f.connected(2);
    f.expect_within(2, true, "c restarted", DRAIN_BOUND);
    expect_pools_drained(&f, 2, &[], DRAIN_BOUND);
    assert!(shift_of(&f, 2, f.fixed).is_null() || shift_of(&f, 2, f.fixed)["share"] == 1.0);
}

/// Waits until node `i`'s `/v1/fleet` satisfies `ok`; returns it.
fn fleet_view(f: &Fleet, i: usize, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let what = format!("node {}: {what}", NODES[i]);
        wait_for(&what, FLEET_PATIENCE, || {
            let v = get_json(&f.nodes[i], "/v1/fleet");
            ok(&v).then_some(v.clone()).ok_or_else(|| v.to_string())
        })
        .0
    }));
    got.unwrap_or_else(|e| {
        eprintln!("node {} log:\n{}", NODES[i], f.nodes[i].stderr());
        std::panic::resume_unwind(e)
    })
}

/// `(node, connected, drift, generation)` of every row of a `/v1/fleet`.
fn rows(v: &Value) -> Vec<(String, bool, bool, u64)> {
    v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().to_string(),
                n["connected"].as_bool().unwrap(),
                n["drift"].as_bool().unwrap(),
                n["generation"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn row(node: &str, drift: bool, generation: u64) -> (String, bool, bool, u64) {
    (node.to_string(), true, drift, generation)
}

#[test]
fn different_files_on_one_node_are_flagged_as_drift() {
    let nats = NatsCluster::start(3);
    let f = Fleet::start(5, &nats, "quorum");
    let same = [row("a", false, 1), row("b", false, 1), row("c", false, 1)];
    let v = fleet_view(&f, 0, "three nodes, one configuration", |v| rows(v) == same);
    assert_eq!(v["node"], "a");
    assert_eq!(v["drift_nodes"], 0);
    let prints: BTreeSet<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(prints.len(), 1, "same files in different directories: {v}");
    assert_eq!(
        v["majority_fingerprint"],
        json!(prints.first().unwrap()),
        "{v}"
    );
    let a = &v["nodes"][0];
    assert_eq!(a["self"], true);
    assert_eq!(a["version"], env!("CARGO_PKG_VERSION"));

    // c's operator edits c's copy only: c reloads it, and every node flags c.
    f.write(2, 7);
    let drifted = [row("a", false, 1), row("b", false, 1), row("c", true, 2)];
    for i in 0..3 {
        let v = fleet_view(&f, i, "c drifts", |v| rows(v) == drifted);
        assert_eq!(v["drift_nodes"], 1, "{v}");
        assert_eq!(v["majority_fingerprint"], json!(prints.first().unwrap()));
    }
    assert_eq!(f.metric(0, "gslbd_fleet_drift_nodes"), 1.0);
    assert_eq!(f.metric(0, "gslbd_fleet_config_drift"), 0.0);
    assert_eq!(f.metric(2, "gslbd_fleet_config_drift"), 1.0);

    // The same files again: the drift is gone (the generation still counts the reload).
    f.write(2, 1);
    let back = [row("a", false, 1), row("b", false, 1), row("c", false, 3)];
    for i in 0..3 {
        fleet_view(&f, i, "c back in line", |v| rows(v) == back);
    }
    assert_eq!(f.metric(2, "gslbd_fleet_config_drift"), 0.0);

    // A node standing alone has no fleet to show.
    let z = Zones::new();
    z.zone("alone.test.", json!({}));
    let alone = Server::start(z.zones_dir(), z.geo_dir(), &["--admin", "127.0.0.1:0"]);
    let (code, body) = alone.http("GET", "/v1/fleet", None);
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("--fleet"), "{body}");
}

/// Node `i`'s answer to `name` for a client in `client`'s /24 (ECS), in order.
fn ordered(f: &Fleet, i: usize, name: &str, client: &str) -> Vec<IpAddr> {
    let r = ask(&f.nodes[i], &format!("{name}.{}", f.origin), Some(client));
    assert_eq!(
        r.response_code,
        hickory_proto::op::ResponseCode::NoError,
        "{r}"
    );
    answer_addresses(&r)
}

#[test]
fn deterministic_policies_answer_alike_on_every_node() {
    let nats = NatsCluster::start(3);
    let f = Fleet::start(6, &nats, "quorum");
    // a's own probe fails the checked target; the quorum keeps it on every node, a included.
    f.fail_from(&[0]);
    f.own_probe(0, false);
    for i in 0..3 {
        f.expect(i, true, "kept by the quorum");
    }
    let clients: Vec<String> = (0..24).map(|k| format!("10.{}.{}.9", k * 7, k)).collect();
    let mut sticky_orders = BTreeSet::new();
    for c in &clients {
        for name in POLICIES {
            let answers: Vec<Vec<IpAddr>> = (0..3).map(|i| ordered(&f, i, name, c)).collect();
            assert!(!answers[0].is_empty(), "{name} for {c}");
            if name == "weighted" {
                // The leader is drawn per query; the rest is the listed order.
                let sets: Vec<BTreeSet<IpAddr>> = answers
                    .iter()
                    .map(|a| a.iter().copied().collect())
                    .collect();
                assert!(
                    sets.iter().all(|s| *s == sets[0]),
                    "{name} for {c}: {answers:?}"
                );
                assert!(sets[0].contains(&f.target), "{answers:?}");
            } else {
                assert!(
                    answers.iter().all(|a| *a == answers[0]),
                    "{name} for {c}: {answers:?}"
                );
            }
            if name == "first" {
                assert_eq!(answers[0], [f.target], "active/backup: the first listed");
            }
            if name == "sticky" {
                sticky_orders.insert(answers[0].clone());
            }
        }
    }
    assert!(
        sticky_orders.len() > 1,
        "sticky orders depend on the client: {sticky_orders:?}"
    );
}
