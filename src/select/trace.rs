//! The decision trace behind `gslbd explain`: what was looked up, matched, tried and chosen.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use super::{Reason, Selection};
use crate::geo::{ClientInfo, RegionMatch};
use crate::gslb::GslbRecord;
use crate::health::{HealthView, TargetHealth};
use crate::snapshot::Snapshot;

/// Everything `explain` shows about one GSLB decision.
#[derive(Debug, Default, Serialize)]
pub struct Trace {
    pub record: String,
    pub policy: crate::gslb::Policy,
    pub lookups: Lookups,
    pub matched: Vec<MatchedRegion>,
    pub pools: Vec<PoolTried>,
    pub all_down: bool,
    pub decided_by: &'static str,
    /// With `ttl_degraded`: why the answer is degraded (and gets that TTL), or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<Option<super::Degraded>>,
    /// The next GSLB decision along the chain, when this one answered with a CNAME pool
    /// whose alias is another GSLB name of ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub then: Option<Box<Trace>>,
}

#[derive(Debug, Default, Serialize)]
pub struct Lookups {
    /// Network prefix table: the scope of the block the client is in.
    pub networks_scope: Option<u8>,
    pub location: Option<LocationLookup>,
    pub asn: Option<AsnLookup>,
    /// For a `nearest` record: where the client is (City database), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<CoordinatesLookup>,
}

#[derive(Debug, Serialize)]
pub struct CoordinatesLookup {
    /// `null` when the database has no coordinates for the client.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub prefix_len: u8,
}

#[derive(Debug, Serialize)]
pub struct LocationLookup {
    pub country: Option<String>,
    pub subdivision: Option<String>,
    pub continent: Option<String>,
    pub prefix_len: u8,
}

#[derive(Debug, Serialize)]
pub struct AsnLookup {
    pub asn: Option<u32>,
    pub organization: Vec<String>,
    pub prefix_len: u8,
}

#[derive(Debug, Serialize)]
pub struct MatchedRegion {
    pub region: String,
    /// Rule position in the region (0-based) and its conditions.
    pub rule: usize,
    pub conditions: String,
    pub specificity: crate::geo::Specificity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_len: Option<u8>,
}

#[derive(Debug, Serialize)]
pub struct PoolTried {
    pub pool: String,
    /// `region X`, `fallback of X` or `default`.
    pub reason: String,
    pub targets: Vec<TargetTried>,
    /// A CNAME pool's alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// A data centre's great-circle distance from the client (`nearest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    /// `chosen`, `chosen (all down: serve_all)`, or why it was skipped.
    pub outcome: String,
    /// Drained by hand (`/v1/pools/{record}/{pool}/drain`): skipped as if it had no usable
    /// target.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drained: bool,
}

#[derive(Debug, Serialize)]
pub struct TargetTried {
    pub address: IpAddr,
    pub health: TargetHealth,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// A shifted target's share of answers (spec §11); absent when it keeps it whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// True when this query's draw took the shifted target out of the answer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub shifted_out: bool,
}

