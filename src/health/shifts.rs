//! Gradual shifts (spec §11): a target's share of answers ramped linearly from one value to
//! another over a while, made through `POST /v1/targets/{address}/weight`. The ramp is kept
//! as wall-clock times so a restart or another node continues it where it is.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::drains::DrainError;
use super::monitor::Monitor;
use crate::fleet::now_ms;

/// The longest ramp accepted: a year.
const MAX_OVER_SECS: f64 = 365.0 * 86400.0;
/// While a shift ramps, the health view is rebuilt every `over / STEPS`, within the bounds
/// below, so the share answered tracks the ramp closely without rebuilding for nothing.
const STEPS: u64 = 200;
const STEP_MIN: Duration = Duration::from_millis(50);
const STEP_MAX: Duration = Duration::from_secs(1);

/// One target's ramp: its share is `from` at `start_ms`, `to` from `start_ms + over_ms` on,
/// and moves linearly in between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    pub from: f64,
    pub to: f64,
    /// Wall-clock milliseconds since the Unix epoch.
    pub start_ms: u64,
    pub over_ms: u64,
    /// The node whose API made it.
    #[serde(default)]
    pub by: String,
}

impl Shift {
    /// The share at `now_ms`, in 0..=1.
    pub fn share_at(&self, now_ms: u64) -> f64 {
        let s = if now_ms >= self.end_ms() {
            self.to
        } else if now_ms <= self.start_ms {
            self.from
        } else {
            let t = (now_ms - self.start_ms) as f64 / self.over_ms as f64;
            self.from + (self.to - self.from) * t
        };
        s.clamp(0.0, 1.0)
    }

    pub fn end_ms(&self) -> u64 {
        self.start_ms.saturating_add(self.over_ms)
    }

    /// Whether the share still moves at `now_ms`.
    pub fn ramping(&self, now_ms: u64) -> bool {
        now_ms < self.end_ms() && self.from != self.to
    }

    /// A restore that has reached 1: the entry says nothing any more.
    pub fn finished_restore(&self, now_ms: u64) -> bool {
        self.to >= 1.0 && !self.ramping(now_ms)
    }

    /// How often the view is rebuilt while this ramps.
    pub fn step(&self) -> Duration {
        (Duration::from_millis(self.over_ms) / STEPS as u32).clamp(STEP_MIN, STEP_MAX)
    }

    /// Checks what the API was given: `weight` in 0..=1, `over` seconds not negative.
    pub fn validate(weight: f64, over: f64) -> Result<(f64, u64), String> {
        if !(weight.is_finite() && (0.0..=1.0).contains(&weight)) {
            return Err(format!("weight must be between 0 and 1, not {weight}"));
        }
        if !(over.is_finite() && (0.0..=MAX_OVER_SECS).contains(&over)) {
            return Err(format!(
                "over must be a number of seconds from 0 to {MAX_OVER_SECS}, not {over}"
            ));
        }
        Ok((weight, (over * 1000.0).round() as u64))
    }
}

impl Monitor {
    /// Ramps `addr`'s share of answers from what it is now to `weight` over `over_ms`.
    pub fn shift(&self, addr: IpAddr, weight: f64, over_ms: u64) -> Result<Shift, DrainError> {
        if !self.knows_target(addr) {
            return Err(DrainError::UnknownTarget(addr));
        }
        let fleet = self.fleet();
        let now = now_ms();
        let shift = {
            let mut manual = self.inner.manual.lock().unwrap();
            let from = manual.shifts.get(&addr).map_or(1.0, |s| s.share_at(now));
            let shift = Shift {
                from,
                to: weight,
                start_ms: now,
                over_ms,
                by: fleet
                    .as_ref()
                    .map_or_else(String::new, |f| f.config.node.clone()),
            };
            manual
                .shifts
                .set(addr, Some(shift.clone()), fleet.is_some());
            manual.save()?;
            shift
        };
        self.inner.publish();
        self.inner.shifts_changed.notify_one();
        if let Some(f) = fleet {
            f.drains_changed.notify_one();
        }
        tracing::info!(target_addr = %addr, from = shift.from, to = weight, over_ms, "shift started by the admin API");
        Ok(shift)
    }
}

