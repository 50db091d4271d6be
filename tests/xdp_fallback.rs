//! A `--xdp` that cannot run (no such interface, the loopback interface, no permission) is
//! logged with its reason, shown in `/v1/status`, and gslbd serves through the kernel (the
//! fast path itself: `tests/xdp_path.rs`).

mod common;

use common::netns::{VethPair, SERVER_V4};
use common::xdp::skip;
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
fn the_loopback_interface_is_left_to_the_kernel() {
    // Replies sent from an AF_XDP socket on lo come back without a route and the kernel drops
    // them as martians: gslbd refuses, says why, and the kernel answers on 127.0.0.1.
    let s = Server::start(
        &common::example_zones(),
        &common::example_geo(),
        &["--xdp", "lo"],
    );
    let line = s
        .startup_lines()
        .iter()
        .find(|l| l.starts_with("gslbd answering UDP on lo through the kernel: "))
        .unwrap_or_else(|| panic!("{:?}", s.startup_lines()));
    assert!(
        line.contains("lo is the loopback interface")
            && line.contains("the kernel drops them as martians"),
        "{line}"
    );
    let reply =
        common::udp_raw(s.addr(), &raw_query(5, "www.example.com.", 1, None)).expect("an answer");
    assert_eq!(common::raw_rcode(&reply), 0);
}

#[test]
fn an_xdp_path_without_the_privilege_is_logged_and_the_kernel_serves() {
    let unprivileged = [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ];
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // Root: gslbd dropped to nobody through setpriv, on a veth pair's server side.
        let pair = match VethPair::create("xdpnopriv") {
            Ok(p) => p,
            Err(why) => return skip(&why),
        };
        let mut cmd = pair.server_command("setpriv");
        cmd.args(unprivileged).arg(common::bin());
        let s = launch_on(cmd, &format!("{SERVER_V4}:0"), "srv0");
        let addr = s.addr();
        let reply = pair.in_client(|| {
            let u = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
            u.set_read_timeout(Some(std::time::Duration::from_secs(2)))
                .unwrap();
            u.send_to(&raw_query(5, "www.example.com.", 1, None), addr)
                .unwrap();
            let mut b = [0u8; 1500];
            let n = u.recv(&mut b).expect("an answer through the kernel");
            b[..n].to_vec()
        });
        assert_eq!(common::raw_rcode(&reply), 0);
    } else {
        // Not root: any interface but loopback will do.
        let Some(iface) = std::fs::read_dir("/sys/class/net")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| {
                std::fs::read_to_string(format!("/sys/class/net/{n}/flags"))
                    .ok()
                    .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
                    .is_some_and(|f| f & libc::IFF_LOOPBACK as u32 == 0)
            })
        else {
            return skip("no interface but loopback");
        };
        let s = launch_on(
            std::process::Command::new(common::bin()),
            "127.0.0.1:0",
            &iface,
        );
        let reply = common::udp_raw(s.addr(), &raw_query(5, "www.example.com.", 1, None))
            .expect("an answer");
        assert_eq!(common::raw_rcode(&reply), 0);
    }
}

/// `cmd` (gslbd, or what runs it) serving the example on `listen` with `--xdp iface`, which
/// it cannot attach for want of privilege: its startup line says so.
fn launch_on(mut cmd: std::process::Command, listen: &str, iface: &str) -> Server {
    let (zones, geo) = (common::example_zones(), common::example_geo());
    let args = ["--listen", listen, "--admin", "off", "--xdp", iface];
    cmd.args(["serve", "--zones"])
        .arg(&zones)
        .arg("--geo")
        .arg(&geo)
        .args(args);
    let s = Server::launch(cmd, &zones, &geo, &args);
    assert_not_permitted(&s, iface);
    s
}

fn assert_not_permitted(s: &Server, iface: &str) {
    let prefix = format!("gslbd answering UDP on {iface} through the kernel: ");
    let line = s
        .startup_lines()
        .iter()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{:?}", s.startup_lines()));
    assert!(
        line.contains("Operation not permitted") && line.contains("(needs root, or CAP_BPF"),
        "{line}"
    );
}
