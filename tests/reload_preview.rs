//! End-to-end tests of the reload preview (spec §11): `gslbd diff` on the shipped example
//! and an edited copy (text, `--json`, exit status, problems), agreement with `gslbd
//! explain` on both sides, and `POST /v1/reload?dry_run=1` on a running server, which
//! answers the same document and changes nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hickory_proto::rr::RecordType;
use serde_json::Value;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A copy of the shipped `zones/` and `geo/` (databases included) in a temp dir.
struct Copy {
    dir: tempfile::TempDir,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

impl Copy {
    fn of_example() -> Copy {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&example_zones(), &dir.path().join("zones"));
        copy_dir(&example_geo(), &dir.path().join("geo"));
        Copy { dir }
    }
    fn zones(&self) -> PathBuf {
        self.dir.path().join("zones")
    }
    fn geo(&self) -> PathBuf {
        self.dir.path().join("geo")
    }
    fn edit_json(&self, file: PathBuf, f: impl FnOnce(&mut Value)) {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(file, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    }

    /// The edit the tests preview: the `office` region shrinks from 10.0.0.0/8 to
    /// 10.0.0.0/9 and its pool gains an IPv6 target; `beta` joins the GSLB names, `long`
    /// (TXT) goes, `mail` gets another address and the SOA serial moves.
    fn edit(&self) {
        self.edit_json(self.geo().join("regions.json"), |r| {
            r["regions"]["office"][0]["networks"] = serde_json::json!(["10.0.0.0/9", "fd00::/8"]);
        });
        self.edit_json(self.zones().join("example.com.json"), |z| {
            let pools = &mut z["gslb"]["web"]["pools"];
            pools["office"]["targets"] = serde_json::json!(["10.1.0.10", "fd00::10"]);
            let records = z["records"].as_object_mut().unwrap();
            records.insert("beta".into(), serde_json::json!({ "gslb": "web" }));
            records.remove("long");
            records["mail"]["A"] = serde_json::json!(["192.0.2.26"]);
            z["soa"]["serial"] = serde_json::json!(2026112102);
        });
    }
}

/// What the edit changes, derived from it by hand: for every name using `web` (`*.cdn`,
/// `api`, `www`), A clients in 10.128.0.0/9 leave `office` for `default`; AAAA clients of
/// the remaining office networks (10.0.0.0/9 and fd00::/8, 2^56 /64s) had no office IPv6
/// target, so got `default`, and now get `office`.
const EXPECTED: &str = "\
*.cdn.example.com. A 10.128.0.0/9 (8388608 addresses) office → default
*.cdn.example.com. AAAA 10.0.0.0/9 (8388608 addresses) default → office
*.cdn.example.com. AAAA fd00::/8 (72057594037927936 /64s) default → office
api.example.com. A 10.128.0.0/9 (8388608 addresses) office → default
api.example.com. AAAA 10.0.0.0/9 (8388608 addresses) default → office
api.example.com. AAAA fd00::/8 (72057594037927936 /64s) default → office
edge.example.com. A 10.128.0.0/9 (8388608 addresses) office → default
www.example.com. A 10.128.0.0/9 (8388608 addresses) office → default
www.example.com. AAAA 10.0.0.0/9 (8388608 addresses) default → office
www.example.com. AAAA fd00::/8 (72057594037927936 /64s) default → office
*.cdn.example.com. AAAA changed (pool office targets [] → [fd00::10])
api.example.com. AAAA changed (pool office targets [] → [fd00::10])
beta.example.com. A added (gslb web)
beta.example.com. AAAA added (gslb web)
example.com. SOA changed
long.example.com. TXT removed
mail.example.com. A changed
www.example.com. AAAA changed (pool office targets [] → [fd00::10])
summary: 10 ranges move for 7 names/types (58720256 IPv4 addresses, 216172782113783808 IPv6 /64s); 2 names/types added, 1 removed, 5 changed
";

/// `gslbd diff --zones NEW --geo NEWGEO --against-zones OLD --against-geo OLDGEO [extra]`.
fn diff(new: (&Path, &Path), old: (&Path, &Path), extra: &[&str]) -> Output {
    Command::new(bin())
        .arg("diff")
        .arg("--zones")
        .arg(new.0)
        .arg("--geo")
        .arg(new.1)
        .arg("--against-zones")
        .arg(old.0)
        .arg("--against-geo")
        .arg(old.1)
        .args(extra)
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd diff")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// `gslbd explain NAME TYPE --client C --json`'s answering pool on a configuration.
fn explained_pool(zones: &Path, geo: &Path, name: &str, rtype: &str, client: &str) -> Value {
    let out = Command::new(bin())
        .args([
            "explain", name, rtype, "--client", client, "--json", "--zones",
        ])
        .arg(zones)
        .arg("--geo")
        .arg(geo)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pools = v["gslb"]["pools"].as_array().cloned().unwrap_or_default();
    pools
        .iter()
        .find(|p| p["outcome"] == "chosen")
        .map(|p| p["pool"].clone())
        .unwrap_or(Value::Null)
}

// ---------------------------------------------------------------------------------------------
// gslbd diff

#[test]
fn the_same_configuration_has_no_changes_and_exits_0() {
    let c = Copy::of_example();
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "no changes: every client keeps its pool; no name is added, removed or changed\n"
    );
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed"], false);
    assert_eq!(v["totals"]["ipv4_addresses"], 0);
    assert_eq!(v["totals"]["ipv6_addresses"], "0");
}

#[test]
fn an_edit_of_the_example_lists_every_move_and_name_and_exits_1() {
    let c = Copy::of_example();
    c.edit();
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), EXPECTED);
}

