//! What each owner name holds, per type, in a configuration, and what changed between two:
//! names and types added or removed, static RRsets changed (records or TTL), and GSLB names
//! whose record changed in ways the pool ranges do not show (TTL, policy, targets, ...).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::dns::name::WireName;
use crate::dns::query::{TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_DS, TYPE_NS, TYPE_SOA};
use crate::gslb::{GslbRecord, Pool, Probe};
use crate::snapshot::{Node, Snapshot};

/// (owner name, type code): the key of one RRset, sorted by name then type.
pub(super) type Key = (String, u16);

/// What one name holds for one type.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Held<'s> {
    /// Static records (type, class, TTL and RDATA on the wire), sorted.
    Records(Vec<&'s [u8]>),
    /// A or AAAA from a GSLB record.
    Gslb(Gslb<'s>),
}

/// A GSLB record and the probes its targets' `probe` indices point into.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gslb<'s> {
    pub rec: &'s GslbRecord,
    pub probes: &'s [Probe],
}

impl PartialEq for Gslb<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.rec, other.rec)
    }
}
impl Eq for Gslb<'_> {}

/// Every RRset of every zone of `snap`, the SOA included (DNSSEC keys aside).
pub(super) fn inventory(snap: &Snapshot) -> BTreeMap<Key, Held<'_>> {
    let mut out = BTreeMap::new();
    for zone in &snap.zones {
        let soa = vec![&zone.soa.0[..]];
        out.insert((zone.origin.to_string(), TYPE_SOA), Held::Records(soa));
        for (name, node) in &zone.nodes {
            let owner = |n: &WireName| n.to_string();
            match node {
                Node::Empty => {}
                Node::Static(sets) => {
                    for set in sets {
                        let held = records(set.records.iter().map(|r| &r.0[..]));
                        out.insert((owner(name), set.rtype), Held::Records(held));
                    }
                }
                Node::Cname { tail, .. } => {
                    out.insert((owner(name), TYPE_CNAME), Held::Records(vec![&tail.0[..]]));
                }
                Node::Gslb(i) => {
                    let g = Gslb {
                        rec: &snap.gslb.records[*i],
                        probes: &snap.gslb.probes,
                    };
                    out.insert((owner(name), TYPE_A), Held::Gslb(g));
                    out.insert((owner(name), TYPE_AAAA), Held::Gslb(g));
                }
                Node::Delegation(d) => {
                    let ns = records(d.ns.records.iter().map(|r| &r.0[..]));
                    out.insert((owner(name), TYPE_NS), Held::Records(ns));
                    if let Some(ds) = &d.ds {
                        let held = records(ds.records.iter().map(|r| &r.0[..]));
                        out.insert((owner(name), TYPE_DS), Held::Records(held));
                    }
                    for glue in &d.glue {
                        if let Some(first) = glue.records.first() {
                            let held = records(glue.records.iter().map(|r| &r.0[..]));
                            out.insert((owner(&glue.owner), first.rtype()), Held::Records(held));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The records' wire forms, sorted.
fn records<'a>(tails: impl Iterator<Item = &'a [u8]>) -> Vec<&'a [u8]> {
    let mut v: Vec<&[u8]> = tails.collect();
    v.sort_unstable();
    v
}

/// How an RRset differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One owner name and type added, removed or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameChange {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub change: Change,
    /// What changed, or what an added or removed name is (`gslb web`), when there is more
    /// to say than the change itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
}

/// The type's mnemonic (`TYPE65534` for one without a name here).
pub(super) fn type_name(t: u16) -> String {
    crate::config::STATIC_TYPES
        .iter()
        .find(|&&(_, code)| code == t)
        .map(|&(name, _)| name.to_string())
        .or_else(|| (t == TYPE_SOA).then(|| "SOA".to_string()))
        .unwrap_or_else(|| format!("TYPE{t}"))
}

/// Every key added, removed or changed from `old` to `new`, in key order.
pub(super) fn changes(
    old: &BTreeMap<Key, Held<'_>>,
    new: &BTreeMap<Key, Held<'_>>,
) -> Vec<NameChange> {
    let keys: BTreeSet<&Key> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let v6 = key.1 == TYPE_AAAA;
        let (change, detail) = match (old.get(key), new.get(key)) {
            (None, Some(n)) => (Change::Added, what(n)),
            (Some(o), None) => (Change::Removed, what(o)),
            (Some(Held::Gslb(o)), Some(Held::Gslb(n))) => {
                let d = gslb_changes(o, n, v6);
                if d.is_empty() {
                    continue;
                }
                (Change::Changed, d)
            }
            (Some(o), Some(n)) if o == n => continue,
            (Some(o), Some(n)) => {
                let d = match (o, n) {
                    (Held::Records(_), Held::Records(_)) => Vec::new(),
                    _ => vec![format!("{} → {}", kind(o), kind(n))],
                };
                (Change::Changed, d)
            }
            (None, None) => continue,
        };
        out.push(NameChange {
            name: key.0.clone(),
            rtype: type_name(key.1),
            change,
            detail,
        });
    }
    out
}

/// `gslb web` or `static`.
fn kind(h: &Held<'_>) -> String {
    match h {
        Held::Gslb(g) => format!("gslb {}", g.rec.name),
        Held::Records(_) => "static".into(),
    }
}

/// `gslb web` for a GSLB name, nothing for static data.
fn what(h: &Held<'_>) -> Vec<String> {
    match h {
        Held::Gslb(g) => vec![format!("gslb {}", g.rec.name)],
        Held::Records(_) => Vec::new(),
    }
}

/// What differs between two GSLB records for one family, beyond which pool answers whom
/// (the pool ranges show that): record, TTLs, policy, answers, `all_down`, pools added or
/// removed, and, per pool, its targets of the family (address, weight, health check) and
/// fallbacks.
fn gslb_changes(og: &Gslb<'_>, ng: &Gslb<'_>, v6: bool) -> Vec<String> {
    let (o, n) = (og.rec, ng.rec);
    let mut d = Vec::new();
    let mut field = |what: &str, a: String, b: String| {
        if a != b {
            d.push(format!("{what} {a} → {b}"));
        }
    };
    field("gslb", o.name.clone(), n.name.clone());
    field("ttl", o.ttl.to_string(), n.ttl.to_string());
    let opt = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    field(
        "ttl_degraded",
        opt(o.ttl_degraded.map(|t| t.to_string())),
        opt(n.ttl_degraded.map(|t| t.to_string())),
    );
    field(
        "policy",
        format!("{:?}", o.policy),
        format!("{:?}", n.policy),
    );
    field(
        "max_answers",
        opt(o.max_answers.map(|t| t.to_string())),
        opt(n.max_answers.map(|t| t.to_string())),
    );
    field(
        "all_down",
        format!("{:?}", o.all_down),
        format!("{:?}", n.all_down),
    );
    let by_name = |g: &Gslb<'_>| -> BTreeMap<String, (Vec<String>, Vec<String>)> {
        g.rec
            .pools
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    (targets(p, g.probes, v6), fallbacks(g.rec, p)),
                )
            })
            .collect()
    };
    let (op, np) = (by_name(og), by_name(ng));
    for name in op.keys().chain(np.keys()).collect::<BTreeSet<_>>() {
        match (op.get(name), np.get(name)) {
            (Some(_), None) => d.push(format!("pool {name} removed")),
            (None, Some(_)) => d.push(format!("pool {name} added")),
            (Some(a), Some(b)) => {
                if a.0 != b.0 {
                    d.push(format!(
                        "pool {name} targets [{}] → [{}]",
                        a.0.join(", "),
                        b.0.join(", ")
                    ));
                }
                if a.1 != b.1 {
                    d.push(format!(
                        "pool {name} fallback [{}] → [{}]",
                        a.1.join(", "),
                        b.1.join(", ")
                    ));
                }
            }
            (None, None) => {}
        }
    }
    d
}

/// The targets of the family: the address, with its weight when not 1 and its health check
/// (name and what it probes) when checked.
fn targets(p: &Pool, probes: &[Probe], v6: bool) -> Vec<String> {
    p.family(v6)
        .iter()
        .map(|&i| {
            let t = &p.targets[i as usize];
            let mut s = t.addr.to_string();
            if t.weight != 1 {
                s.push_str(&format!(" weight {}", t.weight));
            }
            if let Some(probe) = t.probe.and_then(|i| probes.get(i)) {
                let c = &probe.check;
                s.push_str(&format!(
                    " check {} ({:?} port {} {})",
                    probe.check_name, c.kind, c.port, c.path
                ));
            }
            s
        })
        .collect()
}

fn fallbacks(r: &GslbRecord, p: &Pool) -> Vec<String> {
    p.fallback
        .iter()
        .map(|&f| r.pools[f].name.clone())
        .collect()
}
