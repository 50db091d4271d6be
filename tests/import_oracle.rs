//! `gslbd import` against independent zone file parsers: BIND's `named-compilezone` (Debian
//! bind9-utils) and ldns's `ldns-read-zone` (ldnsutils) read the same corpus files, and the
//! records they print must be exactly the records the imported JSON describes: the same
//! owners, types, TTLs and RDATA, compared in one canonical presentation form.
//!
//! `scripts/test` installs both tools; without them these tests fail and say so.
//! ldns-read-zone does not implement `$INCLUDE`, so it reads only the files without one.

use std::collections::BTreeSet;
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/corpus")
}

/// The corpus files every importer reads in full (the unsupported-record file is left out:
/// what it holds is by design what gslbd cannot express).
const FILES: &[(&str, &str)] = &[
    ("example.com.zone", "example.com."),
    ("2.0.192.in-addr.arpa.zone", "2.0.192.in-addr.arpa."),
    ("roundtrip.example.zone", "roundtrip.example."),
];

/// Runs a tool in the corpus directory (where `$INCLUDE` paths are relative to).
fn run_tool(tool: &str, args: &[&str], package: &str) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(corpus_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{tool}` ({e}): install the Debian package {package} \
                 (./scripts/test does)"
            )
        });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 tool output")
}

// ---------------------------------------------------------------------------------------------
// One canonical form: `owner TTL TYPE rdata`, names lowercase with every byte outside
// [a-z0-9-_*] as \DDD, character-strings quoted with every byte outside printable ASCII (and
// `"`, `\`) as \DDD, AAAA in its short form, hex in upper case.

type Rr = (String, u32, String, String);

/// Decodes presentation escapes (`\X`, `\DDD`) of a name into its labels.
fn name_labels(text: &str) -> Vec<Vec<u8>> {
    let b = text.as_bytes();
    let mut labels = vec![Vec::new()];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let v: u32 = std::str::from_utf8(&b[i + 1..i + 4])
                    .unwrap()
                    .parse()
                    .unwrap();
                labels.last_mut().unwrap().push(v as u8);
                i += 4;
            }
            b'\\' => {
                labels.last_mut().unwrap().push(b[i + 1]);
                i += 2;
            }
            b'.' => {
                labels.push(Vec::new());
                i += 1;
            }
            c => {
                labels.last_mut().unwrap().push(c);
                i += 1;
            }
        }
    }
    labels.retain(|l| !l.is_empty());
    labels
}

fn canonical_name(text: &str) -> String {
    let labels = name_labels(text);
    if labels.is_empty() {
        return ".".into();
    }
    let mut out = String::new();
    for l in labels {
        for c in l.to_ascii_lowercase() {
            if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'*' {
                out.push(c as char);
            } else {
                out.push_str(&format!("\\{c:03}"));
            }
        }
        out.push('.');
    }
    out
}

fn canonical_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in bytes {
        if (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' {
            out.push(c as char);
        } else {
            out.push_str(&format!("\\{c:03}"));
        }
    }
    out.push('"');
    out
}

/// Splits presentation RDATA into fields; a quoted field comes back decoded, in
/// `canonical_string` form, an unquoted one as written.
fn fields(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'"' {
            let mut bytes = Vec::new();
            i += 1;
            while b[i] != b'"' {
                if b[i] == b'\\' && b[i + 1].is_ascii_digit() {
                    let v: u32 = std::str::from_utf8(&b[i + 1..i + 4])
                        .unwrap()
                        .parse()
                        .unwrap();
                    bytes.push(v as u8);
                    i += 4;
                } else if b[i] == b'\\' {
                    bytes.push(b[i + 1]);
                    i += 2;
                } else {
                    bytes.push(b[i]);
                    i += 1;
                }
            }
            i += 1;
            out.push(canonical_string(&bytes));
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(text[start..i].to_string());
        }
    }
    out
}

