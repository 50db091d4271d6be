//! Configuration validation (spec §1 `check`/`serve`, §3 zone files): every problem kind is
//! reported with its file and JSON path or line:column, all problems in one run, exit codes.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use gslbd::config::{self, Paths, Position, Problem};
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Loads through the library and returns the problems (the load must fail).
fn problems(z: &Zones) -> Vec<Problem> {
    match config::load(&Paths {
        zones: z.zones_dir().to_path_buf(),
        geo: z.geo_dir().to_path_buf(),
    }) {
        Ok(_) => panic!("the configuration must be rejected"),
        Err(p) => p.0,
    }
}

fn file_name(p: &Problem) -> String {
    p.file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn at_path<'a>(ps: &'a [Problem], file: &str, path: &str) -> &'a Problem {
    ps.iter()
        .find(|p| file_name(p) == file && p.position == Position::Path(path.to_string()))
        .unwrap_or_else(|| panic!("no problem in {file} at {path}: {ps:#?}"))
}

/// A full zone file text with a custom body (for syntax and type errors).
fn soa_text(minimum: bool) -> String {
    let min = if minimum { r#", "minimum": 60"# } else { "" };
    format!(
        r#"{{ "mname": "ns1.example.com.", "rname": "hostmaster.example.com.", "serial": 1,
           "refresh": 7200, "retry": 900, "expire": 1209600{min} }}"#
    )
}

// ---------------------------------------------------------------------------------------------
// A valid configuration

#[test]
fn check_accepts_the_shipped_example_and_prints_a_line_per_zone() {
    let geo = example_geo();
    let empty = tempfile::tempdir().unwrap();
    let geo = if geo.is_dir() {
        geo
    } else {
        empty.path().to_path_buf()
    };
    let o = check(&example_zones(), &geo);
    assert!(
        o.status.success(),
        "check on the shipped example must exit 0\nstdout:\n{}\nstderr:\n{}",
        stdout(&o),
        stderr(&o)
    );
    let text: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(example_zones().join("example.com.json")).unwrap(),
    )
    .unwrap();
    let serial = text["soa"]["serial"].as_u64().unwrap().to_string();
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("example.com."))
        .unwrap_or_else(|| panic!("no summary line for example.com.:\n{out}"));
    assert!(line.contains(&serial), "summary shows the serial: {line}");
}

#[test]
fn check_accepts_a_small_valid_zone_and_ignores_hidden_and_non_json_files() {
    let z = Zones::new();
    z.zone(
        "example.net.",
        json!({
            "www": { "A": ["192.0.2.1"], "AAAA": ["2001:db8::1"], "ttl": 60 },
            "alias": { "CNAME": "www" },
            "_sip._tcp": { "SRV": [ { "priority": 1, "weight": 1, "port": 5060,
                                      "target": "www.example.net." } ] },
            "@": { "NS": ["ns1.example.net."],
                   "MX": [ { "preference": 10, "exchange": "www" } ],
                   "TXT": ["hello"],
                   "CAA": [ { "flags": 0, "tag": "issue", "value": "ca.example" } ] },
        }),
    );
    // Editor temp files, Kubernetes `..data` and other files are not zones.
    z.file(".example.net.json.swp.json", "{ not json");
    z.file("..data.json", "{ not json");
    z.file("README.txt", "{ not json");
    let o = z.check();
    assert!(
        o.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        stdout(&o),
        stderr(&o)
    );
    let out = stdout(&o);
    assert!(
        out.lines().any(|l| l.starts_with("example.net.")),
        "summary line for example.net.:\n{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("example.")).count(),
        1,
        "exactly one zone:\n{out}"
    );
}

// ---------------------------------------------------------------------------------------------
// One problem kind at a time

#[test]
fn json_syntax_error_reports_file_line_and_column() {
    let z = Zones::new();
    // Line 3 lacks its comma: the parser stops at line 4, column 3.
    z.file(
        "example.com.json",
        "{\n  \"version\": 1,\n  \"origin\": \"example.com.\"\n  \"ttl\": 60\n}\n",
    );
    let err = check_fails(&z);
    let line = line_with(&err, "example.com.json:4:3:", &["expected `,` or `}`"]);
    assert!(line.contains("example.com.json:4:3: "), "{line}");
    let ps = problems(&z);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].position, Position::LineColumn(4, 3));
    assert!(ps[0].message.contains("expected `,` or `}`"), "{ps:#?}");
}

#[test]
fn json_syntax_error_message_has_no_placeholder_path() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        "{\n  \"version\": 1,\n  \"origin\": \"example.com.\"\n  \"ttl\": 60\n}\n",
    );
    let err = check_fails(&z);
    let line = line_with(&err, "example.com.json:4:3:", &[]);
    assert!(
        line.ends_with("example.com.json:4:3: expected `,` or `}`"),
        "{line}"
    );
}

