//! Names and types added, removed and changed, static and GSLB.

use serde_json::json;

use super::super::{compare, render, Change, NameChange};
use crate::config::{self, Paths};
use crate::geo::testdb::TempDir;
use crate::snapshot::Snapshot;

/// Loads a configuration of the zone `t.test.` with `records` and the GSLB records `gslb`,
/// no regions.
fn load(dir: &TempDir, records: serde_json::Value, gslb: serde_json::Value) -> Snapshot {
    let (zones, geo) = (dir.join("zones"), dir.join("geo"));
    std::fs::create_dir_all(&zones).unwrap();
    std::fs::create_dir_all(&geo).unwrap();
    std::fs::write(geo.join("regions.json"), r#"{"version":1,"regions":{}}"#).unwrap();
    let zone = json!({
        "version": 1, "origin": "t.test.", "ttl": 3600,
        "soa": { "mname": "ns.t.test.", "rname": "h.t.test.", "serial": 1, "refresh": 1,
                 "retry": 1, "expire": 1, "minimum": 1 },
        "records": records,
        "gslb": gslb,
    });
    std::fs::write(zones.join("t.test.json"), zone.to_string()).unwrap();
    let paths = Paths { zones, geo };
    let snapshot = config::load(&paths).unwrap_or_else(|p| panic!("{p}"));
    config::testing::assert_files_match_schema(&paths);
    snapshot
}

fn web(ttl: u32, targets: serde_json::Value) -> serde_json::Value {
    json!({ "web": { "ttl": ttl, "pools": { "default": { "targets": targets } } } })
}

fn change(name: &str, rtype: &str, change: Change, detail: &[&str]) -> NameChange {
    NameChange {
        name: name.into(),
        rtype: rtype.into(),
        change,
        detail: detail.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn names_added_removed_and_changed_one_line_each() {
    let (a, b) = (
        TempDir::new("names-old").unwrap(),
        TempDir::new("names-new").unwrap(),
    );
    let old = load(
        &a,
        json!({
            "@": { "NS": ["ns.t.test."] },
            "ns": { "A": ["192.0.2.1"] },
            "mail": { "A": ["192.0.2.25"], "MX": [ { "preference": 10, "exchange": "mail.t.test." } ] },
            "long": { "TXT": ["hello"] },
            "docs": { "CNAME": "www.t.test." },
            "www": { "gslb": "web" },
        }),
        web(30, json!(["192.0.2.10", "2001:db8::10"])),
    );
    let new = load(
        &b,
        json!({
            "@": { "NS": ["ns.t.test."] },
            // Only the TTL differs: a change.
            "ns": { "A": ["192.0.2.1"], "ttl": 60 },
            "mail": { "A": ["192.0.2.26"], "MX": [ { "preference": 10, "exchange": "mail.t.test." } ] },
            "docs": { "gslb": "web" },
            "www": { "gslb": "web" },
            "beta": { "gslb": "web" },
        }),
        web(30, json!(["192.0.2.10", "2001:db8::11"])),
    );
    let p = compare(&old, &new);
    let targets = "pool default targets [2001:db8::10] → [2001:db8::11]";
    assert_eq!(
        p.names,
        vec![
            change("beta.t.test.", "A", Change::Added, &["gslb web"]),
            change("beta.t.test.", "AAAA", Change::Added, &["gslb web"]),
            change("docs.t.test.", "A", Change::Added, &["gslb web"]),
            change("docs.t.test.", "CNAME", Change::Removed, &[]),
            change("docs.t.test.", "AAAA", Change::Added, &["gslb web"]),
            change("long.t.test.", "TXT", Change::Removed, &[]),
            change("mail.t.test.", "A", Change::Changed, &[]),
            change("ns.t.test.", "A", Change::Changed, &[]),
            change("www.t.test.", "AAAA", Change::Changed, &[targets]),
        ]
    );
    // Without regions every client has one pool: no ranges move.
    assert!(p.pools.is_empty());
    assert_eq!(
        (
            p.totals.names_added,
            p.totals.names_removed,
            p.totals.names_changed
        ),
        (4, 2, 3)
    );
    let text = render::text(&p);
    assert!(text.contains("\nlong.t.test. TXT removed\n"), "{text}");
    assert!(
        text.contains(&format!("\nwww.t.test. AAAA changed ({targets})\n")),
        "{text}"
    );
    assert!(
        text.ends_with("summary: 0 ranges move for 0 names/types (0 IPv4 addresses, 0 IPv6 /64s); 4 names/types added, 2 removed, 3 changed\n"),
        "{text}"
    );
    // The same configuration twice: nothing.
    let same = compare(&old, &old);
    assert!(!same.changed);
    assert!(render::text(&same).starts_with("no changes"));
}

#[test]
fn a_name_turning_from_static_to_gslb_says_so() {
    let (a, b) = (
        TempDir::new("names-old").unwrap(),
        TempDir::new("names-new").unwrap(),
    );
    let old = load(
        &a,
        json!({ "@": { "NS": ["ns.t.test."] }, "ns": { "A": ["192.0.2.1"] }, "app": { "A": ["192.0.2.9"] } }),
        web(30, json!(["192.0.2.10"])),
    );
    let new = load(
        &b,
        json!({ "@": { "NS": ["ns.t.test."] }, "ns": { "A": ["192.0.2.1"] }, "app": { "gslb": "web" } }),
        web(60, json!(["192.0.2.10"])),
    );
    let p = compare(&old, &new);
    assert_eq!(
        p.names,
        vec![
            change("app.t.test.", "A", Change::Changed, &["static → gslb web"]),
            change("app.t.test.", "AAAA", Change::Added, &["gslb web"]),
        ]
    );
}
