//! Pool drains (spec §11): a GSLB record's pool taken out of the pool order by hand
//! (`POST /v1/pools/{record}/{pool}/drain`), named by record and pool so the drain is
//! resolved again against every new configuration. A record name held by several zones
//! names all of them.

use serde::{Deserialize, Serialize};

use super::drains::DrainError;
use super::monitor::Monitor;
use crate::fleet::Ledger;
use crate::gslb::GslbSet;

/// A pool by name: `web` / `europe` is pool `europe` of every GSLB record named `web`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PoolKey {
    pub record: String,
    pub pool: String,
}

/// The drained pools, with who drained each and when.
pub type PoolDrains = Ledger<PoolKey, Drained>;

/// Who drained a pool and when (wall-clock ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drained {
    #[serde(default)]
    pub by: String,
    #[serde(default)]
    pub at_ms: u64,
}

impl PoolKey {
    /// Whether some record of `set` has this pool.
    pub fn known(&self, set: &GslbSet) -> bool {
        set.records
            .iter()
            .filter(|r| r.name == self.record)
            .any(|r| r.pools.iter().any(|p| p.name == self.pool))
    }
}

/// `drained[Pool::id]` for every pool of `set`; empty when none is drained.
pub fn drained_ids(set: &GslbSet, drains: &PoolDrains) -> Vec<bool> {
    if drains.is_empty() {
        return Vec::new();
    }
    let mut out = vec![false; set.pool_count()];
    for r in &set.records {
        for p in &r.pools {
            // Few drains: a scan per pool beats building keys.
            let hit = drains
                .iter()
                .any(|(k, _)| k.record == r.name && k.pool == p.name);
            if let Some(slot) = out.get_mut(p.id as usize) {
                *slot = hit;
            }
        }
    }
    out
}

impl Monitor {
    /// Drains (`on`) or undrains pool `key`: a drained pool is skipped in every client's
    /// pool order. Unknown pools are refused, except an undrain of one still held drained.
    pub fn pool_drain(&self, key: PoolKey, on: bool) -> Result<(), DrainError> {
        let snap = self.inner.shared.snapshot();
        let fleet = self.fleet();
        {
            let mut manual = self.inner.manual.lock().unwrap();
            if !key.known(&snap.gslb) && (on || !manual.pools.contains(&key)) {
                return Err(DrainError::UnknownPool {
                    record: key.record,
                    pool: key.pool,
                });
            }
            let value = on.then(|| Drained {
                by: fleet
                    .as_ref()
                    .map_or_else(String::new, |f| f.config.node.clone()),
                at_ms: crate::fleet::now_ms(),
            });
            manual.pools.set(key.clone(), value, fleet.is_some());
            manual.save()?;
        }
        self.inner.publish();
        if let Some(f) = fleet {
            f.drains_changed.notify_one();
        }
        tracing::info!(record = %key.record, pool = %key.pool, drained = on, "pool drain changed by the admin API");
        Ok(())
    }

    /// The drained pools (`/v1/status`), with whether the served configuration has them.
    pub fn pools_drained(&self) -> Vec<(PoolKey, Drained, bool)> {
        let snap = self.inner.shared.snapshot();
        let manual = self.inner.manual.lock().unwrap();
        manual
            .pools
            .iter()
            .map(|(k, d)| (k.clone(), d.clone(), k.known(&snap.gslb)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::rr::RrTail;
    use crate::gslb::{GslbRecord, Pool, Target};

    fn record(name: &str, pools: &[&str]) -> GslbRecord {
        GslbRecord {
            name: name.into(),
            zone: crate::dns::name::WireName::parse("example.test.", None).unwrap(),
            ttl: 30,
            ttl_degraded: None,
            policy: Default::default(),
            max_answers: None,
            all_down: Default::default(),
            pools: pools
                .iter()
                .map(|p| {
                    let t = Target {
                        addr: "192.0.2.1".parse().unwrap(),
                        weight: 1,
                        probe: None,
                        tail: RrTail::new(1, 30, &[0; 4]),
                    };
                    Pool::new(p.to_string(), vec![t], vec![])
                })
                .collect(),
            region_pools: vec![],
            default_pool: 0,
            needs: Default::default(),
            nearest: Box::default(),
        }
    }

    #[test]
    fn a_drain_resolves_to_that_pool_of_every_record_of_the_name() {
        let mut set = GslbSet {
            records: vec![
                record("web", &["default", "eu-west"]),
                record("api", &["default", "eu-west"]),
                // The same record name in another zone.
                record("web", &["eu-west", "default"]),
            ],
            probes: vec![],
        };
        set.number_pools();
        let mut drains = PoolDrains::default();
        assert!(drained_ids(&set, &drains).is_empty());
        let key = PoolKey {
            record: "web".into(),
            pool: "eu-west".into(),
        };
        assert!(key.known(&set));
        drains.set(
            key,
            Some(Drained {
                by: String::new(),
                at_ms: 0,
            }),
            false,
        );
        assert_eq!(
            drained_ids(&set, &drains),
            [false, true, false, false, true, false]
        );
        let typo = PoolKey {
            record: "web".into(),
            pool: "eu-wset".into(),
        };
        assert!(!typo.known(&set));
    }
}