#[test]
fn truncated_json_is_a_syntax_error() {
    let z = Zones::new();
    z.file("example.com.json", "{\n  \"version\": 1,\n");
    let err = check_fails(&z);
    line_with(&err, "example.com.json:3:", &["EOF"]);
}

#[test]
fn wrong_json_type_reports_path_and_position() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        &format!(
            r#"{{ "version": 1, "origin": "example.com.", "soa": {},
  "records": {{ "@": {{ "NS": ["ns1.example.com."] }},
               "www": {{ "A": "192.0.2.1" }} }} }}"#,
            soa_text(true)
        ),
    );
    let err = check_fails(&z);
    let line = line_with(&err, "example.com.json:4:", &["records.www.A", "sequence"]);
    assert!(line.contains("invalid type"), "{line}");
}

#[test]
fn bad_ipv4_and_ipv6_addresses_report_json_paths() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "www": { "A": ["192.0.2.1", "300.1.1.1"], "AAAA": ["2001:db8::1", "2001:db8::1::2"] },
            "v4in6": { "AAAA": ["192.0.2.1"] },
            "v6in4": { "A": ["2001:db8::1"] },
        }),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json",
        &["records.www.A[1]", "300.1.1.1", "not an IPv4 address"],
    );
    line_with(
        &err,
        "example.com.json",
        &[
            "records.www.AAAA[1]",
            "2001:db8::1::2",
            "not an IPv6 address",
        ],
    );
    line_with(
        &err,
        "example.com.json",
        &["records.v4in6.AAAA[0]", "not an IPv6 address"],
    );
    line_with(
        &err,
        "example.com.json",
        &["records.v6in4.A[0]", "not an IPv4 address"],
    );
    let ps = problems(&z);
    let p = at_path(&ps, "example.com.json", "records.www.A[1]");
    assert!(p.message.contains("`300.1.1.1`"), "{p:?}");
    // Displayed as `file: json.path: message`.
    assert!(
        p.to_string()
            .ends_with("example.com.json: records.www.A[1]: `300.1.1.1` is not an IPv4 address"),
        "{p}"
    );
}

#[test]
fn name_outside_the_zone() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "www.example.org.": { "A": ["192.0.2.1"] },
            "badexample.com.": { "A": ["192.0.2.2"] },
            "www.example.com.": { "A": ["192.0.2.3"] },
        }),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json",
        &["records.www.example.org.", "outside the zone"],
    );
    line_with(
        &err,
        "example.com.json",
        &["records.badexample.com.", "outside the zone"],
    );
    let ps = problems(&z);
    assert_eq!(
        ps.len(),
        2,
        "an absolute name inside the zone is fine: {ps:#?}"
    );
}

#[test]
fn cname_beside_other_data() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "docs": { "CNAME": "www", "A": ["192.0.2.1"] },
            "mail": { "CNAME": "www", "MX": [ { "preference": 1, "exchange": "www" } ] },
            "www": { "A": ["192.0.2.2"] },
        }),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json",
        &["records.docs", "CNAME", "no other"],
    );
    line_with(
        &err,
        "example.com.json",
        &["records.mail", "CNAME", "no other"],
    );
}

#[test]
fn cname_at_the_apex() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        &zone_json(
            "example.com.",
            3600,
            60,
            json!({ "@": { "CNAME": "www.example.org." } }),
        ),
    );
    let err = check_fails(&z);
    line_with(&err, "example.com.json", &["records.@", "apex"]);
}

#[test]
fn unknown_record_type() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({ "www": { "A": ["192.0.2.1"], "SPF": ["v=spf1 -all"] } }),
    );
    let err = check_fails(&z);
    let line = line_with(&err, "example.com.json:", &["SPF", "unknown field"]);
    assert!(line.contains("records.www"), "names the record: {line}");
    let ps = problems(&z);
    assert!(
        matches!(ps[0].position, Position::LineColumn(l, _) if l > 1),
        "{ps:#?}"
    );
}

#[test]
fn missing_soa_field() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        &format!(
            r#"{{ "version": 1, "origin": "example.com.",
  "soa": {},
  "records": {{ "@": {{ "NS": ["ns1.example.com."] }} }} }}"#,
            soa_text(false)
        ),
    );
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json:",
        &["soa", "missing field `minimum`"],
    );
}

#[test]
fn missing_soa_object() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        r#"{ "version": 1, "origin": "example.com.", "records": { "@": { "NS": ["ns1.example.com."] } } }"#,
    );
    let err = check_fails(&z);
    line_with(&err, "example.com.json:", &["missing field `soa`"]);
}

