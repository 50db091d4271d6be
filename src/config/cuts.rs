//! Zone cuts: delegations below the apex, the glue under them, and the additional-section
//! addresses that NS, MX and SRV answers carry.

use rustc_hash::{FxHashMap, FxHashSet};

use super::problem::Problem;
use super::records::{compile_static, present_types};
use super::zone::{is_wildcard, Owner, Sink, ZoneDraft};
use crate::dns::name::{suffix_offset, WireName};
use crate::dns::query::*;
use crate::snapshot::{Additional, Delegation, Node, Rrset};

/// Address records of names at or below cuts, by name (A first, then AAAA).
#[derive(Default)]
pub(crate) struct Glue(FxHashMap<WireName, Vec<Rrset>>);

impl Glue {
    /// Number of names holding glue.
    pub fn names(&self) -> usize {
        self.0.len()
    }

    fn additional(&self, name: &[u8]) -> Vec<Additional> {
        self.0
            .get(name)
            .map(|sets| addresses(name, sets))
            .unwrap_or_default()
    }
}

/// The A and AAAA RRsets among `sets`, as additional records owned by `name`.
fn addresses(name: &[u8], sets: &[Rrset]) -> Vec<Additional> {
    sets.iter()
        .filter(|s| s.rtype == TYPE_A || s.rtype == TYPE_AAAA)
        .map(|s| Additional {
            owner: WireName::from_wire(name),
            records: s.records.clone(),
        })
        .collect()
}

/// Names below the apex that hold NS records: the zone's cuts.
pub(crate) fn cut_names(owners: &[Owner<'_>], origin: &WireName) -> FxHashSet<WireName> {
    owners
        .iter()
        .filter(|o| o.node.ns.is_some() && o.name != *origin)
        .map(|o| o.name.clone())
        .collect()
}

/// The cut strictly above `name`, if any.
pub(crate) fn cut_above<'c>(
    name: &WireName,
    cuts: &'c FxHashSet<WireName>,
    origin: &WireName,
) -> Option<&'c WireName> {
    if cuts.is_empty() {
        return None;
    }
    name.ancestors_below(origin)
        .iter()
        .rev()
        .find_map(|a| cuts.get(a))
}

