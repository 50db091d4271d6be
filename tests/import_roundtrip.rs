//! The import round trip (spec §8): master files from `tests/import/corpus` go through
//! `gslbd import` into zone JSON that gslbd serves, while NSD and Knot DNS serve the original
//! files. The same grid of queries goes to all three (UDP with EDNS, UDP without EDNS for the
//! types with additional data and referrals, TCP), and gslbd's every reply must equal NSD's and
//! Knot's: RCODE, AA, TC, OPT presence, the question, and the answer, authority and additional
//! sections as sets of (owner, type, TTL, RDATA). A difference passes only when one of the
//! [`WAIVERS`] below explains exactly that difference; each says why, with the RFC.
//!
//! ANY is not asked: RFC 8482 §4 lets a server answer it with any one RRset of the name or a
//! synthesised HINFO, and the three do differ by design (at example.com gslbd gives the HINFO
//! "RFC8482", NSD 4.6 the SOA, Knot 3.2 the NS RRset), so there is nothing to agree on.
//!
//! NSD and Knot come from the Debian packages `nsd` and `knot` (`scripts/test` installs them);
//! without them this test fails and says so.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Record, RecordType};
use serde_json::Value;

use common::nameservers::{Implementation, MasterZone, NameServer};
use common::*;

/// The corpus files served: every file `gslbd import` takes in full.
const CORPUS: &[&str] = &[
    "example.com.zone",
    "2.0.192.in-addr.arpa.zone",
    "roundtrip.example.zone",
];

/// Every type gslbd serves (ANY is left out: see the module comment).
const TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::NS,
    RecordType::MX,
    RecordType::TXT,
    RecordType::SRV,
    RecordType::CAA,
    RecordType::PTR,
    RecordType::CNAME,
    RecordType::SOA,
    RecordType::DS,
];

/// The types also asked over UDP without EDNS (512-byte replies): those with additional data,
/// referrals and the parent-side DS.
const PLAIN_TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::NS,
    RecordType::MX,
    RecordType::SRV,
    RecordType::DS,
];

/// The types asked again with the query name in mixed case.
const CASE_TYPES: &[RecordType] = &[
    RecordType::A,
    RecordType::NS,
    RecordType::DS,
    RecordType::MX,
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/corpus")
}

// ---------------------------------------------------------------------------------------------
// The grid

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Mode {
    UdpEdns,
    UdpPlain,
    Tcp,
}

#[derive(Debug, Clone)]
struct Ask {
    name: String,
    rtype: RecordType,
    mode: Mode,
}

impl fmt::Display for Ask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} over {:?}", self.name, self.rtype, self.mode)
    }
}

/// The absolute presentation name of a JSON record key.
fn absolute(key: &str, origin: &str) -> String {
    if key == "@" {
        origin.to_string()
    } else {
        format!("{key}.{origin}")
    }
}

/// The labels of a presentation name, escapes kept (`a\.b` stays one label).
fn labels(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = name.trim_end_matches('.').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.last_mut().unwrap().push(c);
                out.last_mut().unwrap().extend(chars.next());
            }
            '.' => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// Every name worth asking about in a zone: each owner; each empty non-terminal; below each
/// owner a name that does not exist; below each wildcard `*.P` one and two labels deep and
/// one below the literal wildcard name; at each cut two names below it; and nonexistent
/// names at several depths under the apex.
fn names_of(zone: &Value) -> BTreeSet<String> {
    let origin = zone["origin"].as_str().unwrap();
    let origin_labels = labels(origin).len();
    let records = zone["records"].as_object().unwrap();
    let mut names = BTreeSet::new();
    for (key, data) in records {
        let owner = absolute(key, origin);
        let l = labels(&owner);
        // Empty non-terminals (and the other ancestors, which are owners anyway).
        for i in 1..l.len().saturating_sub(origin_labels) {
            names.insert(format!("{}.", l[i..].join(".")));
        }
        names.insert(owner.clone());
        if let Some(parent) = key.strip_prefix("*.") {
            let parent = absolute(parent, origin);
            names.insert(format!("one.{parent}"));
            names.insert(format!("two.one.{parent}"));
            names.insert(format!("below.{owner}"));
        } else if key != "@" {
            names.insert(format!("nx.{owner}"));
        }
        if key != "@" && data.get("NS").is_some() {
            names.insert(format!("host.{owner}"));
            names.insert(format!("a.b.c.{owner}"));
        }
    }
    for n in ["nx", "nx.nx", "a.b.c.nx"] {
        names.insert(format!("{n}.{origin}"));
    }
    names
}

