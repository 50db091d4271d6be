//! Validation and compilation of one zone file into a `Zone`.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::cuts;
use super::problem::Problem;
use super::raw::{RawNode, RawZone};
use super::records::{compile_static, present_types, ttl_function};
use crate::dns::name::WireName;
use crate::dns::query::*;
use crate::dns::rdata;
use crate::dns::rr::RrTail;
use crate::snapshot::{Node, Rrset, Zone};

/// Collects problems for one file.
pub(crate) struct Sink<'a> {
    pub file: &'a Path,
    pub problems: &'a mut Vec<Problem>,
}

impl Sink<'_> {
    pub fn at(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems
            .push(Problem::at_path(self.file, path, message));
    }
}

/// A zone after validation, before GSLB records are attached.
pub(crate) struct ZoneDraft {
    pub zone: Zone,
    /// (owner, gslb record name, JSON path) for every `"gslb": NAME` reference.
    pub gslb_refs: Vec<(WireName, String, String)>,
}

/// One name of the file, parsed.
pub(crate) struct Owner<'r> {
    pub name: WireName,
    pub key: &'r str,
    pub node: &'r RawNode,
}

impl Owner<'_> {
    pub fn path(&self) -> String {
        format!("records.{}", self.key)
    }
}

/// Validates `raw` (read from `file`) and compiles it. Problems go to `sink`; `None` when the
/// zone cannot be compiled.
pub(crate) fn compile_zone(raw: &RawZone, sink: &mut Sink<'_>) -> Option<ZoneDraft> {
    let before = sink.problems.len();
    if raw.version != 1 {
        sink.at(
            "version",
            format!("unsupported version {}, expected 1", raw.version),
        );
    }
    let origin = match WireName::parse(&raw.origin, None) {
        Ok(o) => o,
        Err(e) => {
            sink.at("origin", e);
            return None;
        }
    };
    let expected = format!("{}.json", origin.to_string().trim_end_matches('.'));
    let actual = sink
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if actual != expected {
        sink.at(
            "origin",
            format!(
                "origin `{}` does not match the file name; expected `{expected}`",
                raw.origin
            ),
        );
    }

    let neg_ttl = raw.ttl.min(raw.soa.minimum);
    let mname = WireName::parse(&raw.soa.mname, Some(&origin))
        .map_err(|e| sink.at("soa.mname", e))
        .ok();
    let rname = WireName::parse(&raw.soa.rname, Some(&origin))
        .map_err(|e| sink.at("soa.rname", e))
        .ok();
    let soa_rdata = match (mname, rname) {
        (Some(m), Some(r)) => {
            let s = &raw.soa;
            rdata::soa(&m, &r, s.serial, s.refresh, s.retry, s.expire, s.minimum)
        }
        _ => Vec::new(),
    };
    let soa = RrTail::new(TYPE_SOA, raw.ttl, &soa_rdata);
    let soa_negative = RrTail::new(TYPE_SOA, neg_ttl, &soa_rdata);

    // Key files are read on every load: a reload picks up keys added to or removed from
    // the list (rollovers), and a bad one keeps the old configuration serving.
    let keys = raw
        .dnssec
        .as_ref()
        .and_then(|d| super::dnssec::compile_keys(d, &origin, sink));

    let owners = parse_owners(raw, &origin, sink);
    let cut_names = cuts::cut_names(&owners, &origin);

    let mut nodes: FxHashMap<WireName, Node> = FxHashMap::default();
    let mut gslb_refs = Vec::new();
    let mut glue = cuts::Glue::default();
    let mut has_wildcards = false;
    for owner in &owners {
        let path = owner.path();
        let node = owner.node;
        let ttl_of = ttl_function(node, raw.ttl, &path, sink);
        if let Some(cut) = cuts::cut_above(&owner.name, &cut_names, &origin) {
            cuts::compile_below_cut(owner, cut, &ttl_of, &origin, &mut glue, sink);
            continue;
        }
        if cut_names.contains(&owner.name) {
            cuts::compile_cut(owner, &ttl_of, &origin, &mut nodes, &mut glue, sink);
            continue;
        }
        let is_apex = owner.name == origin;
        has_wildcards |= is_wildcard(&owner.name);
        if node.ds.is_some() {
            sink.at(
                format!("{path}.DS"),
                "DS records belong at a delegation point (a name below the apex with NS records)",
            );
        }
        if let Some(g) = &node.gslb {
            if has_static_data(node) || node.ttl.is_some() || node.ttls.is_some() {
                sink.at(
                    &path,
                    "a name with `gslb` holds no other records (its TTL is the GSLB record's)",
                );
            }
            gslb_refs.push((owner.name.clone(), g.clone(), format!("{path}.gslb")));
            nodes.insert(owner.name.clone(), Node::Gslb(usize::MAX));
            continue;
        }
        if let Some(target) = &node.cname {
            if has_static_data(node) {
                sink.at(
                    &path,
                    "a CNAME name holds no other records (RFC 1034 §3.6.2)",
                );
            }
            if is_apex {
                sink.at(&path, "the zone apex cannot be a CNAME");
            }
            match WireName::parse(target, Some(&origin)) {
                Ok(t) => {
                    let tail = RrTail::new(TYPE_CNAME, ttl_of(TYPE_CNAME), &rdata::name(&t));
                    nodes.insert(owner.name.clone(), Node::Cname { tail, target: t });
                }
                Err(e) => sink.at(format!("{path}.CNAME"), e),
            }
            continue;
        }
        let mut sets = compile_static(node, &ttl_of, &origin, &path, sink);
        if is_apex {
            sets.push(Rrset::new(TYPE_SOA, vec![soa.clone()]));
            if let Some(keys) = &keys {
                // DNSKEY, CDS and CDNSKEY take the SOA's TTL, as Knot's default dnskey-ttl.
                sets.extend(super::dnssec::apex_rrsets(keys, &origin, raw.ttl));
            }
            sets.sort_by_key(|s| s.rtype);
        }
        if sets.is_empty() {
            if !has_static_data(node) && !is_apex {
                sink.at(&path, "no records at this name");
            }
            continue;
        }
        nodes.insert(owner.name.clone(), Node::Static(sets));
    }

    if !matches!(nodes.get(&origin), Some(Node::Static(s)) if s.iter().any(|s| s.rtype == TYPE_NS))
    {
        sink.at("records.@", "the zone apex needs NS records");
        nodes
            .entry(origin.clone())
            .or_insert_with(|| Node::Static(vec![Rrset::new(TYPE_SOA, vec![soa.clone()])]));
    }

    let names = nodes.len() + glue.names();
    let has_cuts = !cut_names.is_empty();
    let owners_above_cuts: Vec<WireName> = nodes.keys().cloned().collect();
    for owner in owners_above_cuts {
        for ent in owner.ancestors_below(&origin) {
            nodes.entry(ent).or_insert(Node::Empty);
        }
    }
    cuts::attach_glue(&mut nodes, &glue, &origin, &owners, sink);
    cuts::attach_additional(&mut nodes, &origin);
    let zone = Zone {
        origin,
        file: sink.file.to_path_buf(),
        serial: raw.soa.serial,
        soa,
        soa_negative,
        hinfo: RrTail::new(TYPE_HINFO, raw.ttl, &rdata::hinfo_rfc8482()),
        nodes,
        names,
        has_wildcards,
        has_cuts,
        metrics_slot: 0,
        dnssec: keys.map(Box::new),
    };
    super::cname::report_loops(&zone, sink);
    if sink.problems.len() > before {
        return None;
    }
    Some(ZoneDraft { zone, gslb_refs })
}

