//! Static records of one name: every type's RDATA validated and pre-serialised into RRsets.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::raw::{RawNode, RawTxt};
use super::zone::Sink;
use crate::dns::name::WireName;
use crate::dns::query::*;
use crate::dns::rdata;
use crate::dns::rr::RrTail;
use crate::snapshot::Rrset;

/// The record types a name may hold, by their JSON key.
pub(crate) const STATIC_TYPES: [(&str, u16); 10] = [
    ("A", TYPE_A),
    ("NS", TYPE_NS),
    ("CNAME", TYPE_CNAME),
    ("PTR", TYPE_PTR),
    ("MX", TYPE_MX),
    ("TXT", TYPE_TXT),
    ("AAAA", TYPE_AAAA),
    ("SRV", TYPE_SRV),
    ("DS", TYPE_DS),
    ("CAA", TYPE_CAA),
];

/// The types present at a name, by JSON key.
pub(crate) fn present_types(n: &RawNode) -> Vec<&'static str> {
    let present = [
        n.a.is_some(),
        n.ns.is_some(),
        n.cname.is_some(),
        n.ptr.is_some(),
        n.mx.is_some(),
        n.txt.is_some(),
        n.aaaa.is_some(),
        n.srv.is_some(),
        n.ds.is_some(),
        n.caa.is_some(),
    ];
    STATIC_TYPES
        .iter()
        .zip(present)
        .filter_map(|(&(key, _), on)| on.then_some(key))
        .collect()
}

/// Compiles the static RRsets of `node` (not CNAME, not GSLB), sorted by type. `ttl_of` gives
/// each type's TTL.
pub(crate) fn compile_static(
    node: &RawNode,
    ttl_of: &dyn Fn(u16) -> u32,
    origin: &WireName,
    path: &str,
    sink: &mut Sink<'_>,
) -> Vec<Rrset> {
    let mut sets = Vec::new();
    let mut add = |rtype: u16, rdatas: Vec<Vec<u8>>| {
        let mut records: Vec<RrTail> = Vec::with_capacity(rdatas.len());
        for r in &rdatas {
            let tail = RrTail::new(rtype, ttl_of(rtype), r);
            // Duplicate records collapse into one, as in every RRset (RFC 2181 §5).
            if !records.contains(&tail) {
                records.push(tail);
            }
        }
        if !records.is_empty() {
            sets.push(Rrset::new(rtype, records));
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
    let mut txt = Vec::new();
    for (i, t) in node.txt.iter().flatten().enumerate() {
        match t {
            RawTxt::Text(s) => txt.push(rdata::txt(s)),
            RawTxt::Strings(parts) => match rdata::txt_strings(parts) {
                Ok(r) => txt.push(r),
                Err(e) => sink.at(format!("{path}.TXT[{i}]"), e),
            },
        }
    }
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
    let mut ds = Vec::new();
    for (i, d) in node.ds.iter().flatten().enumerate() {
        match rdata::ds(d.key_tag, d.algorithm, d.digest_type, &d.digest) {
            Ok(r) => ds.push(r),
            Err(e) => sink.at(format!("{path}.DS[{i}].digest"), e),
        }
    }
    for (rtype, list) in [
        (TYPE_A, a),
        (TYPE_NS, ns),
        (TYPE_PTR, ptr),
        (TYPE_MX, mx),
        (TYPE_TXT, txt),
        (TYPE_AAAA, aaaa),
        (TYPE_SRV, srv),
        (TYPE_DS, ds),
        (TYPE_CAA, caa),
    ] {
        add(rtype, list);
    }
    sets.sort_by_key(|s| s.rtype);
    sets
}

/// Validates the per-type `ttls` of a name and returns a function giving each type's TTL.
pub(crate) fn ttl_function(
    node: &RawNode,
    zone_ttl: u32,
    path: &str,
    sink: &mut Sink<'_>,
) -> impl Fn(u16) -> u32 {
    let base = node.ttl.unwrap_or(zone_ttl);
    let present = present_types(node);
    let mut by_type: Vec<(u16, u32)> = Vec::new();
    for (key, &ttl) in node.ttls.iter().flat_map(|t| t.iter()) {
        match STATIC_TYPES.iter().find(|(k, _)| *k == key) {
            None => sink.at(
                format!("{path}.ttls.{key}"),
                format!("`{key}` is not a record type this name can hold"),
            ),
            Some(_) if !present.contains(&key) => sink.at(
                format!("{path}.ttls.{key}"),
                format!("there are no {key} records at this name"),
            ),
            Some(&(_, rtype)) => by_type.push((rtype, ttl)),
        }
    }
    move |rtype| {
        by_type
            .iter()
            .find(|(t, _)| *t == rtype)
            .map_or(base, |&(_, ttl)| ttl)
    }
}