/// The name in alternating letter case (`ExAmPlE.CoM.`).
fn mixed_case(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                upper = !upper;
                if upper {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            } else {
                c
            }
        })
        .collect()
}

fn grid(zones: &[Value]) -> Vec<Ask> {
    let mut asks = Vec::new();
    for zone in zones {
        for name in names_of(zone) {
            for &rtype in TYPES {
                for mode in [Mode::UdpEdns, Mode::Tcp] {
                    asks.push(Ask {
                        name: name.clone(),
                        rtype,
                        mode,
                    });
                }
                if PLAIN_TYPES.contains(&rtype) {
                    asks.push(Ask {
                        name: name.clone(),
                        rtype,
                        mode: Mode::UdpPlain,
                    });
                }
                if CASE_TYPES.contains(&rtype) {
                    asks.push(Ask {
                        name: mixed_case(&name),
                        rtype,
                        mode: Mode::UdpEdns,
                    });
                }
            }
        }
    }
    asks
}

// ---------------------------------------------------------------------------------------------
// Replies in a comparable form

/// One record: owner (lowercase), type, TTL, RDATA in presentation form.
type Rr = (String, String, u32, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Answer,
    Authority,
    Additional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    /// RCODE, AA, TC, OPT present, question as sent back.
    header: BTreeMap<&'static str, String>,
    sections: BTreeMap<Section, BTreeSet<Rr>>,
}

/// A record in canonical form (RFC 4034 §6.2): the owner and the names in the RDATA of NS,
/// CNAME, SOA, PTR, MX and SRV in lowercase. Names compare case-insensitively (RFC 4343), and
/// a server may write them in the client's case: Knot compresses an NS target against the
/// question, which carries the client's letters.
fn rr(r: &Record) -> Rr {
    let rtype = r.record_type();
    let rdata = r.data.to_string();
    let names_only = [
        RecordType::NS,
        RecordType::CNAME,
        RecordType::SOA,
        RecordType::PTR,
        RecordType::MX,
        RecordType::SRV,
    ];
    (
        r.name.to_ascii().to_ascii_lowercase(),
        rtype.to_string(),
        r.ttl,
        if names_only.contains(&rtype) {
            rdata.to_ascii_lowercase()
        } else {
            rdata
        },
    )
}

fn reply(m: &Message) -> Reply {
    let mut header = BTreeMap::new();
    header.insert("rcode", m.response_code.to_string());
    header.insert("aa", m.authoritative.to_string());
    header.insert("tc", m.truncation.to_string());
    header.insert("opt", m.edns.is_some().to_string());
    header.insert(
        "question",
        m.queries
            .iter()
            .map(|q| format!("{} {}", q.name().to_ascii(), q.query_type()))
            .collect::<Vec<_>>()
            .join(","),
    );
    let set = |rs: &[Record]| rs.iter().map(rr).collect::<BTreeSet<_>>();
    let mut sections = BTreeMap::new();
    sections.insert(Section::Answer, set(&m.answers));
    sections.insert(Section::Authority, set(&m.authorities));
    sections.insert(Section::Additional, set(&m.additionals));
    Reply { header, sections }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h: Vec<String> = self
            .header
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(f, "    {}", h.join(" "))?;
        for (section, rrs) in &self.sections {
            for (owner, rtype, ttl, rdata) in rrs {
                writeln!(f, "    {section:?}: {owner} {ttl} {rtype} {rdata}")?;
            }
        }
        Ok(())
    }
}

fn send(addr: SocketAddr, ask: &Ask, id: u16) -> Reply {
    let mut m = query(&ask.name, ask.rtype);
    m.metadata.id = id;
    let m = match ask.mode {
        Mode::UdpPlain => m,
        Mode::UdpEdns | Mode::Tcp => with_edns(m, 1232),
    };
    let r = match ask.mode {
        Mode::Tcp => tcp(addr, &m),
        Mode::UdpEdns | Mode::UdpPlain => udp(addr, &m),
    };
    reply(&r)
}

