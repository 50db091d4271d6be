//! End-to-end tests of the admin HTTP API (spec §7), the Prometheus metrics and the logs of
//! `gslbd serve`: every endpoint, counters that move with traffic, bearer-token protection,
//! `--admin off`, JSON logs and the sampled query log. All traffic goes to 127.0.0.1.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use common::metrics::{parse_value, scrape, scrape_until};
use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers: servers and HTTP

/// The admin flags that make the harness read the admin API address.
const ADMIN: [&str; 2] = ["--admin", "127.0.0.1:0"];
const TOKEN: &str = "s3cret";
/// The europe pool of the example, answered for 81.2.69.161 (GB, continent EU).
const EU_CLIENT: &str = "81.2.69.161";
const EU_A: [&str; 2] = ["198.51.100.10", "198.51.100.11"];

/// The shipped example with the admin API on an ephemeral port, plus `extra` flags.
fn example_admin(extra: &[&str]) -> Server {
    let mut args = ADMIN.to_vec();
    args.extend_from_slice(extra);
    Server::start(&example_zones(), &example_geo(), &args)
}

fn parse_json(body: &str, what: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body:?}"))
}

/// `GET path` on the admin API of `admin`; must answer 200 with JSON.
fn get_json(admin: SocketAddr, path: &str) -> Value {
    let (code, body) = http_request(admin, "GET", path, None);
    assert_eq!(code, 200, "GET {path}: {body}");
    parse_json(&body, &format!("GET {path}"))
}

fn status(admin: SocketAddr) -> Value {
    get_json(admin, "/v1/status")
}

/// The `state` of the status row for `addr` (exactly one row must exist).
fn target_state(status: &Value, addr: &str) -> String {
    let rows: Vec<&Value> = status["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("status.targets is not an array: {status:#}"))
        .iter()
        .filter(|t| t["address"] == addr)
        .collect();
    assert_eq!(rows.len(), 1, "status rows for {addr}: {status:#}");
    rows[0]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("state of {addr} is not a string: {status:#}"))
        .to_string()
}

/// Percent-encodes a query-string value (everything but RFC 3986 unreserved characters).
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One HTTP/1.1 request with arbitrary extra header lines: (status, body).
fn http_with_headers(
    admin: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
) -> (u16, String) {
    let reply = http_exchange(admin, method, path, headers, "");
    (reply.status, reply.body)
}

fn parse_time(s: &Value, what: &str) -> SystemTime {
    let text = s
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {s}"));
    humantime::parse_rfc3339_weak(text)
        .unwrap_or_else(|e| panic!("{what} {text:?} is not an RFC 3339 time: {e}"))
}

/// True when `t` is within a minute of now (either way).
fn recent(t: SystemTime) -> bool {
    let now = SystemTime::now();
    let d = now.duration_since(t).unwrap_or_else(|e| e.duration());
    d < Duration::from_secs(60)
}

// ---------------------------------------------------------------------------------------------
// Helpers: DNS

/// An A/AAAA query for `name` with an ECS option for the full address `client`.
fn ecs_query(name: &str, rtype: RecordType, client: &str) -> Message {
    let prefix = if client.contains(':') { 128 } else { 32 };
    with_ecs(query(name, rtype), client, prefix)
}

/// The A/AAAA addresses in the answer section.
fn addresses(m: &Message) -> BTreeSet<IpAddr> {
    common::answer_addresses(m).into_iter().collect()
}

/// The union of A answers for www.example.com from the europe client over several UDP and
/// TCP queries (round robin must not hide anything).
fn europe_answers(dns: SocketAddr) -> BTreeSet<IpAddr> {
    let mut all = BTreeSet::new();
    for i in 0..6 {
        let q = ecs_query("www.example.com.", RecordType::A, EU_CLIENT);
        let r = if i % 2 == 0 {
            udp(dns, &q)
        } else {
            tcp(dns, &q)
        };
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r}");
        all.extend(addresses(&r));
    }
    all
}

fn ips(list: &[&str]) -> BTreeSet<IpAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

// ---------------------------------------------------------------------------------------------
// Helpers: the example configuration

fn example_zone_json() -> Value {
    let text = std::fs::read_to_string(example_zones().join("example.com.json"))
        .expect("read example zone");
    parse_json(&text, "zones/example.com.json")
}

/// Every GSLB target address of the example zone file.
fn example_targets() -> BTreeSet<IpAddr> {
    let zone = example_zone_json();
    let mut out = BTreeSet::new();
    for rec in zone["gslb"].as_object().expect("gslb").values() {
        for pool in rec["pools"].as_object().expect("pools").values() {
            // A CNAME pool has no targets.
            let none = Vec::new();
            for t in pool["targets"].as_array().unwrap_or(&none) {
                let a = t
                    .as_str()
                    .or_else(|| t["address"].as_str())
                    .expect("address");
                out.insert(a.parse().expect("target address"));
            }
        }
    }
    out
}

/// The name count `gslbd check` prints for example.com.
fn example_names_from_check() -> u64 {
    let out = check(&example_zones(), &example_geo());
    assert!(out.status.success(), "gslbd check failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("example.com.: "))
        .unwrap_or_else(|| panic!("no example.com. line in check output:\n{text}"));
    line["example.com.: ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no name count in {line:?}"))
}

/// `gslbd explain NAME TYPE --client C --json` on the example, parsed.
fn explain_cli(name: &str, rtype: &str, client: &str) -> Value {
    let out = Command::new(bin())
        .args(["explain", name, rtype, "--client", client, "--json"])
        .arg("--zones")
        .arg(example_zones())
        .arg("--geo")
        .arg(example_geo())
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd explain");
    assert!(
        out.status.success(),
        "gslbd explain {name} {rtype} --client {client} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json(
        &String::from_utf8_lossy(&out.stdout),
        &format!("explain --json {name} {rtype} {client}"),
    )
}

