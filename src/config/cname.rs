//! CNAME loops inside one zone, wildcards included: a chain that comes back to a name (or to
//! the wildcard that synthesises it) never resolves.

use super::zone::{relative, Sink};
use crate::dns::name::WireName;
use crate::snapshot::{Lookup, Node, Zone};

/// Longest chain followed when looking for a loop (a longer one is cut short by the server).
const MAX_LINKS: usize = 64;

/// Reports every CNAME loop of `zone` once, at the first name of the loop.
pub(crate) fn report_loops(zone: &Zone, sink: &mut Sink<'_>) {
    let mut reported: Vec<*const Node> = Vec::new();
    let mut starts: Vec<&WireName> = zone
        .nodes
        .iter()
        .filter(|(_, n)| matches!(n, Node::Cname { .. }))
        .map(|(name, _)| name)
        .collect();
    starts.sort();
    for start in starts {
        // The nodes met so far, each with the name it was reached by (and the wildcard that
        // made that name up).
        let mut chain: Vec<(*const Node, String)> = Vec::new();
        let mut name = start;
        for _ in 0..MAX_LINKS {
            if !name.is_at_or_below(&zone.origin) {
                break;
            }
            let Lookup::Node { node, wildcard } = zone.lookup(name.as_bytes()) else {
                break;
            };
            let Node::Cname { target, .. } = node else {
                break;
            };
            let here = node as *const Node;
            if let Some(i) = chain.iter().position(|(n, _)| *n == here) {
                let cycle = &chain[i..];
                if !cycle.iter().any(|(n, _)| reported.contains(n)) {
                    let names: Vec<&str> = cycle.iter().map(|(_, n)| n.as_str()).collect();
                    let message = format!(
                        "CNAME loop: {} -> {}",
                        names.join(" -> "),
                        shown(zone, name, node, wildcard)
                    );
                    sink.at(
                        format!("records.{}", relative(owner_of(zone, node), &zone.origin)),
                        message,
                    );
                    reported.extend(cycle.iter().map(|(n, _)| *n));
                }
                break;
            }
            chain.push((here, shown(zone, name, node, wildcard)));
            name = target;
        }
    }
}

/// The owner name under which `node` is configured.
fn owner_of<'z>(zone: &'z Zone, node: &Node) -> &'z WireName {
    zone.nodes
        .iter()
        .find(|(_, n)| std::ptr::eq(*n, node))
        .map(|(name, _)| name)
        .expect("the node is in the zone")
}

/// `name`, or `name (from *.x)` when a wildcard made it up.
fn shown(zone: &Zone, name: &WireName, node: &Node, wildcard: bool) -> String {
    if wildcard {
        format!("{name} (from {})", owner_of(zone, node))
    } else {
        name.to_string()
    }
}
