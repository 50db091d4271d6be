//! Tests for `PrefixTable`: exact cases plus a proptest against a naive linear scan.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::prelude::*;

use super::{Match, PrefixTable};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn table(entries: &[(&str, u32)]) -> PrefixTable<u32> {
    entries.iter().map(|&(n, v)| (net(n), v)).collect()
}

/// `(value, prefix_len)` pairs of a lookup plus its scope.
fn look(t: &PrefixTable<u32>, addr: &str) -> (Vec<(u32, u8)>, u8) {
    let l = t.lookup(ip(addr));
    (l.iter().map(|m| (m.value, m.prefix_len)).collect(), l.scope)
}

#[test]
fn empty_table_has_scope_zero_everywhere() {
    let t = table(&[]);
    assert!(t.is_empty());
    for a in [
        "0.0.0.0",
        "10.1.2.3",
        "255.255.255.255",
        "::",
        "2001:db8::1",
        "ffff::1",
    ] {
        assert_eq!(look(&t, a), (vec![], 0), "{a}");
    }
}

#[test]
fn single_prefix_scopes_inside_and_outside() {
    let t = table(&[("10.0.0.0/8", 1)]);
    assert_eq!(look(&t, "10.1.2.3"), (vec![(1, 8)], 8));
    assert_eq!(look(&t, "11.0.0.1"), (vec![], 8));
    assert_eq!(look(&t, "200.0.0.1"), (vec![], 1));
    assert_eq!(look(&t, "0.0.0.1"), (vec![], 5));
    assert_eq!(look(&t, "9.255.255.255"), (vec![], 7));
    // The IPv6 space is untouched.
    assert_eq!(look(&t, "2001:db8::1"), (vec![], 0));
}

#[test]
fn nested_prefixes() {
    let t = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2)]);
    assert_eq!(look(&t, "10.1.2.3"), (vec![(2, 16), (1, 8)], 16));
    assert_eq!(look(&t, "10.0.0.1"), (vec![(1, 8)], 16));
    assert_eq!(look(&t, "10.2.0.1"), (vec![(1, 8)], 15));
    assert_eq!(look(&t, "10.128.0.1"), (vec![(1, 8)], 9));
    assert_eq!(look(&t, "11.0.0.0"), (vec![], 8));
}

#[test]
fn maxmind_example_sibling_more_specific_narrows_scope() {
    let t = table(&[("81.2.69.160/27", 1), ("81.2.69.176/28", 2)]);
    assert_eq!(look(&t, "81.2.69.161"), (vec![(1, 27)], 28));
    assert_eq!(look(&t, "81.2.69.175"), (vec![(1, 27)], 28));
    assert_eq!(look(&t, "81.2.69.177"), (vec![(2, 28), (1, 27)], 28));
    assert_eq!(look(&t, "81.2.69.159"), (vec![], 27));
    assert_eq!(look(&t, "81.2.69.192"), (vec![], 26));
}

#[test]
fn adjacent_prefixes_differing_and_equal_values() {
    let t = table(&[("10.0.0.0/25", 1), ("10.0.0.128/25", 2)]);
    assert_eq!(look(&t, "10.0.0.1"), (vec![(1, 25)], 25));
    assert_eq!(look(&t, "10.0.0.200"), (vec![(2, 25)], 25));
    // Same value and length on both halves: indistinguishable, so the scope widens.
    let t = table(&[("10.0.0.0/25", 1), ("10.0.0.128/25", 1)]);
    assert_eq!(look(&t, "10.0.0.1"), (vec![(1, 25)], 24));
    assert_eq!(t.len(), 2);
}

#[test]
fn duplicate_prefix_with_several_values_keeps_order_and_dedups() {
    let t = table(&[
        ("192.0.2.0/24", 5),
        ("192.0.2.0/24", 7),
        ("192.0.2.0/24", 5),
    ]);
    assert_eq!(look(&t, "192.0.2.9"), (vec![(5, 24), (7, 24)], 24));
}

