//! Answer policies: how a pool's usable targets are ordered and cut.

use std::net::IpAddr;

use smallvec::SmallVec;

use crate::gslb::{Policy, Pool};
use crate::health::view::Share;
use crate::health::HealthView;

/// Indices into a pool's targets, in answer order.
pub type Order = SmallVec<[u16; 16]>;

/// A fast, well-mixed 64-bit hash (splitmix64 finaliser).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The client's /24 (IPv4) or /56 (IPv6) as a number: what `sticky` hashes.
pub fn sticky_key(client: IpAddr) -> u64 {
    match client {
        IpAddr::V4(a) => u64::from(u32::from(a) >> 8),
        IpAddr::V6(a) => (u128::from(a) >> 72) as u64 | (1 << 63),
    }
}

fn addr_key(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(a) => u64::from(u32::from(a)),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (v as u64) ^ mix((v >> 64) as u64)
        }
    }
}

/// Salt of the `sticky` shift draw, so it is independent of the rendezvous order.
const STICKY_SHIFT: u64 = 0x5348_4946_545f_5354;

/// Whether a usable target at `addr` whose share of answers is `share` (a gradual shift,
/// spec §11) stays in this answer:
/// - `round_robin`, `first`, `all`: with probability `share`, drawn per query from the
///   rotation counter mixed with the address, so the share of answers holding it follows
///   the share;
/// - `sticky`: when a hash of (the client's sticky block, the address) falls below the
///   share, so as the share falls only this target's clients move, and each once;
/// - `weighted`: while the share is above 0 (its weight is scaled instead, see [`order`]).
#[inline]
pub fn kept(policy: Policy, share: Share, rotation: u64, client: IpAddr, addr: IpAddr) -> bool {
    match policy {
        Policy::Weighted => share.0 > 0,
        Policy::Sticky => share.keeps(mix(sticky_key(client) ^ mix(addr_key(addr) ^ STICKY_SHIFT))),
        Policy::RoundRobin | Policy::First | Policy::All => {
            share.keeps(mix(rotation ^ mix(addr_key(addr))))
        }
    }
}