#[test]
fn the_json_preview_counts_addresses_for_ci() {
    let c = Copy::of_example();
    c.edit();
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &["--json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed"], true);
    let t = &v["totals"];
    // web's three names move both ways; edge (whose office pool has no IPv6) one way.
    assert_eq!(t["ranges"], 10);
    assert_eq!(t["ipv4_addresses"], (3 * 2 + 1) * 8388608u64);
    assert_eq!(t["ipv6_slash64s"], 3 * (1u64 << 56));
    assert_eq!(t["ipv6_addresses"], (3u128 << 120).to_string());
    assert_eq!(
        (
            &t["names_moved"],
            &t["names_added"],
            &t["names_removed"],
            &t["names_changed"]
        ),
        (&7.into(), &2.into(), &1.into(), &5.into())
    );
    let www_a = v["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "www.example.com." && p["type"] == "A")
        .expect("www A moves");
    assert_eq!(www_a["record"], "web");
    assert_eq!(
        www_a["ranges"],
        serde_json::json!([{
            "family": "ipv4", "start": "10.128.0.0", "end": "10.255.255.255",
            "cidrs": ["10.128.0.0/9"], "from": "office", "to": "default",
            "ranges": 1, "ipv4_addresses": 8388608, "ipv6_addresses": "0", "ipv6_slash64s": 0
        }])
    );
    assert_eq!(
        v["names"][2],
        serde_json::json!({ "name": "beta.example.com.", "type": "A", "change": "added",
                            "detail": ["gslb web"] })
    );
}

#[test]
fn explain_agrees_with_the_preview_on_both_sides() {
    let c = Copy::of_example();
    c.edit();
    let old = (example_zones(), example_geo());
    let new = (c.zones(), c.geo());
    // (type, client, pool before, pool after): inside and just outside the moved ranges.
    for (rtype, client, before, after) in [
        ("A", "10.200.0.1", "office", "default"),
        ("A", "10.128.0.0", "office", "default"),
        ("A", "10.127.255.255", "office", "office"),
        ("A", "11.0.0.0", "default", "default"),
        ("AAAA", "10.0.0.1", "default", "office"),
        ("AAAA", "10.128.0.0", "default", "default"),
        ("AAAA", "fd12::1", "default", "office"),
        ("AAAA", "fe00::", "default", "default"),
    ] {
        assert_eq!(
            explained_pool(&old.0, &old.1, "www.example.com", rtype, client),
            before,
            "{rtype} {client} before"
        );
        assert_eq!(
            explained_pool(&new.0, &new.1, "www.example.com", rtype, client),
            after,
            "{rtype} {client} after"
        );
    }
}

#[test]
fn a_configuration_with_problems_is_reported_as_check_does_with_exit_2() {
    let c = Copy::of_example();
    c.edit_json(c.zones().join("example.com.json"), |z| {
        z["gslb"]["web"]["pools"]["europe"]["fallback"] = serde_json::json!(["nowhere"]);
    });
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    let checked = check(&c.zones(), &c.geo());
    assert_eq!(checked.status.code(), Some(1));
    // Every problem line `check` prints, `diff` prints.
    for line in text(&checked.stderr).lines() {
        assert!(err.contains(line), "missing {line:?} in:\n{err}");
    }
    assert!(err.contains("example.com.json"), "{err}");
    assert!(err.contains("to compare (--zones"), "{err}");
    // The same configuration as the one compared against.
    let out = diff(
        (&example_zones(), &example_geo()),
        (&c.zones(), &c.geo()),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("to compare against"));
}

