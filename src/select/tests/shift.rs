//! Gradual shifts and pool drains (spec §11) in selection: the per-policy rule that keeps a
//! shifted target in an answer, a pool whose targets are all drawn out or which is drained
//! giving way to the next pool, and both selection paths agreeing.

use super::*;
use crate::health::view::Share;

fn shift_fixture() -> Fixture {
    let pool = |policy: &str, extra: serde_json::Value| {
        let mut rec = json!({ "policy": policy, "ttl": 60, "ttl_degraded": 10, "pools": {
            "cn": { "targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"] },
            "default": { "targets": ["192.0.2.9"] } } });
        if let (Some(r), Some(e)) = (rec.as_object_mut(), extra.as_object()) {
            r.extend(e.clone());
        }
        rec
    };
    fixture(
        &[("10.0.0.0/8", loc("CN", "AS", None))],
        &[],
        json!({ "cn": [ { "countries": ["CN"] } ] }),
        json!({
            "rr": pool("round_robin", json!({})),
            "first": pool("first", json!({})),
            "all": pool("all", json!({})),
            "sticky": pool("sticky", json!({})),
            "weighted": { "policy": "weighted", "max_answers": 1, "pools": {
                "cn": { "targets": [ { "address": "192.0.2.1", "weight": 3 }, "192.0.2.2" ] },
                "default": { "targets": ["192.0.2.9"] } } },
            "single": { "policy": "round_robin", "ttl": 60, "ttl_degraded": 10, "pools": {
                "cn": { "targets": ["192.0.2.1"] },
                "default": { "targets": ["192.0.2.9"] } } },
        }),
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn shifted(shares: &[(&str, f64)]) -> HealthView {
    let mut s: Vec<(IpAddr, Share)> = shares
        .iter()
        .map(|(a, v)| (ip(a), Share::from_f64(*v)))
        .collect();
    s.sort();
    HealthView {
        shares: s,
        ..HealthView::all_up()
    }
}

/// The selection of `name` for `client` at `rotation`, asserting both paths agree.
fn sel(f: &Fixture, name: &str, client: &str, rotation: u64, h: &HealthView) -> Selection {
    let rec = f.record(name);
    let client = ip(client);
    let fast = select(&f.snap, h, rec, client, TYPE_A, rotation, None);
    let mut t = Trace::default();
    let slow = select(&f.snap, h, rec, client, TYPE_A, rotation, Some(&mut t));
    assert_eq!(fast, slow, "both paths, rotation {rotation}");
    fast
}

fn addrs(f: &Fixture, name: &str, s: &Selection) -> Vec<IpAddr> {
    let rec = f.record(name);
    s.targets
        .iter()
        .map(|&t| rec.pools[s.pool.unwrap()].targets[t as usize].addr)
        .collect()
}

/// Whether `hits` of `n` draws is within 5 standard deviations of share `p`.
fn binomial_ok(hits: usize, n: usize, p: f64) -> bool {
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (hits as f64 - n as f64 * p).abs() <= 5.0 * sd + 1.0
}

#[test]
fn per_query_policies_keep_a_shifted_target_in_its_share_of_answers() {
    let f = shift_fixture();
    let n = 20_000;
    for name in ["rr", "all", "first"] {
        for share in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let h = shifted(&[("192.0.2.1", share)]);
            let mut with = 0;
            for r in 0..n as u64 {
                let s = sel(&f, name, "10.1.1.1", r, &h);
                let a = addrs(&f, name, &s);
                if a.contains(&ip("192.0.2.1")) {
                    with += 1;
                }
                if name != "first" {
                    // The unshifted targets are in every answer.
                    assert!(a.contains(&ip("192.0.2.2")) && a.contains(&ip("192.0.2.3")));
                }
                // Deliberate: never a degraded answer.
                assert_eq!(s.degraded, None, "{name} {share}");
            }
            // `first` answers one address: the shifted first target, or the next.
            assert!(
                binomial_ok(with, n, share),
                "{name}: {with} of {n} answers at share {share}"
            );
        }
    }
}

#[test]
fn weighted_scales_the_weight_by_the_share() {
    let f = shift_fixture();
    let n = 40_000;
    // Weights 3 and 1; at share 0.5 the first leads 1.5 / 2.5 of answers.
    for (share, expect) in [(1.0, 0.75), (0.5, 0.6), (0.1, 0.3 / 1.3), (0.0, 0.0)] {
        let h = shifted(&[("192.0.2.1", share)]);
        let led = (0..n as u64)
            .filter(|&r| {
                addrs(&f, "weighted", &sel(&f, "weighted", "10.1.1.1", r, &h))[0] == ip("192.0.2.1")
            })
            .count();
        assert!(binomial_ok(led, n, expect), "{led} of {n} at share {share}");
    }
}

