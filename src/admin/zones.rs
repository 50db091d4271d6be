//! What the served configuration holds, for the console: `GET /v1/zones` (every zone and
//! its GSLB records with their pools and targets) and `GET /v1/zones/{origin}/records` (a
//! zone's records in presentation format, paged for large zones).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use serde::{Deserialize, Serialize};

use super::params::Params;
use super::{error, Admin};
use crate::dns::name::WireName;
use crate::gslb::{AllDown, GslbRecord, Policy};
use crate::health::HealthView;
use crate::snapshot::{Node, RrTail, Zone};

/// `GET /v1/zones`.
#[derive(Serialize)]
struct ZonesBody {
    generation: u64,
    zones: Vec<ZoneView>,
}

#[derive(Serialize)]
struct ZoneView {
    origin: String,
    serial: u32,
    file: String,
    /// Names holding data (glue included, empty non-terminals not).
    names: usize,
    signed: bool,
    gslb: Vec<GslbView>,
}

/// One GSLB record as configured, with whether each of its pools is drained.
#[derive(Serialize)]
struct GslbView {
    /// The record's name as the zone file and the drain endpoints name it (`web`).
    record: String,
    /// The names that answer with it (`www.example.com.`), in DNSSEC order.
    names: Vec<String>,
    ttl: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl_degraded: Option<u32>,
    policy: Policy,
    all_down: AllDown,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_answers: Option<usize>,
    nearest: bool,
    /// The pool answering clients no region claims.
    default: String,
    pools: Vec<PoolView>,
}

#[derive(Serialize)]
struct PoolView {
    name: String,
    targets: Vec<TargetView>,
    /// The alias of a CNAME pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    cname: Option<String>,
    /// The pools tried next, in order.
    fallback: Vec<String>,
    drained: bool,
}

#[derive(Serialize)]
struct TargetView {
    address: std::net::IpAddr,
    weight: u32,
    /// The name of the check that probes it (none: always up).
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<String>,
}

pub(super) async fn zones(State(a): State<Admin>) -> Response {
    let serving = a.shared.serving.load();
    let snap = &serving.snapshot;
    let zones = snap
        .zones
        .iter()
        .map(|z| {
            let mut owners = owners(z);
            ZoneView {
                origin: z.origin.to_string(),
                serial: z.serial,
                file: z.file.display().to_string(),
                names: z.names,
                signed: z.dnssec.is_some(),
                gslb: snap
                    .gslb
                    .records
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.zone == z.origin)
                    .map(|(i, r)| {
                        let names = owners.remove(&i).unwrap_or_default();
                        gslb_view(r, names, &snap.gslb.probes, &serving.health)
                    })
                    .collect(),
            }
        })
        .collect();
    Json(ZonesBody {
        generation: a.reloader.status().generation,
        zones,
    })
    .into_response()
}

/// The names of `zone` answering with each GSLB record (by index), in DNSSEC order: one
/// pass over the zone's names, however many records it has.
fn owners(zone: &Zone) -> std::collections::HashMap<usize, Vec<String>> {
    let mut by_record: std::collections::HashMap<usize, Vec<&WireName>> = Default::default();
    for (name, node) in &zone.nodes {
        if let Node::Gslb(i) = node {
            by_record.entry(*i).or_default().push(name);
        }
    }
    by_record
        .into_iter()
        .map(|(i, mut names)| {
            names.sort_by_cached_key(|n| canonical_key(n));
            (i, names.iter().map(|n| n.to_string()).collect())
        })
        .collect()
}

fn gslb_view(
    r: &GslbRecord,
    names: Vec<String>,
    probes: &[crate::gslb::Probe],
    health: &HealthView,
) -> GslbView {
    let pool_name = |i: &usize| r.pools[*i].name.clone();
    GslbView {
        record: r.name.clone(),
        names,
        ttl: r.ttl,
        ttl_degraded: r.ttl_degraded,
        policy: r.policy,
        all_down: r.all_down,
        max_answers: r.max_answers,
        nearest: !r.nearest.is_empty(),
        default: pool_name(&r.default_pool),
        pools: r
            .pools
            .iter()
            .map(|p| PoolView {
                name: p.name.clone(),
                targets: p
                    .targets
                    .iter()
                    .map(|t| TargetView {
                        address: t.addr,
                        weight: t.weight,
                        check: t.probe.map(|i| probes[i].check_name.clone()),
                    })
                    .collect(),
                cname: p.cname.as_ref().map(|c| c.target.to_string()),
                fallback: p.fallback.iter().map(pool_name).collect(),
                drained: health.pool_drained(p),
            })
            .collect(),
    }
}

const SOA: u16 = 6;

/// `GET /v1/zones/{origin}/records` query parameters.
#[derive(Deserialize)]
pub(super) struct RecordsParams {
    /// At most this many records (default 1,000, at most 100,000).
    #[serde(default = "default_limit")]
    limit: usize,
    /// Records to skip first: a page's `next_offset` (default 0).
    #[serde(default)]
    offset: usize,
}

fn default_limit() -> usize {
    1000
}

