//! Property tests of the selector: scope blocks answer alike, and the short cut to the first
//! usable pool picks what the full fail-over order picks.

use std::net::IpAddr;

use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn nets_strategy() -> impl Strategy<Value = Vec<(u32, u8, usize)>> {
    // (address, prefix length, region) inside 10.0.0.0/16 so they nest and collide often.
    prop::collection::vec((0u32..65536, 16u8..=30, 0usize..3), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Every address inside the returned scope block gets the same answer.
    #[test]
    fn every_address_in_the_scope_block_gets_the_same_answer(
        nets in nets_strategy(),
        geo in prop::collection::vec((0u32..65536, 16u8..=28, 0usize..3), 1..6),
        clients in prop::collection::vec(0u32..65536, 8),
    ) {
        let net = |(a, len, _): &(u32, u8, usize)| {
            IpNet::new(IpAddr::V4((0x0a00_0000 | a).into()), *len).unwrap().trunc()
        };
        let countries = ["CN", "DE", "US"];
        let mut locs: Vec<(String, LocationSpec<'_>)> = geo
            .iter()
            .map(|g| (net(g).to_string(), loc(countries[g.2], "AS", None)))
            .collect();
        // mmdb-writer: parents first, so children are not overwritten.
        locs.sort_by_key(|(n, _)| n.parse::<IpNet>().unwrap().prefix_len());
        let locs: Vec<(&str, LocationSpec<'_>)> = locs.iter().map(|(n, s)| (n.as_str(), *s)).collect();
        let mut regions = serde_json::Map::new();
        for (r, country) in countries.iter().enumerate() {
            let list: Vec<String> = nets.iter().filter(|n| n.2 == r).map(|n| net(n).to_string()).collect();
            if !list.is_empty() {
                regions.insert(format!("net{r}"), json!([{ "networks": list }]));
            }
            regions.insert(format!("c{r}"), json!([{ "countries": [country] }]));
        }
        let names: Vec<String> = regions.keys().cloned().collect();
        let mut pool_names: Vec<&str> = names.iter().map(String::as_str).collect();
        pool_names.push("default");
        let f = fixture(&locs, &[], serde_json::Value::Object(regions),
            json!({ "w": { "policy": "all", "pools": pools(&pool_names) } }));
        let up = HealthView::all_up();
        for c in clients {
            let client = IpAddr::V4((0x0a00_0000 | c).into());
            let (pool, scope) = f.pick("w", &client.to_string(), TYPE_A, &up);
            let block = IpNet::new(client, scope).unwrap().trunc();
            let IpNet::V4(b) = block else { unreachable!() };
            let (lo, hi) = (u32::from(b.network()), u32::from(b.broadcast()));
            let step = ((hi - lo) / 64).max(1);
            let mut probe = lo;
            loop {
                let other = IpAddr::V4(probe.into());
                let (p2, _) = f.pick("w", &other.to_string(), TYPE_A, &up);
                prop_assert_eq!(&p2, &pool, "{} in {} (from {})", other, block, client);
                if hi - probe < step { break; }
                probe += step;
            }
            let (p_hi, _) = f.pick("w", &IpAddr::V4(hi.into()).to_string(), TYPE_A, &up);
            prop_assert_eq!(&p_hi, &pool);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// Without a trace, `select` takes a short cut to the first usable pool; it must pick
    /// exactly what walking the full pool order (the traced way) picks, whatever is down.
    #[test]
    fn the_short_cut_picks_what_the_full_order_picks(
        down in prop::collection::vec(any::<bool>(), 8),
        clients in prop::collection::vec((0u32..4, 0u32..256, any::<bool>()), 6),
        policy in prop_oneof![Just("all"), Just("round_robin"), Just("sticky"), Just("first")],
        rotation in any::<u64>(),
    ) {
        let f = fixture(
            &[("10.0.0.0/9", loc("CN", "AS", None)), ("10.128.0.0/9", loc("JP", "AS", None)),
              ("11.0.0.0/8", loc("DE", "EU", None))],
            &[("10.64.0.0/10", 4134)],
            json!({
                "cn": [ { "countries": ["CN"] } ], "asia": [ { "continents": ["AS"] } ],
                "eu": [ { "continents": ["EU"] } ], "tel": [ { "asns": [4134] } ],
                "lab": [ { "networks": ["10.0.0.0/24", "11.0.0.0/16"] } ],
            }),
            json!({ "web": { "policy": policy, "check": "c", "pools": {
                "lab": { "targets": ["192.0.2.8"], "fallback": ["eu", "cn"] },
                "tel": { "targets": ["192.0.2.1", "2001:db8::1"], "fallback": ["cn", "asia"] },
                "cn": { "targets": ["192.0.2.2", "192.0.2.3"], "fallback": ["asia", "tel"] },
                "asia": { "targets": ["192.0.2.4", "2001:db8::4"], "fallback": ["eu"] },
                "eu": { "targets": ["192.0.2.5"], "fallback": ["default"] },
                "default": { "targets": ["192.0.2.6", "2001:db8::6"], "fallback": ["asia"] } } } }),
        );
        let mut h = HealthView::all_up();
        h.up = (0..f.snap.gslb.probes.len()).map(|i| !down[i % down.len()]).collect();
        let rec = f.record("web");
        for (net, host, v6) in clients {
            let client = IpAddr::V4((((10 + net / 2) << 24) | ((net % 2) << 23) | host).into());
            let qtype = if v6 { TYPE_AAAA } else { TYPE_A };
            let quick = select(&f.snap, &h, rec, client, qtype, rotation, None);
            let mut t = Trace::default();
            let full = select(&f.snap, &h, rec, client, qtype, rotation, Some(&mut t));
            prop_assert_eq!(quick, full, "{} {}", client, qtype);
        }
    }
}
