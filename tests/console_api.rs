//! The JSON the console reads, checked against independent sources: `/v1/zones` against the
//! shipped zone file as JSON, `/v1/zones/{origin}/records` against what the server answers
//! over DNS for each record, the reload history of `/v1/status`, and whether it says a token
//! is needed.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use serde_json::{json, Value};

use common::*;

fn get_json(s: &Server, path: &str) -> Value {
    let (code, body) = s.http("GET", path, None);
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn example() -> Server {
    Server::start(
        &example_zones(),
        &example_geo(),
        &["--admin", "127.0.0.1:0", "--udp-threads", "1", "--no-watch"],
    )
}

/// pool → (targets, alias) of one GSLB record of the zone file.
type Pools = BTreeMap<String, (BTreeSet<String>, Option<String>)>;

fn pools_in_file(record: &Value) -> Pools {
    let none = Vec::new();
    record["pools"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, p)| {
            let targets = p["targets"]
                .as_array()
                .unwrap_or(&none)
                .iter()
                .map(|t| t.as_str().or(t["address"].as_str()).unwrap().to_string())
                .collect();
            (
                name.clone(),
                (targets, p["cname"].as_str().map(String::from)),
            )
        })
        .collect()
}

#[test]
fn zones_shows_every_gslb_record_of_the_zone_file_with_its_pools_and_names() {
    let s = example();
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(example_zones().join("example.com.json")).unwrap(),
    )
    .unwrap();
    let v = get_json(&s, "/v1/zones");
    assert_eq!(v["generation"], 1);
    let zones = v["zones"].as_array().unwrap();
    assert_eq!(zones.len(), 1, "{v:#}");
    let z = &zones[0];
    assert_eq!(z["origin"], "example.com.");
    assert_eq!(z["serial"], file["soa"]["serial"]);

    // Which names of the file answer with which GSLB record.
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, node) in file["records"].as_object().unwrap() {
        if let Some(r) = node["gslb"].as_str() {
            let owner = if name == "@" {
                "example.com.".to_string()
            } else {
                format!("{name}.example.com.")
            };
            users.entry(r.to_string()).or_default().insert(owner);
        }
    }

    let shown: BTreeMap<String, &Value> = z["gslb"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["record"].as_str().unwrap().to_string(), r))
        .collect();
    let in_file = file["gslb"].as_object().unwrap();
    assert_eq!(
        shown.keys().collect::<BTreeSet<_>>(),
        in_file.keys().collect::<BTreeSet<_>>()
    );
    for (name, rec) in in_file {
        let r = shown[name];
        assert_eq!(r["ttl"], rec["ttl"], "{name}");
        assert_eq!(
            r["nearest"],
            rec["nearest"].as_bool().unwrap_or(false),
            "{name}"
        );
        let names: BTreeSet<String> = r["names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            users.get(name).cloned().unwrap_or_default(),
            "{name}"
        );
        let pools: Pools = r["pools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let targets = p["targets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["address"].as_str().unwrap().to_string())
                    .collect();
                (
                    p["name"].as_str().unwrap().to_string(),
                    (targets, p["cname"].as_str().map(String::from)),
                )
            })
            .collect();
        let want: Pools = pools_in_file(rec)
            .into_iter()
            .map(|(n, (t, c))| {
                // A relative alias is shown as the full name it stands for.
                let c = c.map(|c| {
                    if c.ends_with('.') {
                        c
                    } else {
                        format!("{c}.example.com.")
                    }
                });
                (n, (t, c))
            })
            .collect();
        assert_eq!(pools, want, "{name}");
        for p in r["pools"].as_array().unwrap() {
            assert_eq!(p["drained"], false);
        }
    }
}

/// The `type data` strings of every record of `m` in any section owned by `name`.
fn section_records(m: &Message, name: &str) -> BTreeSet<(String, u32, String)> {
    m.answers
        .iter()
        .chain(&m.authorities)
        .chain(&m.additionals)
        .filter(|r| r.name.to_string().eq_ignore_ascii_case(name))
        .filter(|r| !matches!(r.data, RData::OPT(_)))
        .map(|r| (r.record_type().to_string(), r.ttl, r.data.to_string()))
        .collect()
}

