//! Validation and compilation of one zone file into a `Zone`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use rustc_hash::FxHashMap;

use super::problem::Problem;
use super::raw::{RawNode, RawZone};
use crate::dns::name::WireName;
use crate::dns::query::*;
use crate::dns::rdata;
use crate::snapshot::{Node, RrTail, Rrset, Zone};

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

    let mut nodes: FxHashMap<WireName, Node> = FxHashMap::default();
    let mut seen: FxHashMap<WireName, String> = FxHashMap::default();
    let mut gslb_refs = Vec::new();
    for (key, node) in raw.records.iter() {
        let path = format!("records.{key}");
        let owner = match WireName::parse(key, Some(&origin)) {
            Ok(o) => o,
            Err(e) => {
                sink.at(&path, e);
                continue;
            }
        };
        if !owner.is_at_or_below(&origin) {
            sink.at(
                &path,
                format!("name `{owner}` is outside the zone `{origin}`"),
            );
            continue;
        }
        if let Some(prev) = seen.insert(owner.clone(), key.to_string()) {
            sink.at(
                &path,
                format!("`{key}` and `{prev}` are the same name `{owner}`"),
            );
            continue;
        }
        let ttl = node.ttl.unwrap_or(raw.ttl);
        let is_apex = owner == origin;
        if let Some(g) = &node.gslb {
            if has_static_data(node) {
                sink.at(&path, "a name with `gslb` holds no other records");
            }
            gslb_refs.push((owner.clone(), g.clone(), format!("{path}.gslb")));
            nodes.insert(owner, Node::Gslb(usize::MAX));
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
                    let tail = RrTail::new(TYPE_CNAME, ttl, &rdata::name(&t));
                    nodes.insert(owner, Node::Cname { tail, target: t });
                }
                Err(e) => sink.at(format!("{path}.CNAME"), e),
            }
            continue;
        }
        let mut sets = compile_static(node, ttl, &origin, &path, sink);
        if node.ns.is_some() && !is_apex {
            sink.at(
                format!("{path}.NS"),
                "NS records below the apex (delegations) are not supported",
            );
        }
        if is_apex {
            sets.push(Rrset {
                rtype: TYPE_SOA,
                records: vec![soa.clone()],
            });
        }
        if sets.is_empty() {
            if !has_static_data(node) && !is_apex {
                sink.at(&path, "no records at this name");
            }
            continue;
        }
        sets.sort_by_key(|s| s.rtype);
        nodes.insert(owner, Node::Static(sets));
    }

    if !matches!(nodes.get(&origin), Some(Node::Static(s)) if s.iter().any(|s| s.rtype == TYPE_NS))
    {
        sink.at("records.@", "the zone apex needs NS records");
        nodes.entry(origin.clone()).or_insert_with(|| {
            Node::Static(vec![Rrset {
                rtype: TYPE_SOA,
                records: vec![soa.clone()],
            }])
        });
    }

    report_cname_loops(&nodes, &origin, sink);
    let names = nodes.len();
    let owners: Vec<WireName> = nodes.keys().cloned().collect();
    for owner in owners {
        for ent in owner.ancestors_below(&origin) {
            nodes.entry(ent).or_insert(Node::Empty);
        }
    }
    if sink.problems.len() > before {
        return None;
    }
    Some(ZoneDraft {
        zone: Zone {
            origin,
            file: sink.file.to_path_buf(),
            serial: raw.soa.serial,
            soa,
            soa_negative,
            hinfo: RrTail::new(TYPE_HINFO, raw.ttl, &rdata::hinfo_rfc8482()),
            nodes,
            names,
            metrics_slot: 0,
        },
        gslb_refs,
    })
}

/// A chain of CNAMEs inside the zone that comes back to itself never resolves.
fn report_cname_loops(nodes: &FxHashMap<WireName, Node>, origin: &WireName, sink: &mut Sink<'_>) {
    let mut reported: Vec<&WireName> = Vec::new();
    for start in nodes.keys() {
        let mut chain = vec![start];
        let mut cur = start;
        while let Some(Node::Cname { target, .. }) = nodes.get(cur) {
            if let Some(i) = chain.iter().position(|n| *n == target) {
                let cycle = &chain[i..];
                if !cycle.iter().any(|n| reported.contains(n)) {
                    let names: Vec<String> = cycle.iter().map(|n| n.to_string()).collect();
                    sink.at(
                        format!("records.{}", relative(cycle[0], origin)),
                        format!("CNAME loop: {} -> {}", names.join(" -> "), names[0]),
                    );
                    reported.extend_from_slice(cycle);
                }
                break;
            }
            chain.push(target);
            cur = target;
        }
    }
}

