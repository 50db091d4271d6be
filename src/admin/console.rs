//! The operators' console at `GET /` of the admin API: one HTML page, its stylesheet and its
//! script, built into the binary, served with a strict Content-Security-Policy. The page
//! reads the same JSON endpoints as any other client (`/v1/status`, `/v1/zones`,
//! `/v1/explain`, `/v1/fleet`) and calls the drain endpoints under the same token rule.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("console/index.html");
const STYLESHEET: &str = include_str!("console/console.css");
const SCRIPT: &str = include_str!("console/console.js");

/// Only the console's own files, no inline script or style, no frames, no form posts
/// elsewhere; the script talks to this server only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // The files change with the binary only; revalidating is cheap and keeps an
            // upgraded server's console from running an old script.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

pub(super) async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

pub(super) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