const QUERIES: &str = "gslbd_queries_total";

fn q_labels<'a>(zone: &'a str, qtype: &'a str, rcode: &'a str) -> [(&'a str, &'a str); 3] {
    [("zone", zone), ("qtype", qtype), ("rcode", rcode)]
}

// ---------------------------------------------------------------------------------------------
// Helpers: our own process (for environment variables and the log level)

/// A `gslbd` process started by this file (the harness fixes GSLBD_LOG=warn and passes no
/// environment). Readiness is parsed as the harness does; dropping it sends SIGTERM.
struct Proc {
    child: Option<Child>,
    dns: SocketAddr,
    admin: Option<SocketAddr>,
    /// Every stdout line up to and including the listening line.
    stdout: Vec<String>,
    later: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    /// Runs `gslbd ARGS...` with `env` on top of the inherited environment (minus any
    /// GSLBD_ADMIN_TOKEN/GSLBD_LOG of ours) and waits for `gslbd listening on ADDR (udp+tcp)`.
    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env_remove("GSLBD_ADMIN_TOKEN")
            .env("GSLBD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn gslbd");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let buf = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                match err.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n])),
                }
            }
        });
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + START_DEADLINE;
        let mut seen = Vec::new();
        let mut admin = None;
        let dns = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(l) => l,
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "gslbd {args:?} printed no listening line ({e:?})\nstdout: {seen:?}\n\
                         stderr:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            };
            seen.push(line.clone());
            if let Some(rest) = line.strip_prefix("gslbd admin API on ") {
                admin = Some(rest.parse::<SocketAddr>().expect("admin address"));
            }
            if let Some(rest) = line.strip_prefix("gslbd listening on ") {
                let a = rest
                    .strip_suffix(" (udp+tcp)")
                    .unwrap_or_else(|| panic!("unexpected listening line {line:?}"));
                break a.parse::<SocketAddr>().expect("listening address");
            }
        };
        Proc {
            child: Some(child),
            dns,
            admin,
            stdout: seen,
            later: rx,
            stderr,
        }
    }

    /// `gslbd [GLOBAL...] serve --zones <example> --geo <example> --listen 127.0.0.1:0 EXTRA...`
    fn example(global: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Proc {
        let zones = example_zones();
        let geo = example_geo();
        let mut args: Vec<&str> = global.to_vec();
        args.extend([
            "serve",
            "--zones",
            zones.to_str().unwrap(),
            "--geo",
            geo.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ]);
        args.extend_from_slice(extra);
        Proc::spawn(&args, env)
    }

    fn admin(&self) -> SocketAddr {
        self.admin.expect("no `gslbd admin API on` line")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits up to 3 s for a stderr line satisfying `pred`; returns it.
    fn wait_stderr_line(&self, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            if let Some(l) = self.stderr().lines().find(|l| pred(l)) {
                return Some(l.to_string());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Stdout lines printed after the listening line so far.
    fn later_stdout(&self) -> Vec<String> {
        self.later.try_iter().collect()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            stop_child(child);
        }
    }
}

/// A JSON log line's field: tracing's JSON layout nests event fields under `fields`.
fn log_field<'a>(line: &'a Value, key: &str) -> Option<&'a Value> {
    line.get("fields")
        .and_then(|f| f.get(key))
        .or_else(|| line.get(key))
}

fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v = parse_json(l, "a --log-format json stderr line");
            assert!(v.is_object(), "log line is not a JSON object: {l}");
            v
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Endpoints

#[test]
fn healthz_answers_ok() {
    let s = example_admin(&[]);
    let (code, body) = s.http("GET", "/healthz", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body.trim(), "ok");
}

#[test]
fn status_describes_the_loaded_example() {
    let s = example_admin(&[]);
    let st = status(s.admin_addr());

    assert_eq!(st["generation"], 1, "{st:#}");
    assert!(recent(parse_time(&st["loaded_at"], "loaded_at")), "{st:#}");
    assert!(
        st.get("last_reload").is_some_and(Value::is_null),
        "last_reload must be null before any reload: {st:#}"
    );

    let zone = example_zone_json();
    let zones = st["zones"].as_array().expect("zones array");
    assert_eq!(zones.len(), 1, "{st:#}");
    let z = &zones[0];
    assert_eq!(z["origin"], "example.com.", "{st:#}");
    assert_eq!(z["serial"], zone["soa"]["serial"], "{st:#}");
    assert_eq!(z["names"], example_names_from_check(), "{st:#}");
    // The shipped zone has at least these owner names.
    assert!(z["names"].as_u64().unwrap() >= 12, "{st:#}");
    let file = PathBuf::from(z["file"].as_str().expect("file is a string"));
    let expected = example_zones().join("example.com.json");
    assert_eq!(
        file.canonicalize().expect("status file exists"),
        expected.canonicalize().unwrap(),
        "{st:#}"
    );

    let targets = st["targets"].as_array().expect("targets array");
    let listed: BTreeSet<IpAddr> = targets
        .iter()
        .map(|t| t["address"].as_str().expect("address").parse().unwrap())
        .collect();
    assert_eq!(listed, example_targets(), "{st:#}");
    assert_eq!(
        listed.len(),
        targets.len(),
        "one row per unchecked target: {st:#}"
    );
    for t in targets {
        let row = t.as_object().expect("target row is an object");
        for key in ["address", "check", "state", "since", "latency_ms", "error"] {
            assert!(row.contains_key(key), "target row lacks {key}: {t}");
        }
        assert_eq!(t["state"], "up", "{t}");
        // The example has no health checks.
        assert!(t["check"].is_null(), "{t}");
        assert!(t["error"].is_null(), "{t}");
    }
}

