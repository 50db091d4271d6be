//! The sampled query log: one line per logged query.

use std::net::SocketAddr;

use super::query;
use super::response::rcode;

/// Logs one query and what became of it.
pub fn log_query(packet: &[u8], peer: SocketAddr, o: &crate::metrics::Outcome) {
    let Ok(q) = query::parse(packet) else {
        return;
    };
    let name = super::name::WireName::from_wire(q.qname());
    let ecs = q
        .edns
        .and_then(|e| e.ecs)
        .map(|e| format!("{}/{}", e.addr, e.source_prefix));
    tracing::info!(
        target: "gslbd::query",
        client = %peer,
        qname = %name,
        qtype = o.qtype,
        rcode = rcode::name(o.rcode),
        ecs = ecs.as_deref().unwrap_or("-"),
        "query"
    );
}
