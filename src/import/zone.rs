//! The imported zone: records grouped into names and RRsets, checked against what gslbd can
//! serve, with the TTLs the JSON will say.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::name::Name;
use super::parser::Record;
use super::rdata::{Rdata, Soa};
use super::rtype::RType;
use super::Findings;
use crate::config::{Position, Problem};

/// One RRset: its records (duplicates dropped) and its TTL.
#[derive(Debug, Clone)]
pub struct Rrset {
    pub rtype: RType,
    /// The smallest TTL among the records (RFC 2181 §5.2).
    pub ttl: u32,
    pub records: Vec<Rdata>,
    /// Where its first record is.
    pub file: PathBuf,
    pub line: usize,
}

/// The data at one owner name.
#[derive(Debug, Clone)]
pub struct Node {
    /// The JSON key: relative to the origin, `@` for the apex.
    pub key: String,
    /// The name's `ttl` when it differs from the zone's.
    pub ttl: Option<u32>,
    /// RRsets in `RType` order, each with a TTL override when it differs from the name's.
    pub sets: Vec<(Rrset, Option<u32>)>,
}

/// A zone ready to be written as JSON.
#[derive(Debug, Clone)]
pub struct Zone {
    pub origin: Name,
    /// The SOA record's TTL, the zone default.
    pub ttl: u32,
    pub soa: Soa,
    /// The apex first, then DNS canonical order.
    pub nodes: Vec<Node>,
}

/// Groups `records` into a zone. The zone origin is the owner of the SOA record. Problems
/// go to `findings`; `None` when there is no zone to write.
pub fn build(file: &Path, records: Vec<Record>, findings: &mut Findings) -> Option<Zone> {
    let soas: Vec<&Record> = records.iter().filter(|r| r.rtype() == RType::Soa).collect();
    let Some(soa_record) = soas.first().copied() else {
        if !findings.errors.is_empty() {
            // The SOA may be what a syntax error hid.
            return None;
        }
        findings.errors.push(Problem::in_file(
            file,
            "no SOA record: a zone file starts with the SOA of its apex",
        ));
        return None;
    };
    let origin = soa_record.owner.lowercase();
    for extra in &soas[1..] {
        findings.errors.push(line_problem(
            extra.file.clone(),
            extra.line,
            format!(
                "a second SOA record (the first is at {}:{}); a zone has one",
                soa_record.file.display(),
                soa_record.line
            ),
        ));
    }

    // Group into RRsets, in the order names first appear.
    let mut order: Vec<Name> = Vec::new();
    let mut by_name: HashMap<Vec<Vec<u8>>, Vec<Rrset>> = HashMap::new();
    for r in &records {
        if !r.owner.is_at_or_below(&origin) {
            findings.unsupported.push(line_problem(
                r.file.clone(),
                r.line,
                format!("`{}` is outside the zone `{origin}`", r.owner),
            ));
            continue;
        }
        let owner = r.owner.lowercase();
        let sets = by_name.entry(owner.labels().to_vec()).or_insert_with(|| {
            order.push(owner.clone());
            Vec::new()
        });
        let rtype = r.rtype();
        match sets.iter_mut().find(|s| s.rtype == rtype) {
            None => sets.push(Rrset {
                rtype,
                ttl: r.ttl,
                records: vec![r.rdata.clone()],
                file: r.file.clone(),
                line: r.line,
            }),
            Some(set) => {
                if r.ttl != set.ttl {
                    let min = r.ttl.min(set.ttl);
                    findings.warnings.push(line_problem(
                        r.file.clone(),
                        r.line,
                        format!(
                            "TTL {} differs from the TTL {} of the {} {rtype} RRset (line {}); \
                             the RRset gets {min}, the smaller (RFC 2181 §5.2)",
                            r.ttl, set.ttl, r.owner, set.line
                        ),
                    ));
                    set.ttl = min;
                }
                if !set.records.contains(&r.rdata) {
                    set.records.push(r.rdata.clone());
                }
            }
        }
    }

    let cuts: Vec<Name> = order
        .iter()
        .filter(|n| **n != origin && by_name[n.labels()].iter().any(|s| s.rtype == RType::Ns))
        .cloned()
        .collect();
    let mut nodes = Vec::new();
    for owner in &order {
        let mut sets = by_name.remove(owner.labels()).unwrap_or_default();
        sets.retain(|s| keep(s, owner, &origin, &cuts, findings));
        check_cname(owner, &origin, &sets, findings);
        sets.sort_by_key(|s| s.rtype);
        if !sets.is_empty() {
            nodes.push((owner.clone(), sets));
        }
    }
    check_apex_and_glue(&origin, &nodes, &cuts, findings);
    nodes.sort_by(|a, b| a.0.canonical_cmp(&b.0));

    let Rdata::Soa(soa) = soa_record.rdata.clone() else {
        unreachable!("filtered on the SOA type")
    };
    let zone_ttl = soa_record.ttl;
    let nodes = nodes
        .into_iter()
        .map(|(owner, sets)| node(owner, sets, &origin, zone_ttl))
        .collect();
    Some(Zone {
        origin,
        ttl: zone_ttl,
        soa,
        nodes,
    })
}

