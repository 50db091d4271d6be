//! Validation and compilation of `checks` and `gslb` sections into `GslbSet`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::problem::Problem;
use super::raw::{CheckKind, RawCheck, RawGslb, RawZone};
use super::zone::{Sink, ZoneDraft};
use crate::geo::RegionMap;
use crate::gslb::{CheckSpec, GslbRecord, GslbSet, Needs, Policy, Probe};
use crate::snapshot::Node;

const DEFAULT_TTL: u32 = 30;
/// The longest check `interval` or `timeout`, in seconds: a day.
pub(super) const MAX_DURATION_SECS: u32 = 86400;

/// Compiles every zone's GSLB records, resolves `"gslb": NAME` references in the drafts and
/// deduplicates probes across zones. `no_regions_file` is the regions.json looked for in
/// vain, if it was: pools named after regions then say so.
pub(crate) fn compile(
    drafts: &mut [ZoneDraft],
    raws: &[(PathBuf, RawZone)],
    regions: &RegionMap,
    no_regions_file: Option<&std::path::Path>,
    problems: &mut Vec<Problem>,
) -> GslbSet {
    let mut set = GslbSet::default();
    let mut probe_ids: HashMap<(IpAddr, CheckSpec), usize> = HashMap::new();
    for (draft, (file, raw)) in drafts.iter_mut().zip(raws) {
        let mut sink = Sink {
            file,
            problems: &mut *problems,
        };
        let checks: HashMap<&str, CheckSpec> = raw
            .checks
            .iter()
            .filter_map(|(name, c)| Some((name, compile_check(name, c, &mut sink)?)))
            .collect();
        let mut by_name = HashMap::new();
        for (name, g) in raw.gslb.iter() {
            let mut probe = |addr: IpAddr, check: &str| -> usize {
                let spec = checks[check].clone();
                *probe_ids.entry((addr, spec.clone())).or_insert_with(|| {
                    set.probes.push(Probe {
                        addr,
                        check: spec,
                        check_name: check.to_string(),
                    });
                    set.probes.len() - 1
                })
            };
            let ctx = RecordCtx {
                name,
                zone: &draft.zone.origin,
                raw: g,
                checks: &checks,
                regions,
                no_regions_file,
            };
            if let Some(rec) = ctx.compile(&mut sink, &mut probe) {
                by_name.insert(name, set.records.len());
                set.records.push(rec);
            }
        }
        for (owner, gname, path) in &draft.gslb_refs {
            match by_name.get(gname.as_str()) {
                Some(&i) => {
                    draft.zone.nodes.insert(owner.clone(), Node::Gslb(i));
                }
                // Defined but with problems of its own, reported above.
                None if raw.gslb.contains_key(gname.as_str()) => {}
                None => sink.at(path.as_str(), format!("unknown gslb record `{gname}`")),
            }
        }
    }
    super::cname_pool::report_loops(drafts, raws, &set, problems);
    set.number_pools();
    set
}

