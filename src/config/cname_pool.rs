//! CNAME pools that lead back to their own record: followed through our zones (static
//! CNAMEs, wildcards, and the CNAME pools of the GSLB records they reach), a chain that comes
//! back to the record never resolves for the clients that get that pool.

use std::path::PathBuf;

use super::problem::Problem;
use super::raw::RawZone;
use super::zone::ZoneDraft;
use crate::dns::name::WireName;
use crate::gslb::GslbSet;
use crate::snapshot::{Lookup, Node};

/// Names followed from one CNAME pool at most (a longer chain is cut short by the server).
const MAX_LINKS: usize = 64;

/// Reports every CNAME pool whose alias leads back to its own record.
pub(crate) fn report_loops(
    drafts: &[ZoneDraft],
    raws: &[(PathBuf, RawZone)],
    set: &GslbSet,
    problems: &mut Vec<Problem>,
) {
    for (ri, rec) in set.records.iter().enumerate() {
        for pool in &rec.pools {
            let Some(c) = &pool.cname else { continue };
            let Some(path) = leads_back(drafts, set, ri, &c.target) else {
                continue;
            };
            let file = drafts
                .iter()
                .position(|d| d.zone.origin == rec.zone)
                .map(|i| raws[i].0.as_path())
                .expect("a record's zone is a draft");
            problems.push(Problem::at_path(
                file,
                format!("gslb.{}.pools.{}.cname", rec.name, pool.name),
                format!(
                    "the CNAME leads back to this record: {} -> gslb {}",
                    path.join(" -> "),
                    rec.name
                ),
            ));
        }
    }
}

/// The names by which `start` leads back to record `ri`, if it does.
fn leads_back(
    drafts: &[ZoneDraft],
    set: &GslbSet,
    ri: usize,
    start: &WireName,
) -> Option<Vec<String>> {
    // Depth first over (name, the chain that reached it); records already entered are not
    // entered again.
    let mut entered = vec![false; set.records.len()];
    let mut todo: Vec<(WireName, Vec<String>)> = vec![(start.clone(), Vec::new())];
    let mut steps = 0;
    while let Some((mut name, mut chain)) = todo.pop() {
        loop {
            steps += 1;
            if steps > MAX_LINKS * 16 || chain.len() > MAX_LINKS {
                break;
            }
            chain.push(name.to_string());
            let Some(zone) = drafts
                .iter()
                .map(|d| &d.zone)
                .filter(|z| name.is_at_or_below(&z.origin))
                .max_by_key(|z| z.origin.as_bytes().len())
            else {
                break;
            };
            match zone.lookup(name.as_bytes()) {
                Lookup::Node {
                    node: Node::Cname { target, .. },
                    ..
                } => name = target.clone(),
                Lookup::Node {
                    node: Node::Gslb(j),
                    ..
                } => {
                    let j = *j;
                    if j == ri {
                        return Some(chain);
                    }
                    if j < entered.len() && !std::mem::replace(&mut entered[j], true) {
                        for p in &set.records[j].pools {
                            if let Some(c) = &p.cname {
                                let mut via = chain.clone();
                                via.push(format!("gslb {} pool {}", set.records[j].name, p.name));
                                todo.push((c.target.clone(), via));
                            }
                        }
                    }
                    break;
                }
                _ => break,
            }
        }
    }
    None
}