#[test]
fn duplicate_zone() {
    let z = Zones::new();
    // Two files whose names differ only in letter case, both for example.com.
    z.file(
        "example.com.json",
        &zone_json("example.com.", 3600, 60, json!({})),
    );
    z.file(
        "EXAMPLE.COM.json",
        &zone_json("Example.COM.", 3600, 60, json!({})),
    );
    let err = check_fails(&z);
    let line = line_with(&err, ".json", &["duplicate zone", "example.com."]);
    assert!(
        line.contains("example.com.json") && line.contains("EXAMPLE.COM.json"),
        "names both files: {line}"
    );
    let ps = problems(&z);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    assert_eq!(ps[0].position, Position::Path("origin".into()));
}

#[test]
fn file_name_must_match_origin() {
    let z = Zones::new();
    z.file(
        "example.org.json",
        &zone_json("example.com.", 3600, 60, json!({})),
    );
    z.file(
        "example.net.json.json",
        &zone_json("example.net.", 3600, 60, json!({})),
    );
    let err = check_fails(&z);
    let line = line_with(
        &err,
        "example.org.json",
        &["origin", "does not match the file name"],
    );
    assert!(
        line.contains("example.com.json"),
        "says what it expected: {line}"
    );
    line_with(
        &err,
        "example.net.json.json",
        &["origin", "does not match the file name"],
    );
}

#[test]
fn duplicate_json_keys() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        &format!(
            r#"{{ "version": 1, "origin": "example.com.", "soa": {},
  "records": {{
    "@": {{ "NS": ["ns1.example.com."] }},
    "www": {{ "A": ["192.0.2.1"] }},
    "www": {{ "A": ["192.0.2.2"] }}
  }} }}"#,
            soa_text(true)
        ),
    );
    z.file(
        "example.net.json",
        &format!(
            r#"{{ "version": 1, "origin": "example.net.", "soa": {},
  "records": {{
    "@": {{ "NS": ["ns1.example.net."] }},
    "www": {{ "A": ["192.0.2.1"], "A": ["192.0.2.2"] }}
  }} }}"#,
            soa_text(true)
        ),
    );
    let err = check_fails(&z);
    let line = line_with(&err, "example.com.json:", &["duplicate", "`www`"]);
    assert!(
        line.contains("example.com.json:6:") || line.contains("example.com.json:5:"),
        "points at the second key: {line}"
    );
    line_with(&err, "example.net.json:5:", &["duplicate", "`A`"]);
}

#[test]
fn same_name_spelled_twice() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "www": { "A": ["192.0.2.1"] },
            "WWW": { "A": ["192.0.2.2"] },
            "www.example.com.": { "A": ["192.0.2.3"] },
        }),
    );
    let err = check_fails(&z);
    let same: Vec<&str> = err.lines().filter(|l| l.contains("same name")).collect();
    assert_eq!(
        same.len(),
        2,
        "two of the three spellings are reported:\n{err}"
    );
    assert!(
        same.iter()
            .all(|l| l.contains("example.com.json: records.") && l.contains("www.example.com.")),
        "{same:#?}"
    );
}

#[test]
fn other_zone_problems() {
    let z = Zones::new();
    z.file(
        "example.com.json",
        &format!(
            r#"{{ "version": 2, "origin": "example.com.", "soa": {},
  "records": {{
    "www": {{ "TXT": ["x"], "NS": ["ns.example.org."] }},
    "bad..name": {{ "A": ["192.0.2.1"] }},
    "caa": {{ "CAA": [ {{ "flags": 0, "tag": "is sue", "value": "x" }} ] }},
    "empty": {{ }}
  }} }}"#,
            soa_text(true)
        ),
    );
    let err = check_fails(&z);
    line_with(&err, "example.com.json", &["version", "2"]);
    line_with(&err, "example.com.json", &["records.@", "NS"]);
    line_with(
        &err,
        "example.com.json",
        &["records.www:", "delegation", "TXT"],
    );
    line_with(&err, "example.com.json", &["records.bad..name"]);
    line_with(&err, "example.com.json", &["records.caa.CAA[0].tag"]);
    line_with(&err, "example.com.json", &["records.empty"]);
}

#[test]
fn gslb_pool_must_name_a_defined_region() {
    let z = Zones::new();
    let mut zone: serde_json::Value = serde_json::from_str(&zone_json(
        "example.com.",
        3600,
        60,
        json!({ "www": { "gslb": "web" } }),
    ))
    .unwrap();
    zone["gslb"] = json!({
        "web": { "pools": {
            "eurpoe": { "targets": ["192.0.2.1"] },
            "default": { "targets": ["192.0.2.2"] }
        } }
    });
    z.file("example.com.json", &zone.to_string());
    // Without a regions.json, the problem says there is none, where it was looked for.
    let err = check_fails(&z);
    let regions = z.geo_dir().join("regions.json");
    line_with(
        &err,
        "example.com.json",
        &[
            "gslb.web.pools.eurpoe",
            "`eurpoe` is not a region: there are no regions",
            &format!("{} does not exist (is --geo right?)", regions.display()),
        ],
    );
    // The record has a problem of its own: the name using it is not also "unknown".
    assert!(!err.contains("unknown gslb record"), "{err}");
    assert!(err.ends_with("1 problem found\n"), "{err:?}");
    // With one, the region is just not in it.
    std::fs::write(
        &regions,
        json!({ "version": 1, "regions": { "europe": [ { "networks": ["10.0.0.0/8"] } ] } })
            .to_string(),
    )
    .unwrap();
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json",
        &[
            "gslb.web.pools.eurpoe",
            "`eurpoe` is not a region defined in regions.json",
        ],
    );
}

