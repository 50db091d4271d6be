//! End-to-end tests of `gslbd import` (spec §8 "Import"): the corpus under
//! `tests/import/corpus` through the built binary, checked field by field, with its exit
//! codes and the exact problem lines on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gslbd")
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/import/corpus")
        .join(name)
}

/// Runs `gslbd import ARGS` from the repository root.
fn import(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("import")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run gslbd import")
}

fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The JSON of a successful import, and its text.
fn imported(args: &[&str]) -> (Value, String, Output) {
    let out = import(args);
    assert!(
        out.status.success(),
        "gslbd import {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).expect("UTF-8 JSON");
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    (v, text, out)
}

/// The record keys in the order the text lists them (serde_json's map sorts them).
fn key_order(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("    \"")?.strip_suffix("\": {"))
        .map(|k| serde_json::from_str::<String>(&format!("\"{k}\"")).unwrap())
        .collect()
}

const EXAMPLE: &str = "tests/import/corpus/example.com.zone";

#[test]
fn example_zone_header_soa_and_apex() {
    let (v, _, _) = imported(&[EXAMPLE]);
    assert_eq!(v["version"], 1);
    assert_eq!(v["origin"], "example.com.");
    // The zone TTL is the SOA's ($TTL 1h on the SOA line, which has none of its own).
    assert_eq!(v["ttl"], 3600);
    assert_eq!(
        v["soa"],
        json!({ "mname": "ns1.example.com.", "rname": "hostmaster.example.com.",
                "serial": 2026112101u32, "refresh": 7200, "retry": 900, "expire": 1209600,
                "minimum": 60 })
    );
    let apex = &v["records"]["@"];
    assert_eq!(apex["NS"], json!(["ns1.example.com.", "ns2.example.com."]));
    assert_eq!(
        apex["MX"],
        json!([{ "preference": 10, "exchange": "mail.example.com." },
               { "preference": 20, "exchange": "mail2.example.net." }])
    );
    // TTL before class and class before TTL both give the MX RRset 86400, an exception to
    // the apex's TTL (the zone's).
    assert_eq!(apex["ttls"], json!({ "MX": 86400 }));
    assert!(apex.get("ttl").is_none());
    assert_eq!(apex["TXT"], json!(["v=spf1 mx -all"]));
    assert_eq!(
        apex["CAA"],
        json!([{ "flags": 0, "tag": "issue", "value": "letsencrypt.org" },
               { "flags": 128, "tag": "iodef", "value": "mailto:security@example.com" }])
    );
    assert!(apex.get("SOA").is_none(), "the SOA is only in `soa`");
}

#[test]
fn example_zone_names_types_and_ttls() {
    let (v, _, _) = imported(&[EXAMPLE]);
    let r = &v["records"];
    // The owner carries over to the indented line; AAAA comes out in its short form.
    assert_eq!(
        r["ns1"],
        json!({ "A": ["192.0.2.53"], "AAAA": ["2001:db8::53"] })
    );
    assert_eq!(r["ns2"], json!({ "ttl": 300, "A": ["198.51.100.53"] }));
    // The duplicate A is dropped; the AAAA's own TTL is an exception.
    assert_eq!(
        r["mail"],
        json!({ "A": ["192.0.2.25", "192.0.2.26"], "AAAA": ["2001:db8::25"],
                "ttls": { "AAAA": 600 } })
    );
    assert_eq!(r["www"], json!({ "CNAME": "example.com." }));
    assert_eq!(r["docs"], json!({ "CNAME": "www.example.com." }));
    assert_eq!(r["a\\.b"], json!({ "A": ["192.0.2.80"] }));
    assert_eq!(r["*"], json!({ "A": ["192.0.2.90"] }));
    assert_eq!(
        r["*.cdn"],
        json!({ "ttl": 300, "A": ["192.0.2.91", "192.0.2.92"] })
    );
    assert_eq!(
        r["_sip._udp"]["SRV"],
        json!([{ "priority": 10, "weight": 5, "port": 5060, "target": "sip.example.com." }])
    );
    assert_eq!(r["_sip._tcp"]["SRV"][0]["target"], ".");
    assert_eq!(
        r["nomail"]["MX"],
        json!([{ "preference": 0, "exchange": "." }])
    );
    assert_eq!(r["ptr"]["PTR"], json!(["www.example.com."]));
    // RRset TTLs that differ: the smaller one.
    assert_eq!(
        r["mixed"],
        json!({ "ttl": 300, "A": ["192.0.2.120", "192.0.2.121"] })
    );
}

