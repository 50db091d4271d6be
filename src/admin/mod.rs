//! The admin HTTP API: the console, health, metrics, status, zones, fleet, reload, explain,
//! drains, pool drains and gradual shifts.

mod console;
mod drains;
mod explain;
mod params;
mod reload;
mod status;
mod zones;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::health::Monitor;
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
        .route("/", get(console::page))
        .route("/console.css", get(console::stylesheet))
        .route("/console.js", get(console::script))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(status::metrics))
        .route("/v1/status", get(status::status))
        .route("/v1/zones", get(zones::zones))
        .route("/v1/zones/{origin}/records", get(zones::records))
        .route("/v1/reload", post(reload::reload))
        .route("/v1/explain", get(explain::explain_query))
        .route("/v1/fleet", get(status::fleet))
        .route("/v1/targets/{address}/drain", post(drains::drain))
        .route("/v1/targets/{address}/undrain", post(drains::undrain))
        .route("/v1/targets/{address}/weight", post(drains::weight))
        .route("/v1/pools/{record}/{pool}/drain", post(drains::pool_drain))
        .route(
            "/v1/pools/{record}/{pool}/undrain",
            post(drains::pool_undrain),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(admin)
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
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

/// Parses `--admin`: an address, or `off`.
pub fn parse_listen(s: &str) -> Result<Option<SocketAddr>, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("`{s}` is neither ADDR:PORT nor `off`"))
}