#[test]
fn missing_zones_directory() {
    let geo = tempfile::tempdir().unwrap();
    let o = check(Path::new("/nonexistent/gslbd-zones"), geo.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("/nonexistent/gslbd-zones"),
        "{}",
        stderr(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Every problem, in one run

#[test]
fn several_problems_across_two_files_are_all_reported() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({
            "www": { "A": ["192.0.2.1", "300.1.1.1"] },
            "x.example.org.": { "A": ["192.0.2.1"] },
            "docs": { "CNAME": "www", "TXT": ["x"] },
        }),
    );
    z.zone(
        "example.net.",
        json!({
            "www": { "AAAA": ["not-an-address"] },
            "mail": { "A": ["192.0.2.256"] },
        }),
    );
    z.file(
        "example.org.json",
        "{\n  \"version\": 1,\n  \"origin\": \"example.org.\",,\n}\n",
    );
    let err = check_fails(&z);
    line_with(&err, "example.com.json", &["records.www.A[1]", "300.1.1.1"]);
    line_with(
        &err,
        "example.com.json",
        &["records.x.example.org.", "outside the zone"],
    );
    line_with(&err, "example.com.json", &["records.docs", "CNAME"]);
    line_with(
        &err,
        "example.net.json",
        &["records.www.AAAA[0]", "not-an-address"],
    );
    line_with(
        &err,
        "example.net.json",
        &["records.mail.A[0]", "192.0.2.256"],
    );
    line_with(&err, "example.org.json:3:", &[]);
    let ps = problems(&z);
    for (file, path) in [
        ("example.com.json", "records.www.A[1]"),
        ("example.com.json", "records.x.example.org."),
        ("example.com.json", "records.docs"),
        ("example.net.json", "records.www.AAAA[0]"),
        ("example.net.json", "records.mail.A[0]"),
    ] {
        at_path(&ps, file, path);
    }
    assert!(
        ps.iter().any(|p| file_name(p) == "example.org.json"
            && matches!(p.position, Position::LineColumn(3, _))),
        "{ps:#?}"
    );
    let files: std::collections::BTreeSet<String> = ps.iter().map(file_name).collect();
    assert_eq!(
        files.into_iter().collect::<Vec<_>>(),
        ["example.com.json", "example.net.json", "example.org.json"]
    );
}

#[test]
fn invalid_records_do_not_also_report_no_records_at_this_name() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({ "www": { "A": ["300.1.1.1"] }, "v6": { "AAAA": ["nope"] } }),
    );
    let ps = problems(&z);
    assert_eq!(
        ps.len(),
        2,
        "one problem per bad address, nothing else: {ps:#?}"
    );
    at_path(&ps, "example.com.json", "records.www.A[0]");
    at_path(&ps, "example.com.json", "records.v6.AAAA[0]");
}

// ---------------------------------------------------------------------------------------------
// serve refuses an invalid configuration

#[test]
fn serve_with_an_invalid_config_exits_1_and_prints_the_problems() {
    let z = Zones::new();
    z.zone(
        "example.com.",
        json!({ "www": { "A": ["300.1.1.1"] }, "docs": { "CNAME": "www", "A": ["192.0.2.1"] } }),
    );
    let mut child = Command::new(bin())
        .arg("serve")
        .arg("--zones")
        .arg(z.zones_dir())
        .arg("--geo")
        .arg(z.geo_dir())
        .args(["--listen", "127.0.0.1:0", "--admin", "off"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve with an invalid configuration did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    line_with(&err, "example.com.json", &["records.www.A[0]", "300.1.1.1"]);
    line_with(&err, "example.com.json", &["records.docs", "CNAME"]);
    assert!(
        !stdout(&o).contains("listening"),
        "must not start listening: {}",
        stdout(&o)
    );
}

#[test]
fn a_name_using_an_undefined_gslb_record_is_a_problem() {
    let z = Zones::new();
    z.zone("example.com.", json!({ "www": { "gslb": "nosuch" } }));
    let err = check_fails(&z);
    line_with(
        &err,
        "example.com.json",
        &["records.www.gslb", "unknown gslb record `nosuch`"],
    );
}
