//! Every refusal of the admin API is the same JSON, `{"ok": false, "error": "..."}`, with a
//! status that says what was wrong: a missing or malformed parameter (400), a path that is
//! no endpoint (404), a method an endpoint does not take (405), bad input (400), something
//! unknown (404).

mod common;

use common::*;
use serde_json::Value;

fn refusal(s: &Server, method: &str, path: &str, code: u16) -> String {
    let (got, body) = s.http(method, path, None);
    assert_eq!(got, code, "{method} {path}: {body}");
    let v: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{method} {path}: {e}: {body:?}"));
    assert_eq!(v["ok"], false, "{method} {path}: {v}");
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

#[test]
fn every_refusal_is_json_with_a_reason() {
    let s = Server::start(
        &example_zones(),
        &example_geo(),
        &["--admin", "127.0.0.1:0"],
    );
    let e = refusal(&s, "GET", "/v1/explain?name=www.example.com", 400);
    assert!(e.contains("missing field `client`"), "{e}");
    let e = refusal(&s, "GET", "/v1/zones/example.com/records?limit=many", 400);
    assert!(e.contains("limit"), "{e}");
    let e = refusal(&s, "POST", "/v1/reload?dry_run=maybe", 400);
    assert!(e.contains("dry_run"), "{e}");
    let e = refusal(&s, "GET", "/v1/nosuch", 404);
    assert_eq!(e, "no such endpoint: GET /v1/nosuch");
    let e = refusal(&s, "GET", "/v1/reload", 405);
    assert_eq!(e, "/v1/reload does not take GET");
    let e = refusal(&s, "POST", "/v1/targets/not-an-ip/drain", 400);
    assert!(e.contains("not-an-ip"), "{e}");
    let e = refusal(&s, "GET", "/v1/zones/example.org/records", 404);
    assert!(e.contains("example.org"), "{e}");
    // And what works still works.
    let (code, body) = s.http(
        "GET",
        "/v1/explain?name=www.example.com&client=192.0.2.1",
        None,
    );
    assert_eq!(code, 200, "{body}");
}
