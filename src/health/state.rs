//! Rise/fall hysteresis for one probe: consecutive results decide when a target flips.

use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The health of one (address, check) pair.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeState {
    pub up: bool,
    /// When `up` last changed (or the probe started).
    pub since: SystemTime,
    pub last_probe: Option<SystemTime>,
    pub last_latency: Option<Duration>,
    pub last_error: Option<String>,
    #[serde(skip)]
    ok_streak: u32,
    #[serde(skip)]
    fail_streak: u32,
}

impl ProbeState {
    /// Targets start up.
    pub fn new(now: SystemTime) -> Self {
        ProbeState {
            up: true,
            since: now,
            last_probe: None,
            last_latency: None,
            last_error: None,
            ok_streak: 0,
            fail_streak: 0,
        }
    }

    /// Records one probe result. `fall` consecutive failures take an up target down;
    /// `rise` consecutive successes bring a down target up. Returns true when `up` flipped.
    pub fn record(
        &mut self,
        result: Result<Duration, String>,
        rise: u32,
        fall: u32,
        now: SystemTime,
    ) -> bool {
        self.last_probe = Some(now);
        match result {
            Ok(latency) => {
                self.last_latency = Some(latency);
                self.last_error = None;
                self.fail_streak = 0;
                self.ok_streak = self.ok_streak.saturating_add(1);
            }
            Err(e) => {
                self.last_latency = None;
                self.last_error = Some(e);
                self.ok_streak = 0;
                self.fail_streak = self.fail_streak.saturating_add(1);
            }
        }
        let flip = if self.up {
            self.fail_streak >= fall
        } else {
            self.ok_streak >= rise
        };
        if flip {
            self.up = !self.up;
            self.since = now;
            self.ok_streak = 0;
            self.fail_streak = 0;
        }
        flip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Result<Duration, String> = Ok(Duration::from_millis(1));

    fn fail() -> Result<Duration, String> {
        Err("refused".into())
    }

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_successes() {
        let t = SystemTime::UNIX_EPOCH;
        let mut s = ProbeState::new(t);
        assert!(s.up);
        assert!(!s.record(fail(), 2, 3, t));
        assert!(!s.record(fail(), 2, 3, t));
        assert!(s.record(fail(), 2, 3, t), "third failure takes it down");
        assert!(!s.up);
        assert_eq!(s.last_error.as_deref(), Some("refused"));
        assert!(!s.record(OK, 2, 3, t));
        assert!(s.record(OK, 2, 3, t), "second success brings it up");
        assert!(s.up);
    }

    #[test]
    fn alternating_results_never_flip() {
        let t = SystemTime::UNIX_EPOCH;
        let mut s = ProbeState::new(t);
        for _ in 0..20 {
            assert!(!s.record(fail(), 2, 2, t));
            assert!(!s.record(OK, 2, 2, t));
        }
        assert!(s.up);
    }
}