// ---------------------------------------------------------------------------------------------
// Differences and the waivers that may explain them

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Diff {
    /// A header field differs.
    Header {
        field: &'static str,
        ours: String,
        theirs: String,
    },
    /// The same record with another TTL.
    Ttl {
        section: Section,
        owner: String,
        rtype: String,
        rdata: String,
        ours: u32,
        theirs: u32,
    },
    /// A record only gslbd sent.
    OnlyOurs { section: Section, rr: Rr },
    /// A record only the other server sent.
    OnlyTheirs { section: Section, rr: Rr },
}

fn diff(ours: &Reply, theirs: &Reply) -> Vec<Diff> {
    let mut out = Vec::new();
    for (field, o) in &ours.header {
        let t = &theirs.header[field];
        if o != t {
            out.push(Diff::Header {
                field,
                ours: o.clone(),
                theirs: t.clone(),
            });
        }
    }
    for (&section, o) in &ours.sections {
        let t = &theirs.sections[&section];
        let only_o: Vec<&Rr> = o.difference(t).collect();
        let mut only_t: Vec<&Rr> = t.difference(o).collect();
        for r in only_o {
            let same = only_t
                .iter()
                .position(|x| x.0 == r.0 && x.1 == r.1 && x.3 == r.3);
            match same {
                Some(i) => {
                    let x = only_t.remove(i);
                    out.push(Diff::Ttl {
                        section,
                        owner: r.0.clone(),
                        rtype: r.1.clone(),
                        rdata: r.3.clone(),
                        ours: r.2,
                        theirs: x.2,
                    });
                }
                None => out.push(Diff::OnlyOurs {
                    section,
                    rr: r.clone(),
                }),
            }
        }
        for r in only_t {
            out.push(Diff::OnlyTheirs {
                section,
                rr: r.clone(),
            });
        }
    }
    out
}

/// What the imported zones say, to check a waived record against: each zone's apex NS
/// targets, and every static record with the TTL gslbd serves it with.
struct Facts {
    /// Zone origin → its apex NS targets (lowercase, absolute).
    apex_ns: BTreeMap<String, BTreeSet<String>>,
    /// (owner, type, RDATA) → TTL, for the A, AAAA and NS records of every zone.
    records: BTreeMap<(String, String, String), u32>,
}

impl Facts {
    fn of(zones: &[Value]) -> Facts {
        let mut apex_ns = BTreeMap::new();
        let mut records = BTreeMap::new();
        for zone in zones {
            let origin = zone["origin"].as_str().unwrap().to_string();
            let zone_ttl = zone["ttl"].as_u64().unwrap() as u32;
            for (key, data) in zone["records"].as_object().unwrap() {
                let owner = absolute(key, &origin).to_ascii_lowercase();
                let name_ttl = data["ttl"].as_u64().map_or(zone_ttl, |t| t as u32);
                for rtype in ["A", "AAAA", "NS"] {
                    let ttl = data["ttls"][rtype].as_u64().map_or(name_ttl, |t| t as u32);
                    for v in data[rtype].as_array().into_iter().flatten() {
                        let rdata = v.as_str().unwrap().to_ascii_lowercase();
                        records.insert((owner.clone(), rtype.to_string(), rdata.clone()), ttl);
                        if key == "@" && rtype == "NS" {
                            apex_ns
                                .entry(origin.clone())
                                .or_insert_with(BTreeSet::new)
                                .insert(rdata);
                        }
                    }
                }
            }
        }
        Facts { apex_ns, records }
    }

    /// Whether `rr` is a record of the zones with the TTL gslbd serves, or, for the RRsets
    /// written without a TTL, with the default TTL NSD and Knot give them (see
    /// `unstated-ttl`).
    fn holds(&self, rr: &Rr) -> bool {
        let (owner, rtype, ttl, rdata) = rr;
        let ours = self
            .records
            .get(&(owner.clone(), rtype.clone(), rdata.to_ascii_lowercase()));
        ours == Some(ttl) || (ours.is_some() && unstated_ttl(owner, rtype, *ttl))
    }
}