#[test]
fn example_zone_txt_strings_and_escapes() {
    let (v, _, _) = imported(&[EXAMPLE]);
    assert_eq!(
        v["records"]["texts"]["TXT"],
        json!([
            ["several", "strings in", "one record"],
            "quote \" backslash \\ semicolon ; and ;",
            ["café", "unquoted space"],
            ["a string that goes on", "over two lines"],
            ""
        ])
    );
    // 255 bytes and a second string: an array, as a single 259-byte string would be split
    // 255 + 4 by the server too, but only the array says it.
    let long = &v["records"]["long"]["TXT"][0];
    assert_eq!(long[0].as_str().unwrap(), "x".repeat(255));
    assert_eq!(long[1], "tail");
    assert_eq!(long.as_array().unwrap().len(), 2);
}

#[test]
fn example_zone_delegation_glue_and_ds() {
    let (v, _, _) = imported(&[EXAMPLE]);
    let r = &v["records"];
    assert_eq!(
        r["sub"],
        json!({
            "ttl": 172800,
            "NS": ["ns1.sub.example.com.", "ns.example.net."],
            "DS": [
                { "key_tag": 60485, "algorithm": 5, "digest_type": 1,
                  "digest": "2BB183AF5F22588179A53B0A98631FAD1A292118" },
                { "key_tag": 12345, "algorithm": 13, "digest_type": 2,
                  "digest": "2BB183AF5F22588179A53B0A98631FAD1A2921182BB183AF5F22588179A53B0A" }
            ]
        })
    );
    assert_eq!(r["ns1.sub"], json!({ "ttl": 172800, "A": ["192.0.2.153"] }));
}

#[test]
fn example_zone_origin_ttl_and_include_directives() {
    let (v, _, _) = imported(&[EXAMPLE]);
    let r = &v["records"];
    // $TTL 2D and $ORIGIN lab.example.com. mid-file.
    assert_eq!(r["host1.lab"], json!({ "ttl": 172800, "A": ["10.0.0.1"] }));
    // $INCLUDE with an origin: names in the included file are relative to it, and a
    // $ORIGIN there ends with the file.
    assert_eq!(r["hosts"], json!({ "ttl": 172800, "TXT": ["the hosts"] }));
    assert_eq!(r["alpha.hosts"]["A"], json!(["192.0.2.101"]));
    assert_eq!(r["beta.hosts"]["A"], json!(["192.0.2.102"]));
    assert_eq!(r["gamma.deep"]["A"], json!(["192.0.2.103"]));
    // After it: the origin and the owner before the $INCLUDE are back.
    assert_eq!(r["back.lab"]["A"], json!(["10.0.0.4"]));
    assert_eq!(
        r["host2.lab"],
        json!({ "ttl": 30, "A": ["10.0.0.2", "10.0.0.3"] })
    );
    // $INCLUDE without an origin goes on with the current one.
    assert_eq!(
        r["smtp.lab"],
        json!({ "ttl": 300, "MX": [{ "preference": 10, "exchange": "mail.example.com." }] })
    );
    assert_eq!(
        r["imap.lab"],
        json!({ "ttl": 172800, "CNAME": "mail.example.com." })
    );
    assert_eq!(r.as_object().unwrap().len(), 27);
}

