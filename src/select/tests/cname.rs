//! CNAME pools (spec §11): a pool that answers A and AAAA with an alias; it counts as
//! healthy (it has no targets to probe) and is tried in the pool order like any pool.

use super::*;

fn cname_fixture() -> Fixture {
    fixture(
        &[
            ("10.0.0.0/8", loc("CN", "AS", None)),
            ("11.0.0.0/8", loc("DE", "EU", None)),
        ],
        &[],
        json!({ "cn": [ { "countries": ["CN"] } ], "eu": [ { "continents": ["EU"] } ] }),
        json!({ "web": { "ttl": 60, "ttl_degraded": 5, "check": "c", "pools": {
            "cn": { "targets": ["192.0.2.1"], "fallback": ["eu"] },
            "eu": { "cname": "edge.cdn.example.net." },
            "default": { "targets": ["192.0.2.9", "2001:db8::9"] } } } }),
    )
}

fn pick(f: &Fixture, client: &str, qtype: u16, h: &HealthView) -> Selection {
    let rec = f.record("web");
    let client: IpAddr = client.parse().unwrap();
    let fast = select(&f.snap, h, rec, client, qtype, 0, None);
    let mut trace = Trace::default();
    let slow = select(&f.snap, h, rec, client, qtype, 0, Some(&mut trace));
    assert_eq!(fast, slow, "{client}: both paths");
    fast
}

#[test]
fn a_cname_pool_answers_both_families_with_its_alias() {
    let f = cname_fixture();
    let rec = f.record("web");
    let up = HealthView::all_up();
    for qtype in [TYPE_A, TYPE_AAAA] {
        let sel = pick(&f, "11.1.1.1", qtype, &up);
        let pool = &rec.pools[sel.pool.unwrap()];
        assert_eq!(pool.name, "eu");
        assert_eq!(
            pool.cname.as_ref().unwrap().target.to_string(),
            "edge.cdn.example.net."
        );
        assert!(sel.targets.is_empty());
        assert_eq!(sel.ttl(rec), 60, "the client's first pool: not degraded");
        assert_eq!(sel.decided_by, Specificity::Continent);
    }
}

#[test]
fn a_cname_pool_is_a_fallback_like_any_other() {
    let f = cname_fixture();
    let rec = f.record("web");
    // cn has no IPv6 target: AAAA falls back to eu's alias.
    let up = HealthView::all_up();
    let sel = pick(&f, "10.1.1.1", TYPE_AAAA, &up);
    assert_eq!(rec.pools[sel.pool.unwrap()].name, "eu");
    assert_eq!(sel.degraded, Some(Degraded::NotFirstPool));
    assert_eq!(sel.ttl(rec), 5);
    // cn's target down: A falls back to the alias too.
    let mut h = HealthView::all_up();
    h.up = vec![false; f.snap.gslb.probes.len()];
    let sel = pick(&f, "10.1.1.1", TYPE_A, &h);
    assert_eq!(rec.pools[sel.pool.unwrap()].name, "eu");
    assert!(!sel.all_down);
    // Up again: the addresses.
    let sel = pick(&f, "10.1.1.1", TYPE_A, &up);
    assert_eq!(rec.pools[sel.pool.unwrap()].name, "cn");
    assert_eq!(sel.targets.len(), 1);
}
