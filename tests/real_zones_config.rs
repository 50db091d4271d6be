//! Configuration mistakes of real zones (spec §8): wildcards, delegations, glue, DS, per-type
//! TTLs and TXT strings, each reported by `gslbd check` with its file and JSON path, and a
//! reload with such a mistake keeps the old configuration serving.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use serde_json::json;

use common::*;

const DS: &str = "1F987CC6583E92DF0890718C42D1CB0EBF7E6C2D7F5D6A2F5E4B1A5D7C3E2B1A";

/// `records` with the apex NS `ns1.example.com.` and its address added.
fn with_apex(mut records: serde_json::Value) -> serde_json::Value {
    let map = records.as_object_mut().expect("records are an object");
    map.insert("@".into(), json!({ "NS": ["ns1.example.com."] }));
    map.insert("ns1".into(), json!({ "A": ["192.0.2.53"] }));
    records
}

fn ds(key_tag: u16) -> serde_json::Value {
    json!({ "key_tag": key_tag, "algorithm": 13, "digest_type": 2, "digest": DS })
}

#[test]
fn a_correct_real_zone_passes_check() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        with_apex(json!({
            "*": { "A": ["192.0.2.1"] },
            "*.cdn": { "CNAME": "www.example.com." },
            "www": { "A": ["192.0.2.2"], "TXT": [["v=spf1", " -all"], "plain"],
                     "ttl": 60, "ttls": { "TXT": 300 } },
            "sub": { "NS": ["ns1.sub.example.com.", "ns.elsewhere.net."], "DS": [ds(1)] },
            "ns1.sub": { "A": ["192.0.2.54"], "AAAA": ["2001:db8::54"] },
            "glue-at-cut": { "NS": ["glue-at-cut.example.com."], "A": ["192.0.2.55"] },
        })),
    );
    let o = z.check();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn every_real_zone_mistake_is_reported_with_its_path() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        with_apex(json!({
            // Glue missing for a name server inside the cut.
            "noglue": { "NS": ["ns.elsewhere.net.", "ns1.noglue.example.com."] },
            // Data below a cut.
            "sub": { "NS": ["ns.elsewhere.net."] },
            "www.sub": { "A": ["192.0.2.9"], "MX": [{ "preference": 1, "exchange": "x." }] },
            "deeper.sub": { "NS": ["ns.elsewhere.net."] },
            "*.sub": { "A": ["192.0.2.9"] },
            // A delegation holding what belongs in the child.
            "fat": { "NS": ["ns.elsewhere.net."], "TXT": ["x"] },
            "gcut": { "NS": ["ns.elsewhere.net."], "gslb": "nope" },
            // Wildcards: not first, delegated, looping through themselves.
            "a.*.b": { "A": ["192.0.2.1"] },
            "*.w": { "NS": ["ns.elsewhere.net."] },
            "*.loop": { "CNAME": "x.loop.example.com." },
            "*.l2": { "CNAME": "y.l3.example.com." },
            "*.l3": { "CNAME": "z.l2.example.com." },
            // DS anywhere but at a cut; a bad digest at a cut.
            "plain": { "A": ["192.0.2.1"], "DS": [ds(2)] },
            "baddigest": { "NS": ["ns.elsewhere.net."],
                           "DS": [{ "key_tag": 1, "algorithm": 13, "digest_type": 2,
                                    "digest": "abcd" }] },
            // Per-type TTLs for absent or unknown types; a TXT string over 255 bytes.
            "ttls": { "A": ["192.0.2.1"], "ttls": { "MX": 5, "SPF": 5 } },
            "txt": { "TXT": [["x".repeat(256)]] },
        })),
    );
    let err = check_fails(&z);
    let f = "example.com.json";
    line_with(
        &err,
        f,
        &["records.noglue.NS[1]", "ns1.noglue.example.com.", "glue"],
    );
    line_with(
        &err,
        f,
        &[
            "records.www.sub:",
            "below the delegation `sub.example.com.`",
            "MX",
        ],
    );
    line_with(
        &err,
        f,
        &["records.deeper.sub:", "below the delegation", "NS"],
    );
    line_with(
        &err,
        f,
        &["records.*.sub:", "below the delegation", "wildcard"],
    );
    line_with(&err, f, &["records.fat:", "delegation", "TXT"]);
    line_with(&err, f, &["records.gcut:", "delegation", "gslb"]);
    line_with(&err, f, &["records.a.*.b:", "first label"]);
    line_with(
        &err,
        f,
        &["records.*.w.NS:", "wildcard cannot be a delegation"],
    );
    line_with(&err, f, &["records.*.loop:", "CNAME loop"]);
    line_with(
        &err,
        f,
        &["CNAME loop", "*.l2.example.com.", "*.l3.example.com."],
    );
    line_with(&err, f, &["records.plain.DS:", "delegation point"]);
    line_with(&err, f, &["records.baddigest.DS[0].digest:", "32 bytes"]);
    line_with(&err, f, &["records.ttls.ttls.MX:", "no MX records"]);
    line_with(&err, f, &["records.ttls.ttls.SPF:", "not a record type"]);
    line_with(&err, f, &["records.txt.TXT[0]:", "255"]);
    // `www.sub` with glue-only A would be fine: it is the MX that is reported.
    assert!(!err.contains("records.ns1:"), "{err}");
}

