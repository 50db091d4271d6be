//! Manual drains: addresses taken out of every answer by hand (`/v1/targets/{address}/drain`),
//! and the errors of every change made by hand (drains, pool drains, shifts). They are kept
//! in the state file (`state_file.rs`) and, in a fleet, shared through NATS.

use std::net::IpAddr;

use super::monitor::Monitor;
use super::state_file::SaveError;

#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error("{0} is not a target of any gslb record")]
    UnknownTarget(IpAddr),
    #[error("no gslb record `{record}` has a pool `{pool}`")]
    UnknownPool { record: String, pool: String },
    #[error(transparent)]
    Save(#[from] SaveError),
}

impl Monitor {
    /// Whether `addr` is a target of some GSLB record being served.
    pub(super) fn knows_target(&self, addr: IpAddr) -> bool {
        let snap = self.inner.shared.snapshot();
        snap.gslb
            .records
            .iter()
            .flat_map(|r| r.pools.iter())
            .flat_map(|p| p.targets.iter())
            .any(|t| t.addr == addr)
    }

    /// Takes `addr` out of every answer until undrained.
    pub fn drain(&self, addr: IpAddr, on: bool) -> Result<(), DrainError> {
        if on && !self.knows_target(addr) {
            return Err(DrainError::UnknownTarget(addr));
        }
        let fleet = self.fleet();
        {
            let mut manual = self.inner.manual.lock().unwrap();
            manual.drains.set(addr, on.then_some(()), fleet.is_some());
            manual.save()?;
        }
        self.inner.publish();
        if let Some(f) = fleet {
            f.drains_changed.notify_one();
        }
        tracing::info!(target_addr = %addr, drained = on, "drain changed by the admin API");
        Ok(())
    }

    pub fn drained(&self) -> Vec<IpAddr> {
        let manual = self.inner.manual.lock().unwrap();
        manual.drains.iter().map(|(a, _)| *a).collect()
    }
}
