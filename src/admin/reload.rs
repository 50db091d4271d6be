//! `POST /v1/reload`: reload now, or preview what a reload would change (`?dry_run=1`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::params::Params;
use super::{error, Admin};

/// `POST /v1/reload` query parameters.
#[derive(Deserialize, Default)]
pub(super) struct ReloadParams {
    /// `1`/`true`: preview what a reload would change (the `gslbd diff --json` document)
    /// without applying anything.
    #[serde(default)]
    dry_run: Option<String>,
}

pub(super) async fn reload(
    State(a): State<Admin>,
    headers: HeaderMap,
    Params(p): Params<ReloadParams>,
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
