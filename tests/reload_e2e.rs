//! End-to-end tests of hot reload (spec §5, `/v1/reload` and `/v1/status` in §7).

mod common;

#[test]
fn placeholder() {}