#[test]
fn host_bits_are_ignored() {
    let t = table(&[("10.1.2.3/8", 1)]);
    assert_eq!(look(&t, "10.200.0.0"), (vec![(1, 8)], 8));
}

#[test]
fn whole_space_and_end_of_space() {
    let t = table(&[("0.0.0.0/0", 1), ("255.255.255.255/32", 2)]);
    assert_eq!(look(&t, "1.2.3.4"), (vec![(1, 0)], 1));
    assert_eq!(look(&t, "255.255.255.255"), (vec![(2, 32), (1, 0)], 32));
    assert_eq!(look(&t, "255.255.255.254"), (vec![(1, 0)], 32));
    let t = table(&[
        ("::/0", 1),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 2),
    ]);
    assert_eq!(look(&t, "2001:db8::1"), (vec![(1, 0)], 1));
    assert_eq!(
        look(&t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        (vec![(2, 128), (1, 0)], 128)
    );
    let t = table(&[("0.0.0.0/0", 1)]);
    assert_eq!(look(&t, "9.9.9.9"), (vec![(1, 0)], 0));
}

#[test]
fn ipv6_nested() {
    let t = table(&[("2001:db8::/32", 1), ("2001:db8:1::/48", 2)]);
    assert_eq!(look(&t, "2001:db8:1::1"), (vec![(2, 48), (1, 32)], 48));
    assert_eq!(look(&t, "2001:db8:2::1"), (vec![(1, 32)], 47));
    assert_eq!(look(&t, "::1"), (vec![], 3));
    // IPv4 space is separate.
    assert_eq!(look(&t, "32.1.13.184"), (vec![], 0));
}

#[test]
fn ipv4_mapped_addresses_and_prefixes_use_the_ipv4_table() {
    let t = table(&[("10.0.0.0/8", 1), ("::ffff:192.0.2.0/120", 2), ("::/0", 3)]);
    assert_eq!(look(&t, "::ffff:10.1.2.3"), (vec![(1, 8)], 8));
    assert_eq!(look(&t, "192.0.2.1"), (vec![(2, 24)], 24));
    assert_eq!(look(&t, "::ffff:192.0.2.1"), (vec![(2, 24)], 24));
    assert_eq!(look(&t, "2001:db8::1"), (vec![(3, 0)], 0));
}

#[test]
fn lookup_helpers() {
    let t = table(&[("10.0.0.0/8", 1), ("10.1.0.0/16", 2)]);
    let l = t.lookup(ip("10.1.0.1"));
    assert_eq!(
        l.most_specific(),
        Some(&Match {
            value: 2,
            prefix_len: 16
        })
    );
    assert_eq!(l.into_iter().count(), 2);
    assert!(t.lookup(ip("11.0.0.0")).is_empty());
    // v4: [0, 10/8), 10.0/16, 10.1/16, [10.2, 11), [11, end]; v6: everything.
    assert_eq!(t.range_count(), 5 + 1);
    assert!(t.heap_bytes() > 0);
}

#[test]
fn builds_many_prefixes() {
    // 100k /24s with nested /16s: checks the build stays linear-ish and compact.
    let mut entries = Vec::new();
    for i in 0..100_000u32 {
        let a = Ipv4Addr::from(0x0100_0000u32.wrapping_add(i.wrapping_mul(997 * 256)));
        entries.push((IpNet::V4(Ipv4Net::new(a, 24).unwrap()), i % 300));
        if i % 10 == 0 {
            entries.push((IpNet::V4(Ipv4Net::new(a, 16).unwrap().trunc()), 1000));
        }
    }
    let t = PrefixTable::new(entries);
    assert_eq!(t.len(), 110_000);
    assert!(t.heap_bytes() < 4_000_000, "{}", t.heap_bytes());
    let a = Ipv4Addr::from(0x0100_0000 + 5 * 997 * 256 + 7);
    let l = t.lookup(IpAddr::V4(a));
    assert_eq!(
        l.most_specific().map(|m| (m.value, m.prefix_len)),
        Some((5, 24))
    );
    assert_eq!(l.scope, 24);
}

