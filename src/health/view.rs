//! The health view: an immutable picture of which targets may be answered, read per query.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::gslb::{Pool, Target};

/// Which probes are up and which addresses are drained, for one snapshot's probe list.
#[derive(Debug, Default, Clone)]
pub struct HealthView {
    /// `up[i]` for `GslbSet::probes[i]`; missing entries count as up.
    pub up: Vec<bool>,
    /// Addresses taken out of every answer by hand.
    pub drained: HashSet<IpAddr>,
    /// Whose probes `up` follows (shown by explain): this node's, or the fleet's quorum.
    pub decided_by: &'static str,
    /// The share of answers of each shifted target (spec §11) as it was when the view was
    /// built, sorted by address; targets not here keep their whole share. Empty (the common
    /// case) costs one test per pool.
    pub shares: Vec<(IpAddr, Share)>,
    /// `pool_drained[Pool::id]`: drained by hand (`/v1/pools/{record}/{pool}/drain`). Empty
    /// when no pool of the snapshot is drained.
    pub pool_drained: Vec<bool>,
}

/// A target's share of answers in fixed point: `Share::ONE` is the whole share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Share(pub u32);

impl Share {
    pub const ONE: u32 = 1 << 24;
    pub const FULL: Share = Share(Share::ONE);

    /// `share` in 0..=1, rounded to the nearest step of 2^-24.
    pub fn from_f64(share: f64) -> Share {
        Share((share.clamp(0.0, 1.0) * f64::from(Self::ONE)).round() as u32)
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / f64::from(Self::ONE)
    }

    /// Whether a draw `hash` (uniform over u64) falls within the share: true for a fraction
    /// `share` of all hashes, always at 1 and never at 0.
    #[inline]
    pub fn keeps(self, hash: u64) -> bool {
        (hash >> 40) < u64::from(self.0)
    }

    /// `weight` scaled by the share (as `weight × share × 2^8`, so weights keep their ratio
    /// with unshifted ones scaled the same way by `Share::FULL`).
    #[inline]
    pub fn scale(self, weight: u32) -> u64 {
        (u64::from(weight) * u64::from(self.0)) >> 16
    }
}

/// A target's state as the selector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetHealth {
    Up,
    Down,
    Drained,
}

impl HealthView {
    /// Every target up, nothing drained.
    pub fn all_up() -> Self {
        HealthView::default()
    }

    pub fn state(&self, target: &Target) -> TargetHealth {
        if !self.drained.is_empty() && self.drained.contains(&target.addr) {
            return TargetHealth::Drained;
        }
        match target.probe {
            Some(p) if !self.up.get(p).copied().unwrap_or(true) => TargetHealth::Down,
            _ => TargetHealth::Up,
        }
    }

    pub fn usable(&self, target: &Target) -> bool {
        self.state(target) == TargetHealth::Up
    }

    /// Whether any target is shifted: without, selection takes the plain path.
    #[inline]
    pub fn any_share(&self) -> bool {
        !self.shares.is_empty()
    }

    /// The share of `addr`, when it is shifted.
    #[inline]
    pub fn share(&self, addr: &IpAddr) -> Option<Share> {
        if self.shares.is_empty() {
            return None;
        }
        self.shares
            .binary_search_by(|(a, _)| a.cmp(addr))
            .ok()
            .map(|i| self.shares[i].1)
    }

    /// Whether `pool` is drained by hand: it then counts as having no usable target.
    #[inline]
    pub fn pool_drained(&self, pool: &Pool) -> bool {
        !self.pool_drained.is_empty() && self.pool_drained.get(pool.id as usize) == Some(&true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_keeps_its_fraction_of_draws_and_the_ends_exactly() {
        let draws = |s: Share| {
            (0..100_000u64)
                .filter(|&i| s.keeps(crate::select::policy::mix(i)))
                .count()
        };
        assert_eq!(draws(Share::FULL), 100_000);
        assert_eq!(draws(Share(0)), 0);
        assert!(Share::FULL.keeps(u64::MAX) && !Share(0).keeps(0));
        let quarter = draws(Share::from_f64(0.25)) as f64 / 1e5;
        assert!((quarter - 0.25).abs() < 0.01, "{quarter}");
        assert_eq!(Share::from_f64(0.5).as_f64(), 0.5);
        assert_eq!(Share::FULL.scale(3), 3 << 8);
        assert_eq!(Share::from_f64(0.5).scale(3), 3 << 7);
    }

    #[test]
    fn lookups_find_shifted_addresses_only() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let mut v = HealthView::all_up();
        assert_eq!(v.share(&a), None);
        v.shares = vec![(a, Share(7)), (b, Share(9))];
        assert_eq!(v.share(&b), Some(Share(9)));
        assert_eq!(v.share(&"192.0.2.2".parse().unwrap()), None);
    }
}
