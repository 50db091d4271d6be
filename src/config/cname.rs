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
        // The nodes met so far, each with the name it was reached by.
        let mut chain: Vec<(*const Node, &WireName)> = Vec::new();
        let mut name = start;
        for _ in 0..MAX_LINKS {
            if !name.is_at_or_below(&zone.origin) {
                break;
            }
            let Lookup::Node { node, .. } = zone.lookup(name.as_bytes()) else {
                break;
            };
            let Node::Cname { target, .. } = node else {
                break;
            };
            let here = node as *const Node;
            if let Some(i) = chain.iter().position(|(n, _)| *n == here) {
                let cycle = &chain[i..];
                if !cycle.iter().any(|(n, _)| reported.contains(n)) {
                    let names: Vec<String> = cycle.iter().map(|(_, n)| n.to_string()).collect();
                    let mut message = format!("CNAME loop: {} -> {}", names.join(" -> "), name);
                    if name != cycle[0].1 {
                        message.push_str(" (made up by the same wildcard again)");
                    }
                    sink.at(
                        format!("records.{}", relative(cycle[0].1, &zone.origin)),
                        message,
                    );
                    reported.extend(cycle.iter().map(|(n, _)| *n));
                }
                break;
            }
            chain.push((here, name));
            name = target;
        }
    }
}