/// A prefix as an inclusive range plus value, in a `bits`-wide space.
#[derive(Debug, Clone, Copy)]
struct Naive {
    start: u128,
    end: u128,
    len: u8,
    value: u32,
}

fn naive_set(spans: &[Naive], x: u128) -> Vec<(u32, u8)> {
    let mut out: Vec<(u32, u8)> = Vec::new();
    for s in spans.iter().filter(|s| s.start <= x && x <= s.end) {
        if !out.contains(&(s.value, s.len)) {
            out.push((s.value, s.len));
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.1));
    out
}

fn block(a: u128, len: u8, bits: u8) -> (u128, u128) {
    let host = u32::from(bits - len);
    let size_mask = if host == 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    };
    (a & !size_mask, a | size_mask)
}

/// Points in `[lo, hi]` at which the naive match set may change, plus the ends.
fn critical(spans: &[Naive], lo: u128, hi: u128) -> Vec<u128> {
    let mut pts = vec![lo, hi];
    for s in spans {
        pts.push(s.start);
        if let Some(e) = s.end.checked_add(1) {
            pts.push(e);
        }
    }
    pts.retain(|&p| lo <= p && p <= hi);
    pts
}

/// Checks matches, scope constancy and scope maximality for every address.
fn check(t: &PrefixTable<u32>, spans: &[Naive], addrs: &[u128], bits: u8) {
    let to_ip = |x: u128| -> IpAddr {
        if bits == 32 {
            IpAddr::V4(Ipv4Addr::from(x as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(x))
        }
    };
    for &a in addrs {
        let l = t.lookup(to_ip(a));
        let want = naive_set(spans, a);
        let got: Vec<(u32, u8)> = l.iter().map(|m| (m.value, m.prefix_len)).collect();
        assert_eq!(got, want, "matches of {}", to_ip(a));
        assert!(l.scope <= bits);
        let (lo, hi) = block(a, l.scope, bits);
        for x in critical(spans, lo, hi) {
            assert_eq!(
                naive_set(spans, x),
                want,
                "{} differs inside /{} of {}",
                to_ip(x),
                l.scope,
                to_ip(a)
            );
        }
        if hi - lo < 1024 {
            for x in lo..=hi {
                assert_eq!(naive_set(spans, x), want);
            }
        }
        if l.scope > 0 {
            let (lo, hi) = block(a, l.scope - 1, bits);
            assert!(
                critical(spans, lo, hi)
                    .iter()
                    .any(|&x| naive_set(spans, x) != want),
                "scope /{} of {} is not maximal",
                l.scope,
                to_ip(a)
            );
        }
    }
}

/// Addresses worth probing: the given random ones plus every prefix edge and its neighbours.
fn probe_points(spans: &[Naive], extra: &[u128], max: u128) -> Vec<u128> {
    let mut out = extra.to_vec();
    for s in spans {
        out.extend([
            s.start,
            s.end,
            s.start.saturating_sub(1),
            s.end.saturating_add(1).min(max),
        ]);
    }
    out
}

fn v4_prefix() -> impl Strategy<Value = (u32, u8, u32)> {
    prop_oneof![
        3 => (any::<u16>(), 16u8..=32, 0u32..4).prop_map(|(lo, l, v)| (0x0A00_0000 | u32::from(lo), l, v)),
        1 => (any::<u32>(), 0u8..=32, 0u32..4),
    ]
}

fn v6_prefix() -> impl Strategy<Value = (u128, u8, u32)> {
    let region = 0x2001_0db8u128 << 96;
    prop_oneof![
        3 => (any::<u16>(), 32u8..=52, 0u32..4).prop_map(move |(x, l, v)| (region | (u128::from(x) << 76), l, v)),
        1 => (any::<u128>(), 32u8..=128, 0u32..4).prop_map(move |(x, l, v)| (region | (x >> 32), l, v)),
        1 => (any::<u128>(), 0u8..=128, 0u32..4),
    ]
}

proptest! {
    #[test]
    fn prop_v4_scope_block_has_uniform_matches(
        prefixes in prop::collection::vec(v4_prefix(), 0..40),
        addrs in prop::collection::vec(prop_oneof![any::<u16>().prop_map(|x| 0x0A00_0000 | u32::from(x)), any::<u32>()], 1..40),
    ) {
        let nets: Vec<(IpNet, u32)> = prefixes.iter()
            .map(|&(b, l, v)| (IpNet::V4(Ipv4Net::new(Ipv4Addr::from(b), l).unwrap().trunc()), v))
            .collect();
        let spans: Vec<Naive> = nets.iter().map(|(n, v)| match n {
            IpNet::V4(n) => Naive { start: u32::from(n.network()).into(), end: u32::from(n.broadcast()).into(), len: n.prefix_len(), value: *v },
            IpNet::V6(_) => unreachable!(),
        }).collect();
        let t = PrefixTable::new(nets);
        let extra: Vec<u128> = addrs.iter().map(|&a| u128::from(a)).collect();
        check(&t, &spans, &probe_points(&spans, &extra, u32::MAX.into()), 32);
    }

    #[test]
    fn prop_v6_scope_block_has_uniform_matches(
        prefixes in prop::collection::vec(v6_prefix(), 0..40),
        addrs in prop::collection::vec(prop_oneof![any::<u128>().prop_map(|x| (0x2001_0db8u128 << 96) | (x >> 32)), any::<u128>()], 1..40),
    ) {
        let nets: Vec<(IpNet, u32)> = prefixes.iter()
            .map(|&(b, l, v)| (IpNet::V6(Ipv6Net::new(Ipv6Addr::from(b), l).unwrap().trunc()), v))
            .filter(|(n, _)| !matches!(n, IpNet::V6(n) if n.prefix_len() >= 96 && n.network().to_ipv4_mapped().is_some()))
            .collect();
        let spans: Vec<Naive> = nets.iter().map(|(n, v)| match n {
            IpNet::V6(n) => Naive { start: u128::from(n.network()), end: u128::from(n.broadcast()), len: n.prefix_len(), value: *v },
            IpNet::V4(_) => unreachable!(),
        }).collect();
        let t = PrefixTable::new(nets);
        // Mapped IPv4 addresses are looked up in the IPv4 table; keep them out of the oracle.
        let addrs: Vec<u128> = probe_points(&spans, &addrs, u128::MAX)
            .into_iter()
            .filter(|&a| Ipv6Addr::from(a).to_ipv4_mapped().is_none())
            .collect();
        check(&t, &spans, &addrs, 128);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Large tables use the first-level index; the answers must not change.
    #[test]
    fn prop_v4_indexed_tables_answer_like_the_naive_scan(
        prefixes in prop::collection::vec((any::<u32>(), 8u8..=30, 0u32..4), 300..500),
        addrs in prop::collection::vec(any::<u32>(), 40),
    ) {
        let nets: Vec<(IpNet, u32)> = prefixes.iter()
            .map(|&(b, l, v)| (IpNet::V4(Ipv4Net::new(Ipv4Addr::from(b), l).unwrap().trunc()), v))
            .collect();
        let spans: Vec<Naive> = nets.iter().map(|(n, v)| match n {
            IpNet::V4(n) => Naive { start: u32::from(n.network()).into(), end: u32::from(n.broadcast()).into(), len: n.prefix_len(), value: *v },
            IpNet::V6(_) => unreachable!(),
        }).collect();
        let t = PrefixTable::new(nets);
        prop_assume!(t.range_count() >= crate::geo::ranges::INDEX_MIN_RANGES);
        let extra: Vec<u128> = addrs.iter().map(|&a| u128::from(a)).collect();
        let edges: Vec<u128> = probe_points(&spans[..20], &extra, u32::MAX.into());
        check(&t, &spans, &edges, 32);
    }
}