/// RRsets of the corpus written without a TTL and without `$TTL` in effect (the reverse zone
/// has no `$TTL`): RFC 1035 §5.1 gives them the last TTL stated before them, the SOA's 86400,
/// and so does `gslbd import`; NSD 4.6 and Knot give them their default TTL, 3600.
const UNSTATED: &[(&str, &str)] = &[
    ("2.0.192.in-addr.arpa.", "NS"),
    ("1.2.0.192.in-addr.arpa.", "PTR"),
];
const LAST_STATED_TTL: u32 = 86400;
const THEIR_DEFAULT_TTL: u32 = 3600;

fn unstated_ttl(owner: &str, rtype: &str, theirs: u32) -> bool {
    theirs == THEIR_DEFAULT_TTL && UNSTATED.contains(&(owner, rtype))
}

/// A documented difference: the servers it is seen with, why gslbd's answer is right (with
/// the RFC), and a test that accepts exactly the differences it explains.
struct Waiver {
    name: &'static str,
    servers: &'static [Implementation],
    why: &'static str,
    /// (what the zones hold, the other server's reply, one difference) → waived?
    applies: fn(&Facts, &Reply, &Diff) -> bool,
}

const NSD: &[Implementation] = &[Implementation::Nsd];
const BOTH: &[Implementation] = &[Implementation::Nsd, Implementation::Knot];

/// The record `10.0.0.3` of the corpus, written after `$INCLUDE inc/hosts.inc` with no owner.
fn include_owner_record(owner: &str) -> Rr {
    (owner.into(), "A".into(), 30, "10.0.0.3".into())
}

const WAIVERS: &[Waiver] = &[
    Waiver {
        name: "nsd-apex-ns-in-authority",
        servers: NSD,
        why: "NSD (minimal-responses: no, its default) puts the zone's apex NS RRset in AUTHORITY \
              of positive answers and those name servers' addresses in ADDITIONAL. Neither is \
              required: RFC 1034 §6.2.1's reference answer has an empty authority section and \
              §4.3.2 step 6 makes additional data optional (\"may be useful\"); RFC 9471 \
              requires glue in referrals only. gslbd sends minimal answers, as Knot does.",
        applies: |f, theirs, d| {
            let apex_ns = |rr: &Rr| {
                rr.1 == "NS"
                    && f.apex_ns.get(&rr.0).is_some_and(|ns| ns.contains(&rr.3))
                    && f.holds(rr)
            };
            match d {
                Diff::OnlyTheirs {
                    section: Section::Authority,
                    rr,
                } => apex_ns(rr),
                // Only the addresses of name servers NSD put in AUTHORITY itself: those of
                // an NS answer are required of gslbd as of Knot.
                Diff::OnlyTheirs {
                    section: Section::Additional,
                    rr,
                } => {
                    (rr.1 == "A" || rr.1 == "AAAA")
                        && f.holds(rr)
                        && theirs.sections[&Section::Authority]
                            .iter()
                            .any(|ns| apex_ns(ns) && ns.3 == rr.0)
                }
                _ => false,
            }
        },
    },
    Waiver {
        name: "unstated-ttl",
        servers: BOTH,
        why: "A record written without a TTL when no $TTL is in effect takes the last TTL \
              stated before it (RFC 1035 §5.1: \"Omitted class and TTL values are default to the \
              last explicitly stated values\"), as BIND, ldns and NSD since 4.10 read it; \
              NSD 4.6 and Knot give it their default TTL, 3600. Only the RRsets listed in \
              UNSTATED, with exactly 86400 against 3600.",
        applies: |_, _, d| match d {
            Diff::Ttl {
                owner,
                rtype,
                ours,
                theirs,
                ..
            } => *ours == LAST_STATED_TTL && unstated_ttl(owner, rtype, *theirs),
            _ => false,
        },
    },
    Waiver {
        name: "rrset-ttl-mismatch",
        servers: BOTH,
        why: "mixed.example.com A is written with TTLs 300 and 600 in one RRset. RFC 2181 §5.2 \
              deprecates that and says to treat every record as having the lowest TTL: gslbd \
              imports 300. NSD keeps each record's own TTL (192.0.2.121 at 600), Knot gives \
              the RRset the last one (600); NSD agrees with gslbd on 192.0.2.120.",
        applies: |_, _, d| match d {
            Diff::Ttl {
                section: Section::Answer,
                owner,
                rtype,
                rdata,
                ours: 300,
                theirs: 600,
            } => {
                owner == "mixed.example.com."
                    && rtype == "A"
                    && (rdata == "192.0.2.120" || rdata == "192.0.2.121")
            }
            _ => false,
        },
    },
    Waiver {
        name: "nsd-include-owner",
        servers: NSD,
        why: "A record without an owner right after $INCLUDE: BIND and Knot give it the owner \
              from before the $INCLUDE (host2.lab.example.com), NSD the last owner inside the \
              included file (gamma.deep.example.com). RFC 1035 §5.1 restores only the origin \
              after an $INCLUDE and is silent on the owner; gslbd follows BIND and Knot. Only \
              that one record, 10.0.0.3, at one name or the other.",
        applies: |_, _, d| match d {
            Diff::OnlyOurs {
                section: Section::Answer,
                rr,
            } => *rr == include_owner_record("host2.lab.example.com."),
            Diff::OnlyTheirs {
                section: Section::Answer,
                rr,
            } => *rr == include_owner_record("gamma.deep.example.com."),
            _ => false,
        },
    },
];

