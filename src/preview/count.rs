//! Address counts of the reload preview: exact IPv4 and IPv6 address counts (IPv6 totals can
//! pass 2^128, so they are kept in 256 bits and written as decimal strings) and the number
//! of IPv6 /64 networks touched.

use serde::{Serialize, Serializer};

/// How many client addresses some ranges hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Address ranges.
    pub ranges: u64,
    /// IPv4 addresses.
    pub ipv4_addresses: u64,
    /// IPv6 addresses, exactly, as a decimal string.
    pub ipv6_addresses: Wide,
    /// IPv6 /64 networks the ranges touch (a range inside one /64 counts 1).
    pub ipv6_slash64s: u128,
}

impl Count {
    /// One range `first..=last` of the IPv4 (`v6` false; widened) or IPv6 space.
    pub fn range(v6: bool, first: u128, last: u128) -> Count {
        let n = (last - first).saturating_add(1);
        if v6 {
            Count {
                ranges: 1,
                ipv4_addresses: 0,
                ipv6_addresses: Wide::from(n),
                ipv6_slash64s: (last >> 64) - (first >> 64) + 1,
            }
        } else {
            Count {
                ranges: 1,
                ipv4_addresses: n as u64,
                ..Count::default()
            }
        }
    }

    pub fn add(&mut self, other: &Count) {
        self.ranges += other.ranges;
        self.ipv4_addresses += other.ipv4_addresses;
        self.ipv6_addresses.add(other.ipv6_addresses);
        self.ipv6_slash64s += other.ipv6_slash64s;
    }
}

/// An unsigned 256-bit count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wide {
    hi: u128,
    lo: u128,
}

impl From<u128> for Wide {
    fn from(lo: u128) -> Wide {
        Wide { hi: 0, lo }
    }
}

impl Wide {
    pub fn add(&mut self, other: Wide) {
        let (lo, carry) = self.lo.overflowing_add(other.lo);
        self.lo = lo;
        self.hi += other.hi + u128::from(carry);
    }
}

impl std::fmt::Display for Wide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.hi == 0 {
            return write!(f, "{}", self.lo);
        }
        // Four 64-bit limbs, most significant first, divided by 10^19 until zero.
        const CHUNK: u128 = 10_000_000_000_000_000_000;
        let mut limbs = [
            (self.hi >> 64) as u64,
            self.hi as u64,
            (self.lo >> 64) as u64,
            self.lo as u64,
        ];
        let mut parts = Vec::new();
        while limbs.iter().any(|&l| l != 0) {
            let mut rem = 0u128;
            for l in &mut limbs {
                let cur = rem << 64 | u128::from(*l);
                *l = (cur / CHUNK) as u64;
                rem = cur % CHUNK;
            }
            parts.push(rem as u64);
        }
        let (last, rest) = parts.split_last().expect("non-zero");
        write!(f, "{last}")?;
        for p in rest.iter().rev() {
            write!(f, "{p:019}")?;
        }
        Ok(())
    }
}

impl Serialize for Wide {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_counts_print_exactly() {
        let mut w = Wide::from(u128::MAX);
        assert_eq!(w.to_string(), u128::MAX.to_string());
        w.add(Wide::from(1));
        // 2^128
        assert_eq!(w.to_string(), "340282366920938463463374607431768211456");
        w.add(Wide::from(u128::MAX));
        // 2^129 - 1
        assert_eq!(w.to_string(), "680564733841876926926749214863536422911");
    }

    #[test]
    fn a_range_counts_its_addresses_and_slash64s() {
        let c = Count::range(false, 0xC633_6400, 0xC633_64FF);
        assert_eq!((c.ipv4_addresses, c.ranges), (256, 1));
        let c = Count::range(
            true,
            0x2001_0db8 << 96,
            (0x2001_0db8 << 96) | ((1u128 << 72) - 1),
        );
        assert_eq!(c.ipv6_slash64s, 256);
        assert_eq!(c.ipv6_addresses.to_string(), (1u128 << 72).to_string());
        let c = Count::range(true, 5, 5);
        assert_eq!(
            (c.ipv6_slash64s, c.ipv6_addresses.to_string()),
            (1, "1".into())
        );
    }
}
