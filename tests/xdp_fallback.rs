//! A `--xdp` that cannot run (no such interface, no permission) is logged with its reason,
//! shown in `/v1/status`, and gslbd serves through the kernel: on loopback, everywhere (the
//! fast path itself: `tests/xdp_path.rs`).

mod common;

use common::{raw_query, Server};

#[test]
fn an_xdp_path_that_cannot_run_is_logged_and_the_kernel_serves() {
    let s = Server::start(
        &common::example_zones(),
        &common::example_geo(),
        &["--xdp", "nosuchif0", "--admin", "127.0.0.1:0"],
    );
    assert!(
        s.startup_lines().iter().any(|l| l
            == "gslbd answering UDP on nosuchif0 through the kernel: there is no interface nosuchif0"),
        "{:?}",
        s.startup_lines()
    );
    let reply =
        common::udp_raw(s.addr(), &raw_query(5, "www.example.com.", 1, None)).expect("an answer");
    assert_eq!(common::raw_rcode(&reply), 0);
    // The admin API tells the operator the same, and where DNS is answered.
    let (code, body) = s.http("GET", "/v1/status", None);
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        status["listening"],
        serde_json::json!({
            "dns": [{"address": s.addr().to_string(), "transport": "udp+tcp"}],
            "xdp": [{"iface": "nosuchif0", "path": "kernel",
                     "reason": "there is no interface nosuchif0"}],
        }),
        "{status:#}"
    );
}

#[test]
fn an_xdp_path_without_the_privilege_is_logged_and_the_kernel_serves() {
    // As an unprivileged user: run by root, through setpriv; otherwise as ourselves.
    let zones = common::example_zones();
    let geo = common::example_geo();
    // SAFETY: geteuid(2) has no preconditions.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(common::bin());
        c
    } else {
        std::process::Command::new(common::bin())
    };
    cmd.args(["serve", "--zones"])
        .arg(&zones)
        .arg("--geo")
        .arg(&geo);
    let args = ["--listen", "127.0.0.1:0", "--admin", "off", "--xdp", "lo"];
    cmd.args(args);
    let s = Server::launch(cmd, &zones, &geo, &args);
    let line = s
        .startup_lines()
        .iter()
        .find(|l| l.starts_with("gslbd answering UDP on lo through the kernel: "))
        .unwrap_or_else(|| panic!("{:?}", s.startup_lines()));
    assert!(
        line.contains("Operation not permitted") && line.contains("(needs root, or CAP_BPF"),
        "{line}"
    );
    let reply =
        common::udp_raw(s.addr(), &raw_query(5, "www.example.com.", 1, None)).expect("an answer");
    assert_eq!(common::raw_rcode(&reply), 0);
}