fn line_problem(file: PathBuf, line: usize, message: String) -> Problem {
    Problem {
        file,
        position: Position::Line(line),
        message,
    }
}

/// Whether an RRset can be expressed where it is; reports it when not.
fn keep(set: &Rrset, owner: &Name, origin: &Name, cuts: &[Name], f: &mut Findings) -> bool {
    let at_cut = cuts.contains(owner);
    let below_cut = cuts.iter().find(|c| owner.is_below(c));
    let problem = match set.rtype {
        RType::Soa => {
            if owner == origin {
                return true;
            }
            f.errors.push(line_problem(
                set.file.clone(),
                set.line,
                format!("an SOA record at `{owner}`, below the zone apex `{origin}`"),
            ));
            return false;
        }
        _ if below_cut.is_some() && !matches!(set.rtype, RType::A | RType::Aaaa) => format!(
            "{} records at `{owner}` lie below the delegation `{}`, where only glue \
             (A, AAAA) may be",
            set.rtype,
            below_cut.expect("checked")
        ),
        RType::Ds if owner == origin => {
            "DS records at the apex belong in the parent zone, not here".into()
        }
        RType::Ds if !at_cut => format!(
            "DS records at `{owner}`, which is no delegation (DS sits beside the NS records \
             of a zone cut)"
        ),
        RType::Ns | RType::Ds => return true,
        rtype if at_cut => format!(
            "{rtype} records at the delegation `{owner}` are hidden by the zone cut; only NS \
             and DS may be there"
        ),
        _ => return true,
    };
    f.unsupported
        .push(line_problem(set.file.clone(), set.line, problem));
    false
}

fn check_cname(owner: &Name, origin: &Name, sets: &[Rrset], f: &mut Findings) {
    let Some(cname) = sets.iter().find(|s| s.rtype == RType::Cname) else {
        return;
    };
    let mut say = |m: String| {
        f.errors
            .push(line_problem(cname.file.clone(), cname.line, m))
    };
    if owner == origin {
        return say("the zone apex cannot be a CNAME (it holds the SOA and NS records)".into());
    }
    if cname.records.len() > 1 {
        say(format!(
            "{} CNAME records at `{owner}`; a name has at most one",
            cname.records.len()
        ));
    }
    let others: Vec<String> = sets
        .iter()
        .filter(|s| !matches!(s.rtype, RType::Cname | RType::Soa))
        .map(|s| format!("{} (line {})", s.rtype, s.line))
        .collect();
    if !others.is_empty() {
        say(format!(
            "`{owner}` has a CNAME and other data: {}; a CNAME name holds nothing else \
             (RFC 1034 §3.6.2)",
            others.join(", ")
        ));
    }
}

fn check_apex_and_glue(
    origin: &Name,
    nodes: &[(Name, Vec<Rrset>)],
    cuts: &[Name],
    f: &mut Findings,
) {
    let sets_at = |n: &Name| {
        nodes
            .iter()
            .find(|(o, _)| o == n)
            .map(|(_, s)| s.as_slice())
    };
    let apex = sets_at(origin).unwrap_or_default();
    if let Some(soa) = apex.iter().find(|s| s.rtype == RType::Soa) {
        if !apex.iter().any(|s| s.rtype == RType::Ns) {
            f.errors.push(line_problem(
                soa.file.clone(),
                soa.line,
                format!("the zone apex `{origin}` has no NS records"),
            ));
        }
    }
    for cut in cuts {
        let Some(ns) = sets_at(cut).and_then(|s| s.iter().find(|s| s.rtype == RType::Ns)) else {
            continue;
        };
        for r in &ns.records {
            let Rdata::Ns(target) = r else { continue };
            let has_address = sets_at(target)
                .is_some_and(|s| s.iter().any(|s| matches!(s.rtype, RType::A | RType::Aaaa)));
            if target.is_at_or_below(cut) && !has_address {
                f.errors.push(line_problem(
                    ns.file.clone(),
                    ns.line,
                    format!(
                        "the delegation `{cut}` names `{target}`, below the cut, with no A or \
                         AAAA glue in this file"
                    ),
                ));
            }
        }
    }
}

/// Chooses the name's TTL (the most common among its RRsets) and the per-type overrides.
fn node(owner: Name, sets: Vec<Rrset>, origin: &Name, zone_ttl: u32) -> Node {
    let served: Vec<Rrset> = sets.into_iter().filter(|s| s.rtype != RType::Soa).collect();
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for s in &served {
        match counts.iter_mut().find(|(t, _)| *t == s.ttl) {
            Some((_, n)) => *n += 1,
            None => counts.push((s.ttl, 1)),
        }
    }
    // Most common; on a tie the zone's TTL (no override needed), then the smallest.
    let name_ttl = counts
        .iter()
        .max_by_key(|(t, n)| (*n, *t == zone_ttl, std::cmp::Reverse(*t)))
        .map_or(zone_ttl, |(t, _)| *t);
    let sets = served
        .into_iter()
        .map(|s| {
            let over = (s.ttl != name_ttl).then_some(s.ttl);
            (s, over)
        })
        .collect();
    Node {
        key: owner.relative_to(origin),
        ttl: (name_ttl != zone_ttl).then_some(name_ttl),
        sets,
    }
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
