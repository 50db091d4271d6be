//! Prometheus gauges computed at scrape time from what is served: each target's share of
//! answers (`gslbd_target_share`, 1 unless shifted), each pool's drain (`gslbd_pool_drained`)
//! and each pool's targets by the state answers follow (`gslbd_pool_targets`).

use std::collections::BTreeSet;
use std::fmt::Write;

use super::pool_drains::{Drained, PoolKey};
use super::status::TargetStatus;
use super::view::TargetHealth;
use crate::state::Serving;

/// Appends the gauges to `out`, given `/v1/status`'s targets, what is served (the snapshot
/// and the health view the answers read) and the drained pools.
pub fn render(
    out: &mut String,
    targets: &[TargetStatus],
    serving: &Serving,
    pools_drained: &[(PoolKey, Drained, bool)],
) {
    let snap = &serving.snapshot;
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
    pool_targets(out, serving);
}

/// `gslbd_pool_targets{record,pool,state}`: how many of each address pool's targets the
/// answers see as up, down (by their health check, or the fleet's verdict) and drained by
/// hand. CNAME pools have no targets and are left out.
fn pool_targets(out: &mut String, serving: &Serving) {
    let _ = writeln!(out, "# HELP gslbd_pool_targets Targets of each address pool by the state answers follow: up, down (health check or fleet verdict) or drained by hand. CNAME pools are left out.\n# TYPE gslbd_pool_targets gauge");
    let mut rows: Vec<(&str, &str, [usize; 3])> = Vec::new();
    for r in &serving.snapshot.gslb.records {
        for p in r.pools.iter().filter(|p| p.cname.is_none()) {
            let mut counts = [0usize; 3];
            for t in &p.targets {
                counts[match serving.health.state(t) {
                    TargetHealth::Up => 0,
                    TargetHealth::Down => 1,
                    TargetHealth::Drained => 2,
                }] += 1;
            }
            rows.push((r.name.as_str(), p.name.as_str(), counts));
        }
    }
    rows.sort_unstable();
    rows.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
    for (record, pool, counts) in rows {
        for (state, n) in ["up", "down", "drained"].iter().zip(counts) {
            let _ = writeln!(
                out,
                "gslbd_pool_targets{{record=\"{}\",pool=\"{}\",state=\"{state}\"}} {n}",
                escape(record),
                escape(pool)
            );
        }
    }
}

/// A label value as Prometheus text wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