/// `GET /v1/zones/{origin}/records`.
#[derive(Serialize)]
struct RecordsBody {
    origin: String,
    /// The configuration the page was read from: pages of one generation fit together.
    generation: u64,
    offset: usize,
    records: Vec<RecordView>,
    /// Whether `limit` cut the list short.
    truncated: bool,
    /// The `offset` of the next page, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_offset: Option<usize>,
}

/// One record in presentation format, or a GSLB name (`type` `GSLB`, its A/AAAA decided per
/// query).
#[derive(Serialize)]
struct RecordView {
    name: String,
    #[serde(rename = "type")]
    rtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    data: String,
}

pub(super) async fn records(
    State(a): State<Admin>,
    Path(origin): Path<String>,
    Params(p): Params<RecordsParams>,
) -> Response {
    let snap = a.shared.snapshot();
    let wanted = if origin.ends_with('.') {
        origin.to_ascii_lowercase()
    } else {
        format!("{}.", origin.to_ascii_lowercase())
    };
    let Some(zone) = snap.zones.iter().find(|z| z.origin.to_string() == wanted) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no zone `{origin}` is served"),
        );
    };
    let limit = p.limit.clamp(1, 100_000);
    let (records, truncated) = zone_records(zone, &snap.gslb.records, p.offset, limit);
    Json(RecordsBody {
        origin: zone.origin.to_string(),
        generation: a.reloader.status().generation,
        offset: p.offset,
        next_offset: truncated.then(|| p.offset + records.len()),
        records,
        truncated,
    })
    .into_response()
}

/// One page of a zone's records: `limit` of them after skipping `offset`, plus one more
/// to tell whether the list goes on. Records outside the page are counted, not decoded.
struct Page {
    offset: usize,
    limit: usize,
    seen: usize,
    out: Vec<RecordView>,
}

impl Page {
    fn push(&mut self, view: impl FnOnce() -> RecordView) {
        if self.seen >= self.offset && self.out.len() <= self.limit {
            self.out.push(view());
        }
        self.seen += 1;
    }
}

/// The records of `zone`, the SOA first, then by name in DNSSEC order (the apex, then each
/// name followed by the names below it): `limit` of them from `offset` on, and whether more
/// follow.
fn zone_records(
    zone: &Zone,
    gslb: &[GslbRecord],
    offset: usize,
    limit: usize,
) -> (Vec<RecordView>, bool) {
    let mut names: Vec<(&WireName, &Node)> = zone.nodes.iter().collect();
    names.sort_by_cached_key(|(n, _)| canonical_key(n));
    let mut page = Page {
        offset,
        limit,
        seen: 0,
        out: Vec::new(),
    };
    page.push(|| record_view(&zone.origin, &zone.soa));
    for (name, node) in names {
        match node {
            Node::Empty => {}
            Node::Static(sets) => {
                // The SOA is listed first, above.
                let sets = sets.iter().filter(|s| s.rtype != SOA);
                for tail in sets.flat_map(|s| &s.records) {
                    page.push(|| record_view(name, tail));
                }
            }
            Node::Cname { tail, .. } => page.push(|| record_view(name, tail)),
            Node::Gslb(i) => page.push(|| RecordView {
                name: name.to_string(),
                rtype: "GSLB".into(),
                ttl: gslb.get(*i).map(|r| r.ttl),
                data: gslb
                    .get(*i)
                    .map(|r| format!("A/AAAA by record `{}` ({} pools)", r.name, r.pools.len()))
                    .unwrap_or_default(),
            }),
            Node::Delegation(d) => {
                let sets = std::iter::once(&d.ns).chain(d.ds.as_ref());
                for tail in sets.flat_map(|s| &s.records) {
                    page.push(|| record_view(name, tail));
                }
                for glue in &d.glue {
                    for tail in &glue.records {
                        page.push(|| record_view(&glue.owner, tail));
                    }
                }
            }
        }
    }
    let mut out = page.out;
    let truncated = out.len() > limit;
    out.truncate(limit);
    (out, truncated)
}

/// Sorts names as DNSSEC does: label by label from the root, case folded.
fn canonical_key(name: &WireName) -> Vec<Vec<u8>> {
    let bytes = name.as_bytes();
    let mut labels = Vec::new();
    let mut i = 0;
    while i < bytes.len() && bytes[i] != 0 {
        let len = bytes[i] as usize;
        labels.push(bytes[i + 1..i + 1 + len].to_ascii_lowercase());
        i += 1 + len;
    }
    labels.reverse();
    labels
}

/// One record in presentation format, decoded by hickory from what the answers copy.
fn record_view(owner: &WireName, tail: &RrTail) -> RecordView {
    let mut wire = owner.as_bytes().to_vec();
    wire.extend_from_slice(&tail.0);
    match Record::read(&mut BinDecoder::new(&wire)) {
        Ok(r) => RecordView {
            name: owner.to_string(),
            rtype: r.record_type().to_string(),
            ttl: Some(r.ttl),
            data: r.data.to_string(),
        },
        Err(e) => RecordView {
            name: owner.to_string(),
            rtype: format!("TYPE{}", tail.rtype()),
            ttl: Some(tail.ttl()),
            data: format!("(undecodable: {e})"),
        },
    }
}
