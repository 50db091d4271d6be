//! `ttl_degraded` (spec §11): the shorter TTL exactly while the answer is not from the
//! client's first pool or a target of the answering pool is down, on both selection paths.

use super::*;

fn degraded_fixture() -> Fixture {
    fixture(
        &[("10.0.0.0/8", loc("CN", "AS", None))],
        &[],
        json!({ "cn": [ { "countries": ["CN"] } ], "asia": [ { "continents": ["AS"] } ] }),
        json!({
            "web": { "ttl": 60, "ttl_degraded": 10, "policy": "all", "check": "c", "pools": {
                "cn": { "targets": ["192.0.2.1", "192.0.2.2", "2001:db8::1"], "fallback": ["asia"] },
                "asia": { "targets": ["192.0.2.3"] },
                "default": { "targets": ["192.0.2.9"] } } },
            "plain": { "ttl": 60, "policy": "all", "check": "c", "pools": {
                "cn": { "targets": ["192.0.2.1", "192.0.2.2"] },
                "default": { "targets": ["192.0.2.9"] } } },
        }),
    )
}

/// (ttl, why) for `name` from `client`, asserting both selection paths agree.
fn ttl(
    f: &Fixture,
    name: &str,
    client: &str,
    qtype: u16,
    h: &HealthView,
) -> (u32, Option<Degraded>) {
    let rec = f.record(name);
    let client: IpAddr = client.parse().unwrap();
    let fast = select(&f.snap, h, rec, client, qtype, 0, None);
    let mut trace = Trace::default();
    let slow = select(&f.snap, h, rec, client, qtype, 0, Some(&mut trace));
    assert_eq!(fast, slow, "both paths");
    assert_eq!(trace.degraded, rec.ttl_degraded.map(|_| slow.degraded));
    (slow.ttl(rec), slow.degraded)
}

#[test]
fn degraded_ttl_follows_the_pool_and_its_targets_health() {
    let f = degraded_fixture();
    let probe = |addr: &str| {
        let a: IpAddr = addr.parse().unwrap();
        f.snap.gslb.probes.iter().position(|p| p.addr == a).unwrap()
    };
    let up = HealthView::all_up();
    assert_eq!(
        ttl(&f, "web", "10.1.1.1", TYPE_A, &up),
        (60, None),
        "first pool, all up"
    );
    // A client without a region: `default` is its first pool.
    assert_eq!(
        ttl(&f, "web", "192.0.2.200", TYPE_A, &up),
        (60, None),
        "default is first"
    );

    let mut h = HealthView::all_up();
    h.up = vec![true; f.snap.gslb.probes.len()];
    // A target of the answering pool down: degraded, though the pool still answers.
    h.up[probe("192.0.2.1")] = false;
    assert_eq!(
        ttl(&f, "web", "10.1.1.1", TYPE_A, &h),
        (10, Some(Degraded::TargetDown))
    );
    // ... only for its family: the AAAA answer of the same pool is not.
    assert_eq!(ttl(&f, "web", "10.1.1.1", TYPE_AAAA, &h), (60, None));
    // A record without ttl_degraded keeps its ttl.
    assert_eq!(ttl(&f, "plain", "10.1.1.1", TYPE_A, &h), (60, None));
    // The whole pool down: its fallback answers, not the first pool.
    h.up[probe("192.0.2.2")] = false;
    assert_eq!(
        ttl(&f, "web", "10.1.1.1", TYPE_A, &h),
        (10, Some(Degraded::NotFirstPool))
    );
    // Everything down: all_down (serve_all) answers, degraded.
    h.up[probe("192.0.2.3")] = false;
    h.up[probe("192.0.2.9")] = false;
    assert_eq!(
        ttl(&f, "web", "10.1.1.1", TYPE_A, &h),
        (10, Some(Degraded::AllDown))
    );

    // A drain is deliberate: the drained target is out, the answer is not degraded.
    let mut d = HealthView::all_up();
    d.drained.insert("192.0.2.1".parse().unwrap());
    assert_eq!(ttl(&f, "web", "10.1.1.1", TYPE_A, &d), (60, None));
}