/// Which of NSD and Knot gslbd agrees with on one point where they disagree.
fn sides_with(ours: &Reply, nsd_vs_knot: &Diff) -> &'static str {
    let has = |section: &Section, rr: &Rr| ours.sections[section].contains(rr);
    match nsd_vs_knot {
        Diff::Header { field, ours: n, .. } => {
            if ours.header[field] == *n {
                "NSD"
            } else {
                "Knot"
            }
        }
        Diff::OnlyOurs { section, rr } => {
            if has(section, rr) {
                "NSD"
            } else {
                "Knot"
            }
        }
        Diff::OnlyTheirs { section, rr } => {
            if has(section, rr) {
                "Knot"
            } else {
                "NSD"
            }
        }
        Diff::Ttl {
            section,
            owner,
            rtype,
            rdata,
            ours: n,
            theirs: k,
        } => {
            let with = |ttl| has(section, &(owner.clone(), rtype.clone(), ttl, rdata.clone()));
            if with(*n) {
                "NSD"
            } else if with(*k) {
                "Knot"
            } else {
                "neither"
            }
        }
    }
}

/// The kinds of answer the grid must reach in gslbd's replies (so that a grid that stopped
/// asking about, say, referrals fails instead of passing with nothing compared).
const KINDS: &[&str] = &[
    "NXDOMAIN",
    "NODATA",
    "referral",
    "referral with glue",
    "DS at a cut (AA)",
    "wildcard synthesis",
    "CNAME followed",
    "answer with additional data",
];

fn kinds_of(ask: &Ask, r: &Reply, owners: &BTreeSet<String>) -> Vec<&'static str> {
    let has = |section: Section, rtype: &str| r.sections[&section].iter().any(|x| x.1 == rtype);
    let aa = r.header["aa"] == "true";
    let rcode = r.header["rcode"].as_str();
    let answer = &r.sections[&Section::Answer];
    let qname = ask.name.to_ascii_lowercase();
    let mut kinds = Vec::new();
    if rcode == ResponseCode::NXDomain.to_string() {
        kinds.push("NXDOMAIN");
    }
    let noerror = rcode == ResponseCode::NoError.to_string();
    if noerror && aa && answer.is_empty() && has(Section::Authority, "SOA") {
        kinds.push("NODATA");
    }
    if noerror && !aa && has(Section::Authority, "NS") {
        kinds.push("referral");
        if !r.sections[&Section::Additional].is_empty() {
            kinds.push("referral with glue");
        }
    }
    if ask.rtype == RecordType::DS && aa && has(Section::Answer, "DS") {
        kinds.push("DS at a cut (AA)");
    }
    if !owners.contains(&qname) && answer.iter().any(|x| x.0 == qname) {
        kinds.push("wildcard synthesis");
    }
    if has(Section::Answer, "CNAME") && answer.iter().any(|x| x.1 != "CNAME") {
        kinds.push("CNAME followed");
    }
    if aa && !answer.is_empty() && !r.sections[&Section::Additional].is_empty() {
        kinds.push("answer with additional data");
    }
    kinds
}

fn diff_section(d: &Diff) -> String {
    match d {
        Diff::Header { field, .. } => format!("header {field}"),
        Diff::Ttl { section, rtype, .. } => format!("{section:?} {rtype} TTL"),
        Diff::OnlyOurs { section, rr } => format!("{section:?} {} only from NSD", rr.1),
        Diff::OnlyTheirs { section, rr } => format!("{section:?} {} only from Knot", rr.1),
    }
}

