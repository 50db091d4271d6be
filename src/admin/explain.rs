//! `GET /v1/explain`: what a client would get for a name, and why.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::params::Params;
use super::{error, Admin};
use crate::dns::explain;

#[derive(Deserialize)]
pub(super) struct ExplainParams {
    name: String,
    #[serde(rename = "type", default = "default_type")]
    qtype: String,
    client: String,
}

fn default_type() -> String {
    "A".into()
}

pub(super) async fn explain_query(
    State(a): State<Admin>,
    Params(p): Params<ExplainParams>,
) -> Response {
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