/// Canonical RDATA from a tool's presentation form.
fn canonical_rdata(rtype: &str, rdata: &str) -> String {
    let f = fields(rdata);
    match rtype {
        "A" => f[0].clone(),
        "AAAA" => f[0].parse::<Ipv6Addr>().unwrap().to_string(),
        "NS" | "CNAME" | "PTR" => canonical_name(&f[0]),
        "MX" => format!("{} {}", f[0], canonical_name(&f[1])),
        "SRV" => format!("{} {} {} {}", f[0], f[1], f[2], canonical_name(&f[3])),
        "SOA" => format!(
            "{} {} {}",
            canonical_name(&f[0]),
            canonical_name(&f[1]),
            f[2..].join(" ")
        ),
        "CAA" => f.join(" "),
        "TXT" => f.join(" "),
        "DS" => format!(
            "{} {} {} {}",
            f[0],
            f[1],
            f[2],
            f[3..].concat().to_uppercase()
        ),
        other => panic!("the corpus has a {other} record this test does not know"),
    }
}

/// The records in a tool's output (`owner TTL class TYPE rdata` lines), the RRset TTL being
/// the smallest of its records' (RFC 2181 §5.2; BIND already makes them equal).
fn from_tool(text: &str) -> BTreeSet<Rr> {
    let mut rrs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let mut rest = line;
        let mut head = Vec::new();
        for _ in 0..4 {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            head.push(&rest[..end]);
            rest = &rest[end..];
        }
        let (owner, ttl, class, rtype) = (head[0], head[1], head[2], head[3]);
        let rest = rest.trim();
        assert_eq!(class, "IN", "{line}");
        rrs.push((
            canonical_name(owner),
            ttl.parse::<u32>().unwrap(),
            rtype.to_string(),
            canonical_rdata(rtype, rest),
        ));
    }
    min_ttls(rrs)
}

fn min_ttls(rrs: Vec<Rr>) -> BTreeSet<Rr> {
    let min = |o: &str, t: &str| {
        rrs.iter()
            .filter(|r| r.0 == o && r.2 == t)
            .map(|r| r.1)
            .min()
            .unwrap()
    };
    rrs.iter()
        .map(|r| (r.0.clone(), min(&r.0, &r.2), r.2.clone(), r.3.clone()))
        .collect()
}

/// The records the imported JSON describes.
fn from_json(v: &Value) -> BTreeSet<Rr> {
    let origin = v["origin"].as_str().unwrap();
    let zone_ttl = v["ttl"].as_u64().unwrap() as u32;
    let soa = &v["soa"];
    let mut rrs = vec![(
        canonical_name(origin),
        zone_ttl,
        "SOA".to_string(),
        format!(
            "{} {} {} {} {} {} {}",
            canonical_name(soa["mname"].as_str().unwrap()),
            canonical_name(soa["rname"].as_str().unwrap()),
            soa["serial"],
            soa["refresh"],
            soa["retry"],
            soa["expire"],
            soa["minimum"]
        ),
    )];
    let str_of = |v: &Value| v.as_str().unwrap().to_string();
    for (key, node) in v["records"].as_object().unwrap() {
        let owner = if key == "@" {
            canonical_name(origin)
        } else {
            canonical_name(&format!("{key}.{origin}"))
        };
        let name_ttl = node
            .get("ttl")
            .map_or(zone_ttl, |t| t.as_u64().unwrap() as u32);
        for (rtype, items) in node.as_object().unwrap() {
            if rtype == "ttl" || rtype == "ttls" {
                continue;
            }
            let ttl = node["ttls"]
                .get(rtype)
                .map_or(name_ttl, |t| t.as_u64().unwrap() as u32);
            let items: Vec<&Value> = match items {
                Value::Array(a) => a.iter().collect(),
                one => vec![one],
            };
            for item in items {
                let rdata = match rtype.as_str() {
                    "A" => str_of(item),
                    "AAAA" => str_of(item).parse::<Ipv6Addr>().unwrap().to_string(),
                    "NS" | "CNAME" | "PTR" => canonical_name(item.as_str().unwrap()),
                    "MX" => format!(
                        "{} {}",
                        item["preference"],
                        canonical_name(item["exchange"].as_str().unwrap())
                    ),
                    "SRV" => format!(
                        "{} {} {} {}",
                        item["priority"],
                        item["weight"],
                        item["port"],
                        canonical_name(item["target"].as_str().unwrap())
                    ),
                    "CAA" => format!(
                        "{} {} {}",
                        item["flags"],
                        str_of(&item["tag"]),
                        canonical_string(item["value"].as_str().unwrap().as_bytes())
                    ),
                    "DS" => format!(
                        "{} {} {} {}",
                        item["key_tag"],
                        item["algorithm"],
                        item["digest_type"],
                        str_of(&item["digest"]).to_uppercase()
                    ),
                    // A string is one record whose text the server cuts into 255-byte
                    // character-strings; an array lists the character-strings.
                    "TXT" => match item {
                        Value::String(s) if s.is_empty() => canonical_string(b""),
                        Value::String(s) => s
                            .as_bytes()
                            .chunks(255)
                            .map(canonical_string)
                            .collect::<Vec<_>>()
                            .join(" "),
                        Value::Array(a) => a
                            .iter()
                            .map(|s| canonical_string(s.as_str().unwrap().as_bytes()))
                            .collect::<Vec<_>>()
                            .join(" "),
                        other => panic!("TXT item {other}"),
                    },
                    other => panic!("unexpected key {other} at {key}"),
                };
                rrs.push((owner.clone(), ttl, rtype.clone(), rdata));
            }
        }
    }
    rrs.into_iter().collect()
}