/// Every owner name of the file, with the problems of the names themselves reported.
fn parse_owners<'r>(raw: &'r RawZone, origin: &WireName, sink: &mut Sink<'_>) -> Vec<Owner<'r>> {
    let mut seen: FxHashMap<WireName, &str> = FxHashMap::default();
    let mut owners = Vec::new();
    for (key, node) in raw.records.iter() {
        let path = format!("records.{key}");
        let name = match WireName::parse(key, Some(origin)) {
            Ok(o) => o,
            Err(e) => {
                sink.at(&path, e);
                continue;
            }
        };
        if !name.is_at_or_below(origin) {
            sink.at(
                &path,
                format!("name `{name}` is outside the zone `{origin}`"),
            );
            continue;
        }
        if let Some(prev) = seen.insert(name.clone(), key) {
            sink.at(
                &path,
                format!("`{key}` and `{prev}` are the same name `{name}`"),
            );
            continue;
        }
        if misplaced_star(&name) {
            sink.at(
                &path,
                format!(
                    "`*` is a wildcard only as the first label (`*.cdn`); in `{name}` it is \
                     further in, which matches nothing but the literal name (a typo?)"
                ),
            );
            continue;
        }
        owners.push(Owner { name, key, node });
    }
    owners
}

/// True when the first label of `name` is `*`.
pub(crate) fn is_wildcard(name: &WireName) -> bool {
    name.as_bytes().starts_with(b"\x01*")
}

/// A `*` label that is not the first label.
fn misplaced_star(name: &WireName) -> bool {
    crate::dns::name::label_offsets(name.as_bytes())
        .skip(1)
        .any(|off| &name.as_bytes()[off..off + 2] == b"\x01*")
}

/// Whether a name holds records besides a CNAME or a GSLB reference.
pub(crate) fn has_static_data(n: &RawNode) -> bool {
    present_types(n).iter().any(|t| *t != "CNAME") || (n.cname.is_some() && n.gslb.is_some())
}

/// `www` for `www.example.com.` in `example.com.`, `@` for the apex.
pub(crate) fn relative(name: &WireName, origin: &WireName) -> String {
    if name == origin {
        return "@".into();
    }
    let full = name.to_string();
    let o = origin.to_string();
    full.strip_suffix(&format!(".{o}"))
        .unwrap_or(&full)
        .to_string()
}