#[test]
fn output_is_ordered_stable_and_warns_on_stderr() {
    let (_, text, out) = imported(&[EXAMPLE]);
    let keys = key_order(&text);
    assert_eq!(
        keys,
        [
            "@",
            "*",
            "_sip._tcp",
            "_sip._udp",
            "a\\.b",
            "*.cdn",
            "gamma.deep",
            "docs",
            "hosts",
            "alpha.hosts",
            "beta.hosts",
            "back.lab",
            "host1.lab",
            "host2.lab",
            "imap.lab",
            "smtp.lab",
            "long",
            "mail",
            "mixed",
            "nomail",
            "ns1",
            "ns2",
            "ptr",
            "sub",
            "ns1.sub",
            "texts",
            "www"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
    );
    let (_, again, _) = imported(&[EXAMPLE]);
    assert_eq!(text, again, "the same file gives the same bytes");
    assert!(text.ends_with("}\n"));
    assert_eq!(
        stderr_lines(&out),
        [
            "tests/import/corpus/example.com.zone:60: TTL 600 differs from the TTL 300 of the \
          mixed.example.com. A RRset (line 59); the RRset gets 300, the smaller (RFC 2181 §5.2)"
        ]
    );
}

#[test]
fn origin_from_the_file_name_or_the_option_and_the_last_stated_ttl() {
    let file = corpus("2.0.192.in-addr.arpa.zone");
    let (v, text, _) = imported(&[file.to_str().unwrap()]);
    assert_eq!(v["origin"], "2.0.192.in-addr.arpa.");
    assert_eq!(v["ttl"], 86400);
    let r = &v["records"];
    assert_eq!(r["@"], json!({ "NS": ["ns1.example.com."] }));
    // No $TTL: each record takes the last TTL written before it.
    assert_eq!(r["1"], json!({ "PTR": ["host1.example.com."] }));
    assert_eq!(
        r["2"],
        json!({ "ttl": 3600, "PTR": ["host2.example.com."] })
    );
    assert_eq!(
        r["25"],
        json!({ "ttl": 3600, "PTR": ["mail.example.com."] })
    );

    // Under a name that says nothing, the origin must be given.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("zonefile");
    std::fs::copy(&file, &plain).unwrap();
    let out = import(&[plain.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_lines(&out);
    assert!(
        err[0].ends_with("zonefile:3:1: `@` needs an origin ($ORIGIN or --origin)"),
        "{err:?}"
    );
    assert!(out.stdout.is_empty());
    let (_, with_option, _) =
        imported(&[plain.to_str().unwrap(), "--origin", "2.0.192.in-addr.arpa"]);
    assert_eq!(with_option, text);

    // An --origin that is not where the SOA is (the file sets its own $ORIGIN).
    let out = import(&[EXAMPLE, "--origin", "example.org."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr_lines(&out),
        [
            format!(
                "{EXAMPLE}: the SOA is at `example.com.`, not at the origin `example.org.` \
                 given with --origin"
            ),
            "1 problem found".to_string(),
        ],
        "one problem, and no TTL warnings when the import fails"
    );
}

const UNSUPPORTED: &str = "tests/import/corpus/unsupported.example.zone";

#[test]
fn unsupported_records_are_listed_by_line_and_fail() {
    let out = import(&[UNSUPPORTED]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no JSON when records are left out");
    let f = UNSUPPORTED;
    assert_eq!(
        stderr_lines(&out),
        [
            format!("{f}:7: HINFO records cannot be expressed in gslbd zone JSON"),
            format!("{f}:9: SSHFP records cannot be expressed in gslbd zone JSON"),
            format!("{f}:10: TLSA records cannot be expressed in gslbd zone JSON"),
            format!("{f}:12: NAPTR records cannot be expressed in gslbd zone JSON"),
            format!("{f}:13: class CH cannot be expressed (gslbd serves class IN only)"),
            format!("{f}:14: `www.example.org.` is outside the zone `unsupported.example.`"),
            format!("{f}:15: TXT data that is not UTF-8 cannot be written in JSON"),
            format!(
                "{f}:16: $GENERATE cannot be expressed; expand it first (named-compilezone -o - \
                 ZONE FILE prints the expanded records)"
            ),
            format!(
                "{f}:19: A records at the delegation `sub.unsupported.example.` are hidden by \
                 the zone cut; only NS and DS may be there"
            ),
            "9 problems found".to_string(),
        ]
    );
}

#[test]
fn skip_unsupported_warns_and_writes_the_rest() {
    let (v, _, out) = imported(&[UNSUPPORTED, "--skip-unsupported"]);
    let err = stderr_lines(&out);
    assert_eq!(err.len(), 9, "{err:?}");
    assert_eq!(
        err[0],
        format!("{UNSUPPORTED}:7: skipped: HINFO records cannot be expressed in gslbd zone JSON")
    );
    assert!(err.iter().all(|l| l.contains(": skipped: ")), "{err:?}");
    let r = v["records"].as_object().unwrap();
    let mut keys: Vec<&str> = r.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["@", "ns.sub", "ns1", "pc", "sub"]);
    assert_eq!(r["pc"], json!({ "A": ["192.0.2.7"] }));
    assert_eq!(r["sub"], json!({ "NS": ["ns.sub.unsupported.example."] }));
    assert_eq!(r["ns.sub"], json!({ "A": ["192.0.2.9"] }));
}

#[test]
fn syntax_errors_have_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.example.zone");
    std::fs::write(
        &file,
        "$TTL 300\n\
         @ SOA ns1 host ( 1 2 3 4 5 )\n\
         \x20 NS ns1\n\
         ns1 A 192.0.2.300\n\
         mx MX ten mail\n\
         t TXT \"never closed\n",
    )
    .unwrap();
    let out = import(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let f = file.display();
    // The lexer stops at the unterminated quote; what came before is all reported.
    assert_eq!(
        stderr_lines(&out),
        [
            format!("{f}:6:7: quoted string is not closed on its line"),
            "1 problem found".to_string(),
        ]
    );
    std::fs::write(
        &file,
        "$TTL 300\n\
         @ SOA ns1 host ( 1 2 3 4 5 )\n\
         \x20 NS ns1\n\
         ns1 A 192.0.2.300\n\
         mx MX ten mail\n\
         srv SRV 1 2 3\n",
    )
    .unwrap();
    let out = import(&[file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr_lines(&out),
        [
            format!("{f}:4:7: `192.0.2.300` is not an IPv4 address"),
            format!("{f}:5:7: `ten` is not an MX preference"),
            format!("{f}:6:14: missing an SRV target"),
            "3 problems found".to_string(),
        ]
    );
}

#[test]
fn a_missing_file_and_the_usage_text() {
    let out = import(&["tests/import/corpus/nope.zone"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read tests/import/corpus/nope.zone"),
        "{err}"
    );

    let out = Command::new(bin())
        .args(["import", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--skip-unsupported"), "{help}");
    assert!(
        help.contains("<origin without the final dot>.json"),
        "{help}"
    );
}

#[test]
fn check_accepts_every_imported_corpus_zone() {
    // Everything the importer writes (DS, per-type `ttls`, TXT arrays, wildcards,
    // delegations with glue) loads as it is, from a file named after the origin.
    let dir = tempfile::tempdir().unwrap();
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    for args in [
        &[EXAMPLE][..],
        &["tests/import/corpus/2.0.192.in-addr.arpa.zone"],
        &["tests/import/corpus/roundtrip.example.zone"],
        &[UNSUPPORTED, "--skip-unsupported"],
    ] {
        let (v, text, _) = imported(args);
        let origin = v["origin"].as_str().unwrap().trim_end_matches('.');
        std::fs::write(zones.join(format!("{origin}.json")), text).unwrap();
    }
    let out = Command::new(bin())
        .arg("check")
        .arg("--zones")
        .arg(&zones)
        .arg("--geo")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("geo"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for zone in [
        "example.com.: 27 names, serial 2026112101",
        "2.0.192.in-addr.arpa.: 4 names, serial 7",
        "roundtrip.example.: 26 names, serial 2026120501",
        "unsupported.example.: 5 names, serial 1",
    ] {
        assert!(stdout.contains(zone), "{zone} in {stdout}");
    }
    assert!(stdout.contains("configuration OK: 4 zones"), "{stdout}");
}

#[test]
fn the_readme_example_is_what_import_prints() {
    let (_, text, out) = imported(&["examples/example.com.zone", "--skip-unsupported"]);
    assert_eq!(
        stderr_lines(&out),
        [
            "examples/example.com.zone:30: skipped: HINFO records cannot be expressed in gslbd \
             zone JSON"
        ]
    );
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &readme[readme
        .find("## Importing a zone file")
        .expect("README section")..];
    let start = section.find("```json\n").expect("a JSON block") + "```json\n".len();
    let end = start + section[start..].find("```").unwrap();
    assert_eq!(&section[start..end], text, "README shows another output");
    assert!(section.contains(
        "examples/example.com.zone:30: HINFO records cannot be expressed in gslbd zone JSON\n\
         1 problem found"
    ));
    let out = import(&["examples/example.com.zone"]);
    assert_eq!(out.status.code(), Some(1));
}