#[test]
fn reload_bumps_generation_and_records_last_reload() {
    let s = example_admin(&[]);
    let before = status(s.admin_addr());
    let loaded_before = parse_time(&before["loaded_at"], "loaded_at");

    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        parse_json(&body, "POST /v1/reload"),
        json!({ "ok": true, "generation": 2 })
    );

    let st = status(s.admin_addr());
    assert_eq!(st["generation"], 2, "{st:#}");
    let last = &st["last_reload"];
    assert_eq!(last["ok"], true, "{st:#}");
    assert_eq!(last["problems"], json!([]), "{st:#}");
    assert!(recent(parse_time(&last["at"], "last_reload.at")), "{st:#}");
    assert!(
        parse_time(&st["loaded_at"], "loaded_at") >= loaded_before,
        "loaded_at must move forward on reload: {before:#} then {st:#}"
    );
    assert_eq!(st["zones"], before["zones"], "same files, same zones");
    assert_eq!(st["targets"], before["targets"], "same files, same targets");

    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        parse_json(&body, "reload"),
        json!({ "ok": true, "generation": 3 })
    );
    assert_eq!(status(s.admin_addr())["generation"], 3);
}

#[test]
fn failed_reload_keeps_generation_and_reports_problems() {
    let zones = Zones::new();
    let path = zones.zone("rel.test.", json!({ "www": { "A": ["192.0.2.1"] } }));
    let s = Server::start(
        zones.zones_dir(),
        zones.geo_dir(),
        &["--admin", "127.0.0.1:0", "--no-watch"],
    );
    let admin = s.admin_addr();
    let loaded_at = status(admin)["loaded_at"].clone();
    std::fs::write(&path, "{ this is not json").unwrap();

    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 422, "{body}");
    let v = parse_json(&body, "failed reload");
    assert_eq!(v["ok"], false, "{v:#}");
    assert!(
        v["problems"].as_array().is_some_and(|p| !p.is_empty()),
        "{v:#}"
    );

    let st = status(admin);
    assert_eq!(st["generation"], 1, "{st:#}");
    assert_eq!(st["last_reload"]["ok"], false, "{st:#}");
    assert_eq!(st["last_reload"]["problems"], v["problems"], "{st:#}");
    assert_eq!(
        st["loaded_at"], loaded_at,
        "a failed reload loads nothing: {st:#}"
    );
    let m = scrape(admin);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "failed")]), 1.0);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "ok")]), 0.0);
    assert_eq!(m.must("gslbd_config_generation", &[]), 1.0);

    // Still serving the previous configuration.
    let r = udp(s.addr(), &query("www.rel.test.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(addresses(&r), ips(&["192.0.2.1"]));
}

#[test]
fn explain_endpoint_equals_the_cli() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let clients = [
        "81.2.69.161",
        "175.16.199.1",
        "8.8.8.8",
        "2001:250::1",
        "10.1.2.3",
        "81.2.69.0/24",
    ];
    for name in ["www.example.com", "static.example.com.", "nope.example.com"] {
        for rtype in ["A", "AAAA"] {
            for client in clients {
                let path = format!(
                    "/v1/explain?name={}&type={rtype}&client={}",
                    pct(name),
                    pct(client)
                );
                let mut api = get_json(admin, &path);
                // The server says whose probes decided health; offline there are none.
                let health = api.as_object_mut().unwrap().remove("health");
                let gslb = name.starts_with("www");
                assert_eq!(
                    health,
                    gslb.then(|| serde_json::json!("this node's probes")),
                    "{path}"
                );
                let cli = explain_cli(name, rtype, client);
                assert_eq!(
                    api, cli,
                    "{name} {rtype} for {client}: API {api:#}\nCLI {cli:#}"
                );
            }
        }
    }
    // `type` defaults to A, as on the command line.
    let mut api = get_json(admin, "/v1/explain?name=www.example.com&client=81.2.69.161");
    api.as_object_mut().unwrap().remove("health");
    assert_eq!(api, explain_cli("www.example.com", "A", "81.2.69.161"));
    assert_eq!(api["gslb"]["decided_by"], "continent", "{api:#}");
}

#[test]
fn explain_endpoint_rejects_bad_input_with_json_errors() {
    let s = example_admin(&[]);
    for client in ["bogus", "300.1.2.3", "1.2.3.4/33", "0.0.0.0/0", ""] {
        let path = format!(
            "/v1/explain?name=www.example.com&type=A&client={}",
            pct(client)
        );
        let (code, body) = s.http("GET", &path, None);
        assert_eq!(code, 400, "client {client:?}: {body}");
        let v = parse_json(&body, &format!("error for client {client:?}"));
        assert!(
            v["error"].as_str().is_some_and(|e| !e.is_empty()),
            "client {client:?}: {v:#}"
        );
    }
    let (code, body) = s.http(
        "GET",
        "/v1/explain?name=www.example.com&type=NOTATYPE&client=1.2.3.4",
        None,
    );
    assert_eq!(code, 400, "{body}");
    assert!(parse_json(&body, "bad type")["error"].is_string());
    let (code, body) = s.http("GET", "/v1/explain?name=www.example.com", None);
    assert_eq!(code, 400, "missing client: {body}");
}