// ---------------------------------------------------------------------------------------------
// POST /v1/reload?dry_run=1

const TOKEN: &str = "s3cret";

fn json_of(code_body: (u16, String), code: u16) -> Value {
    assert_eq!(code_body.0, code, "{}", code_body.1);
    serde_json::from_str(&code_body.1).unwrap_or_else(|e| panic!("{e}: {}", code_body.1))
}

/// The addresses a client in `client` gets for www.
fn www(s: &Server, rtype: RecordType, client: &str) -> Vec<std::net::IpAddr> {
    let mut a = answer_addresses(&udp(
        s.addr(),
        &with_ecs(query("www.example.com.", rtype), client, 32),
    ));
    a.sort();
    a
}

#[test]
fn dry_run_previews_against_the_running_configuration_and_changes_nothing() {
    let c = Copy::of_example();
    let s = Server::start(
        &c.zones(),
        &c.geo(),
        &[
            "--admin",
            "127.0.0.1:0",
            "--admin-token",
            TOKEN,
            "--no-watch",
        ],
    );
    let office: Vec<std::net::IpAddr> = vec!["10.1.0.10".parse().unwrap()];
    assert_eq!(www(&s, RecordType::A, "10.200.0.1"), office);

    // Nothing edited yet: nothing to change.
    let v = json_of(s.http("POST", "/v1/reload?dry_run=1", Some(TOKEN)), 200);
    assert_eq!(v["changed"], false, "{v:#}");

    c.edit();
    // The same bearer-token rule as a reload.
    let (code, body) = s.http("POST", "/v1/reload?dry_run=1", None);
    assert_eq!(code, 401, "{body}");
    let v = json_of(s.http("POST", "/v1/reload?dry_run=1", Some(TOKEN)), 200);
    // The same document as `gslbd diff --json` of the files against what runs.
    let out = diff(
        (&c.zones(), &c.geo()),
        (&example_zones(), &example_geo()),
        &["--json"],
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, cli);
    assert_eq!(v["totals"]["ipv4_addresses"], (3 * 2 + 1) * 8388608u64);

    // Nothing applied: same generation, same serial, same answers.
    let st = json_of(s.http("GET", "/v1/status", None), 200);
    assert_eq!(st["generation"], 1, "{st:#}");
    assert_eq!(st["zones"][0]["serial"], 2026112101u64, "{st:#}");
    assert!(
        st["last_reload"].is_null(),
        "a dry run is no reload attempt: {st:#}"
    );
    assert_eq!(www(&s, RecordType::A, "10.200.0.1"), office);

    // A dry run of a broken configuration lists its problems as a reload would.
    let zone = c.zones().join("example.com.json");
    let good = std::fs::read_to_string(&zone).unwrap();
    std::fs::write(&zone, "{ not json").unwrap();
    let v = json_of(s.http("POST", "/v1/reload?dry_run=1", Some(TOKEN)), 422);
    assert_eq!(v["ok"], false);
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("example.com.json"),
        "{v:#}"
    );
    std::fs::write(&zone, good).unwrap();
    let (code, body) = s.http("POST", "/v1/reload?dry_run=maybe", Some(TOKEN));
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        json_of(s.http("GET", "/v1/status", None), 200)["generation"],
        1
    );

    // The real reload then does what the preview said.
    let r = json_of(s.http("POST", "/v1/reload", Some(TOKEN)), 200);
    assert_eq!(r["generation"], 2);
    assert_eq!(
        www(&s, RecordType::A, "10.200.0.1"),
        vec![
            "192.0.2.10".parse::<std::net::IpAddr>().unwrap(),
            "192.0.2.11".parse().unwrap()
        ]
    );
    assert_eq!(
        www(&s, RecordType::AAAA, "10.0.0.1"),
        vec!["fd00::10".parse::<std::net::IpAddr>().unwrap()]
    );
    let v = json_of(s.http("POST", "/v1/reload?dry_run=1", Some(TOKEN)), 200);
    assert_eq!(v["changed"], false, "{v:#}");
}