/// Types other than `allowed` present at a name, as a readable list.
fn extra_types(owner: &Owner<'_>, allowed: &[&str]) -> Vec<&'static str> {
    let mut extra: Vec<&'static str> = present_types(owner.node)
        .into_iter()
        .filter(|t| !allowed.contains(t))
        .collect();
    if owner.node.gslb.is_some() {
        extra.push("gslb");
    }
    extra
}

/// A name below a cut: only glue (A/AAAA) may be there.
pub(crate) fn compile_below_cut(
    owner: &Owner<'_>,
    cut: &WireName,
    ttl_of: &dyn Fn(u16) -> u32,
    origin: &WireName,
    glue: &mut Glue,
    sink: &mut Sink<'_>,
) {
    let path = owner.path();
    let extra = extra_types(owner, &["A", "AAAA"]);
    if is_wildcard(&owner.name) || !extra.is_empty() {
        let what = if is_wildcard(&owner.name) {
            "a wildcard".to_string()
        } else {
            extra.join(", ")
        };
        sink.at(
            &path,
            format!(
                "`{}` is below the delegation `{cut}`: only glue (A/AAAA of the child's name \
                 servers) may be there, so {what} would never be served",
                owner.name
            ),
        );
        return;
    }
    let sets = compile_static(owner.node, ttl_of, origin, &path, sink);
    if sets.is_empty() {
        sink.at(&path, "no records at this name");
        return;
    }
    glue.0.insert(owner.name.clone(), sets);
}

/// A cut: NS (the delegation), DS (answered here, by the parent) and glue at the cut itself.
pub(crate) fn compile_cut(
    owner: &Owner<'_>,
    ttl_of: &dyn Fn(u16) -> u32,
    origin: &WireName,
    nodes: &mut FxHashMap<WireName, Node>,
    glue: &mut Glue,
    sink: &mut Sink<'_>,
) {
    let path = owner.path();
    if is_wildcard(&owner.name) {
        sink.at(
            format!("{path}.NS"),
            "a wildcard cannot be a delegation (RFC 4592 §4.2): name the child zone",
        );
        return;
    }
    let extra = extra_types(owner, &["NS", "DS", "A", "AAAA"]);
    if !extra.is_empty() {
        sink.at(
            &path,
            format!(
                "`{}` is a delegation (it has NS records): besides NS it holds only DS and \
                 glue (A/AAAA); {} belongs in the child zone",
                owner.name,
                extra.join(", ")
            ),
        );
        return;
    }
    let mut ns = None;
    let mut ds = None;
    let mut addrs = Vec::new();
    for set in compile_static(owner.node, ttl_of, origin, &path, sink) {
        match set.rtype {
            TYPE_NS => ns = Some(set),
            TYPE_DS => ds = Some(set),
            _ => addrs.push(set),
        }
    }
    let Some(ns) = ns else { return };
    if !addrs.is_empty() {
        glue.0.insert(owner.name.clone(), addrs);
    }
    nodes.insert(
        owner.name.clone(),
        Node::Delegation(Box::new(Delegation {
            ns,
            ds,
            glue: Vec::new(),
            sibling: Vec::new(),
        })),
    );
}

/// The name an NS, MX or SRV record points to.
pub(crate) fn target_of(rtype: u16, rdata: &[u8]) -> Option<&[u8]> {
    match rtype {
        TYPE_NS => Some(rdata),
        TYPE_MX => rdata.get(2..),
        TYPE_SRV => rdata.get(6..),
        _ => None,
    }
}

/// Fills every delegation's glue: the addresses of its name servers at or below the cut
/// (required: a missing one is a problem naming the cut) and of those elsewhere in the zone
/// (sibling glue, sent when it fits).
pub(crate) fn attach_glue(
    nodes: &mut FxHashMap<WireName, Node>,
    glue: &Glue,
    origin: &WireName,
    owners: &[Owner<'_>],
    sink: &mut Sink<'_>,
) {
    let mut filled = Vec::new();
    for (cut, node) in nodes.iter() {
        let Node::Delegation(d) = node else { continue };
        let mut required = Vec::new();
        let mut sibling = Vec::new();
        for (i, r) in d.ns.records.iter().enumerate() {
            let target = r.rdata();
            if suffix_offset(target, cut.as_bytes()).is_some() {
                let found = glue.additional(target);
                if found.is_empty() {
                    let key = owners
                        .iter()
                        .find(|o| o.name == *cut)
                        .map_or_else(|| cut.to_string(), |o| o.key.to_string());
                    let ns = WireName::from_wire(target);
                    sink.at(
                        format!("records.{key}.NS[{i}]"),
                        format!(
                            "name server `{ns}` is inside the delegation `{cut}`, so resolvers \
                             need its address from this zone: add glue (`\"{}\": {{ \"A\": \
                             [...] }}`)",
                            super::zone::relative(&ns, origin)
                        ),
                    );
                }
                required.extend(found);
            } else if suffix_offset(target, origin.as_bytes()).is_some() {
                let mut found = glue.additional(target);
                if found.is_empty() {
                    if let Some(Node::Static(sets)) = nodes.get(target) {
                        found = addresses(target, sets);
                    }
                }
                sibling.extend(found);
            }
        }
        filled.push((cut.clone(), required, sibling));
    }
    for (cut, required, sibling) in filled {
        if let Some(Node::Delegation(d)) = nodes.get_mut(&cut) {
            d.glue = required;
            d.sibling = sibling;
        }
    }
}

/// Gives every NS, MX and SRV RRset the static addresses of its in-zone targets.
pub(crate) fn attach_additional(nodes: &mut FxHashMap<WireName, Node>, origin: &WireName) {
    let mut found: Vec<(WireName, usize, Vec<Additional>)> = Vec::new();
    for (owner, node) in nodes.iter() {
        let Node::Static(sets) = node else { continue };
        for (i, set) in sets.iter().enumerate() {
            let mut extra: Vec<Additional> = Vec::new();
            for r in &set.records {
                let Some(target) = target_of(set.rtype, r.rdata()) else {
                    break;
                };
                if suffix_offset(target, origin.as_bytes()).is_none()
                    || extra.iter().any(|a| a.owner.as_bytes() == target)
                {
                    continue;
                }
                let sets = match nodes.get(target) {
                    Some(Node::Static(t)) => Some(t),
                    Some(_) => None,
                    None => synthesised(nodes, target, origin),
                };
                if let Some(t) = sets {
                    extra.extend(addresses(target, t));
                }
            }
            if !extra.is_empty() {
                found.push((owner.clone(), i, extra));
            }
        }
    }
    for (owner, i, extra) in found {
        if let Some(Node::Static(sets)) = nodes.get_mut(&owner) {
            sets[i].additional = extra;
        }
    }
}

/// The static RRsets a wildcard synthesises for `name`, a name of the zone that does not
/// exist (RFC 4592 §3.3.1): the closest encloser's `*` child, unless the closest encloser is
/// a cut. Additional data is what the server would answer for the target (RFC 1034 §4.3.2
/// step 6), and NSD and Knot put synthesised addresses there too.
fn synthesised<'n>(
    nodes: &'n FxHashMap<WireName, Node>,
    name: &[u8],
    origin: &WireName,
) -> Option<&'n Vec<Rrset>> {
    let mut off = 0usize;
    while name.len() - off > origin.as_bytes().len() {
        off += name[off] as usize + 1;
        let ancestor = &name[off..];
        let Some(node) = nodes.get(ancestor) else {
            continue;
        };
        if matches!(node, Node::Delegation(_)) {
            return None;
        }
        let mut wildcard = vec![1, b'*'];
        wildcard.extend_from_slice(ancestor);
        return match nodes.get(wildcard.as_slice()) {
            Some(Node::Static(sets)) => Some(sets),
            _ => None,
        };
    }
    None
}

