//! Prometheus gauges of what was set by hand beyond drains: each target's share of answers
//! (`gslbd_target_share`, 1 unless shifted) and each pool's drain (`gslbd_pool_drained`).

use std::collections::BTreeSet;
use std::fmt::Write;

use super::pool_drains::{Drained, PoolKey};
use super::status::TargetStatus;
use crate::snapshot::Snapshot;

/// Appends the gauges to `out`, given `/v1/status`'s targets and the drained pools.
pub fn render(
    out: &mut String,
    targets: &[TargetStatus],
    snap: &Snapshot,
    pools_drained: &[(PoolKey, Drained, bool)],
) {
    let _ = writeln!(out, "# HELP gslbd_target_share The share of answers a target keeps (gradual shifts; 1 unless shifted).\n# TYPE gslbd_target_share gauge");
    let mut seen = BTreeSet::new();
    for t in targets {
        if seen.insert(t.address) {
            let share = t.shift.as_ref().map_or(1.0, |s| s.share);
            let _ = writeln!(
                out,
                "gslbd_target_share{{address=\"{}\"}} {share}",
                t.address
            );
        }
    }
    let _ = writeln!(out, "# HELP gslbd_pool_drained Whether a pool is drained by hand (1) or not (0).\n# TYPE gslbd_pool_drained gauge");
    let pools: BTreeSet<(&str, &str)> = snap
        .gslb
        .records
        .iter()
        .flat_map(|r| r.pools.iter().map(|p| (r.name.as_str(), p.name.as_str())))
        .collect();
    for (record, pool) in pools {
        let on = pools_drained
            .iter()
            .any(|(k, _, _)| k.record == record && k.pool == pool);
        let _ = writeln!(
            out,
            "gslbd_pool_drained{{record=\"{}\",pool=\"{}\"}} {}",
            escape(record),
            escape(pool),
            u8::from(on)
        );
    }
}

/// A label value as Prometheus text wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