#[test]
fn records_lists_what_the_server_answers_for_each_name() {
    let s = example();
    let v = get_json(&s, "/v1/zones/example.com/records");
    assert_eq!(v["origin"], "example.com.");
    assert_eq!(v["truncated"], false);
    let records = v["records"].as_array().unwrap();
    assert_eq!(records[0]["type"], "SOA", "the SOA comes first");
    let mut gslb = 0;
    for r in records {
        let (name, rtype) = (r["name"].as_str().unwrap(), r["type"].as_str().unwrap());
        if rtype == "GSLB" {
            gslb += 1;
            continue;
        }
        let qtype: RecordType = rtype.parse().unwrap();
        let reply = udp(s.addr(), &with_edns(query(name, qtype), 4096));
        let got = section_records(&reply, name);
        let want = (
            rtype.to_string(),
            r["ttl"].as_u64().unwrap() as u32,
            r["data"].as_str().unwrap().to_string(),
        );
        assert!(
            got.contains(&want),
            "{r} is not in the answer to {name} {rtype}: {reply}"
        );
    }
    assert!(gslb >= 3, "the GSLB names are listed: {v:#}");

    // Large zones come in pages: following next_offset walks the whole list, in order,
    // every page from the same generation.
    let page = get_json(&s, "/v1/zones/example.com./records?limit=3");
    assert_eq!(page["records"].as_array().unwrap().len(), 3);
    assert_eq!(page["truncated"], true);
    assert_eq!(page["records"].as_array().unwrap()[..], records[..3]);
    let mut walked: Vec<Value> = Vec::new();
    let mut offset = 0;
    let mut pages = 0;
    loop {
        let page = get_json(
            &s,
            &format!("/v1/zones/example.com/records?limit=4&offset={offset}"),
        );
        assert_eq!(page["generation"], v["generation"], "{page:#}");
        assert_eq!(page["offset"], offset, "{page:#}");
        walked.extend(page["records"].as_array().unwrap().iter().cloned());
        pages += 1;
        assert!(pages <= records.len(), "next_offset never ends");
        match page["next_offset"].as_u64() {
            Some(next) => {
                assert_eq!(page["truncated"], true);
                offset = next as usize;
            }
            None => {
                assert_eq!(page["truncated"], false);
                break;
            }
        }
    }
    assert_eq!(walked[..], records[..]);
    assert_eq!(pages, records.len().div_ceil(4));
    // Past the end: an empty last page.
    let past = get_json(
        &s,
        &format!("/v1/zones/example.com/records?offset={}", records.len()),
    );
    assert_eq!(past["records"], json!([]));
    assert_eq!(past["truncated"], false);
    let (code, body) = s.http("GET", "/v1/zones/example.org/records", None);
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("example.org"), "{body}");
}

#[test]
fn status_keeps_the_last_twenty_reloads_newest_first() {
    let z = Zones::new();
    let path = z.zone("hist.test.", json!({ "www": { "A": ["192.0.2.1"] } }));
    let s = Server::start(
        z.zones_dir(),
        z.geo_dir(),
        &["--admin", "127.0.0.1:0", "--no-watch"],
    );
    let st = get_json(&s, "/v1/status");
    assert_eq!(st["token_required"], false);
    let first = &st["reloads"];
    assert_eq!(first.as_array().unwrap().len(), 1, "{st:#}");
    assert_eq!(first[0]["trigger"], "start");
    assert_eq!(first[0]["generation"], 1);
    assert_eq!(first[0]["ok"], true);

    for _ in 0..20 {
        let (code, body) = s.http("POST", "/v1/reload", None);
        assert_eq!(code, 200, "{body}");
    }
    std::fs::write(&path, "{ not json").unwrap();
    let (code, _) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 422);

    let st = get_json(&s, "/v1/status");
    let reloads = st["reloads"].as_array().unwrap();
    assert_eq!(reloads.len(), 20, "{st:#}");
    assert_eq!(reloads[0]["ok"], false);
    assert!(reloads[0].get("generation").is_none(), "{}", reloads[0]);
    assert!(
        reloads[0]["problems"][0]
            .as_str()
            .unwrap()
            .contains("hist.test.json"),
        "{}",
        reloads[0]
    );
    assert_eq!(reloads[0]["problems"], st["last_reload"]["problems"]);
    // Then the successful ones, newest first: generations 21 down to 3.
    let generations: Vec<u64> = reloads[1..]
        .iter()
        .map(|r| r["generation"].as_u64().unwrap())
        .collect();
    assert_eq!(generations, (3..=21).rev().collect::<Vec<_>>());
    assert!(reloads[1..]
        .iter()
        .all(|r| r["ok"] == true && r["trigger"] == "admin API"));
}

#[test]
fn status_says_whether_drains_need_a_token() {
    let z = Zones::new();
    z.zone("tok.test.", json!({ "www": { "A": ["192.0.2.1"] } }));
    let s = Server::start_with_env(
        z.zones_dir(),
        z.geo_dir(),
        &["--admin", "127.0.0.1:0", "--no-watch"],
        &[("GSLBD_ADMIN_TOKEN", "secret")],
    );
    assert_eq!(get_json(&s, "/v1/status")["token_required"], true);
    // Reading needs no token: the console's read-only parts work without one.
    for path in ["/", "/v1/zones", "/v1/zones/tok.test/records", "/v1/status"] {
        let (code, body) = s.http("GET", path, None);
        assert_eq!(code, 200, "GET {path}: {body}");
    }
}