/// `www` for `www.example.com.` in `example.com.`, `@` for the apex.
fn relative(name: &WireName, origin: &WireName) -> String {
    if name == origin {
        return "@".into();
    }
    let full = name.to_string();
    let o = origin.to_string();
    full.strip_suffix(&format!(".{o}"))
        .unwrap_or(&full)
        .to_string()
}

fn has_static_data(n: &RawNode) -> bool {
    n.a.is_some()
        || n.aaaa.is_some()
        || n.ns.is_some()
        || n.mx.is_some()
        || n.txt.is_some()
        || n.srv.is_some()
        || n.caa.is_some()
        || n.ptr.is_some()
        || (n.cname.is_some() && n.gslb.is_some())
}

fn compile_static(
    node: &RawNode,
    ttl: u32,
    origin: &WireName,
    path: &str,
    sink: &mut Sink<'_>,
) -> Vec<Rrset> {
    let mut sets = Vec::new();
    let mut add = |rtype: u16, records: Vec<RrTail>| {
        if !records.is_empty() {
            sets.push(Rrset { rtype, records });
        }
    };
    let mut each = |list: &Option<Vec<String>>,
                    ty: &str,
                    f: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>|
     -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (i, item) in list.iter().flatten().enumerate() {
            match f(item) {
                Ok(r) => out.push(r),
                Err(e) => sink.at(format!("{path}.{ty}[{i}]"), e),
            }
        }
        out
    };
    let tails = |rtype: u16, rdatas: Vec<Vec<u8>>| -> Vec<RrTail> {
        let mut v: Vec<RrTail> = rdatas.iter().map(|r| RrTail::new(rtype, ttl, r)).collect();
        v.dedup();
        v
    };
    let name = |s: &str| WireName::parse(s, Some(origin)).map(|n| rdata::name(&n));
    let a = each(&node.a, "A", &mut |s| {
        s.parse::<Ipv4Addr>()
            .map(rdata::a)
            .map_err(|_| format!("`{s}` is not an IPv4 address"))
    });
    let aaaa = each(&node.aaaa, "AAAA", &mut |s| {
        s.parse::<Ipv6Addr>()
            .map(rdata::aaaa)
            .map_err(|_| format!("`{s}` is not an IPv6 address"))
    });
    let ns = each(&node.ns, "NS", &mut |s| name(s));
    let ptr = each(&node.ptr, "PTR", &mut |s| name(s));
    let txt = each(&node.txt, "TXT", &mut |s| Ok(rdata::txt(s)));
    let mut mx = Vec::new();
    for (i, m) in node.mx.iter().flatten().enumerate() {
        match WireName::parse(&m.exchange, Some(origin)) {
            Ok(n) => mx.push(rdata::mx(m.preference, &n)),
            Err(e) => sink.at(format!("{path}.MX[{i}].exchange"), e),
        }
    }
    let mut srv = Vec::new();
    for (i, s) in node.srv.iter().flatten().enumerate() {
        match WireName::parse(&s.target, Some(origin)) {
            Ok(n) => srv.push(rdata::srv(s.priority, s.weight, s.port, &n)),
            Err(e) => sink.at(format!("{path}.SRV[{i}].target"), e),
        }
    }
    let mut caa = Vec::new();
    for (i, c) in node.caa.iter().flatten().enumerate() {
        if c.tag.is_empty()
            || c.tag.len() > 255
            || !c.tag.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            sink.at(
                format!("{path}.CAA[{i}].tag"),
                format!("CAA tag `{}` must be 1-255 letters or digits", c.tag),
            );
            continue;
        }
        caa.push(rdata::caa(c.flags, &c.tag, &c.value));
    }
    for (rtype, list) in [
        (TYPE_A, a),
        (TYPE_NS, ns),
        (TYPE_PTR, ptr),
        (TYPE_MX, mx),
        (TYPE_TXT, txt),
        (TYPE_AAAA, aaaa),
        (TYPE_SRV, srv),
        (TYPE_CAA, caa),
    ] {
        add(rtype, tails(rtype, list));
    }
    sets
}
