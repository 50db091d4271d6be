//! The admin HTTP API: health, metrics, status, fleet, reload, explain, drains, pool drains
//! and gradual shifts.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::dns::explain;
use crate::health::{DrainError, Monitor, PoolKey};
use crate::metrics::TargetGauge;
use crate::reload::Reloader;
use crate::state::Shared;

/// What the handlers need.
#[derive(Clone)]
pub struct Admin {
    pub shared: Arc<Shared>,
    pub monitor: Monitor,
    pub reloader: Reloader,
    /// When set, mutating endpoints require `Authorization: Bearer <token>`.
    pub token: Option<Arc<str>>,
}

/// The routes of the admin API.
pub fn router(admin: Admin) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status))
        .route("/v1/reload", post(reload))
        .route("/v1/explain", get(explain_query))
        .route("/v1/fleet", get(fleet))
        .route("/v1/targets/{address}/drain", post(drain))
        .route("/v1/targets/{address}/undrain", post(undrain))
        .route("/v1/targets/{address}/weight", post(weight))
        .route("/v1/pools/{record}/{pool}/drain", post(pool_drain))
        .route("/v1/pools/{record}/{pool}/undrain", post(pool_undrain))
        .with_state(admin)
}

/// Serves the admin API on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    admin: Admin,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(admin))
        .with_graceful_shutdown(stop)
        .await
}

fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (
        code,
        Json(serde_json::json!({ "ok": false, "error": msg.into() })),
    )
        .into_response()
}

impl Admin {
    /// `None` when the request may go on, else the 401 to send.
    fn refuse(&self, headers: &HeaderMap) -> Option<Response> {
        let token = self.token.as_ref()?;
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            None
        } else {
            Some(error(
                StatusCode::UNAUTHORIZED,
                "a valid bearer token is required",
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn metrics(State(a): State<Admin>) -> Response {
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
struct StatusBody {
    generation: u64,
    loaded_at: String,
    last_reload: Option<crate::reload::LastReload>,
    zones: Vec<ZoneStatus>,
    targets: Vec<crate::health::TargetStatus>,
    /// Pools drained by hand.
    pools_drained: Vec<PoolDrainStatus>,
    /// This node's fleet, when it runs with `--fleet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    fleet: Option<crate::health::FleetStatus>,
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
}

async fn status(State(a): State<Admin>) -> Response {
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
        })
        .collect();
    Json(StatusBody {
        generation: load.generation,
        loaded_at: load.loaded_at,
        last_reload: load.last_reload,
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
    })
    .into_response()
}

/// `GET /v1/fleet`: the nodes of this node's fleet and their configuration drift.
async fn fleet(State(a): State<Admin>) -> Response {
    match a.monitor.fleet_view() {
        Some(v) => Json(v).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "this node stands alone (serve --fleet joins a fleet)",
        ),
    }
}

/// `POST /v1/reload` query parameters.
#[derive(Deserialize, Default)]
struct ReloadParams {
    /// `1`/`true`: preview what a reload would change (the `gslbd diff --json` document)
    /// without applying anything.
    #[serde(default)]
    dry_run: Option<String>,
}

async fn reload(
    State(a): State<Admin>,
    headers: HeaderMap,
    Query(p): Query<ReloadParams>,
) -> Response {
    if let Some(r) = a.refuse(&headers) {
        return r;
    }
    match p.dry_run.as_deref() {
        None | Some("0" | "false") => {}
        Some("1" | "true" | "") => {
            return match a.reloader.dry_run(a.shared.snapshot()).await {
                Ok(preview) => Json(preview).into_response(),
                Err(problems) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(crate::reload::ReloadOutcome {
                        ok: false,
                        generation: None,
                        problems,
                    }),
                )
                    .into_response(),
            };
        }
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("dry_run is 1 or 0, not `{other}`"),
            )
        }
    }
    let outcome = a.reloader.reload("admin API").await;
    let code = if outcome.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (code, Json(outcome)).into_response()
}

#[derive(Deserialize)]
struct ExplainParams {
    name: String,
    #[serde(rename = "type", default = "default_type")]
    qtype: String,
    client: String,
}

fn default_type() -> String {
    "A".into()
}

async fn explain_query(State(a): State<Admin>, Query(p): Query<ExplainParams>) -> Response {
    let client = match explain::parse_client(&p.client) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let serving = a.shared.serving.load();
    match explain::explain(
        &serving.snapshot,
        &serving.health,
        &p.name,
        &p.qtype,
        client,
    ) {
        Ok(e) => Json(e).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn set_drain(a: Admin, headers: HeaderMap, address: String, on: bool) -> Response {
    if let Some(r) = a.refuse(&headers) {
        return r;
    }
    let Ok(addr) = address.parse::<IpAddr>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`{address}` is not an IP address"),
        );
    };
    match a.monitor.drain(addr, on) {
        Ok(()) => {
            Json(serde_json::json!({ "ok": true, "address": addr, "drained": on })).into_response()
        }
        Err(e) => drain_error(e),
    }
}

fn drain_error(e: DrainError) -> Response {
    match e {
        DrainError::UnknownTarget(_) | DrainError::UnknownPool { .. } => {
            error(StatusCode::NOT_FOUND, e.to_string())
        }
        DrainError::Save(_) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /v1/targets/{address}/weight` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightBody {
    weight: f64,
    /// Seconds; 0 (the default) applies the weight at once.
    #[serde(default)]
    over: f64,
}

/// `POST /v1/targets/{address}/weight`: ramps the target's share of answers to `weight`
/// over `over` seconds.
async fn weight(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(address): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = a.refuse(&headers) {
        return r;
    }
    let Ok(addr) = address.parse::<IpAddr>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("`{address}` is not an IP address"),
        );
    };
    let b: WeightBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected JSON {{\"weight\": 0..1, \"over\": SECONDS}}: {e}"),
            )
        }
    };
    let (weight, over_ms) = match crate::health::Shift::validate(b.weight, b.over) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match a.monitor.shift(addr, weight, over_ms) {
        Ok(s) => Json(serde_json::json!({
            "ok": true,
            "address": addr,
            "from": (s.from * 1e4).round() / 1e4,
            "weight": s.to,
            "over": over_ms as f64 / 1000.0,
        }))
        .into_response(),
        Err(e) => drain_error(e),
    }
}

async fn set_pool_drain(
    a: Admin,
    headers: HeaderMap,
    record: String,
    pool: String,
    on: bool,
) -> Response {
    if let Some(r) = a.refuse(&headers) {
        return r;
    }
    let key = PoolKey { record, pool };
    match a.monitor.pool_drain(key.clone(), on) {
        Ok(()) => Json(serde_json::json!({
            "ok": true,
            "record": key.record,
            "pool": key.pool,
            "drained": on,
        }))
        .into_response(),
        Err(e) => drain_error(e),
    }
}

async fn pool_drain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path((record, pool)): Path<(String, String)>,
) -> Response {
    set_pool_drain(a, headers, record, pool, true).await
}

async fn pool_undrain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path((record, pool)): Path<(String, String)>,
) -> Response {
    set_pool_drain(a, headers, record, pool, false).await
}

async fn drain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    set_drain(a, headers, address, true).await
}

async fn undrain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    set_drain(a, headers, address, false).await
}

/// Parses `--admin`: an address, or `off`.
pub fn parse_listen(s: &str) -> Result<Option<SocketAddr>, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("`{s}` is neither ADDR:PORT nor `off`"))
}