// ---------------------------------------------------------------------------------------------
// The test

#[test]
fn gslbd_serves_imported_zones_as_nsd_and_knot_serve_the_master_files() {
    let started = std::time::Instant::now();
    let dir = corpus_dir();
    let fixture = Zones::new();
    let mut masters = Vec::new();
    let mut zones = Vec::new();
    for file in CORPUS {
        let path = dir.join(file);
        let json = import_into(&fixture, &path);
        masters.push(MasterZone {
            origin: json["origin"].as_str().unwrap().to_string(),
            file: path,
        });
        zones.push(json);
    }
    let facts = Facts::of(&zones);
    let gslbd = Server::with_zones(fixture);
    let nsd = NameServer::nsd(&masters);
    let knot = NameServer::knot(&masters);
    let asks = grid(&zones);
    let owners: BTreeSet<String> = zones
        .iter()
        .flat_map(|z| {
            let origin = z["origin"].as_str().unwrap();
            z["records"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| absolute(k, origin).to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut reached: BTreeMap<&'static str, usize> = BTreeMap::new();

    let mut failures = Vec::new();
    let mut waived: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    let mut sides: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    let mut modes: BTreeMap<Mode, usize> = BTreeMap::new();
    for (i, ask) in asks.iter().enumerate() {
        *modes.entry(ask.mode).or_default() += 1;
        let id = i as u16;
        let ours = send(gslbd.addr(), ask, id);
        for k in kinds_of(ask, &ours, &owners) {
            *reached.entry(k).or_default() += 1;
        }
        let theirs = [
            (nsd.implementation, send(nsd.addr(), ask, id)),
            (knot.implementation, send(knot.addr(), ask, id)),
        ];
        for (imp, t) in &theirs {
            let mut left = Vec::new();
            for d in diff(&ours, t) {
                match WAIVERS
                    .iter()
                    .find(|w| w.servers.contains(imp) && (w.applies)(&facts, t, &d))
                {
                    Some(w) => *waived.entry((w.name, imp.name())).or_default() += 1,
                    None => left.push(d),
                }
            }
            if !left.is_empty() {
                failures.push(format!(
                    "{ask}: gslbd and {} differ: {left:?}\n  gslbd:\n{ours}  NSD:\n{}  Knot:\n{}",
                    imp.name(),
                    theirs[0].1,
                    theirs[1].1
                ));
            }
        }
        for d in diff(&theirs[0].1, &theirs[1].1) {
            *sides
                .entry((diff_section(&d), sides_with(&ours, &d)))
                .or_default() += 1;
        }
    }
    println!(
        "import round trip: {} queries ({}) to gslbd, NSD and Knot; {} replies compared with \
         gslbd's in {:.1?}",
        asks.len(),
        modes
            .iter()
            .map(|(m, n)| format!("{n} {m:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        2 * asks.len(),
        started.elapsed()
    );
    println!(
        "  gslbd's replies: {}",
        KINDS
            .iter()
            .map(|k| format!("{} {k}", reached.get(k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("  differences waived, by rule and server:");
    for w in WAIVERS {
        for s in w.servers {
            let n = waived.get(&(w.name, s.name())).copied().unwrap_or(0);
            println!("    {:<26} {:<5} {n}", w.name, s.name());
        }
        println!("      ({})", w.why);
    }
    println!("  where NSD and Knot disagree (records or fields), gslbd sides with:");
    for ((what, with), n) in &sides {
        println!("    {what:<40} {with:<7} {n}");
    }
    assert!(
        failures.is_empty(),
        "{} unexplained differences (gslbd against NSD or Knot):\n{}",
        failures.len(),
        failures.join("\n")
    );
    for k in KINDS {
        assert!(reached.contains_key(k), "the grid never reached: {k}");
    }
    // Every waiver must still be needed: one that waives nothing is stale and must go.
    for w in WAIVERS {
        for s in w.servers {
            assert!(
                waived.contains_key(&(w.name, s.name())),
                "waiver `{}` no longer waives anything for {}: remove it",
                w.name,
                s.name()
            );
        }
    }
}