#[test]
fn drain_and_undrain_move_a_target_out_of_and_back_into_answers() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let dns = s.addr();
    assert_eq!(europe_answers(dns), ips(&EU_A));

    let (code, body) = s.http("POST", "/v1/targets/198.51.100.10/drain", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        parse_json(&body, "drain"),
        json!({ "ok": true, "address": "198.51.100.10", "drained": true })
    );
    assert_eq!(
        europe_answers(dns),
        ips(&["198.51.100.11"]),
        "drained at once"
    );
    let st = status(admin);
    assert_eq!(target_state(&st, "198.51.100.10"), "drained");
    assert_eq!(target_state(&st, "198.51.100.11"), "up");
    let m = scrape(admin);
    assert_eq!(m.must("gslbd_targets", &[("state", "drained")]), 1.0);
    let ex = get_json(admin, "/v1/explain?name=www.example.com&client=81.2.69.161");
    let answers = ex["answers"].to_string();
    assert!(
        !answers.contains("198.51.100.10") && answers.contains("198.51.100.11"),
        "explain must see the drain: {ex:#}"
    );

    // Drains survive reloads.
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(target_state(&status(admin), "198.51.100.10"), "drained");
    assert_eq!(europe_answers(dns), ips(&["198.51.100.11"]));

    let (code, body) = s.http("POST", "/v1/targets/198.51.100.10/undrain", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        parse_json(&body, "undrain"),
        json!({ "ok": true, "address": "198.51.100.10", "drained": false })
    );
    assert_eq!(europe_answers(dns), ips(&EU_A), "back at once");
    assert_eq!(target_state(&status(admin), "198.51.100.10"), "up");
    assert_eq!(
        scrape(admin).must("gslbd_targets", &[("state", "drained")]),
        0.0
    );
}

#[test]
fn drain_of_unknown_or_bad_address_is_refused_and_changes_nothing() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let before = status(admin);

    let (code, body) = s.http("POST", "/v1/targets/192.0.2.99/drain", None);
    assert_eq!(code, 404, "{body}");
    assert!(parse_json(&body, "404")["error"].is_string(), "{body}");
    let (code, body) = s.http("POST", "/v1/targets/not-an-ip/drain", None);
    assert_eq!(code, 400, "{body}");
    assert!(parse_json(&body, "400")["error"].is_string(), "{body}");

    assert_eq!(status(admin)["targets"], before["targets"]);
    assert_eq!(europe_answers(s.addr()), ips(&EU_A));
}

#[test]
fn wrong_methods_get_405_and_unknown_paths_404() {
    let s = example_admin(&[]);
    for path in [
        "/v1/reload",
        "/v1/targets/198.51.100.10/drain",
        "/v1/targets/198.51.100.10/undrain",
    ] {
        let (code, body) = s.http("GET", path, None);
        assert_eq!(code, 405, "GET {path}: {body}");
    }
    for path in ["/healthz", "/metrics", "/v1/status"] {
        let (code, body) = s.http("POST", path, None);
        assert_eq!(code, 405, "POST {path}: {body}");
    }
    let (code, _) = s.http("GET", "/v1/nope", None);
    assert_eq!(code, 404);
    // Nothing was drained or reloaded by the refused requests.
    let st = status(s.admin_addr());
    assert_eq!(st["generation"], 1);
    assert_eq!(target_state(&st, "198.51.100.10"), "up");
}

// ---------------------------------------------------------------------------------------------
// 2. Metrics

#[test]
fn metrics_expose_every_family_the_spec_names() {
    let s = example_admin(&[]);
    let m = scrape(s.admin_addr());
    for (family, kind) in [
        ("gslbd_queries_total", "counter"),
        ("gslbd_answers_total", "counter"),
        ("gslbd_ecs_queries_total", "counter"),
        ("gslbd_truncated_total", "counter"),
        ("gslbd_malformed_total", "counter"),
        ("gslbd_reloads_total", "counter"),
        ("gslbd_config_generation", "gauge"),
        ("gslbd_probes_total", "counter"),
        ("gslbd_target_up", "gauge"),
        ("gslbd_targets", "gauge"),
        ("gslbd_query_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            m.types.get(family).map(String::as_str),
            Some(kind),
            "TYPE of {family}:\n{}",
            m.text
        );
    }
    assert_eq!(m.must("gslbd_config_generation", &[]), 1.0);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "ok")]), 0.0);
    assert_eq!(m.must("gslbd_truncated_total", &[]), 0.0);
    assert_eq!(m.must("gslbd_malformed_total", &[]), 0.0);
    assert_eq!(m.must("gslbd_query_duration_seconds_count", &[]), 0.0);
    let n = example_targets().len() as f64;
    assert_eq!(m.must("gslbd_targets", &[("state", "up")]), n, "{}", m.text);
    assert_eq!(m.must("gslbd_targets", &[("state", "down")]), 0.0);
    assert_eq!(m.must("gslbd_targets", &[("state", "drained")]), 0.0);
    // No checks in the example, so no per-check gauge and no probes.
    assert!(m.samples.iter().all(|s| s.name != "gslbd_target_up"));
    assert_eq!(m.sum("gslbd_probes_total"), 0.0);
}