impl Trace {
    /// Where the next decision of a chain goes: this trace while empty, else a new one after
    /// the last filled.
    pub fn next_slot(&mut self) -> &mut Trace {
        if self.record.is_empty() {
            return self;
        }
        self.then.get_or_insert_with(Default::default).next_slot()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn fill(
        &mut self,
        snap: &Snapshot,
        health: &HealthView,
        rec: &GslbRecord,
        info: &ClientInfo<'_>,
        matches: &[(RegionMatch, usize)],
        order: &[(usize, Reason)],
        sel: &Selection,
        (v6, rotation, client): (bool, u64, IpAddr),
    ) {
        let geo = &snap.geo;
        let here = if rec.nearest.is_empty() {
            None
        } else {
            Some(super::nearest::locate(snap, info.addr))
        };
        self.record = rec.name.clone();
        self.policy = rec.policy;
        self.lookups = Lookups {
            networks_scope: info.networks.as_ref().map(|n| n.scope),
            location: info.location.map(|l| LocationLookup {
                country: l.country_str().map(str::to_string),
                subdivision: l
                    .subdivision
                    .zip(l.country_str())
                    .map(|(s, c)| format!("{c}-{}", s.as_str())),
                continent: l.continent_str().map(str::to_string),
                prefix_len: l.prefix_len,
            }),
            asn: info.asn.as_ref().map(|a| AsnLookup {
                asn: a.asn,
                organization: a.org_names().map(str::to_string).collect(),
                prefix_len: a.prefix_len,
            }),
            coordinates: here.map(|(p, len)| CoordinatesLookup {
                latitude: p.map(|p| p.lat),
                longitude: p.map(|p| p.lon),
                prefix_len: len,
            }),
        };
        self.matched = matches
            .iter()
            .map(|(m, _)| {
                let rule = &geo.rules[m.rule as usize];
                MatchedRegion {
                    region: geo.name(m.region).to_string(),
                    rule: rule.index,
                    conditions: rule.summary.clone(),
                    specificity: m.specificity,
                    prefix_len: rule.networks.then_some(m.prefix_len),
                }
            })
            .collect();
        let family = if v6 { "IPv6" } else { "IPv4" };
        let mut decided = false;
        self.pools = order
            .iter()
            .map(|&(p, why)| {
                let pool = &rec.pools[p];
                let targets: Vec<TargetTried> = pool
                    .targets
                    .iter()
                    .filter(|t| t.addr.is_ipv6() == v6)
                    .map(|t| {
                        let share = health.share(&t.addr);
                        TargetTried {
                            address: t.addr,
                            health: health.state(t),
                            check: t.probe.map(|i| snap.gslb.probes[i].check_name.clone()),
                            share: share.map(|s| s.as_f64()),
                            shifted_out: share.is_some_and(|s| {
                                !super::policy::kept(rec.policy, s, rotation, client, t.addr)
                            }),
                        }
                    })
                    .collect();
                let drained = health.pool_drained(pool);
                let outcome = if decided {
                    "not needed".to_string()
                } else if sel.pool == Some(p) {
                    decided = true;
                    match (&pool.cname, sel.all_down) {
                        (_, true) => {
                            "chosen: every pool is down, all_down is serve_all".to_string()
                        }
                        (Some(c), false) => format!("chosen: CNAME {}", c.target),
                        (None, false) => "chosen".to_string(),
                    }
                } else if drained {
                    "skipped: pool drained".to_string()
                } else if targets.is_empty() {
                    format!("skipped: no {family} targets")
                } else if targets
                    .iter()
                    .any(|t| t.health == TargetHealth::Up && t.shifted_out)
                {
                    format!("skipped: every healthy {family} target shifted out of this answer")
                } else {
                    format!("skipped: no healthy {family} target")
                };
                PoolTried {
                    pool: pool.name.clone(),
                    reason: match why {
                        Reason::Region(i) => format!("region {}", geo.name(matches[i].0.region)),
                        Reason::Fallback(q) => format!("fallback of {}", rec.pools[q].name),
                        Reason::Nearest => "nearest data centre".to_string(),
                        Reason::Default => "default".to_string(),
                    },
                    targets,
                    cname: pool.cname.as_ref().map(|c| c.target.to_string()),
                    distance_km: here
                        .and_then(|(h, _)| Some(h?.distance_km(pool.coordinates.as_ref()?)))
                        .map(|d| (d * 10.0).round() / 10.0),
                    outcome,
                    drained,
                }
            })
            .collect();
        self.all_down = sel.all_down;
        self.decided_by = sel.decided_by.kind();
        self.degraded = rec.ttl_degraded.map(|_| sel.degraded);
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let policy = serde_json::to_value(self.policy).unwrap_or_default();
        writeln!(
            f,
            "gslb record: {} (policy {})",
            self.record,
            policy.as_str().unwrap_or("?")
        )?;
        let l = &self.lookups;
        if let Some(s) = l.networks_scope {
            writeln!(f, "networks table: block /{s}")?;
        }
        if let Some(loc) = &l.location {
            let show = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
            writeln!(
                f,
                "location: country {}, subdivision {}, continent {} (same answer for the /{} block)",
                show(&loc.country),
                show(&loc.subdivision),
                show(&loc.continent),
                loc.prefix_len
            )?;
        }
        if let Some(a) = &l.asn {
            let asn = a.asn.map_or("-".to_string(), |n| format!("AS{n}"));
            let org = if a.organization.is_empty() {
                String::new()
            } else {
                format!(" {}", a.organization.join(" / "))
            };
            writeln!(
                f,
                "asn: {asn}{org} (same answer for the /{} block)",
                a.prefix_len
            )?;
        }
        if let Some(c) = &l.coordinates {
            match (c.latitude, c.longitude) {
                (Some(lat), Some(lon)) => writeln!(
                    f,
                    "coordinates: {lat}, {lon} (same for the /{} block)",
                    c.prefix_len
                )?,
                _ => writeln!(
                    f,
                    "coordinates: unknown (for the /{} block): no nearest data centre",
                    c.prefix_len
                )?,
            }
        }
        if self.matched.is_empty() {
            writeln!(f, "matched regions: none with a pool here")?;
        } else {
            writeln!(f, "matched regions (most specific first):")?;
            for m in &self.matched {
                let prefix = m.prefix_len.map(|p| format!(" /{p}")).unwrap_or_default();
                writeln!(
                    f,
                    "  {} via rule {} [{}] specificity {:?}{prefix}",
                    m.region, m.rule, m.conditions, m.specificity
                )?;
            }
        }
        writeln!(f, "pools tried:")?;
        for p in &self.pools {
            let km = p
                .distance_km
                .map(|d| format!(", {d} km"))
                .unwrap_or_default();
            writeln!(f, "  {} ({}{km}): {}", p.pool, p.reason, p.outcome)?;
            for t in &p.targets {
                let check = t
                    .check
                    .as_ref()
                    .map(|c| format!(" check {c}"))
                    .unwrap_or_default();
                let health = match t.health {
                    TargetHealth::Up => "up",
                    TargetHealth::Down => "down",
                    TargetHealth::Drained => "drained",
                };
                let share = match (t.share, t.shifted_out) {
                    (Some(s), true) => format!(" share {s:.3}, shifted out of this answer"),
                    (Some(s), false) => format!(" share {s:.3}"),
                    (None, _) => String::new(),
                };
                writeln!(f, "    {} {health}{check}{share}", t.address)?;
            }
        }
        write!(f, "decided by: {}", self.decided_by)?;
        match self.degraded {
            Some(Some(why)) => {
                let why = match why {
                    super::Degraded::NotFirstPool => "not the client's first pool",
                    super::Degraded::TargetDown => "a target of the answering pool is down",
                    super::Degraded::AllDown => "every pool is down",
                };
                write!(f, "\ndegraded: {why} (ttl_degraded)")
            }
            Some(None) => write!(f, "\nnot degraded (ttl)"),
            None => Ok(()),
        }?;
        match &self.then {
            Some(next) => write!(f, "\nthen, at the CNAME pool's alias:\n{next}"),
            None => Ok(()),
        }
    }
}