/// A child zone that we serve and whose parent (also ours) delegates it: every name server
/// of its apex that lies inside the child must have an address there, or resolvers that
/// follow the delegation find a server they cannot reach.
pub(crate) fn check_children(drafts: &[ZoneDraft], problems: &mut Vec<Problem>) {
    for child in drafts {
        let origin = child.zone.origin.as_bytes();
        let delegated = drafts.iter().any(|parent| {
            parent.zone.origin != child.zone.origin
                && suffix_offset(origin, parent.zone.origin.as_bytes()).is_some()
                && matches!(parent.zone.nodes.get(origin), Some(Node::Delegation(_)))
        });
        if !delegated {
            continue;
        }
        let Some(Node::Static(sets)) = child.zone.nodes.get(origin) else {
            continue;
        };
        let Some(ns) = sets.iter().find(|s| s.rtype == TYPE_NS) else {
            continue;
        };
        for (i, r) in ns.records.iter().enumerate() {
            let target = r.rdata();
            if suffix_offset(target, origin).is_none() {
                continue;
            }
            let reachable = match child.zone.nodes.get(target) {
                Some(Node::Static(t)) => {
                    t.iter().any(|s| s.rtype == TYPE_A || s.rtype == TYPE_AAAA)
                }
                Some(Node::Gslb(_)) => true,
                _ => false,
            };
            if !reachable {
                problems.push(Problem::at_path(
                    &child.zone.file,
                    format!("records.@.NS[{i}]"),
                    format!(
                        "name server `{}` is inside the delegated zone `{}` but has no A or \
                         AAAA records here: resolvers following the delegation cannot reach it",
                        WireName::from_wire(target),
                        child.zone.origin
                    ),
                ));
            }
        }
    }
}