#[test]
fn metrics_count_queries_answers_ecs_refused_and_malformed() {
    const N: usize = 7;
    const M: usize = 4;
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let dns = s.addr();
    let before = scrape(admin);
    let zone = "example.com.";

    for _ in 0..N {
        let r = udp(
            dns,
            &ecs_query("www.example.com.", RecordType::A, EU_CLIENT),
        );
        assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r}");
        assert!(!addresses(&r).is_empty(), "{r}");
    }
    for i in 0..M {
        let r = udp(dns, &query(&format!("nope{i}.example.com."), RecordType::A));
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{r}");
    }
    let r = udp(dns, &query("www.example.org.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused, "{r}");
    let formerr = raw_packet(0x4242, [0x01, 0x00], [0, 0, 0, 0], &[]);
    let reply = udp_raw(dns, &formerr).expect("a FORMERR reply to a question-less query");
    assert_eq!(raw_rcode(&reply), 1, "FORMERR expected: {reply:02x?}");
    let total = (N + M + 2) as f64;

    let after = scrape_until(admin, |m| {
        m.must("gslbd_query_duration_seconds_count", &[])
            - before.must("gslbd_query_duration_seconds_count", &[])
            >= total
    });
    let delta =
        |name: &str, labels: &[(&str, &str)]| after.val(name, labels) - before.val(name, labels);

    assert_eq!(
        delta(QUERIES, &q_labels(zone, "A", "NOERROR")),
        N as f64,
        "{}",
        after.text
    );
    assert_eq!(
        delta(QUERIES, &q_labels(zone, "A", "NXDOMAIN")),
        M as f64,
        "{}",
        after.text
    );
    assert_eq!(
        delta(QUERIES, &q_labels("none", "A", "REFUSED")),
        1.0,
        "{}",
        after.text
    );
    assert_eq!(
        delta(
            "gslbd_answers_total",
            &[("pool", "europe"), ("decided_by", "continent")]
        ),
        N as f64,
        "{}",
        after.text
    );
    assert_eq!(
        after.sum("gslbd_answers_total") - before.sum("gslbd_answers_total"),
        N as f64,
        "only the www queries are GSLB answers:\n{}",
        after.text
    );
    assert!(
        delta("gslbd_ecs_queries_total", &[("ecs", "true")]) >= N as f64,
        "{}",
        after.text
    );
    assert_eq!(
        after.sum("gslbd_ecs_queries_total") - before.sum("gslbd_ecs_queries_total"),
        total,
        "every query is counted with or without ECS:\n{}",
        after.text
    );
    assert_eq!(delta("gslbd_malformed_total", &[]), 1.0, "{}", after.text);
    assert_eq!(delta("gslbd_truncated_total", &[]), 0.0, "{}", after.text);
    assert_eq!(
        after.sum(QUERIES) - before.sum(QUERIES),
        total,
        "{}",
        after.text
    );

    // The histogram counts every answered query once; buckets are cumulative.
    let count = after.must("gslbd_query_duration_seconds_count", &[]);
    assert_eq!(count, after.sum(QUERIES), "{}", after.text);
    let mut buckets: Vec<(f64, f64)> = after
        .samples
        .iter()
        .filter(|s| s.name == "gslbd_query_duration_seconds_bucket")
        .map(|s| {
            let le = s.labels.get("le").expect("bucket without le");
            (parse_value(le).expect("le value"), s.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    assert!(buckets.len() >= 2, "{}", after.text);
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "buckets must be cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last().unwrap().0, f64::INFINITY);
    assert_eq!(buckets.last().unwrap().1, count);
    let sum = after.must("gslbd_query_duration_seconds_sum", &[]);
    assert!(sum > 0.0 && sum < count, "sum {sum} s for {count} queries");
}

#[test]
fn metrics_count_truncated_udp_answers() {
    let zones = Zones::new();
    let many: Vec<String> = (0..100)
        .map(|i| format!("10.9.{}.{}", i / 250, i % 250 + 1))
        .collect();
    zones.zone("big.test.", json!({ "many": { "A": many } }));
    let s = Server::start(zones.zones_dir(), zones.geo_dir(), &ADMIN);
    let admin = s.admin_addr();
    let before = scrape(admin);
    assert_eq!(before.must("gslbd_truncated_total", &[]), 0.0);

    let r = udp(s.addr(), &query("many.big.test.", RecordType::A));
    assert!(
        r.metadata.truncation,
        "100 A records cannot fit 512 bytes: {r}"
    );
    let m = scrape_until(admin, |m| m.must("gslbd_truncated_total", &[]) >= 1.0);
    assert_eq!(m.must("gslbd_truncated_total", &[]), 1.0, "{}", m.text);
    assert_eq!(
        m.val(QUERIES, &q_labels("big.test.", "A", "NOERROR")),
        1.0,
        "{}",
        m.text
    );

    // The TCP retry is complete and not truncated.
    let r = tcp(s.addr(), &query("many.big.test.", RecordType::A));
    assert!(!r.metadata.truncation, "{r}");
    assert_eq!(addresses(&r).len(), 100);
    let m = scrape_until(admin, |m| {
        m.val(QUERIES, &q_labels("big.test.", "A", "NOERROR")) >= 2.0
    });
    assert_eq!(m.val(QUERIES, &q_labels("big.test.", "A", "NOERROR")), 2.0);
    assert_eq!(m.must("gslbd_truncated_total", &[]), 1.0, "{}", m.text);
    assert_eq!(
        m.must("gslbd_query_duration_seconds_count", &[]),
        m.sum(QUERIES)
    );
}

#[test]
fn metrics_follow_reloads() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let m = scrape(admin);
    assert_eq!(m.must("gslbd_config_generation", &[]), 1.0);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "ok")]), 0.0);
    for n in 1..=2u32 {
        let (code, body) = s.http("POST", "/v1/reload", None);
        assert_eq!(code, 200, "{body}");
        let m = scrape(admin);
        assert_eq!(m.must("gslbd_config_generation", &[]), f64::from(n + 1));
        assert_eq!(
            m.must("gslbd_reloads_total", &[("result", "ok")]),
            f64::from(n)
        );
        assert_eq!(m.must("gslbd_reloads_total", &[("result", "failed")]), 0.0);
        assert_eq!(status(admin)["generation"], n + 1);
    }
    // Counters keep their zone and pool labels across a reload.
    let r = udp(
        s.addr(),
        &ecs_query("www.example.com.", RecordType::A, EU_CLIENT),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    let m = scrape_until(admin, |m| {
        m.val(QUERIES, &q_labels("example.com.", "A", "NOERROR")) >= 1.0
    });
    assert_eq!(
        m.val(QUERIES, &q_labels("example.com.", "A", "NOERROR")),
        1.0
    );
    assert_eq!(
        m.val(
            "gslbd_answers_total",
            &[("pool", "europe"), ("decided_by", "continent")]
        ),
        1.0,
        "{}",
        m.text
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Token protection

/// Checks the bearer-token rules against a server started with token `s3cret`.
fn assert_token_protection(admin: SocketAddr, dns: SocketAddr) {
    let drain = "/v1/targets/198.51.100.10/drain";
    let undrain = "/v1/targets/198.51.100.10/undrain";
    for token in [
        None,
        Some("wrong"),
        Some("s3cre"),
        Some("s3cret2"),
        Some("S3CRET"),
    ] {
        for path in [
            "/v1/reload",
            drain,
            undrain,
            "/v1/targets/198.51.100.10/weight",
            "/v1/pools/web/europe/drain",
            "/v1/pools/web/europe/undrain",
        ] {
            let (code, body) = http_request(admin, "POST", path, token);
            assert_eq!(code, 401, "POST {path} with token {token:?}: {body}");
            assert!(
                parse_json(&body, "401")["error"].is_string(),
                "401 body: {body}"
            );
        }
    }
    // Nothing changed.
    let st = status(admin);
    assert_eq!(st["generation"], 1, "{st:#}");
    assert!(st["last_reload"].is_null(), "{st:#}");
    assert_eq!(target_state(&st, "198.51.100.10"), "up");
    assert_eq!(europe_answers(dns), ips(&EU_A));
    let m = scrape(admin);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "ok")]), 0.0);

    // Reading stays open.
    for path in [
        "/healthz",
        "/metrics",
        "/v1/status",
        "/v1/explain?name=www.example.com&type=A&client=81.2.69.161",
    ] {
        let (code, body) = http_request(admin, "GET", path, None);
        assert_eq!(code, 200, "GET {path} without a token: {body}");
    }

    // With the token, everything works.
    let (code, body) = http_request(admin, "POST", "/v1/reload", Some(TOKEN));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        parse_json(&body, "reload"),
        json!({ "ok": true, "generation": 2 })
    );
    let (code, body) = http_request(admin, "POST", drain, Some(TOKEN));
    assert_eq!(code, 200, "{body}");
    assert_eq!(target_state(&status(admin), "198.51.100.10"), "drained");
    assert_eq!(europe_answers(dns), ips(&["198.51.100.11"]));
    let (code, body) = http_request(admin, "POST", undrain, Some(TOKEN));
    assert_eq!(code, 200, "{body}");
    assert_eq!(target_state(&status(admin), "198.51.100.10"), "up");
    assert_eq!(europe_answers(dns), ips(&EU_A));
}

