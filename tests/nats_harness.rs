//! Tests of the NATS test harness (tests/common/nats.rs) that the fleet tests (spec §10) stand
//! on: real `nats-server` clusters with JetStream on loopback ports, checked through the
//! servers' own monitoring endpoints (`/varz`, `/routez`, `/jsz`) and JetStream API, with
//! nodes stopped and started again.

mod common;

use std::time::Duration;

use serde_json::{json, Value};

use common::nats::{port_is_free, NatsCluster, CLUSTER_NAME};
use common::wait_for;

/// How long routes may take to come back after a node restarts (NATS retries a route every
/// second).
const ROUTES_DEADLINE: Duration = Duration::from_secs(20);

/// Creates a KV bucket (the stream `KV_<bucket>`, as NATS clients do) with `replicas`
/// replicas through node `i` and returns the JetStream API's reply.
fn create_kv_bucket(nats: &NatsCluster, i: usize, bucket: &str, replicas: usize) -> Value {
    let config = json!({
        "name": format!("KV_{bucket}"),
        "subjects": [format!("$KV.{bucket}.>")],
        "retention": "limits",
        "max_msgs_per_subject": 1,
        "discard": "new",
        "storage": "file",
        "num_replicas": replicas,
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "allow_direct": true,
    });
    let reply = nats
        .request(
            i,
            &format!("$JS.API.STREAM.CREATE.KV_{bucket}"),
            &config.to_string(),
        )
        .unwrap_or_else(|e| panic!("create KV bucket {bucket}: {e}\n{}", nats.logs()));
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("not JSON ({e}): {reply}"))
}

/// Waits until node `i` has `want` routes.
fn wait_routes(nats: &NatsCluster, i: usize, want: u64) {
    wait_for(
        &format!("{} has {want} routes", nats.node(i).name),
        ROUTES_DEADLINE,
        || match nats.num_routes(i)? {
            n if n == want => Ok(()),
            n => Err(format!("{n} routes")),
        },
    );
}

#[test]
fn three_nodes_route_to_each_other_with_one_jetstream_meta_leader() {
    let nats = NatsCluster::start(3);
    let urls = nats.urls();
    assert_eq!(urls.len(), 3);
    for (i, url) in urls.iter().enumerate() {
        assert_eq!(
            *url,
            format!("nats://127.0.0.1:{}", nats.node(i).client_port)
        );
    }
    assert_eq!(nats.fleet_arg(), urls.join(","));

    for i in 0..3 {
        wait_routes(&nats, i, 2);
        let varz = nats.monitor(i, "/varz").unwrap();
        assert_eq!(varz["server_name"], nats.node(i).name, "{varz}");
        assert_eq!(varz["routes"], 2, "{varz}");
        assert_eq!(varz["cluster"]["name"], CLUSTER_NAME, "{varz}");
        assert!(
            varz["jetstream"]["config"]["store_dir"]
                .as_str()
                .is_some_and(|d| d.starts_with(nats.node(i).store_dir().to_str().unwrap())),
            "JetStream must be enabled with the node's own store_dir: {varz}"
        );
    }

    let leaders: Vec<String> = (0..3)
        .map(|i| {
            let jsz = nats.monitor(i, "/jsz").unwrap();
            let meta = &jsz["meta_cluster"];
            assert_eq!(meta["name"], CLUSTER_NAME, "{jsz}");
            assert_eq!(meta["cluster_size"], 3, "{jsz}");
            meta["leader"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(
        leaders.iter().all(|l| *l == leaders[0]),
        "every node names the same meta leader: {leaders:?}"
    );
    // `/jsz?leader-only=true` answers JSON only on the meta leader.
    let answering: Vec<usize> = (0..3)
        .filter(|&i| nats.monitor(i, "/jsz?leader-only=true").is_ok())
        .collect();
    assert_eq!(answering.len(), 1, "leader-only answered by {answering:?}");
    assert_eq!(nats.node(answering[0]).name, leaders[0]);

    // Ready means ready: a replicated KV bucket can be created at once, through any node.
    let created = create_kv_bucket(&nats, 1, "harness", 3);
    assert!(created.get("error").is_none(), "{created}");
    assert_eq!(created["config"]["num_replicas"], 3, "{created}");
    assert_eq!(
        created["cluster"]["replicas"].as_array().map(Vec::len),
        Some(2),
        "{created}"
    );
}

#[test]
fn a_stopped_leader_leaves_a_leader_and_rejoins_when_started_again() {
    let mut nats = NatsCluster::start(3);
    let old_leader = nats.wait_leader();
    let stopped = (0..3).find(|&i| nats.node(i).name == old_leader).unwrap();
    nats.stop_node(stopped);
    assert!(!nats.is_running(stopped));
    assert!(nats.monitor(stopped, "/varz").is_err());

    // The two others elect a leader among themselves and keep serving JetStream.
    let new_leader = nats.wait_leader();
    assert_ne!(new_leader, old_leader);
    let others: Vec<usize> = (0..3).filter(|&i| i != stopped).collect();
    for &i in &others {
        wait_routes(&nats, i, 1);
        assert_eq!(
            nats.meta_leader(i).unwrap().as_deref(),
            Some(new_leader.as_str())
        );
    }
    let created = create_kv_bucket(&nats, others[0], "while_down", 2);
    assert!(created.get("error").is_none(), "{created}");
    nats.wait_stream_current("KV_while_down");

    // Same ports and store directory: it rejoins the routes and the meta group.
    let ports = nats.node(stopped).ports();
    nats.start_node(stopped);
    assert!(nats.is_running(stopped));
    assert_eq!(nats.node(stopped).ports(), ports);
    for i in 0..3 {
        wait_routes(&nats, i, 2);
    }
    let leader = nats.wait_leader();
    assert_eq!(
        nats.meta_leader(stopped).unwrap().as_deref(),
        Some(leader.as_str())
    );
    // The bucket created while it was down is known to it through the meta group.
    let info = nats.stream_info(stopped, "KV_while_down").unwrap();
    assert_eq!(info["config"]["name"], "KV_while_down", "{info}");
}

#[test]
fn stop_all_frees_every_port_and_start_all_brings_the_cluster_back() {
    let mut nats = NatsCluster::start(3);
    let created = create_kv_bucket(&nats, 0, "kept", 3);
    assert!(created.get("error").is_none(), "{created}");
    nats.wait_stream_current("KV_kept");
    let ports: Vec<u16> = (0..3).flat_map(|i| nats.node(i).ports()).collect();
    nats.stop_all();
    for i in 0..3 {
        assert!(!nats.is_running(i));
    }
    for port in &ports {
        assert!(
            port_is_free(*port),
            "port {port} still in use after stop_all"
        );
    }

    // Back on the same ports with the same store directories: the bucket is still there.
    nats.start_all();
    for i in 0..3 {
        wait_routes(&nats, i, 2);
    }
    let info = nats.wait_stream_current("KV_kept");
    assert_eq!(info["config"]["num_replicas"], 3, "{info}");
}

#[test]
fn a_single_node_runs_jetstream_without_routes() {
    let mut nats = NatsCluster::start(1);
    assert_eq!(nats.wait_leader(), "nats-0");
    let varz = nats.monitor(0, "/varz").unwrap();
    assert_eq!(varz["routes"], 0, "{varz}");
    assert!(varz["jetstream"]["config"].is_object(), "{varz}");
    let created = create_kv_bucket(&nats, 0, "alone", 1);
    assert!(created.get("error").is_none(), "{created}");
}