#[test]
fn sticky_moves_only_the_shifted_targets_clients_and_each_once() {
    let f = shift_fixture();
    let clients: Vec<String> = (0..3000u32)
        .map(|c| std::net::Ipv4Addr::from(0x0a00_0000 + (c << 8)).to_string())
        .collect();
    let full = HealthView::all_up();
    let mut kept_before: Option<Vec<bool>> = None;
    for share in [1.0, 0.8, 0.5, 0.2, 0.0] {
        let h = shifted(&[("192.0.2.2", share)]);
        let mut kept = Vec::new();
        for c in &clients {
            let all = addrs(&f, "sticky", &sel(&f, "sticky", c, 0, &full));
            let a = addrs(&f, "sticky", &sel(&f, "sticky", c, 0, &h));
            // The same for every query of this client.
            assert_eq!(a, addrs(&f, "sticky", &sel(&f, "sticky", c, 77, &h)));
            // Either its whole order, or that order without the shifted target.
            let without: Vec<IpAddr> = all
                .iter()
                .copied()
                .filter(|x| *x != ip("192.0.2.2"))
                .collect();
            assert!(a == all || a == without, "{c}: {a:?} vs {all:?}");
            kept.push(a == all);
        }
        let n = kept.iter().filter(|k| **k).count();
        assert!(
            binomial_ok(n, clients.len(), share),
            "{n} clients keep it at {share}"
        );
        if let Some(before) = &kept_before {
            // As the share falls, a client that lost the target does not get it back.
            assert!(kept.iter().zip(before).all(|(now, was)| !now || *was));
        }
        kept_before = Some(kept);
    }
}

#[test]
fn a_pool_whose_targets_are_all_shifted_out_gives_way_to_the_next() {
    let f = shift_fixture();
    let n = 10_000;
    let h = shifted(&[("192.0.2.1", 0.25)]);
    let mut from_cn = 0;
    for r in 0..n as u64 {
        let s = sel(&f, "single", "10.1.1.1", r, &h);
        let pool = &f.record("single").pools[s.pool.unwrap()].name;
        if pool == "cn" {
            from_cn += 1;
            assert_eq!(s.degraded, None);
        } else {
            assert_eq!(pool, "default");
            assert!(!s.all_down);
            assert_eq!(s.degraded, Some(Degraded::NotFirstPool));
        }
    }
    assert!(binomial_ok(from_cn, n, 0.25), "{from_cn}");
    // At 0 the data centre is out; the trace says why.
    let h = shifted(&[("192.0.2.1", 0.0)]);
    let rec = f.record("single");
    let mut t = Trace::default();
    let s = select(&f.snap, &h, rec, ip("10.1.1.1"), TYPE_A, 3, Some(&mut t));
    assert_eq!(rec.pools[s.pool.unwrap()].name, "default");
    assert_eq!(
        t.pools[0].outcome,
        "skipped: every healthy IPv4 target shifted out of this answer"
    );
    assert_eq!(t.pools[0].targets[0].share, Some(0.0));
    assert!(t.pools[0].targets[0].shifted_out);
    assert!(t
        .to_string()
        .contains("192.0.2.1 up share 0.000, shifted out of this answer"));
}

#[test]
fn a_drained_pool_is_skipped_as_if_it_had_no_usable_target() {
    let f = shift_fixture();
    let rec = f.record("rr");
    let cn = rec.pools.iter().find(|p| p.name == "cn").unwrap();
    let mut drained = vec![false; f.snap.gslb.pool_count()];
    drained[cn.id as usize] = true;
    let h = HealthView {
        pool_drained: drained,
        ..HealthView::all_up()
    };
    let s = sel(&f, "rr", "10.1.1.1", 0, &h);
    assert_eq!(addrs(&f, "rr", &s), [ip("192.0.2.9")]);
    assert_eq!(s.degraded, Some(Degraded::NotFirstPool));
    // Only that record's pool: another record's `cn` answers as before.
    let other = sel(&f, "all", "10.1.1.1", 0, &h);
    assert_eq!(f.record("all").pools[other.pool.unwrap()].name, "cn");
    let mut t = Trace::default();
    select(&f.snap, &h, rec, ip("10.1.1.1"), TYPE_A, 0, Some(&mut t));
    assert_eq!(t.pools[0].outcome, "skipped: pool drained");
    assert!(t.pools[0].drained);
    // Every pool drained: all_down decides, as when every target is down.
    let h = HealthView {
        pool_drained: vec![true; f.snap.gslb.pool_count()],
        ..HealthView::all_up()
    };
    let s = sel(&f, "rr", "10.1.1.1", 0, &h);
    assert!(s.all_down);
}
