//! End-to-end tests of `gslbd explain` (spec §1): the text and `--json` decision trace on the
//! shipped example, and agreement between explain and the running server for the same client.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Output};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use serde_json::Value;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs `gslbd explain ARGS... --zones <example> --geo <example>`.
fn explain_raw(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("explain")
        .args(args)
        .arg("--zones")
        .arg(example_zones())
        .arg("--geo")
        .arg(example_geo())
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd explain")
}

fn stdout_of(out: &Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "gslbd explain {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// The text trace.
fn explain_text(args: &[&str]) -> String {
    stdout_of(&explain_raw(args), args)
}

/// The `--json` trace, parsed.
fn explain_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = stdout_of(&explain_raw(&all), &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("--json is not JSON ({e}):\n{text}"))
}

/// The addresses in explain's `answers` (presentation-form records such as
/// `www.example.com. 30 IN A 203.0.113.10`): the last field of each A/AAAA record.
fn json_addresses(v: &Value) -> BTreeSet<IpAddr> {
    v["answers"]
        .as_array()
        .unwrap_or_else(|| panic!("answers must be an array: {v}"))
        .iter()
        .filter_map(|a| {
            let s = a.as_str().expect("answer as text");
            let f: Vec<&str> = s.split_whitespace().collect();
            matches!(f.get(f.len().wrapping_sub(2)), Some(&"A") | Some(&"AAAA"))
                .then(|| f.last().unwrap().parse().expect("address"))
        })
        .collect()
}

fn reply_addresses(m: &Message) -> BTreeSet<IpAddr> {
    common::answer_addresses(m).into_iter().collect()
}

fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The line of `text` that mentions every one of `words` (case-insensitive).
fn line_with<'a>(text: &'a str, words: &[&str]) -> &'a str {
    text.lines()
        .find(|l| words.iter().all(|w| contains_ci(l, w)))
        .unwrap_or_else(|| panic!("no line mentions all of {words:?} in:\n{text}"))
}

// ---------------------------------------------------------------------------------------------
// Text output

#[test]
fn text_trace_names_client_regions_pools_answer_ttl_and_scope() {
    let args = ["www.example.com", "--client", "175.16.199.1"];
    let t = explain_text(&args);
    assert!(contains_ci(&t, "175.16.199.1"), "client address:\n{t}");
    // Matched regions with rule and specificity, most specific first.
    let telecom = line_with(&t, &["cn-telecom", "lists/chinanet.txt"]);
    assert!(contains_ci(telecom, "network"), "specificity: {telecom}");
    assert!(telecom.contains("25"), "matching prefix /25: {telecom}");
    let jilin = line_with(&t, &["cn-jilin", "CN-22"]);
    assert!(contains_ci(jilin, "subdivision"), "{jilin}");
    let china = line_with(&t, &["china", "countries"]);
    assert!(contains_ci(china, "country"), "{china}");
    let pos = |needle: &str| t.find(needle).unwrap_or_else(|| panic!("{needle}:\n{t}"));
    assert!(
        pos(telecom) < pos(jilin) && pos(jilin) < pos(china),
        "most specific first:\n{t}"
    );
    // Each pool tried with its outcome and target health.
    assert!(
        contains_ci(line_with(&t, &["cn-telecom", "chosen"]), "cn-telecom"),
        "{t}"
    );
    for pool in ["cn-unicom", "default"] {
        let l = t
            .lines()
            .find(|l| l.trim_start().starts_with(pool) && !contains_ci(l, "via rule"))
            .unwrap_or_else(|| panic!("pool {pool} not listed:\n{t}"));
        assert!(!contains_ci(l, "chosen"), "{pool} is not chosen: {l}");
    }
    assert!(contains_ci(line_with(&t, &["203.0.113.10"]), "up"), "{t}");
    // The answer, the TTL and the ECS scope.
    assert!(
        t.contains("203.0.113.10") && t.contains("203.0.113.11"),
        "{t}"
    );
    assert!(
        !t.contains("192.0.2.10 30") && !t.contains("IN A 192.0.2"),
        "{t}"
    );
    assert!(contains_ci(&t, "TTL 30"), "TTL:\n{t}");
    assert!(
        contains_ci(&t, "scope /25") || contains_ci(&t, "scope 25"),
        "{t}"
    );
}