/// Rebuilds the health view while any shift ramps, so the share answered follows the ramp;
/// sleeps until a shift changes otherwise. Finished restores are forgotten.
pub(super) async fn ramp_loop(monitor: std::sync::Weak<super::monitor::Inner>) {
    loop {
        let Some(inner) = monitor.upgrade() else {
            return;
        };
        let notified = inner.shifts_changed.clone();
        let wait = notified.notified();
        tokio::pin!(wait);
        wait.as_mut().enable();
        let now = now_ms();
        let next = {
            let mut manual = inner.manual.lock().unwrap();
            let done: Vec<IpAddr> = manual
                .shifts
                .iter()
                .filter(|(_, s)| s.finished_restore(now))
                .map(|(a, _)| *a)
                .collect();
            let mut forgot = false;
            for a in done {
                forgot |= manual.shifts.forget(&a);
            }
            if forgot {
                if let Err(e) = manual.save() {
                    tracing::error!(error = %e, "finished shifts are forgotten but not saved");
                }
            }
            manual
                .shifts
                .iter()
                .filter(|(_, s)| s.ramping(now))
                .map(|(_, s)| s.step().min(Duration::from_millis(s.end_ms() - now)))
                .min()
        };
        inner.publish_shares();
        drop(inner);
        match next {
            Some(step) => {
                tokio::select! {
                    _ = tokio::time::sleep(step.max(Duration::from_millis(1))) => {}
                    _ = &mut wait => {}
                }
            }
            None => wait.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(from: f64, to: f64) -> Shift {
        Shift {
            from,
            to,
            start_ms: 10_000,
            over_ms: 4_000,
            by: String::new(),
        }
    }

    #[test]
    fn share_moves_linearly_between_start_and_end() {
        let s = ramp(1.0, 0.0);
        assert_eq!(s.share_at(0), 1.0);
        assert_eq!(s.share_at(10_000), 1.0);
        assert!((s.share_at(11_000) - 0.75).abs() < 1e-12);
        assert!((s.share_at(13_000) - 0.25).abs() < 1e-12);
        assert_eq!(s.share_at(14_000), 0.0);
        assert_eq!(s.share_at(u64::MAX), 0.0);
        assert!(s.ramping(13_999) && !s.ramping(14_000));
        assert!(!s.finished_restore(20_000));
        let up = ramp(0.2, 1.0);
        assert!((up.share_at(12_000) - 0.6).abs() < 1e-12);
        assert!(up.finished_restore(14_000) && !up.finished_restore(13_000));
        let now = Shift {
            over_ms: 0,
            ..ramp(1.0, 0.5)
        };
        assert_eq!(now.share_at(10_000), 0.5);
        assert!(!now.ramping(10_000));
    }

    #[test]
    fn the_rebuild_step_follows_the_ramp_within_bounds() {
        assert_eq!(ramp(1.0, 0.0).step(), Duration::from_millis(50));
        let long = Shift {
            over_ms: 100_000,
            ..ramp(1.0, 0.0)
        };
        assert_eq!(long.step(), Duration::from_millis(500));
        let day = Shift {
            over_ms: 86_400_000,
            ..ramp(1.0, 0.0)
        };
        assert_eq!(day.step(), Duration::from_secs(1));
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(Shift::validate(0.5, 1.5), Ok((0.5, 1500)));
        assert_eq!(Shift::validate(0.0, 0.0), Ok((0.0, 0)));
        assert!(Shift::validate(1.5, 1.0).unwrap_err().contains("weight"));
        assert!(Shift::validate(-0.1, 1.0).unwrap_err().contains("weight"));
        assert!(Shift::validate(f64::NAN, 1.0)
            .unwrap_err()
            .contains("weight"));
        assert!(Shift::validate(0.5, -1.0).unwrap_err().contains("over"));
        assert!(Shift::validate(0.5, f64::NAN).unwrap_err().contains("over"));
        assert!(Shift::validate(0.5, f64::INFINITY)
            .unwrap_err()
            .contains("over"));
    }
}
