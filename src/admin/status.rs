//! What the admin API reports about the running server: `/metrics`, `/v1/status` (load,
//! zones, targets, drains, reload history, fleet, listeners) and `/v1/fleet`.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::{error, Admin};
use crate::dns::listening::{Listener, XdpInterface};
use crate::metrics::TargetGauge;

pub(super) async fn metrics(State(a): State<Admin>) -> Response {
    let status = a.monitor.status();
    let targets: Vec<TargetGauge> = status
        .iter()
        .map(|t| TargetGauge {
            address: t.address.to_string(),
            check: t.check.clone().unwrap_or_default(),
            up: t.probe_up,
            drained: t.state == "drained",
        })
        .collect();
    let mut body = a.shared.metrics.render(
        &targets,
        a.monitor
            .fleet_status()
            .as_ref()
            .zip(a.monitor.fleet_view().as_ref()),
    );
    crate::health::gauges::render(
        &mut body,
        &status,
        &a.shared.serving.load(),
        &a.monitor.pools_drained(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// `GET /v1/status`.
#[derive(Serialize)]
struct StatusBody<'a> {
    generation: u64,
    loaded_at: String,
    last_reload: Option<crate::reload::LastReload>,
    /// The last reload attempts, newest first, the load at start-up included.
    reloads: std::collections::VecDeque<crate::reload::LastReload>,
    /// Whether the mutating endpoints ask for a bearer token (the console asks for it).
    token_required: bool,
    zones: Vec<ZoneStatus>,
    targets: Vec<crate::health::TargetStatus>,
    /// Pools drained by hand.
    pools_drained: Vec<PoolDrainStatus>,
    /// This node's fleet, when it runs with `--fleet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet: Option<crate::health::FleetStatus>,
    /// What DNS is answered on (absent until every listener is up).
    #[serde(skip_serializing_if = "Option::is_none")]
    listening: Option<ListeningStatus<'a>>,
}

/// The listeners and `--xdp` interfaces, with the AF_XDP packet counts.
#[derive(Serialize)]
struct ListeningStatus<'a> {
    dns: &'a [Listener],
    xdp: Vec<XdpStatus>,
}

#[derive(Serialize)]
struct XdpStatus {
    #[serde(flatten)]
    interface: XdpInterface,
    /// Over the interface's queues, as in `gslbd_xdp_packets_total` (AF_XDP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<XdpPackets>,
}

#[derive(Serialize, Default)]
struct XdpPackets {
    answered: u64,
    unanswered: u64,
    tx_full: u64,
}

fn listening<'a>(shared: &'a crate::state::Shared) -> Option<ListeningStatus<'a>> {
    use std::sync::atomic::Ordering::Relaxed;
    let l = shared.listening.get()?;
    let queues = shared.metrics.xdp.lock().unwrap();
    let xdp = l
        .xdp_now()
        .into_iter()
        .map(|(i, started)| XdpStatus {
            packets: started.then(|| {
                queues.iter().filter(|q| q.iface == i.iface).fold(
                    XdpPackets::default(),
                    |mut p, q| {
                        p.answered += q.answered.load(Relaxed);
                        p.unanswered += q.unanswered.load(Relaxed);
                        p.tx_full += q.tx_full.load(Relaxed);
                        p
                    },
                )
            }),
            interface: i,
        })
        .collect();
    Some(ListeningStatus { dns: &l.dns, xdp })
}

/// One drained pool in `/v1/status`.
#[derive(Serialize)]
struct PoolDrainStatus {
    record: String,
    pool: String,
    since: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    by: String,
    /// False when the served configuration has no such pool (the drain waits for one).
    known: bool,
}

#[derive(Serialize)]
struct ZoneStatus {
    origin: String,
    serial: u32,
    names: usize,
    file: String,
    signed: bool,
}

pub(super) async fn status(State(a): State<Admin>) -> Response {
    let load = a.reloader.status();
    let snap = a.shared.snapshot();
    let zones: Vec<ZoneStatus> = snap
        .zones
        .iter()
        .map(|z| ZoneStatus {
            origin: z.origin.to_string(),
            serial: z.serial,
            names: z.names,
            file: z.file.display().to_string(),
            signed: z.dnssec.is_some(),
        })
        .collect();
    Json(StatusBody {
        generation: load.generation,
        loaded_at: load.loaded_at,
        last_reload: load.last_reload,
        reloads: load.reloads,
        token_required: a.token.is_some(),
        zones,
        targets: a.monitor.status(),
        pools_drained: a
            .monitor
            .pools_drained()
            .into_iter()
            .map(|(k, d, known)| PoolDrainStatus {
                record: k.record,
                pool: k.pool,
                since: humantime::format_rfc3339_millis(
                    std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(d.at_ms),
                )
                .to_string(),
                by: d.by,
                known,
            })
            .collect(),
        fleet: a.monitor.fleet_status(),
        listening: listening(&a.shared),
    })
    .into_response()
}

/// `GET /v1/fleet`: the nodes of this node's fleet and their configuration drift.
pub(super) async fn fleet(State(a): State<Admin>) -> Response {
    match a.monitor.fleet_view() {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "this node stands alone (serve --fleet joins a fleet)",
        ),
    }
}
