//! Manual drains: the addresses taken out of every answer by hand, kept in the state file
//! across restarts; in a fleet, also the drains and undrains made here that the fleet has
//! not been told of yet (NATS unreachable), so they are published when it is back.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error("{0} is not a target of any gslb record")]
    UnknownTarget(IpAddr),
    #[error("cannot save drains to {path}: {source}")]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The drained addresses and what is still to be published.
#[derive(Debug, Default)]
pub struct Drains {
    set: BTreeSet<IpAddr>,
    /// Address → drained, made through this node's API and not yet in the fleet's bucket.
    pending: BTreeMap<IpAddr, bool>,
    file: Option<PathBuf>,
}

/// The state file.
#[derive(Serialize, Deserialize)]
struct DrainFile {
    drained: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unpublished: Vec<Unpublished>,
}

#[derive(Serialize, Deserialize)]
struct Unpublished {
    address: IpAddr,
    drained: bool,
}

impl Drains {
    /// The drains saved in `file`, when it exists and reads.
    pub fn load(file: Option<PathBuf>) -> Drains {
        let saved = file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|t| match serde_json::from_str::<DrainFile>(&t) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "the state file does not read; starting without drains");
                    None
                }
            });
        let (set, pending) = match saved {
            Some(d) => (
                d.drained.into_iter().collect(),
                d.unpublished
                    .into_iter()
                    .map(|u| (u.address, u.drained))
                    .collect(),
            ),
            None => Default::default(),
        };
        Drains { set, pending, file }
    }

    pub fn contains(&self, addr: &IpAddr) -> bool {
        self.set.contains(addr)
    }

    pub fn iter(&self) -> impl Iterator<Item = &IpAddr> {
        self.set.iter()
    }

    /// Drains or undrains `addr` here and now; `fleet`: also remembers it for the fleet.
    pub fn set(&mut self, addr: IpAddr, drained: bool, fleet: bool) -> Result<(), DrainError> {
        self.put(addr, drained);
        if fleet {
            self.pending.insert(addr, drained);
        }
        self.save()
    }

    /// What is still to be published.
    pub fn pending(&self) -> Vec<(IpAddr, bool)> {
        self.pending.iter().map(|(a, d)| (*a, *d)).collect()
    }

    /// `addr` `drained` is in the fleet's bucket now.
    pub fn published(&mut self, addr: IpAddr, drained: bool) {
        if self.pending.get(&addr) == Some(&drained) {
            self.pending.remove(&addr);
            self.save_or_log();
        }
    }

    /// The fleet's drains replace this node's, except what this node has still to publish.
    /// True when the set changed.
    pub fn replace(&mut self, fleet: BTreeSet<IpAddr>) -> bool {
        let mut next = fleet;
        for (addr, drained) in &self.pending {
            if *drained {
                next.insert(*addr);
            } else {
                next.remove(addr);
            }
        }
        let changed = next != self.set;
        self.set = next;
        if changed {
            self.save_or_log();
        }
        changed
    }

    /// A drain or undrain from the fleet; this node's own unpublished one for the same
    /// address wins (it is published next, so the fleet ends up agreeing). True when the
    /// set changed.
    pub fn apply(&mut self, addr: IpAddr, drained: bool) -> bool {
        if self.pending.contains_key(&addr) || self.set.contains(&addr) == drained {
            return false;
        }
        self.put(addr, drained);
        self.save_or_log();
        true
    }

    fn put(&mut self, addr: IpAddr, drained: bool) {
        if drained {
            self.set.insert(addr);
        } else {
            self.set.remove(&addr);
        }
    }

    fn save_or_log(&self) {
        if let Err(e) = self.save() {
            tracing::error!(error = %e, "drains from the fleet are applied but not saved");
        }
    }

    fn save(&self) -> Result<(), DrainError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let body = serde_json::to_string_pretty(&DrainFile {
            drained: self.set.iter().copied().collect(),
            unpublished: self
                .pending
                .iter()
                .map(|(a, d)| Unpublished {
                    address: *a,
                    drained: *d,
                })
                .collect(),
        })
        .expect("serialisable");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| DrainError::Save {
                path: path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn unpublished_changes_survive_a_restart_and_win_over_the_fleet() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        let mut d = Drains::load(Some(file.clone()));
        d.set(ip("192.0.2.1"), true, true).unwrap();
        d.set(ip("192.0.2.2"), true, false).unwrap();
        // Restarted before NATS was heard: the drain is kept, and still to be published.
        let mut d = Drains::load(Some(file.clone()));
        assert!(d.contains(&ip("192.0.2.1")) && d.contains(&ip("192.0.2.2")));
        assert_eq!(d.pending(), [(ip("192.0.2.1"), true)]);
        // The fleet holds another drain, and not ours yet: ours stays.
        assert!(d.replace([ip("192.0.2.3")].into()));
        let all: Vec<IpAddr> = d.iter().copied().collect();
        assert_eq!(all, [ip("192.0.2.1"), ip("192.0.2.3")]);
        // Someone undrains ours elsewhere before ours is out: ours wins.
        assert!(!d.apply(ip("192.0.2.1"), false));
        d.published(ip("192.0.2.1"), true);
        assert!(d.pending().is_empty());
        // From now on the fleet decides.
        assert!(d.apply(ip("192.0.2.1"), false));
        assert!(!d.apply(ip("192.0.2.1"), false), "no change");
        let d = Drains::load(Some(file));
        assert_eq!(d.iter().copied().collect::<Vec<_>>(), [ip("192.0.2.3")]);
    }

    #[test]
    fn a_file_from_before_fleets_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.json");
        std::fs::write(&file, r#"{"drained":["2001:db8::1"]}"#).unwrap();
        let d = Drains::load(Some(file));
        assert!(d.contains(&ip("2001:db8::1")));
        assert!(d.pending().is_empty());
    }
}