#[test]
fn text_trace_shows_skipped_pools_for_aaaa_fallthrough() {
    let t = explain_text(&["www.example.com", "AAAA", "--client", "175.16.199.1"]);
    for pool in ["cn-telecom", "cn-unicom", "china", "cn-jilin"] {
        let l = t
            .lines()
            .find(|l| l.trim_start().starts_with(pool) && contains_ci(l, "skipped"))
            .unwrap_or_else(|| panic!("{pool} must be shown skipped:\n{t}"));
        assert!(contains_ci(l, "ipv6"), "why skipped: {l}");
    }
    assert!(contains_ci(
        line_with(&t, &["default", "chosen"]),
        "default"
    ));
    assert!(t.contains("2001:db8::10"), "{t}");
}

// ---------------------------------------------------------------------------------------------
// JSON output

#[test]
fn json_trace_has_the_documented_fields() {
    let v = explain_json(&["www.example.com", "--client", "175.16.199.1"]);
    assert_eq!(v["name"], "www.example.com.", "{v:#}");
    assert_eq!(v["type"], "A", "{v:#}");
    assert!(
        v["client"].as_str().unwrap().starts_with("175.16.199.1"),
        "{v:#}"
    );
    assert_eq!(v["zone"], "example.com.", "{v:#}");
    assert_eq!(v["rcode"], "NOERROR", "{v:#}");
    assert_eq!(v["ttl"], 30, "{v:#}");
    assert_eq!(v["scope"], 25, "{v:#}");
    assert_eq!(
        json_addresses(&v),
        ips(&["203.0.113.10", "203.0.113.11"]),
        "{v:#}"
    );

    let g = &v["gslb"];
    assert_eq!(g["record"], "web", "{v:#}");
    assert_eq!(g["decided_by"], "network", "{v:#}");
    let matched = g["matched"].as_array().expect("matched array");
    let regions: Vec<&str> = matched
        .iter()
        .map(|m| m["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["cn-telecom", "cn-jilin", "china"], "{v:#}");
    let m0 = &matched[0];
    assert_eq!(m0["rule"], 0, "{v:#}");
    assert!(
        m0["conditions"]
            .as_str()
            .unwrap()
            .contains("lists/chinanet.txt"),
        "{v:#}"
    );
    assert!(contains_ci(m0["specificity"].as_str().unwrap(), "network"));
    assert_eq!(m0["prefix_len"], 25, "{v:#}");
    assert!(contains_ci(
        matched[1]["specificity"].as_str().unwrap(),
        "subdivision"
    ));
    assert!(matched[1]["conditions"].as_str().unwrap().contains("CN-22"));
    assert!(contains_ci(
        matched[2]["specificity"].as_str().unwrap(),
        "country"
    ));

    let pools = g["pools"].as_array().expect("pools array");
    let names: Vec<&str> = pools.iter().map(|p| p["pool"].as_str().unwrap()).collect();
    assert_eq!(names[0], "cn-telecom", "{v:#}");
    assert_eq!(names.last(), Some(&"default"), "default comes last: {v:#}");
    // Fallbacks follow their region's pool: cn-telecom → cn-unicom → china.
    assert_eq!(&names[..3], ["cn-telecom", "cn-unicom", "china"], "{v:#}");
    assert!(names.contains(&"cn-jilin"), "{v:#}");
    for p in pools {
        assert!(p["reason"].is_string(), "{p}");
        assert!(p["outcome"].is_string(), "{p}");
        for t in p["targets"].as_array().expect("targets") {
            assert!(t["address"].as_str().unwrap().parse::<IpAddr>().is_ok());
            assert_eq!(t["health"], "up", "no checks: every target up: {p}");
        }
    }
    assert!(contains_ci(pools[0]["outcome"].as_str().unwrap(), "chosen"));
    assert!(contains_ci(
        pools[0]["reason"].as_str().unwrap(),
        "cn-telecom"
    ));
    assert!(contains_ci(
        pools[1]["reason"].as_str().unwrap(),
        "fallback"
    ));
    let chosen = pools
        .iter()
        .filter(|p| p["outcome"].as_str().unwrap().starts_with("chosen"))
        .count();
    assert_eq!(chosen, 1, "exactly one pool is chosen: {v:#}");
}

#[test]
fn json_trace_for_aaaa_fallthrough_and_other_deciders() {
    let v = explain_json(&["www.example.com", "AAAA", "--client", "175.16.199.1"]);
    assert_eq!(v["type"], "AAAA");
    assert_eq!(json_addresses(&v), ips(&["2001:db8::10"]), "{v:#}");
    assert_eq!(v["gslb"]["decided_by"], "default", "{v:#}");
    for p in v["gslb"]["pools"].as_array().unwrap() {
        let outcome = p["outcome"].as_str().unwrap();
        if p["pool"] == "default" {
            assert!(outcome.starts_with("chosen"), "{p}");
        } else {
            assert!(contains_ci(outcome, "skipped"), "{p}");
        }
    }

    for (client, decided_by, region) in [
        ("175.16.199.200", "subdivision", "cn-jilin"),
        ("27.192.0.1", "isp", "cn-unicom"),
        ("81.2.69.161", "continent", "europe"),
        ("214.78.1.1", "subdivision", "us-west"),
        ("8.8.8.8", "default", ""),
    ] {
        let v = explain_json(&["www.example.com", "--client", client]);
        let g = &v["gslb"];
        assert_eq!(g["decided_by"], decided_by, "{client}: {v:#}");
        let matched: Vec<&str> = g["matched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["region"].as_str().unwrap())
            .collect();
        if region.is_empty() {
            assert!(matched.is_empty(), "{client}: {v:#}");
        } else {
            assert_eq!(matched[0], region, "{client}: {v:#}");
        }
    }
}

#[test]
fn explain_static_name_has_no_gslb_section_and_scope_zero() {
    let v = explain_json(&["static.example.com", "--client", "81.2.69.161"]);
    assert_eq!(v["rcode"], "NOERROR", "{v:#}");
    assert_eq!(v["scope"], 0, "{v:#}");
    assert_eq!(v["ttl"], 300, "{v:#}");
    assert!(
        v.get("gslb").is_none_or(Value::is_null),
        "no gslb section for a static name: {v:#}"
    );
    assert_eq!(
        json_addresses(&v),
        ips(&["192.0.2.10", "192.0.2.11"]),
        "{v:#}"
    );

    let t = explain_text(&["static.example.com", "--client", "81.2.69.161"]);
    assert!(t.contains("192.0.2.10") && t.contains("192.0.2.11"), "{t}");
    assert!(!contains_ci(&t, "pools tried"), "{t}");

    let v = explain_json(&["nope.example.com", "--client", "81.2.69.161"]);
    assert_eq!(v["rcode"], "NXDOMAIN", "{v:#}");
    assert_eq!(v["scope"], 0, "{v:#}");
}

#[test]
fn explain_shows_referrals_and_wildcard_gslb_names() {
    let v = explain_json(&["www.lab.example.com", "--client", "81.2.69.161"]);
    assert_eq!(v["rcode"], "NOERROR", "{v:#}");
    assert_eq!(v["authoritative"], false, "a referral: {v:#}");
    let authority = v["authority"].to_string();
    assert!(
        authority.contains("lab.example.com. 3600 IN NS ns1.lab.example.com."),
        "{v:#}"
    );
    assert!(
        v["additional"].to_string().contains("192.0.2.54"),
        "glue: {v:#}"
    );
    let t = explain_text(&["www.lab.example.com", "--client", "81.2.69.161"]);
    line_with(&t, &["referral"]);
    line_with(&t, &["ns1.lab.example.com.", "192.0.2.54"]);

    // A name made up by `*.cdn` goes through the same GSLB decision as `www`.
    let wild = explain_json(&["edge.cdn.example.com", "--client", "175.16.199.0/24"]);
    let real = explain_json(&["www.example.com", "--client", "175.16.199.0/24"]);
    assert_eq!(wild["authoritative"], true, "{wild:#}");
    assert_eq!(json_addresses(&wild), json_addresses(&real), "{wild:#}");
    assert_eq!(wild["scope"], real["scope"], "{wild:#}");
    assert_eq!(
        wild["gslb"]["decided_by"], real["gslb"]["decided_by"],
        "{wild:#}"
    );
}

#[test]
fn explain_runs_from_repository_root_with_default_directories() {
    let out = Command::new(bin())
        .args([
            "explain",
            "www.example.com",
            "--client",
            "81.2.69.161",
            "--json",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd explain");
    let text = stdout_of(&out, &["(defaults)"]);
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        json_addresses(&v),
        ips(&["198.51.100.10", "198.51.100.11"]),
        "{v:#}"
    );
}

#[test]
fn invalid_arguments_exit_nonzero_with_a_message() {
    for args in [
        vec!["www.example.com", "--client", "bogus"],
        vec!["www.example.com", "--client", "300.1.2.3"],
        vec!["www.example.com", "--client", "1.2.3.4/33"],
        vec!["www.example.com", "--client", "2001:db8::/129"],
        vec!["www.example.com", "--client", ""],
        vec!["www.example.com", "A"],
        vec!["www.example.com", "NOTATYPE", "--client", "1.2.3.4"],
    ] {
        let out = explain_raw(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "explain {args:?} must fail; stdout:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !stderr.trim().is_empty(),
            "explain {args:?} must say why on stderr"
        );
        if args.contains(&"--client") && args[1] == "--client" {
            assert!(contains_ci(&stderr, "client"), "{args:?}: {stderr}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Explain agrees with the server

#[test]
fn explain_agrees_with_the_running_server() {
    let s = Server::example();
    let clients = [
        "81.2.69.161",
        "81.2.69.160/27",
        "81.2.69.0/24",
        "175.16.199.1",
        "175.16.199.0/24",
        "175.16.199.128/25",
        "175.16.199.200",
        "27.192.0.1",
        "49.64.0.1",
        "214.78.1.1",
        "8.8.8.8",
        "10.1.2.3",
        "127.0.0.1",
        "2001:250::1",
        "2001:250::/32",
        "fd00::1",
        "2a02:d500::1",
    ];
    for name in [
        "www.example.com.",
        "docs.example.com.",
        "static.example.com.",
    ] {
        for rtype in [RecordType::A, RecordType::AAAA] {
            for client in clients {
                let (addr, prefix) = match client.split_once('/') {
                    Some((a, p)) => (a, p.parse::<u8>().unwrap()),
                    None => (client, if client.contains(':') { 128 } else { 32 }),
                };
                let rt = rtype.to_string();
                let v = explain_json(&[name, &rt, "--client", client]);
                let r = udp(s.addr(), &with_ecs(query(name, rtype), addr, prefix));
                let what = format!("{name} {rt} for {client}");
                assert_eq!(r.response_code, ResponseCode::NoError, "{what}: {r}");
                assert_eq!(v["rcode"], "NOERROR", "{what}: {v:#}");
                assert_eq!(
                    json_addresses(&v),
                    reply_addresses(&r),
                    "{what}: explain and server disagree\nexplain: {v:#}\nserver: {r}"
                );
                let scope = reply_ecs(&r).expect("ECS echo").scope_prefix();
                assert_eq!(
                    v["scope"], scope,
                    "{what}: scope differs\nexplain: {v:#}\nserver: {r}"
                );
                let min_ttl = r.answers.iter().map(|rr| rr.ttl).min();
                assert_eq!(v["ttl"].as_u64(), min_ttl.map(u64::from), "{what}: ttl");
            }
        }
    }
}

#[test]
fn explain_agrees_with_the_server_on_a_temp_config() {
    // The same comparison on a configuration with nested networks rules, which makes the
    // scope depend on both the networks table and the GeoIP database.
    let z = Zones::new();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("geo/testdata");
    let regions = serde_json::json!({
        "version": 1,
        "databases": {
            "location": testdata.join("GeoLite2-City-Test.mmdb"),
            "asn": testdata.join("GeoLite2-ASN-Test.mmdb"),
        },
        "regions": {
            "lab":    [ { "networks": ["81.2.69.176/28", "2001:250:0:1::/64"] } ],
            "europe": [ { "continents": ["EU"] } ],
            "cn":     [ { "countries": ["CN"] } ],
            "ct":     [ { "asns": [4134] } ]
        }
    });
    std::fs::write(
        z.geo_dir().join("regions.json"),
        serde_json::to_string(&regions).unwrap(),
    )
    .unwrap();
    let mut zone: Value = serde_json::from_str(&zone_json(
        "example.org.",
        3600,
        60,
        serde_json::json!({ "www": { "gslb": "web" } }),
    ))
    .unwrap();
    zone["gslb"] = serde_json::json!({
        "web": { "pools": {
            "lab": { "targets": ["10.0.0.1", "10.0.0.2"] },
            "europe": { "targets": ["10.0.0.3", "2001:db8:e::1"] },
            "cn": { "targets": ["10.0.0.4"], "fallback": ["ct"] },
            "ct": { "targets": ["10.0.0.5", "2001:db8:c::1"] },
            "default": { "targets": ["192.0.2.1", "2001:db8::1"] }
        } }
    });
    z.file("example.org.json", &zone.to_string());
    let zones = z.zones_dir().to_path_buf();
    let geo = z.geo_dir().to_path_buf();
    let s = Server::start(&zones, &geo, &[]);
    for client in [
        "81.2.69.161",
        "81.2.69.180",
        "81.2.69.176/28",
        "81.2.69.160/27",
        "175.16.199.1",
        "49.64.0.1",
        "2001:250::1",
        "2001:250:0:1::/64",
        "2001:251::/32",
    ] {
        for rtype in [RecordType::A, RecordType::AAAA] {
            let (addr, prefix) = match client.split_once('/') {
                Some((a, p)) => (a, p.parse::<u8>().unwrap()),
                None => (client, if client.contains(':') { 128 } else { 32 }),
            };
            let rt = rtype.to_string();
            let out = Command::new(bin())
                .args([
                    "explain",
                    "www.example.org",
                    &rt,
                    "--client",
                    client,
                    "--json",
                ])
                .arg("--zones")
                .arg(&zones)
                .arg("--geo")
                .arg(&geo)
                .env("GSLBD_LOG", "warn")
                .output()
                .expect("run explain");
            let v: Value = serde_json::from_str(&stdout_of(&out, &[client])).expect("JSON");
            let r = udp(
                s.addr(),
                &with_ecs(query("www.example.org.", rtype), addr, prefix),
            );
            let what = format!("{rt} for {client}");
            assert_eq!(
                json_addresses(&v),
                reply_addresses(&r),
                "{what}: {v:#}\n{r}"
            );
            assert_eq!(
                v["scope"],
                reply_ecs(&r).unwrap().scope_prefix(),
                "{what}: {v:#}\n{r}"
            );
        }
    }
}