fn imported(file: &str) -> BTreeSet<Rr> {
    let out = Command::new(env!("CARGO_BIN_EXE_gslbd"))
        .arg("import")
        .arg(corpus_dir().join(file))
        .output()
        .expect("run gslbd import");
    assert!(
        out.status.success(),
        "gslbd import {file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    from_json(&serde_json::from_slice(&out.stdout).expect("JSON"))
}

/// Both sides, with what one has and the other lacks on failure.
fn assert_same(tool: &str, file: &str, theirs: &BTreeSet<Rr>, ours: &BTreeSet<Rr>) {
    let only_theirs: Vec<&Rr> = theirs.difference(ours).collect();
    let only_ours: Vec<&Rr> = ours.difference(theirs).collect();
    assert!(
        only_theirs.is_empty() && only_ours.is_empty(),
        "{file}: {tool} and gslbd import differ\nonly {tool}: {only_theirs:#?}\nonly gslbd: {only_ours:#?}"
    );
}

#[test]
fn named_compilezone_reads_the_corpus_as_gslbd_import_does() {
    for (file, origin) in FILES {
        // -k ignore: names like a\.b are fine for a zone file; -i none: no integrity
        // checks (they would want glue for out-of-zone NS names).
        let text = run_tool(
            "named-compilezone",
            &["-q", "-k", "ignore", "-i", "none", "-o", "-", origin, file],
            "bind9-utils",
        );
        let theirs = from_tool(&text);
        let ours = imported(file);
        assert!(theirs.len() > 3, "{file}: named-compilezone printed {text}");
        assert_same("named-compilezone", file, &theirs, &ours);
    }
}

#[test]
fn ldns_read_zone_reads_the_corpus_as_gslbd_import_does() {
    let mut compared = 0;
    let dir = tempfile::tempdir().unwrap();
    for (file, origin) in FILES {
        let source = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
        if source.contains("$INCLUDE") {
            continue;
        }
        // ldns-read-zone takes no origin argument: it starts from the file's $ORIGIN.
        let copy = dir.path().join(file);
        std::fs::write(&copy, format!("$ORIGIN {origin}\n{source}")).unwrap();
        let text = run_tool("ldns-read-zone", &[copy.to_str().unwrap()], "ldnsutils");
        let theirs = from_tool(&text);
        assert!(theirs.len() > 3, "{file}: ldns-read-zone printed {text}");
        assert_same("ldns-read-zone", file, &theirs, &imported(file));
        compared += 1;
    }
    assert!(compared > 0);
}

#[test]
fn canonical_forms_agree_on_escapes() {
    assert_eq!(canonical_name("A\\.b.Example.COM."), "a\\046b.example.com.");
    assert_eq!(
        canonical_name("a\\046b.example.com."),
        "a\\046b.example.com."
    );
    assert_eq!(
        fields(r#""caf\195\169" "q\"" x"#),
        [r#""caf\195\169""#, r#""q\034""#, "x"]
    );
    assert_eq!(canonical_string("café".as_bytes()), r#""caf\195\169""#);
}