#[test]
fn admin_token_flag_protects_mutating_endpoints() {
    let s = example_admin(&["--admin-token", TOKEN]);
    assert_token_protection(s.admin_addr(), s.addr());
}

#[test]
fn admin_token_env_protects_mutating_endpoints() {
    let p = Proc::example(&[], &ADMIN, &[("GSLBD_ADMIN_TOKEN", TOKEN)]);
    assert_token_protection(p.admin(), p.dns);
}

#[test]
fn without_a_token_mutating_endpoints_are_open() {
    // A server without --admin-token accepts any (or no) Authorization header.
    let s = example_admin(&[]);
    let (code, body) = s.http("POST", "/v1/reload", Some("anything"));
    assert_eq!(code, 200, "{body}");
    let (code, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(status(s.admin_addr())["generation"], 3);
}

// ---------------------------------------------------------------------------------------------
// 4. --admin off and the default address

#[test]
fn admin_off_prints_no_admin_line_and_still_serves_dns() {
    let p = Proc::example(&[], &["--admin", "off"], &[("GSLBD_LOG", "info")]);
    assert!(p.admin.is_none(), "stdout: {:?}", p.stdout);
    let r = udp(
        p.dns,
        &ecs_query("www.example.com.", RecordType::A, EU_CLIENT),
    );
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r}");
    assert_eq!(addresses(&r), ips(&EU_A));
    let r = tcp(p.dns, &query("static.example.com.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{r}");
    std::thread::sleep(Duration::from_millis(300));
    let later = p.later_stdout();
    assert!(
        p.stdout
            .iter()
            .chain(&later)
            .all(|l| !l.contains("admin API")),
        "stdout: {:?} {later:?}",
        p.stdout
    );
    assert!(
        !p.stderr().contains("admin API listening"),
        "stderr:\n{}",
        p.stderr()
    );
}

#[test]
fn serve_help_names_the_default_admin_address() {
    let out = Command::new(bin())
        .args(["serve", "--help"])
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd serve --help");
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--admin"), "{help}");
    assert!(help.contains("127.0.0.1:9153"), "{help}");
    assert!(help.contains("--admin-token"), "{help}");
    assert!(help.contains("GSLBD_ADMIN_TOKEN"), "{help}");
}

// ---------------------------------------------------------------------------------------------
// 5. Logs

#[test]
fn json_log_format_writes_json_objects_with_the_startup_summary() {
    let p = Proc::example(
        &["--log-format", "json"],
        &["--admin", "127.0.0.1:0"],
        &[("GSLBD_LOG", "info")],
    );
    let line = p
        .wait_stderr_line(|l| l.contains("configuration loaded"))
        .unwrap_or_else(|| panic!("no startup summary in stderr:\n{}", p.stderr()));
    let v = parse_json(&line, "startup summary");
    assert_eq!(
        log_field(&v, "message").and_then(Value::as_str),
        Some("configuration loaded"),
        "{v:#}"
    );
    assert_eq!(v["level"], "INFO", "{v:#}");
    assert_eq!(
        log_field(&v, "zones").and_then(Value::as_u64),
        Some(1),
        "{v:#}"
    );
    assert_eq!(
        log_field(&v, "names").and_then(Value::as_u64),
        Some(example_names_from_check()),
        "{v:#}"
    );
    let records = example_zone_json()["gslb"].as_object().unwrap().len() as u64;
    assert_eq!(
        log_field(&v, "gslb_records").and_then(Value::as_u64),
        Some(records),
        "{v:#}"
    );
    assert!(log_field(&v, "regions").is_some(), "{v:#}");

    // Activity (a reload) adds more lines; every line is a JSON object.
    let (code, _) = http_request(p.admin(), "POST", "/v1/reload", None);
    assert_eq!(code, 200);
    p.wait_stderr_line(|l| l.contains("configuration reloaded"))
        .unwrap_or_else(|| panic!("no reload line in stderr:\n{}", p.stderr()));
    let lines = json_lines(&p.stderr());
    assert!(lines.len() >= 2, "{lines:?}");
    for l in &lines {
        assert!(
            l.get("level").is_some() && l.get("timestamp").is_some(),
            "{l}"
        );
    }
}

/// Sends UDP queries for `names` (NXDOMAIN names in example.com).
fn query_names(dns: SocketAddr, names: &[&str]) {
    for n in names {
        let r = udp(dns, &query(n, RecordType::A));
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{r}");
    }
}

#[test]
fn no_query_log_by_default() {
    let names = ["quiet-a.example.com.", "quiet-b.example.com."];
    let p = Proc::example(&[], &["--admin", "off"], &[("GSLBD_LOG", "info")]);
    query_names(p.dns, &names);
    let r = tcp(p.dns, &query("quiet-c.example.com.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    std::thread::sleep(Duration::from_millis(500));
    let err = p.stderr();
    assert!(
        err.contains("configuration loaded"),
        "GSLBD_LOG=info must show the startup summary:\n{err}"
    );
    assert!(
        !err.to_lowercase().contains("quiet-"),
        "query logged:\n{err}"
    );
}

#[test]
fn query_log_sample_one_logs_every_udp_query() {
    let names = [
        "logq-a.example.com.",
        "logq-b.example.com.",
        "logq-c.example.com.",
    ];
    let p = Proc::example(
        &["--log-format", "json"],
        &["--admin", "off", "--query-log-sample", "1"],
        &[("GSLBD_LOG", "info")],
    );
    query_names(p.dns, &names);
    for n in names {
        let bare = n.trim_end_matches('.');
        let line = p
            .wait_stderr_line(|l| l.to_lowercase().contains(bare))
            .unwrap_or_else(|| panic!("no log line for {n}:\n{}", p.stderr()));
        let v = parse_json(&line, "query log line");
        let qname = log_field(&v, "qname")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no qname field: {v:#}"));
        assert_eq!(qname.trim_end_matches('.').to_lowercase(), bare, "{v:#}");
        assert_eq!(
            log_field(&v, "rcode").and_then(Value::as_str),
            Some("NXDOMAIN"),
            "{v:#}"
        );
        assert!(
            log_field(&v, "client")
                .and_then(Value::as_str)
                .is_some_and(|c| c.contains("127.0.0.1")),
            "{v:#}"
        );
    }
    // Exactly one line per query.
    let lines = json_lines(&p.stderr());
    for n in names {
        let bare = n.trim_end_matches('.');
        let count = lines
            .iter()
            .filter(|l| {
                log_field(l, "qname")
                    .and_then(Value::as_str)
                    .is_some_and(|q| q.trim_end_matches('.').eq_ignore_ascii_case(bare))
            })
            .count();
        assert_eq!(count, 1, "log lines for {n}:\n{}", p.stderr());
    }
}

#[test]
fn query_log_sample_one_logs_tcp_queries_too() {
    let p = Proc::example(
        &[],
        &["--admin", "off", "--query-log-sample", "1"],
        &[("GSLBD_LOG", "info")],
    );
    let r = tcp(p.dns, &query("logtcp.example.com.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        p.wait_stderr_line(|l| l.to_lowercase().contains("logtcp.example.com"))
            .is_some(),
        "no log line for a TCP query with --query-log-sample 1:\n{}",
        p.stderr()
    );
}

// ---------------------------------------------------------------------------------------------
// More: runt packets, file-triggered reloads, token details

#[test]
fn runt_packets_count_as_malformed_but_not_as_queries() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let before = scrape(admin);
    assert!(
        udp_raw(s.addr(), &[0x12, 0x34, 0x01]).is_none(),
        "no reply to a runt"
    );
    let after = scrape_until(admin, |m| m.must("gslbd_malformed_total", &[]) >= 1.0);
    assert_eq!(
        after.must("gslbd_malformed_total", &[]),
        1.0,
        "{}",
        after.text
    );
    assert_eq!(after.sum(QUERIES), before.sum(QUERIES), "{}", after.text);
    // The server still answers.
    let r = udp(s.addr(), &query("static.example.com.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
}

#[test]
fn file_change_reload_shows_in_status_and_metrics() {
    let zones = Zones::new();
    zones.zone("watch.test.", json!({ "www": { "A": ["192.0.2.1"] } }));
    let s = Server::start(zones.zones_dir(), zones.geo_dir(), &ADMIN);
    let admin = s.admin_addr();
    assert_eq!(status(admin)["generation"], 1);
    let text = zone_json(
        "watch.test.",
        3600,
        60,
        json!({ "www": { "A": ["192.0.2.2"] } }),
    )
    .replace("\"serial\": 1", "\"serial\": 2");
    std::fs::write(zones.zones_dir().join("watch.test.json"), text).unwrap();

    let deadline = Instant::now() + Duration::from_secs(5);
    let st = loop {
        let st = status(admin);
        if st["generation"] != 1 || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(st["generation"], 2, "{st:#}");
    assert_eq!(st["last_reload"]["ok"], true, "{st:#}");
    assert_eq!(st["zones"][0]["serial"], 2, "{st:#}");
    let m = scrape(admin);
    assert_eq!(m.must("gslbd_config_generation", &[]), 2.0);
    assert_eq!(m.must("gslbd_reloads_total", &[("result", "ok")]), 1.0);
    let r = udp(s.addr(), &query("www.watch.test.", RecordType::A));
    assert_eq!(addresses(&r), ips(&["192.0.2.2"]));
}

#[test]
fn admin_token_never_appears_in_logs_or_help() {
    let p = Proc::example(
        &[],
        &ADMIN,
        &[("GSLBD_ADMIN_TOKEN", TOKEN), ("GSLBD_LOG", "debug")],
    );
    let admin = p.admin();
    assert_eq!(
        http_request(admin, "POST", "/v1/reload", Some("wrong")).0,
        401
    );
    assert_eq!(
        http_request(admin, "POST", "/v1/reload", Some(TOKEN)).0,
        200
    );
    let drain = "/v1/targets/198.51.100.10/drain";
    assert_eq!(http_request(admin, "POST", drain, Some(TOKEN)).0, 200);
    p.wait_stderr_line(|l| l.contains("configuration reloaded"))
        .unwrap_or_else(|| panic!("GSLBD_LOG=debug shows reloads:\n{}", p.stderr()));
    assert!(
        !p.stderr().contains(TOKEN),
        "token in the log:\n{}",
        p.stderr()
    );

    let out = Command::new(bin())
        .args(["serve", "--help"])
        .env("GSLBD_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("run gslbd serve --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(!help.contains(TOKEN), "token shown by --help:\n{help}");
}

#[test]
fn bearer_token_with_extra_header_forms() {
    let s = example_admin(&["--admin-token", TOKEN]);
    let admin = s.admin_addr();
    // Not the Bearer scheme, or no credentials: refused.
    for h in [
        format!("Authorization: Basic {TOKEN}"),
        format!("Authorization: {TOKEN}"),
        "Authorization: Bearer".to_string(),
        "Authorization: Bearer ".to_string(),
        format!("X-Token: {TOKEN}"),
    ] {
        let (code, body) = http_with_headers(admin, "POST", "/v1/reload", &[&h]);
        assert_eq!(code, 401, "{h}: {body}");
    }
    assert_eq!(status(admin)["generation"], 1);
    let (code, body) = http_with_headers(
        admin,
        "POST",
        "/v1/reload",
        &[&format!("Authorization: Bearer {TOKEN}")],
    );
    assert_eq!(code, 200, "{body}");
}

#[test]
fn bearer_scheme_is_case_insensitive() {
    let s = example_admin(&["--admin-token", TOKEN]);
    for scheme in ["bearer", "BEARER"] {
        let h = format!("Authorization: {scheme} {TOKEN}");
        let (code, body) = http_with_headers(s.admin_addr(), "POST", "/v1/reload", &[&h]);
        assert_eq!(code, 200, "{h}: {body}");
    }
}

#[test]
fn drain_works_for_ipv6_targets() {
    let s = example_admin(&[]);
    let admin = s.admin_addr();
    let v6 = "2001:db8:e::10";
    let aaaa = || {
        let r = udp(
            s.addr(),
            &ecs_query("www.example.com.", RecordType::AAAA, EU_CLIENT),
        );
        addresses(&r)
    };
    assert_eq!(aaaa(), ips(&[v6]));
    for path in [
        format!("/v1/targets/{v6}/drain"),
        format!("/v1/targets/{}/drain", pct(v6)),
    ] {
        let (code, body) = s.http("POST", &path, None);
        assert_eq!(code, 200, "POST {path}: {body}");
        assert_eq!(parse_json(&body, "drain")["address"], v6, "{body}");
    }
    assert_eq!(target_state(&status(admin), v6), "drained");
    assert!(!aaaa().contains(&v6.parse::<IpAddr>().unwrap()));
    let (code, body) = s.http("POST", &format!("/v1/targets/{v6}/undrain"), None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(target_state(&status(admin), v6), "up");
    assert_eq!(aaaa(), ips(&[v6]));
}

#[test]
fn explain_endpoint_rejects_bad_names() {
    let s = example_admin(&[]);
    let long_label = "a".repeat(64);
    for name in [
        format!("{long_label}.example.com"),
        "a..example.com".to_string(),
    ] {
        let path = format!("/v1/explain?name={}&client=81.2.69.161", pct(&name));
        let (code, body) = s.http("GET", &path, None);
        assert_eq!(code, 400, "name {name:?}: {body}");
        assert!(parse_json(&body, "bad name")["error"].is_string(), "{body}");
    }
}
