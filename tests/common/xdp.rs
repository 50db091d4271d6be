//! The AF_XDP tests' shared side: gslbd started in a veth pair's server namespace, its
//! readiness line about srv0, its AF_XDP counters, and skipping where the machine cannot.

use super::netns::VethPair;
use super::Server;

/// Skips the test with `why`, or fails it when XDP was required.
pub fn skip(why: &str) {
    if std::env::var_os("GSLBD_REQUIRE_XDP").is_some_and(|v| v == "1") {
        panic!("GSLBD_REQUIRE_XDP=1 but the XDP test cannot run: {why}");
    }
    // Past the test harness's capture, so that the run's log shows it.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {}: needs what this machine lacks: {why}",
        test_binary()
    );
}

/// gslbd's AF_XDP option for the server side.
pub const XDP: &[&str] = &["--xdp", "srv0"];

/// gslbd in the server namespace on `listen`, with `extra` options (`XDP`, or none).
pub fn serve(pair: &VethPair, listen: &[&str], extra: &[&str]) -> Server {
    let zones = super::example_zones();
    let geo = super::example_geo();
    let mut cmd = pair.server_command(super::bin());
    cmd.args(["serve", "--zones"])
        .arg(&zones)
        .arg("--geo")
        .arg(&geo);
    let mut args = Vec::new();
    for l in listen {
        args.extend(["--listen".to_string(), l.to_string()]);
    }
    args.extend([
        "--admin".to_string(),
        format!("{}:9153", super::netns::SERVER_V4),
        "--udp-threads".to_string(),
        "1".to_string(),
        "--no-watch".to_string(),
    ]);
    args.extend(extra.iter().map(|a| a.to_string()));
    cmd.args(&args);
    let shown: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::launch(cmd, &zones, &geo, &shown)
}

/// A veth pair named after `tag` with gslbd serving `listen` with `--xdp srv0` on its
/// server side; `None` (the test skipped, with the reason) where the machine cannot.
pub fn serving_xdp(tag: &str, listen: &[&str]) -> Option<(VethPair, Server)> {
    let pair = match VethPair::create(tag) {
        Ok(p) => p,
        Err(why) => {
            skip(&why);
            return None;
        }
    };
    let s = serve(&pair, listen, XDP);
    if let Some(why) = xdp_unavailable(&s) {
        skip(&why);
        return None;
    }
    Some((pair, s))
}

/// Why gslbd serves srv0 through the kernel, if it does (its startup line says).
pub fn xdp_unavailable(s: &Server) -> Option<String> {
    let line = s
        .startup_lines()
        .iter()
        .find(|l| l.starts_with("gslbd answering UDP on srv0"))
        .unwrap_or_else(|| panic!("no AF_XDP line in {:?}", s.startup_lines()));
    if let Some((_, why)) = line.split_once("through the kernel: ") {
        return Some(why.to_string());
    }
    assert!(line.contains("through AF_XDP (1 queues"), "{line}");
    None
}

pub fn xdp_counter(text: &str, result: &str) -> u64 {
    let key = format!("gslbd_xdp_packets_total{{iface=\"srv0\",queue=\"0\",result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {key} in the metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

/// The running test binary's name (`xdp_path`), for the skip line.
fn test_binary() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            let name = std::path::Path::new(&a)
                .file_name()?
                .to_string_lossy()
                .into_owned();
            Some(
                name.rsplit_once('-')
                    .map_or(name.clone(), |(n, _)| n.to_string()),
            )
        })
        .unwrap_or_else(|| "xdp".into())
}
