//! Hot-reload test pieces: zone and region texts, asking and waiting for answers, `/v1/status`,
//! and deploy layouts whose directories get replaced whole (a `current -> releases/N` symlink,
//! a Kubernetes ConfigMap volume).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use serde_json::{json, Value};

use super::{query, udp, wait_for, with_ecs, zone_json, Server};

/// Spec §5: file changes are picked up within 2 s of the last write.
pub const PICKUP: Duration = Duration::from_secs(2);
/// Slack on top of `PICKUP` for a loaded 2-core test machine.
pub const MARGIN: Duration = Duration::from_secs(1);
/// Deadline for things that happen "at once" (SIGHUP) or are only being waited for.
pub const SOON: Duration = Duration::from_secs(5);

/// A zone's JSON text with the given SOA serial.
pub fn zone_text(origin: &str, serial: u32, records: Value) -> String {
    let mut zone: Value = serde_json::from_str(&zone_json(origin, 3600, 60, records)).unwrap();
    zone["soa"]["serial"] = json!(serial);
    serde_json::to_string_pretty(&zone).unwrap()
}

/// A zone whose `www` answers `addr`.
pub fn www_zone(origin: &str, serial: u32, addr: &str) -> String {
    zone_text(origin, serial, json!({ "www": { "A": [addr] } }))
}

/// A zone with a `www` A record and a GSLB name `app` whose pools are `lab` and `default`.
pub fn gslb_zone(origin: &str, serial: u32, www: &str) -> String {
    let mut zone: Value = serde_json::from_str(&zone_text(
        origin,
        serial,
        json!({ "www": { "A": [www] }, "app": { "gslb": "app" } }),
    ))
    .unwrap();
    zone["gslb"] = json!({ "app": { "pools": {
        "lab": { "targets": ["198.51.100.7"] },
        "default": { "targets": ["192.0.2.100"] }
    } } });
    serde_json::to_string_pretty(&zone).unwrap()
}

/// `geo/regions.json` with the given regions and no databases.
pub fn regions_text(regions: Value) -> String {
    serde_json::to_string_pretty(&json!({ "version": 1, "regions": regions })).unwrap()
}

/// The A addresses of a reply's answer section.
pub fn a_list(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

pub fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Asks `name` A over UDP: (rcode, addresses).
pub fn ask(addr: SocketAddr, name: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    let r = udp(addr, &query(name, RecordType::A));
    (r.response_code, a_list(&r))
}

/// Asks `name` A over UDP with ECS `client`/32.
pub fn ask_from(addr: SocketAddr, name: &str, client: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    let r = udp(addr, &with_ecs(query(name, RecordType::A), client, 32));
    (r.response_code, a_list(&r))
}

/// Waits until `name` answers exactly `want` (NOERROR), for at most `within`; returns how long
/// that took (call it right after the write).
pub fn wait_served(s: &Server, name: &str, want: &str, within: Duration) -> Duration {
    let want = vec![ip4(want)];
    wait_for(
        &format!("{name} answering {want:?} within {within:?} of the write"),
        within,
        || match ask(s.addr(), name) {
            (ResponseCode::NoError, a) if a == want => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .1
}

/// `GET /v1/status` as JSON (start the server with `--admin 127.0.0.1:0`).
pub fn status(s: &Server) -> Value {
    let (code, body) = s.http("GET", "/v1/status", None);
    assert_eq!(code, 200, "/v1/status: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/v1/status is not JSON ({e}): {body}"))
}

/// The configuration generation `/v1/status` shows.
pub fn generation(s: &Server) -> u64 {
    status(s)["generation"]
        .as_u64()
        .expect("/v1/status generation")
}

/// The serial `/v1/status` shows for `origin`, if the zone is loaded.
pub fn status_serial(st: &Value, origin: &str) -> Option<u64> {
    st["zones"]
        .as_array()
        .expect("zones array")
        .iter()
        .find(|z| z["origin"] == json!(origin))
        .map(|z| z["serial"].as_u64().expect("serial"))
}

/// Lays out (or updates) `dir` the way the kubelet writes a ConfigMap volume: the files go to a
/// new hidden version directory, `..data_tmp -> VERSION` is renamed over `..data` (the atomic
/// swap), and each top-level entry is a symlink through `..data`. `files` are paths relative
/// to the volume: `example.net.json`, or `zones/example.net.json` for a ConfigMap whose items
/// put files in subdirectories (then `zones -> ..data/zones`). Returns the version directory;
/// the kubelet removes the previous one after the swap.
pub fn configmap_write(dir: &Path, version_dir: &str, files: &[(&str, String)]) -> PathBuf {
    let target = dir.join(version_dir);
    std::fs::create_dir_all(&target).unwrap();
    for (name, text) in files {
        let file = target.join(name);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(version_dir, &tmp).unwrap();
    // The atomic swap.
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for (name, _) in files {
        let top = Path::new(name).components().next().unwrap().as_os_str();
        let link = dir.join(top);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(top), &link).unwrap();
        }
    }
    target
}

/// A Capistrano-style deploy root in a temporary directory: each release in
/// `releases/N/{zones,geo}`, and `current -> releases/N` swapped atomically to deploy. Serve
/// `zones()` and `geo()`, which go through `current`.
pub struct Releases {
    root: tempfile::TempDir,
}

impl Default for Releases {
    fn default() -> Self {
        Self::new()
    }
}

impl Releases {
    pub fn new() -> Releases {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(root.path().join("releases")).unwrap();
        Releases { root }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `current/zones`, as `--zones` is given.
    pub fn zones(&self) -> PathBuf {
        self.root().join("current").join("zones")
    }

    /// `current/geo`, as `--geo` is given.
    pub fn geo(&self) -> PathBuf {
        self.root().join("current").join("geo")
    }

    /// `releases/N`.
    pub fn release_dir(&self, n: u32) -> PathBuf {
        self.root().join("releases").join(n.to_string())
    }

    /// Writes release `n`: `zones` files as (name, text) and an empty `geo`. Returns its
    /// zones directory.
    pub fn release(&self, n: u32, zones: &[(&str, String)]) -> PathBuf {
        let dir = self.release_dir(n);
        std::fs::create_dir_all(dir.join("zones")).unwrap();
        std::fs::create_dir_all(dir.join("geo")).unwrap();
        for (name, text) in zones {
            std::fs::write(dir.join("zones").join(name), text).unwrap();
        }
        dir.join("zones")
    }

    /// Deploys release `n` the way `ln -sfn releases/N current.tmp && mv -T current.tmp
    /// current` does: a new relative symlink renamed over `current` in one step.
    pub fn activate(&self, n: u32) {
        let tmp = self.root().join("current.tmp");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new("releases").join(n.to_string()), &tmp).unwrap();
        std::fs::rename(&tmp, self.root().join("current")).unwrap();
    }
}