#[test]
fn a_served_child_whose_name_servers_point_into_itself_needs_their_addresses() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        with_apex(json!({
            "sub": { "NS": ["ns1.sub.example.com."] },
            "ns1.sub": { "A": ["192.0.2.54"] },
        })),
    );
    z.zone(
        "sub.example.com.",
        json!({ "@": { "NS": ["ns1.sub.example.com.", "ns2.sub.example.com."] },
                "ns2": { "A": ["192.0.2.55"] } }),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "sub.example.com.json",
        &["records.@.NS[0]", "ns1.sub.example.com.", "cannot reach"],
    );
    assert!(!err.contains("NS[1]"), "ns2 has its address: {err}");
}

/// The A records of `name` as served.
fn addresses(s: &Server, name: &str) -> Vec<Ipv4Addr> {
    udp(s.addr(), &query(name, RecordType::A))
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reload_with_a_delegation_mistake_keeps_the_old_zone_serving() {
    let z = Zones::new();
    let good = with_apex(json!({
        "*.w": { "A": ["192.0.2.7"] },
    }));
    z.zone("example.com.", good);
    let zones_dir = z.zones_dir().to_path_buf();
    let s = Server::start(
        &zones_dir,
        z.geo_dir(),
        &["--admin", "127.0.0.1:0", "--no-watch"],
    );
    assert_eq!(
        addresses(&s, "a.w.example.com."),
        [Ipv4Addr::new(192, 0, 2, 7)]
    );
    // Now a delegation without its glue, and data under it.
    z.zone(
        "example.com.",
        with_apex(json!({
            "*.w": { "A": ["192.0.2.8"] },
            "sub": { "NS": ["ns.sub.example.com."] },
            "www.sub": { "TXT": ["hidden"] },
        })),
    );
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 422, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ok"], json!(false), "{v}");
    let problems = v["problems"].to_string();
    assert!(problems.contains("records.sub.NS[0]"), "{problems}");
    assert!(problems.contains("records.www.sub"), "{problems}");
    // The old zone still answers, wildcard and all.
    let still = wait_for("the old answer", Duration::from_secs(2), || {
        let a = addresses(&s, "b.w.example.com.");
        (a == [Ipv4Addr::new(192, 0, 2, 7)])
            .then_some(a)
            .ok_or_else(|| "not the old answer".to_string())
    });
    assert_eq!(still.0, [Ipv4Addr::new(192, 0, 2, 7)]);
}