fn secs(v: Option<f64>, default: f64) -> Result<Duration, String> {
    let v = v.unwrap_or(default);
    if !(v.is_finite() && v > 0.0 && v <= f64::from(MAX_DURATION_SECS)) {
        return Err(format!(
            "{v} is not a duration between 0 and {MAX_DURATION_SECS} seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

fn compile_check(name: &str, c: &RawCheck, sink: &mut Sink<'_>) -> Option<CheckSpec> {
    let before = sink.problems.len();
    let p = |field: &str| format!("checks.{name}.{field}");
    let interval = secs(c.interval, 10.0)
        .map_err(|e| sink.at(p("interval"), e))
        .ok();
    let timeout = secs(c.timeout, 3.0)
        .map_err(|e| sink.at(p("timeout"), e))
        .ok();
    if let (Some(i), Some(t)) = (interval, timeout) {
        if t >= i {
            sink.at(p("timeout"), "the timeout must be less than the interval");
        }
    }
    if c.port == 0 {
        sink.at(p("port"), "port 0 cannot be probed");
    }
    let http = matches!(c.kind, CheckKind::Http | CheckKind::Https);
    if !http {
        for (set, field) in [
            (c.path.is_some(), "path"),
            (c.host.is_some(), "host"),
            (c.expect.is_some(), "expect"),
            (c.body_contains.is_some(), "body_contains"),
            (c.insecure.is_some(), "insecure"),
        ] {
            if set {
                sink.at(p(field), "only http and https checks take this field");
            }
        }
    }
    if c.insecure.is_some() && c.kind == CheckKind::Http {
        sink.at(p("insecure"), "only https checks take this field");
    }
    let path = c.path.clone().unwrap_or_else(|| "/".into());
    if !path.starts_with('/') {
        sink.at(p("path"), format!("path `{path}` must start with `/`"));
    }
    for (i, code) in c.expect.iter().flatten().enumerate() {
        if !(100..=599).contains(code) {
            sink.at(
                format!("checks.{name}.expect[{i}]"),
                format!("{code} is not an HTTP status"),
            );
        }
    }
    for (v, field) in [(c.rise, "rise"), (c.fall, "fall")] {
        if v == Some(0) {
            sink.at(p(field), "must be at least 1");
        }
    }
    if sink.problems.len() > before {
        return None;
    }
    Some(CheckSpec {
        kind: c.kind,
        port: c.port,
        path,
        host: c.host.clone(),
        expect: c.expect.clone().unwrap_or_default(),
        body_contains: c.body_contains.clone(),
        insecure: c.insecure.unwrap_or(false),
        interval: interval?,
        timeout: timeout?,
        rise: c.rise.unwrap_or(2),
        fall: c.fall.unwrap_or(3),
    })
}

pub(super) struct RecordCtx<'a> {
    pub name: &'a str,
    pub zone: &'a crate::dns::name::WireName,
    pub raw: &'a RawGslb,
    pub checks: &'a HashMap<&'a str, CheckSpec>,
    pub regions: &'a RegionMap,
    /// The regions.json that does not exist, if it does not.
    pub no_regions_file: Option<&'a std::path::Path>,
}

impl RecordCtx<'_> {
    /// True when `c` names a check of the zone (or is unset); reports it at `path` if not.
    pub(super) fn check_ok(&self, c: Option<&str>, path: String, sink: &mut Sink<'_>) -> bool {
        match c {
            Some(c) if !self.checks.contains_key(c) => {
                sink.at(path, format!("unknown check `{c}`"));
                false
            }
            _ => true,
        }
    }

    fn compile(
        &self,
        sink: &mut Sink<'_>,
        probe: &mut dyn FnMut(IpAddr, &str) -> usize,
    ) -> Option<GslbRecord> {
        let before = sink.problems.len();
        let base = format!("gslb.{}", self.name);
        let g = self.raw;
        let ttl = g.ttl.unwrap_or(DEFAULT_TTL);
        let policy = g.policy.unwrap_or_default();
        if let Some(d) = g.ttl_degraded.filter(|&d| d > ttl) {
            sink.at(
                format!("{base}.ttl_degraded"),
                format!("{d} is longer than the record's ttl ({ttl}): a degraded answer should be cached for less"),
            );
        }
        if g.max_answers == Some(0) {
            sink.at(format!("{base}.max_answers"), "must be at least 1");
        }
        let record_check = if self.check_ok(g.check.as_deref(), format!("{base}.check"), sink) {
            g.check.as_deref()
        } else {
            None
        };
        if !g.pools.contains_key("default") {
            sink.at(
                format!("{base}.pools"),
                "a gslb record needs a `default` pool",
            );
        }
        let mut pools = Vec::new();
        let mut region_pools = Vec::new();
        let mut needs = Needs::default();
        for (pi, (pname, raw_pool)) in g.pools.iter().enumerate() {
            let ppath = format!("{base}.pools.{pname}");
            if pname != "default" {
                match self.regions.region_id(pname) {
                    Some(id) => {
                        region_pools.push((id, pi));
                        let n = self.regions.needs(id);
                        needs.networks |= n.networks;
                        needs.location |= n.location;
                        needs.asn |= n.asn;
                    }
                    // A data centre of a `nearest` record may be named freely.
                    None if raw_pool.coordinates.is_some() => {}
                    None => sink.at(
                        &ppath,
                        match self.no_regions_file {
                            Some(file) => format!(
                                "`{pname}` is not a region: there are no regions, {} does not exist (is --geo right?)",
                                file.display()
                            ),
                            None => format!(
                                "`{pname}` is not a region defined in regions.json (nor `default`); only a pool with `coordinates` may be named freely"
                            ),
                        },
                    ),
                }
            }
            let pool = super::pool::PoolCtx {
                record: self,
                index: pi,
                name: pname,
                raw: raw_pool,
                path: &ppath,
                ttl,
                record_check,
            }
            .compile(sink, probe);
            pools.push(pool);
        }
        let nearest: Box<[usize]> = if g.nearest {
            let with = pools
                .iter()
                .enumerate()
                .filter(|(_, p)| p.coordinates.is_some())
                .map(|(i, _)| i)
                .collect();
            if pools.iter().all(|p| p.coordinates.is_none()) {
                sink.at(
                    format!("{base}.nearest"),
                    "no pool of this record has `coordinates`",
                );
            }
            if self.regions.location.is_none() {
                sink.at(
                    format!("{base}.nearest"),
                    match self.no_regions_file {
                        Some(file) => format!(
                            "nearest needs a City database, named in regions.json: {} does not exist",
                            file.display()
                        ),
                        None => "nearest needs a City database: regions.json has no `databases.location`".into(),
                    },
                );
            }
            with
        } else {
            for p in pools.iter().filter(|p| p.coordinates.is_some()) {
                sink.at(
                    format!("{base}.pools.{}.coordinates", p.name),
                    "coordinates are used only by a record with `\"nearest\": true`",
                );
            }
            Box::default()
        };
        if sink.problems.len() > before {
            return None;
        }
        region_pools.sort_by_key(|&(id, _)| id);
        let default_pool = pools.iter().position(|p| p.name == "default")?;
        let max_answers = match (g.max_answers, policy) {
            (Some(n), _) => Some(n as usize),
            (None, Policy::First) => Some(1),
            (None, _) => None,
        };
        Some(GslbRecord {
            name: self.name.to_string(),
            zone: self.zone.clone(),
            ttl,
            ttl_degraded: g.ttl_degraded,
            policy,
            max_answers,
            all_down: g.all_down.unwrap_or_default(),
            pools,
            region_pools,
            default_pool,
            needs,
            nearest,
        })
    }
}
