//! The settings made by hand — target drains, pool drains, gradual shifts — and the state
//! file (`serve --state-file`) that keeps them, with the changes the fleet has not heard of
//! yet, across restarts. Files written before pool drains and shifts existed still read.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::pool_drains::{Drained, PoolDrains, PoolKey};
use super::shifts::Shift;
use crate::fleet::Ledger;

/// The state file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot save the state file {path}: {source}")]
pub struct SaveError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Everything set by hand, and where it is saved.
#[derive(Debug, Default)]
pub struct Manual {
    /// Drained target addresses.
    pub drains: Ledger<IpAddr, ()>,
    pub shifts: Ledger<IpAddr, Shift>,
    pub pools: PoolDrains,
    file: Option<PathBuf>,
}

/// The file's format. `drained` and `unpublished` are those of the first version.
#[derive(Serialize, Deserialize, Default)]
struct StateFile {
    drained: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unpublished: Vec<UnpublishedDrain>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    shifts: Vec<ShiftEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unpublished_shifts: Vec<UnpublishedShift>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pools_drained: Vec<PoolEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unpublished_pools: Vec<UnpublishedPool>,
}

#[derive(Serialize, Deserialize)]
struct UnpublishedDrain {
    address: IpAddr,
    drained: bool,
}

#[derive(Serialize, Deserialize)]
struct ShiftEntry {
    address: IpAddr,
    #[serde(flatten)]
    shift: Shift,
}

#[derive(Serialize, Deserialize)]
struct UnpublishedShift {
    address: IpAddr,
    /// `null`: the shift was removed.
    shift: Option<Shift>,
}

#[derive(Serialize, Deserialize)]
struct PoolEntry {
    #[serde(flatten)]
    key: PoolKey,
    #[serde(flatten)]
    drained: Drained,
}

#[derive(Serialize, Deserialize)]
struct UnpublishedPool {
    #[serde(flatten)]
    key: PoolKey,
    /// `null`: undrained.
    drained: Option<Drained>,
}

impl Manual {
    /// The settings saved in `file`, when it exists and reads.
    pub fn load(file: Option<PathBuf>) -> Manual {
        let saved = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| match serde_json::from_str::<StateFile>(&t) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "the state file does not read; starting without drains or shifts");
                    None
                }
            })
            .unwrap_or_default();
        Manual {
            drains: Ledger::from_parts(
                saved.drained.into_iter().map(|a| (a, ())).collect(),
                saved
                    .unpublished
                    .into_iter()
                    .map(|u| (u.address, u.drained.then_some(())))
                    .collect(),
            ),
            shifts: Ledger::from_parts(
                saved
                    .shifts
                    .into_iter()
                    .map(|e| (e.address, e.shift))
                    .collect(),
                saved
                    .unpublished_shifts
                    .into_iter()
                    .map(|u| (u.address, u.shift))
                    .collect(),
            ),
            pools: Ledger::from_parts(
                saved
                    .pools_drained
                    .into_iter()
                    .map(|e| (e.key, e.drained))
                    .collect(),
                saved
                    .unpublished_pools
                    .into_iter()
                    .map(|u| (u.key, u.drained))
                    .collect::<BTreeMap<_, _>>(),
            ),
            file,
        }
    }

    /// Writes the file (atomically: a temporary file renamed over it); nothing without one.
    pub fn save(&self) -> Result<(), SaveError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let (drained, unpublished) = self.drains.parts();
        let (shifts, unpublished_shifts) = self.shifts.parts();
        let (pools, unpublished_pools) = self.pools.parts();
        let file = StateFile {
            drained: drained.keys().copied().collect(),
            unpublished: unpublished
                .iter()
                .map(|(a, d)| UnpublishedDrain {
                    address: *a,
                    drained: d.is_some(),
                })
                .collect(),
            shifts: shifts
                .iter()
                .map(|(a, s)| ShiftEntry {
                    address: *a,
                    shift: s.clone(),
                })
                .collect(),
            unpublished_shifts: unpublished_shifts
                .iter()
                .map(|(a, s)| UnpublishedShift {
                    address: *a,
                    shift: s.clone(),
                })
                .collect(),
            pools_drained: pools
                .iter()
                .map(|(k, d)| PoolEntry {
                    key: k.clone(),
                    drained: d.clone(),
                })
                .collect(),
            unpublished_pools: unpublished_pools
                .iter()
                .map(|(k, d)| UnpublishedPool {
                    key: k.clone(),
                    drained: d.clone(),
                })
                .collect(),
        };
        let body = serde_json::to_string_pretty(&file).expect("serialisable");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| SaveError {
                path: path.clone(),
                source,
            })
    }

    /// Saves, logging a failure: for changes that come from the fleet, which are applied
    /// whether or not they can be saved.
    pub fn save_or_log(&self) {
        if let Err(e) = self.save() {
            tracing::error!(error = %e, "settings from the fleet are applied but not saved");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn keys<K: Clone + Ord, V: Clone + PartialEq>(l: &Ledger<K, V>) -> Vec<K> {
        l.iter().map(|(k, _)| k.clone()).collect()
    }

    #[test]
    fn every_setting_and_what_is_unpublished_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let mut m = Manual::load(Some(file.clone()));
        m.drains.set(ip("192.0.2.1"), Some(()), true);
        m.drains.set(ip("192.0.2.2"), Some(()), false);
        let shift = Shift {
            from: 1.0,
            to: 0.0,
            start_ms: 1_000,
            over_ms: 60_000,
            by: "a".into(),
        };
        m.shifts.set(ip("2001:db8::1"), Some(shift.clone()), true);
        m.shifts.set(ip("192.0.2.9"), None, true);
        let pool = PoolKey {
            record: "web".into(),
            pool: "eu-west_2".into(),
        };
        let drained = Drained {
            by: "a".into(),
            at_ms: 5,
        };
        m.pools.set(pool.clone(), Some(drained.clone()), true);
        m.save().unwrap();
        let m = Manual::load(Some(file));
        assert_eq!(keys(&m.drains), [ip("192.0.2.1"), ip("192.0.2.2")]);
        assert_eq!(m.drains.pending(), [(ip("192.0.2.1"), Some(()))]);
        assert_eq!(m.shifts.get(&ip("2001:db8::1")), Some(&shift));
        assert_eq!(
            m.shifts.pending(),
            [
                (ip("192.0.2.9"), None),
                (ip("2001:db8::1"), Some(shift.clone()))
            ]
        );
        assert_eq!(m.pools.get(&pool), Some(&drained));
        assert_eq!(m.pools.pending(), [(pool, Some(drained))]);
    }

    #[test]
    fn a_file_from_before_fleets_and_shifts_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        std::fs::write(&file, r#"{"drained":["2001:db8::1"]}"#).unwrap();
        let m = Manual::load(Some(file.clone()));
        assert!(m.drains.contains(&ip("2001:db8::1")));
        assert!(m.drains.pending().is_empty() && m.shifts.is_empty() && m.pools.is_empty());
        // And what this version writes without shifts is what the first version wrote.
        m.save().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, serde_json::json!({ "drained": ["2001:db8::1"] }));
    }
}
