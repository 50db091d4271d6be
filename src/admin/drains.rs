//! Hand-made changes to health: drains and undrains of targets and pools, and gradual
//! shifts of a target's share of answers.

use std::net::IpAddr;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::{error, Admin};
use crate::health::{DrainError, PoolKey};

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
pub(super) async fn weight(
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

pub(super) async fn pool_drain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path((record, pool)): Path<(String, String)>,
) -> Response {
    set_pool_drain(a, headers, record, pool, true).await
}

pub(super) async fn pool_undrain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path((record, pool)): Path<(String, String)>,
) -> Response {
    set_pool_drain(a, headers, record, pool, false).await
}

pub(super) async fn drain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    set_drain(a, headers, address, true).await
}

pub(super) async fn undrain(
    State(a): State<Admin>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    set_drain(a, headers, address, false).await
}