/// Orders `usable` (indices of usable targets of the queried family, in listed order).
/// `rotation` advances on every query; `client` is who asks (for `sticky`); `health` gives
/// the shares of shifted targets, whose weight `weighted` scales by their share.
pub fn order(
    policy: Policy,
    pool: &Pool,
    mut usable: Order,
    rotation: u64,
    client: IpAddr,
    max_answers: Option<usize>,
    health: &HealthView,
) -> Order {
    let n = usable.len();
    if n > 1 {
        match policy {
            Policy::RoundRobin => usable.rotate_left((rotation % n as u64) as usize),
            Policy::Weighted => {
                let shifted = health.any_share()
                    && usable
                        .iter()
                        .any(|&i| health.share(&pool.targets[i as usize].addr).is_some());
                let weight = |i: u16| -> u64 {
                    let t = &pool.targets[i as usize];
                    if shifted {
                        health.share(&t.addr).unwrap_or(Share::FULL).scale(t.weight)
                    } else {
                        u64::from(t.weight)
                    }
                };
                let total: u64 = usable.iter().map(|&i| weight(i)).sum();
                let mut pick = mix(rotation) % total.max(1);
                let lead = usable
                    .iter()
                    .position(|&i| {
                        let w = weight(i);
                        if pick < w {
                            true
                        } else {
                            pick -= w;
                            false
                        }
                    })
                    .unwrap_or(0);
                let first = usable.remove(lead);
                usable.insert(0, first);
            }
            Policy::Sticky => {
                // Rendezvous hashing: each target scores per client; highest first. When a
                // target goes away only the clients that ranked it first move.
                let key = sticky_key(client);
                usable.sort_by_key(|&i| {
                    std::cmp::Reverse(mix(key ^ mix(addr_key(pool.targets[i as usize].addr))))
                });
            }
            Policy::First | Policy::All => {}
        }
    }
    if let Some(m) = max_answers {
        usable.truncate(m);
    }
    usable
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::rr::RrTail;
    use crate::gslb::Target;

    fn pool(addrs: &[(&str, u32)]) -> Pool {
        Pool::new(
            "p".into(),
            addrs
                .iter()
                .map(|(a, w)| Target {
                    addr: a.parse().unwrap(),
                    weight: *w,
                    probe: None,
                    tail: RrTail::new(1, 30, &[0; 4]),
                })
                .collect(),
            vec![],
        )
    }

    fn all(p: &Pool) -> Order {
        (0..p.targets.len() as u16).collect()
    }

    const C: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));
    static UP: std::sync::LazyLock<HealthView> = std::sync::LazyLock::new(HealthView::all_up);

    #[test]
    fn round_robin_rotates_every_query() {
        let p = pool(&[("192.0.2.1", 1), ("192.0.2.2", 1), ("192.0.2.3", 1)]);
        let leads: Vec<u16> = (0..6)
            .map(|r| order(Policy::RoundRobin, &p, all(&p), r, C, None, &UP)[0])
            .collect();
        assert_eq!(leads, [0, 1, 2, 0, 1, 2]);
        assert_eq!(
            order(Policy::RoundRobin, &p, all(&p), 1, C, Some(2), &UP).as_slice(),
            [1, 2]
        );
    }

    #[test]
    fn weighted_leads_in_proportion() {
        let p = pool(&[("192.0.2.1", 3), ("192.0.2.2", 1)]);
        let mut leads = [0u32; 2];
        for r in 0..40_000 {
            leads[order(Policy::Weighted, &p, all(&p), r, C, None, &UP)[0] as usize] += 1;
        }
        let share = f64::from(leads[0]) / 40_000.0;
        assert!(
            (0.72..0.78).contains(&share),
            "share of weight 3 of 4: {share}"
        );
    }

    #[test]
    fn sticky_keeps_order_per_client_and_moves_only_the_lost_targets_clients() {
        let p = pool(&[
            ("192.0.2.1", 1),
            ("192.0.2.2", 1),
            ("192.0.2.3", 1),
            ("192.0.2.4", 1),
        ]);
        let mut moved = 0;
        let mut spread = [0; 4];
        for c in 0..2000u32 {
            let client = IpAddr::V4((0x0a00_0000 + (c << 8)).into());
            let a = order(Policy::Sticky, &p, all(&p), 0, client, None, &UP);
            let b = order(Policy::Sticky, &p, all(&p), 99, client, None, &UP);
            assert_eq!(a, b, "order must not depend on the query");
            spread[a[0] as usize] += 1;
            // Target 2 fails: clients led by others keep their lead.
            let without: Order = all(&p).into_iter().filter(|&i| i != 2).collect();
            let c2 = order(Policy::Sticky, &p, without, 0, client, None, &UP);
            if a[0] != 2 {
                assert_eq!(c2[0], a[0]);
            } else {
                moved += 1;
            }
        }
        assert!(
            spread.iter().all(|&s| s > 350),
            "leads spread evenly: {spread:?}"
        );
        assert!(moved > 350 && moved < 650);
        // Same /24 → same order.
        let x = order(
            Policy::Sticky,
            &p,
            all(&p),
            0,
            "10.1.2.3".parse().unwrap(),
            None,
            &UP,
        );
        let y = order(
            Policy::Sticky,
            &p,
            all(&p),
            0,
            "10.1.2.200".parse().unwrap(),
            None,
            &UP,
        );
        assert_eq!(x, y);
    }

    #[test]
    fn first_and_all_keep_listed_order() {
        let p = pool(&[("192.0.2.1", 1), ("192.0.2.2", 1)]);
        assert_eq!(
            order(Policy::First, &p, all(&p), 5, C, Some(1), &UP).as_slice(),
            [0]
        );
        assert_eq!(
            order(Policy::All, &p, all(&p), 5, C, None, &UP).as_slice(),
            [0, 1]
        );
    }
}
