//! `ttl_degraded` on the wire (spec §11): a GSLB answer carries the record's `ttl` while its
//! first pool answers with every target up, and `ttl_degraded` once a target of that pool
//! is down; `explain` says why.

mod common;

use hickory_proto::rr::RecordType;
use serde_json::json;

use common::health::{self, get_json, Timing};
use common::vantage::{Answer, VantageBackend};
use common::*;

const T: Timing = Timing {
    interval: 0.3,
    timeout: 0.2,
    rise: 1,
    fall: 1,
};

/// The TTLs of the A answer for `name`.
fn ttls(s: &Server, name: &str) -> Vec<u32> {
    let r = udp(s.addr(), &query(name, RecordType::A));
    r.answers.iter().map(|a| a.ttl).collect()
}

#[test]
fn a_target_down_shortens_the_ttl_until_it_is_back() {
    let backend = VantageBackend::http(health::lo(65, 1, 10), 0);
    let fixed = health::lo(65, 1, 11);
    let z = Zones::new();
    health::write_zone(
        &z,
        "d.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({ "hc": T.check("http", backend.port(), json!({})) }),
        json!({ "web": { "ttl": 60, "ttl_degraded": 5, "pools": { "default": { "targets": [
            { "address": backend.ip().to_string(), "check": "hc" }, fixed.to_string() ] } } } }),
    );
    let src = health::lo(65, 1, 2);
    let args = ["--admin", "127.0.0.1:0", "--probe-source", &src.to_string()];
    let s = Server::start(z.zones_dir(), z.geo_dir(), &args);
    let both = [backend.ip(), fixed];
    health::wait_answer(&s, "www.d.test.", None, &both, T.patience());
    assert_eq!(ttls(&s, "www.d.test."), [60, 60]);

    // Its probes fail: the target leaves, the rest of the pool answers, degraded.
    backend.answer(src, Answer::Status(503));
    health::wait_answer(&s, "www.d.test.", None, &[fixed], T.patience());
    assert_eq!(ttls(&s, "www.d.test."), [5]);
    let e = get_json(&s, "/v1/explain?name=www.d.test.&client=192.0.2.1");
    assert_eq!(e["gslb"]["degraded"], "target_down", "{e}");
    assert_eq!(e["ttl"], 5, "{e}");

    // Back up: the full TTL again.
    backend.answer(src, Answer::Healthy);
    health::wait_answer(&s, "www.d.test.", None, &both, T.patience());
    assert_eq!(ttls(&s, "www.d.test."), [60, 60]);
    let e = get_json(&s, "/v1/explain?name=www.d.test.&client=192.0.2.1");
    assert_eq!(e["gslb"]["degraded"], json!(null), "{e}");
}

#[test]
fn a_degraded_ttl_longer_than_the_ttl_is_a_problem() {
    let z = Zones::new();
    health::write_zone(
        &z,
        "d.test.",
        1,
        json!({ "www": { "gslb": "web" } }),
        json!({}),
        json!({ "web": { "ttl": 30, "ttl_degraded": 300,
                         "pools": { "default": { "targets": ["192.0.2.1"] } } } }),
    );
    let err = check_fails(&z);
    let line = line_with(&err, "d.test.json", &["gslb.web.ttl_degraded", "300", "30"]);
    assert!(line.contains("longer"), "{err}");
}
