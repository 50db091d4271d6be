//! End-to-end tests of hot reload (spec §5; `/v1/reload` and `/v1/status` in §7) against the
//! real `gslbd serve` binary: triggers, every way files change, invalid files, zones coming and
//! going, no query lost during reloads, and big configurations.

mod common;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use common::reload::*;
use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// Starts `gslbd serve` on the fixture with the admin API on a free loopback port.
fn start(z: &Zones, extra: &[&str]) -> Server {
    let mut args = vec!["--admin", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Server::start(z.zones_dir(), z.geo_dir(), &args)
}

/// Editor style: write a temporary file next to `path`, then rename it over `path`.
fn write_by_rename(path: &Path, temp_name: &str, text: &str) {
    let tmp = path.parent().unwrap().join(temp_name);
    std::fs::write(&tmp, text).expect("write temp file");
    std::fs::rename(&tmp, path).expect("rename over");
}

/// In place: truncate the existing file and write the new text in two chunks.
fn write_in_place(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .expect("open for in-place write");
    let (a, b) = text.as_bytes().split_at(text.len() / 2);
    f.write_all(a).unwrap();
    f.flush().unwrap();
    f.write_all(b).unwrap();
    f.sync_all().unwrap();
}

/// `POST /v1/reload`: (HTTP status, JSON body).
fn reload(s: &Server) -> (u16, Value) {
    let (code, body) = s.http("POST", "/v1/reload", None);
    let v = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("/v1/reload is not JSON ({e}): {body}"));
    (code, v)
}

/// A successful `POST /v1/reload`; returns the new generation.
fn reload_ok(s: &Server) -> u64 {
    let (code, v) = reload(s);
    assert_eq!(code, 200, "/v1/reload must succeed: {v}");
    assert_eq!(v["ok"], json!(true), "{v}");
    v["generation"].as_u64().expect("generation in reply")
}

/// The value of one sample line of `/metrics`, e.g. `gslbd_reloads_total{result="failed"}`.
fn metric(s: &Server, series: &str) -> f64 {
    let (code, body) = s.http("GET", "/metrics", None);
    assert_eq!(code, 200);
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{series}` in /metrics:\n{body}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("`{series}` is not a number: {e}"))
}

/// The pid of the `gslbd serve` child of this test process that serves `zones_dir` (the
/// harness does not expose it). Only ever our own child.
fn server_pid(zones_dir: &Path) -> libc::pid_t {
    let me = std::process::id();
    let needle = zones_dir.as_os_str().as_encoded_bytes();
    for entry in std::fs::read_dir("/proc").expect("/proc") {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(me) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"gslbd")) && args.contains(&needle) {
            return pid as libc::pid_t;
        }
    }
    panic!(
        "no gslbd child of this process serves {}",
        zones_dir.display()
    );
}

// ---------------------------------------------------------------------------------------------
// 1. Triggers

#[test]
fn editing_a_zone_file_is_served_within_two_seconds() {
    let z = Zones::new();
    let file = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &[]);
    assert_eq!(
        ask(s.addr(), "www.example.net."),
        (ResponseCode::NoError, vec![ip4("192.0.2.1")])
    );
    let before = generation(&s);

    std::fs::write(&file, www_zone("example.net.", 2, "192.0.2.2")).unwrap();
    let took = wait_served(&s, "www.example.net.", "192.0.2.2", PICKUP + MARGIN);
    eprintln!("file edit served {took:?} after the write");

    let (st, _) = wait_for("status after the reload", SOON, || {
        let st = status(&s);
        if status_serial(&st, "example.net.") == Some(2) && st["last_reload"]["ok"] == json!(true) {
            Ok(st)
        } else {
            Err(st.to_string())
        }
    });
    assert!(st["generation"].as_u64().unwrap() > before, "{st}");
    assert_eq!(st["last_reload"]["trigger"], json!("file change"), "{st}");
    assert_eq!(st["last_reload"]["problems"], json!([]), "{st}");
}

#[test]
fn sighup_reloads_at_once() {
    let z = Zones::new();
    let file = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    // No watcher: only the signal can explain the reload.
    let s = start(&z, &["--no-watch"]);
    assert_eq!(generation(&s), 1);
    std::fs::write(&file, www_zone("example.net.", 2, "192.0.2.2")).unwrap();
    assert_eq!(
        ask(s.addr(), "www.example.net.").1,
        vec![ip4("192.0.2.1")],
        "--no-watch and no signal yet: still the old answer"
    );

    let pid = server_pid(z.zones_dir());
    // SAFETY: kill(2) on the pid of our own (unreaped) child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let took = wait_served(&s, "www.example.net.", "192.0.2.2", SOON);
    eprintln!("SIGHUP reload served {took:?} after the signal");
    let (st, _) = wait_for("generation 2 after SIGHUP", SOON, || {
        let st = status(&s);
        if st["generation"] == json!(2) {
            Ok(st)
        } else {
            Err(st.to_string())
        }
    });
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
    assert_eq!(st["last_reload"]["trigger"], json!("SIGHUP"), "{st}");
    assert_eq!(status_serial(&st, "example.net."), Some(2), "{st}");

    // A second signal reloads again (the handler stays installed; the server keeps running).
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    wait_for("generation 3 after a second SIGHUP", SOON, || {
        let g = generation(&s);
        if g == 3 {
            Ok(())
        } else {
            Err(format!("generation {g}"))
        }
    });
}

#[test]
fn admin_reload_bumps_generation_and_serves_at_once() {
    let z = Zones::new();
    let file = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &["--no-watch"]);

    let st = status(&s);
    assert_eq!(st["generation"], json!(1), "{st}");
    assert_eq!(
        st["last_reload"],
        Value::Null,
        "no reload attempted yet: {st}"
    );
    let loaded_at = st["loaded_at"].as_str().expect("loaded_at").to_string();
    assert!(
        loaded_at.len() >= 20 && loaded_at.ends_with('Z') && loaded_at.contains('T'),
        "loaded_at must be an RFC 3339 UTC time: {loaded_at}"
    );
    assert_eq!(metric(&s, "gslbd_config_generation"), 1.0);
    let ok_before = metric(&s, "gslbd_reloads_total{result=\"ok\"}");

    // An unchanged configuration still reloads: a new generation.
    let (code, v) = reload(&s);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v, json!({ "ok": true, "generation": 2 }));

    // A changed one is served as soon as the reply arrives: no polling.
    std::fs::write(&file, www_zone("example.net.", 7, "192.0.2.2")).unwrap();
    assert_eq!(reload_ok(&s), 3);
    assert_eq!(
        ask(s.addr(), "www.example.net."),
        (ResponseCode::NoError, vec![ip4("192.0.2.2")]),
        "served right after POST /v1/reload returned"
    );

    let st = status(&s);
    assert_eq!(st["generation"], json!(3), "{st}");
    let new_loaded_at = st["loaded_at"].as_str().expect("loaded_at");
    assert!(
        new_loaded_at > loaded_at.as_str(),
        "loaded_at must move forward: {loaded_at} -> {new_loaded_at}"
    );
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
    assert_eq!(st["last_reload"]["trigger"], json!("admin API"), "{st}");
    assert_eq!(st["last_reload"]["problems"], json!([]), "{st}");
    assert!(st["last_reload"]["at"].is_string(), "{st}");
    assert_eq!(status_serial(&st, "example.net."), Some(7), "{st}");
    let zone = &st["zones"][0];
    assert_eq!(zone["names"], json!(2), "apex and www: {st}");
    assert!(
        zone["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("example.net.json")),
        "{st}"
    );
    assert_eq!(metric(&s, "gslbd_config_generation"), 3.0);
    assert_eq!(
        metric(&s, "gslbd_reloads_total{result=\"ok\"}"),
        ok_before + 2.0
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Every way files change

#[test]
fn every_way_of_rewriting_a_zone_file_is_picked_up() {
    let z = Zones::new();
    let file = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &[]);
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);

    let steps: [(&str, u32, &str); 4] = [
        ("editor temp file + rename", 2, "192.0.2.2"),
        ("in-place truncate + write", 3, "192.0.2.3"),
        ("rsync hidden temp + rename", 4, "192.0.2.4"),
        ("in-place again", 5, "192.0.2.5"),
    ];
    for (how, serial, addr) in steps {
        let text = www_zone("example.net.", serial, addr);
        match serial {
            2 => write_by_rename(&file, ".example.net.json.tmp", &text),
            4 => write_by_rename(&file, ".example.net.json.Xy7Q2a", &text),
            _ => write_in_place(&file, &text),
        }
        let took = wait_served(&s, "www.example.net.", addr, PICKUP + MARGIN);
        eprintln!("{how}: served {took:?} after the write");
        wait_for(how, SOON, || {
            let st = status(&s);
            match status_serial(&st, "example.net.") {
                Some(n) if n == u64::from(serial) => Ok(()),
                _ => Err(st.to_string()),
            }
        });
    }
    // The temp files were renamed away; none is left to be taken for a zone.
    let st = status(&s);
    assert_eq!(st["zones"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
}

#[test]
fn kubernetes_configmap_swap_is_picked_up() {
    let z = Zones::new();
    let dir = z.zones_dir().to_path_buf();
    configmap_write(
        &dir,
        "..2026_11_21_x",
        &[("example.net.json", www_zone("example.net.", 1, "192.0.2.1"))],
    );
    let s = start(&z, &[]);
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);
    let st = status(&s);
    assert_eq!(
        st["zones"].as_array().unwrap().len(),
        1,
        "`..data` and `..2026_*` are not zones: {st}"
    );

    let mut old = "..2026_11_21_x".to_string();
    for (n, addr) in [(2u32, "192.0.2.2"), (3, "192.0.2.3")] {
        let new = format!("..2026_11_21_y{n}");
        configmap_write(
            &dir,
            &new,
            &[("example.net.json", www_zone("example.net.", n, addr))],
        );
        // The kubelet removes the previous version after the swap.
        std::fs::remove_dir_all(dir.join(&old)).unwrap();
        let took = wait_served(&s, "www.example.net.", addr, PICKUP + MARGIN);
        eprintln!("ConfigMap swap {n}: served {took:?} after the swap");
        old = new;
    }
    let st = status(&s);
    assert_eq!(status_serial(&st, "example.net."), Some(3), "{st}");
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
}

#[test]
fn a_new_network_list_is_picked_up() {
    let z = Zones::new();
    let lists = z.geo_dir().join("lists");
    std::fs::create_dir(&lists).unwrap();
    let list = lists.join("lab.txt");
    std::fs::write(&list, "# lab\n10.1.0.0/16\n").unwrap();
    std::fs::write(
        z.geo_dir().join("regions.json"),
        regions_text(json!({ "lab": [ { "networks_file": "lists/lab.txt" } ] })),
    )
    .unwrap();
    z.file(
        "example.net.json",
        &gslb_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &[]);
    let lab = vec![ip4("198.51.100.7")];
    let default = vec![ip4("192.0.2.100")];
    assert_eq!(ask_from(s.addr(), "app.example.net.", "10.1.2.3").1, lab);
    assert_eq!(
        ask_from(s.addr(), "app.example.net.", "10.2.2.3").1,
        default
    );

    // In place, in a subdirectory of the geo directory.
    write_in_place(&list, "# lab moved\n10.2.0.0/16\n");
    let (_, took) = wait_for("the new network list answering", PICKUP + MARGIN, || {
        let a = ask_from(s.addr(), "app.example.net.", "10.2.2.3");
        let b = ask_from(s.addr(), "app.example.net.", "10.1.2.3");
        if a.1 == lab && b.1 == default {
            Ok(())
        } else {
            Err(format!("10.2.2.3 -> {a:?}, 10.1.2.3 -> {b:?}"))
        }
    });
    eprintln!("network list (in place) served {took:?} after the write");

    // Renamed over, as a list updater would do.
    write_by_rename(&list, ".lab.txt.new", "10.3.0.0/16\n");
    let (_, took) = wait_for(
        "the renamed network list answering",
        PICKUP + MARGIN,
        || {
            let a = ask_from(s.addr(), "app.example.net.", "10.3.0.1");
            let b = ask_from(s.addr(), "app.example.net.", "10.2.2.3");
            if a.1 == lab && b.1 == default {
                Ok(())
            } else {
                Err(format!("10.3.0.1 -> {a:?}, 10.2.2.3 -> {b:?}"))
            }
        },
    );
    eprintln!("network list (rename) served {took:?} after the write");
}

#[test]
fn a_replaced_mmdb_triggers_a_reload() {
    let (z, db) = mmdb_fixture();
    let testdata = example_geo().join("testdata");
    let s = start(&z, &[]);
    let before = generation(&s);

    // Database updaters write a new file and rename it over the old one.
    let tmp = z.geo_dir().join(".location.mmdb.download");
    std::fs::copy(testdata.join("GeoLite2-Country-Test.mmdb"), &tmp).unwrap();
    std::fs::rename(&tmp, &db).unwrap();
    let (st, took) = wait_for(
        "a reload after the .mmdb was replaced",
        PICKUP + MARGIN,
        || {
            let st = status(&s);
            if st["generation"].as_u64().unwrap() > before {
                Ok(st)
            } else {
                Err(st.to_string())
            }
        },
    );
    eprintln!(".mmdb replacement reloaded {took:?} after the write");
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
    assert_eq!(st["last_reload"]["trigger"], json!("file change"), "{st}");
    // Still answering, from the new database (which also has 81.2.69.160/27 in GB).
    assert_eq!(
        ask(s.addr(), "www.example.net."),
        (ResponseCode::NoError, vec![ip4("192.0.2.1")])
    );
    assert_eq!(
        ask_from(s.addr(), "app.example.net.", "81.2.69.161").1,
        vec![ip4("198.51.100.7")]
    );
    assert_eq!(
        ask_from(s.addr(), "app.example.net.", "100.64.0.1").1,
        vec![ip4("192.0.2.100")]
    );
}

/// The fixture of the `.mmdb` tests: `geo/location.mmdb` (a copy of the City test database),
/// a region `lab` of the GB clients, and `app.example.net` answering 198.51.100.7 for them.
fn mmdb_fixture() -> (Zones, PathBuf) {
    let z = Zones::new();
    let db = z.geo_dir().join("location.mmdb");
    std::fs::copy(example_geo().join("testdata/GeoLite2-City-Test.mmdb"), &db).unwrap();
    // The shipped test databases are read-only; the copy must be writable like a real one.
    std::fs::set_permissions(&db, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    std::fs::write(
        z.geo_dir().join("regions.json"),
        serde_json::to_string_pretty(&json!({
            "version": 1,
            "databases": { "location": "location.mmdb" },
            "regions": { "lab": [ { "countries": ["GB"] } ] }
        }))
        .unwrap(),
    )
    .unwrap();
    z.file(
        "example.net.json",
        &gslb_zone("example.net.", 1, "192.0.2.1"),
    );
    (z, db)
}

/// `cp new.mmdb geo/location.mmdb`, `curl -o geo/location.mmdb` and `geoipupdate`-like tools
/// that write in place truncate the file, then fill it again. The
/// README promises that in-place writes and `cp` work for every file, `.mmdb` included.
#[test]
fn an_mmdb_rewritten_in_place_keeps_the_server_up() {
    let (z, db) = mmdb_fixture();
    let mut s = start(&z, &[]);
    let addr = s.addr();
    let lab = ip4("198.51.100.7");
    let default = ip4("192.0.2.100");
    assert_eq!(
        ask_from(addr, "app.example.net.", "81.2.69.161").1,
        vec![lab]
    );
    let bytes = std::fs::read(&db).unwrap();

    let stop = AtomicBool::new(false);
    let budget = AtomicU64::new(50_000);
    let names = vec!["app.example.net.".to_string()];
    let want = vec![[lab, default]];
    let load = Load {
        addr,
        names: &names,
        want: &want,
        ecs: Some("81.2.69.161"),
        stop: &stop,
        budget: &budget,
        until: Instant::now() + Duration::from_secs(10),
        pace: Duration::ZERO,
    };
    let report = std::thread::scope(|scope| {
        let handle = scope.spawn(|| query_load(&load, 5));
        for _ in 0..5 {
            // Truncate, then write the same database back in two halves, as a slow copy or
            // download does.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&db)
                .unwrap();
            std::thread::sleep(Duration::from_millis(30));
            let (a, b) = bytes.split_at(bytes.len() / 2);
            f.write_all(a).unwrap();
            std::thread::sleep(Duration::from_millis(30));
            f.write_all(b).unwrap();
            drop(f);
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap()
    });
    if !s.is_running() {
        let stderr = s.stderr();
        let status = s.stop();
        let signal = status.and_then(|st| std::os::unix::process::ExitStatusExt::signal(&st));
        panic!(
            "the server died while its .mmdb was rewritten in place (exit {status:?}, signal \
             {signal:?}; {} queries, {} lost); stderr:\n{stderr}",
            report.sent, report.lost
        );
    }
    assert_eq!(report.lost, 0, "no query may be lost");
    assert!(
        report.bad.is_empty(),
        "unexpected replies: {:?}",
        report.bad
    );
    wait_for("a good reload", PICKUP + MARGIN, || {
        let st = status(&s);
        if st["last_reload"]["ok"] == json!(true) {
            Ok(())
        } else {
            Err(st.to_string())
        }
    });
    assert_eq!(
        ask_from(addr, "app.example.net.", "81.2.69.161").1,
        vec![lab]
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Invalid files are never served

#[test]
fn an_invalid_file_is_never_served_and_is_reported() {
    let z = Zones::new();
    let good = www_zone("example.net.", 1, "192.0.2.1");
    let file = z.file("example.net.json", &good);
    let s = start(&z, &[]);
    let gen0 = generation(&s);
    let failed0 = metric(&s, "gslbd_reloads_total{result=\"failed\"}");

    // Half written: the first half of a new version.
    let new = www_zone("example.net.", 2, "192.0.2.2");
    let half = &new[..new.len() / 2];
    std::fs::write(&file, half).unwrap();
    let (st, _) = wait_for(
        "last_reload.ok false after a half-written file",
        PICKUP + MARGIN,
        || {
            let st = status(&s);
            if st["last_reload"]["ok"] == json!(false) {
                Ok(st)
            } else {
                Err(st.to_string())
            }
        },
    );
    let problems = st["last_reload"]["problems"]
        .as_array()
        .expect("problems")
        .clone();
    assert!(!problems.is_empty(), "{st}");
    // serde_json reports an unexpected end of input at the last character.
    let lines = half.lines().count();
    let column = half.lines().last().unwrap().len();
    let want = format!("{}:{lines}:{column}:", file.display());
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.starts_with(&want))),
        "a problem must name the file and line:column ({want}): {problems:?}"
    );
    assert_eq!(st["last_reload"]["trigger"], json!("file change"), "{st}");
    assert_eq!(st["generation"].as_u64(), Some(gen0), "{st}");
    assert_eq!(status_serial(&st, "example.net."), Some(1), "{st}");
    assert_eq!(
        ask(s.addr(), "www.example.net."),
        (ResponseCode::NoError, vec![ip4("192.0.2.1")]),
        "the old configuration keeps serving"
    );

    let (code, v) = reload(&s);
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["ok"], json!(false), "{v}");
    assert!(v.get("generation").is_none(), "{v}");
    let problems = v["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.starts_with(&want))),
        "{v}"
    );
    assert!(
        metric(&s, "gslbd_reloads_total{result=\"failed\"}") >= failed0 + 2.0,
        "the watcher's and the API's failed reloads are counted"
    );
    let st = status(&s);
    assert_eq!(st["generation"].as_u64(), Some(gen0), "{st}");
    assert_eq!(st["last_reload"]["trigger"], json!("admin API"), "{st}");
    assert_eq!(metric(&s, "gslbd_config_generation"), gen0 as f64);
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);

    // Valid JSON but an invalid zone (a bad address): also rejected, with its JSON path.
    std::fs::write(&file, www_zone("example.net.", 3, "192.0.2.300")).unwrap();
    let (code, v) = reload(&s);
    assert_eq!(code, 422, "{v}");
    assert!(
        v["problems"].as_array().is_some_and(|p| p
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("example.net.json")))),
        "{v}"
    );
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);

    // Fixed: served, a new generation, a clean last_reload.
    std::fs::write(&file, &new).unwrap();
    let took = wait_served(&s, "www.example.net.", "192.0.2.2", PICKUP + MARGIN);
    eprintln!("fixed file served {took:?} after the write");
    let (st, _) = wait_for("a clean last_reload", SOON, || {
        let st = status(&s);
        if st["last_reload"]["ok"] == json!(true) {
            Ok(st)
        } else {
            Err(st.to_string())
        }
    });
    assert!(st["generation"].as_u64().unwrap() > gen0, "{st}");
    assert_eq!(st["last_reload"]["problems"], json!([]), "{st}");
    assert_eq!(status_serial(&st, "example.net."), Some(2), "{st}");
}

#[test]
fn a_bad_file_in_one_zone_keeps_every_zone_on_the_old_configuration() {
    let z = Zones::new();
    let net = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let org = z.file(
        "example.org.json",
        &www_zone("example.org.", 1, "198.51.100.1"),
    );
    let s = start(&z, &["--no-watch"]);
    let gen0 = generation(&s);
    // One good change, one bad file: all-or-nothing means neither is served.
    std::fs::write(&net, www_zone("example.net.", 2, "192.0.2.2")).unwrap();
    std::fs::write(&org, "{ \"version\": 1, \"origin\": \"example.org.\",").unwrap();
    let (code, v) = reload(&s);
    assert_eq!(code, 422, "{v}");
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);
    assert_eq!(
        ask(s.addr(), "www.example.org.").1,
        vec![ip4("198.51.100.1")]
    );
    assert_eq!(generation(&s), gen0);
    // A zone file whose name does not match its origin is a problem too.
    std::fs::write(&org, www_zone("example.com.", 1, "198.51.100.2")).unwrap();
    let (code, v) = reload(&s);
    assert_eq!(code, 422, "{v}");
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);
    std::fs::write(&org, www_zone("example.org.", 2, "198.51.100.2")).unwrap();
    assert_eq!(reload_ok(&s), gen0 + 1);
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.2")]);
    assert_eq!(
        ask(s.addr(), "www.example.org.").1,
        vec![ip4("198.51.100.2")]
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Zones come and go

#[test]
fn zones_come_and_go() {
    let z = Zones::new();
    let net = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &[]);
    assert_eq!(ask(s.addr(), "www.other.test.").0, ResponseCode::Refused);

    // Files that are not zones: hidden, or not `.json`. They never make a reload fail.
    z.file(".scratch.json", "{ not json");
    z.file("README.txt", "not a zone");
    // A new zone, written the safe way.
    write_by_rename(
        &z.zones_dir().join("other.test.json"),
        ".other.test.json.tmp",
        &www_zone("other.test.", 1, "203.0.113.5"),
    );
    let took = wait_served(&s, "www.other.test.", "203.0.113.5", PICKUP + MARGIN);
    eprintln!("new zone served {took:?} after the write");
    let (st, _) = wait_for("both zones in /v1/status", SOON, || {
        let st = status(&s);
        if status_serial(&st, "other.test.").is_some() && st["last_reload"]["ok"] == json!(true) {
            Ok(st)
        } else {
            Err(st.to_string())
        }
    });
    assert_eq!(st["zones"].as_array().unwrap().len(), 2, "{st}");
    assert_eq!(ask(s.addr(), "www.example.net.").1, vec![ip4("192.0.2.1")]);

    // A zone file deleted: that zone is no longer ours.
    std::fs::remove_file(&net).unwrap();
    let (_, took) = wait_for(
        "the deleted zone answering REFUSED",
        PICKUP + MARGIN,
        || match ask(s.addr(), "www.example.net.") {
            (ResponseCode::Refused, a) if a.is_empty() => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    eprintln!("deleted zone REFUSED {took:?} after the delete");
    let r = udp(s.addr(), &query("example.net.", RecordType::SOA));
    assert_eq!(r.response_code, ResponseCode::Refused, "{r}");
    assert!(!r.authoritative, "REFUSED carries no AA: {r}");
    let st = status(&s);
    assert_eq!(status_serial(&st, "example.net."), None, "{st}");
    assert_eq!(st["zones"].as_array().unwrap().len(), 1, "{st}");
    assert_eq!(ask(s.addr(), "www.other.test.").1, vec![ip4("203.0.113.5")]);

    // And back again.
    std::fs::write(&net, www_zone("example.net.", 2, "192.0.2.9")).unwrap();
    wait_served(&s, "www.example.net.", "192.0.2.9", PICKUP + MARGIN);
}

// ---------------------------------------------------------------------------------------------
// 5. Not one query lost

/// What the query load saw.
#[derive(Default)]
struct LoadReport {
    sent: u64,
    lost: u64,
    /// (zone index, version index) → replies.
    seen: [[u64; 2]; 2],
    bad: Vec<String>,
    max_wait: Duration,
}

/// A bounded query load: stops at `stop`, at `until`, or when `budget` (shared by every
/// client) runs out.
#[derive(Clone, Copy)]
struct Load<'a> {
    addr: SocketAddr,
    names: &'a [String],
    /// The two acceptable addresses for each of `names`.
    want: &'a [[Ipv4Addr; 2]],
    /// Send ECS with this client address.
    ecs: Option<&'a str>,
    stop: &'a AtomicBool,
    budget: &'a AtomicU64,
    until: Instant,
    /// Pause between a reply and the next query (keeps the load from starving the 2 cores
    /// and spreads it over the whole test).
    pace: Duration,
}

/// Sends one query at a time on its own socket; records lost and unexpected replies.
fn query_load(load: &Load<'_>, seed: u64) -> LoadReport {
    let Load {
        addr,
        names,
        want,
        ecs,
        stop,
        budget,
        until,
        pace,
    } = *load;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut rng = Rng::new(seed);
    let mut rep = LoadReport::default();
    let mut buf = vec![0u8; 4096];
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed)
        && Instant::now() < until
        && budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
            .is_ok()
    {
        let zone = i % names.len();
        i += 1;
        let mut q = query(&names[zone], RecordType::A);
        if let Some(c) = ecs {
            q = with_ecs(q, c, 32);
        }
        let id = rng.next_u64() as u16;
        q.metadata.id = id;
        let sent_at = Instant::now();
        sock.send(&encode(&q)).unwrap();
        rep.sent += 1;
        // Wait for the reply with our id (a stray late reply would be skipped).
        let reply = loop {
            match sock.recv(&mut buf) {
                Ok(n) => match Message::from_vec(&buf[..n]) {
                    Ok(m) if m.id == id => break Some(m),
                    Ok(m) => rep
                        .bad
                        .push(format!("reply with id {} to query {id}", m.id)),
                    Err(e) => rep.bad.push(format!("undecodable reply: {e}")),
                },
                Err(_) => break None,
            }
        };
        let waited = sent_at.elapsed();
        rep.max_wait = rep.max_wait.max(waited);
        if !pace.is_zero() {
            std::thread::sleep(pace);
        }
        let Some(m) = reply else {
            rep.lost += 1;
            continue;
        };
        let got = a_list(&m);
        let version = want[zone].iter().position(|w| got == [*w]);
        match version {
            Some(v) if m.response_code == ResponseCode::NoError && m.answers.len() == 1 => {
                rep.seen[zone][v] += 1
            }
            _ => {
                if rep.bad.len() < 20 {
                    rep.bad.push(format!(
                        "{}: {:?} {:?} ({} answers)",
                        names[zone],
                        m.response_code,
                        got,
                        m.answers.len()
                    ))
                }
            }
        }
    }
    rep
}

#[test]
fn not_one_query_is_lost_while_zones_are_rewritten() {
    const ZONES: [(&str, [&str; 2]); 2] = [
        ("example.net.", ["192.0.2.1", "192.0.2.2"]),
        ("example.org.", ["198.51.100.1", "198.51.100.2"]),
    ];
    let version = |zone: usize, v: usize| {
        let (origin, addrs) = ZONES[zone];
        www_zone(origin, 1000 + v as u32, addrs[v])
    };
    let z = Zones::new();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| z.file(&format!("{}json", ZONES[i].0), &version(i, 0)))
        .collect();
    let s = start(&z, &[]);
    let addr = s.addr();
    let names: Vec<String> = ZONES.iter().map(|(o, _)| format!("www.{o}")).collect();
    let want: Vec<[Ipv4Addr; 2]> = ZONES.iter().map(|(_, a)| [ip4(a[0]), ip4(a[1])]).collect();
    let gen0 = generation(&s);

    let stop = AtomicBool::new(false);
    let budget = AtomicU64::new(20_000);
    let until = Instant::now() + Duration::from_secs(5);
    let posts = Mutex::new(Vec::new());
    let load = Load {
        addr,
        names: &names,
        want: &want,
        ecs: None,
        stop: &stop,
        budget: &budget,
        until,
        pace: Duration::from_millis(1),
    };
    let reports: Vec<LoadReport> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|t| {
                let load = &load;
                scope.spawn(move || query_load(load, 7 + t))
            })
            .collect();
        // The writer: 30 rewrites alternating versions B, A, B, ... and write styles, with a
        // few quiet pauses for the watcher and a few admin reloads.
        for i in 0..30usize {
            let v = if i % 2 == 0 { 1 } else { 0 };
            for (zone, file) in files.iter().enumerate() {
                let text = version(zone, v);
                if (i / 2) % 2 == 0 {
                    write_by_rename(file, &format!(".{}.{i}.tmp", ZONES[zone].0), &text);
                } else {
                    write_in_place(file, &text);
                }
            }
            if [3, 8, 13, 18, 23].contains(&i) {
                let (code, v) = reload(&s);
                posts.lock().unwrap().push((i, code, v));
            }
            if i == 10 || i == 20 {
                // Longer than the watcher's quiet window.
                std::thread::sleep(Duration::from_millis(600));
            } else {
                std::thread::sleep(Duration::from_millis(40));
            }
            if Instant::now() >= until {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });

    let sent: u64 = reports.iter().map(|r| r.sent).sum();
    let lost: u64 = reports.iter().map(|r| r.lost).sum();
    let bad: Vec<&String> = reports.iter().flat_map(|r| &r.bad).collect();
    let max_wait = reports.iter().map(|r| r.max_wait).max().unwrap();
    let mut seen = [[0u64; 2]; 2];
    for r in &reports {
        for (z, row) in r.seen.iter().enumerate() {
            for (v, n) in row.iter().enumerate() {
                seen[z][v] += n;
            }
        }
    }
    let final_gen = generation(&s);
    eprintln!(
        "load: {sent} queries, {lost} lost, max wait {max_wait:?}, seen {seen:?}, \
         generations {gen0}..{final_gen}, posts {:?}",
        posts
            .lock()
            .unwrap()
            .iter()
            .map(|(i, c, _)| (*i, *c))
            .collect::<Vec<_>>()
    );
    assert!(sent >= 1000, "the load must be real: {sent} queries");
    assert_eq!(lost, 0, "no query may be lost ({sent} sent)");
    assert!(bad.is_empty(), "unexpected replies: {bad:?}");
    for (zone, row) in seen.iter().enumerate() {
        for (v, n) in row.iter().enumerate() {
            assert!(
                *n >= 3,
                "{}: version {v} seen only {n} times: reloads must happen during the load \
                 ({seen:?})",
                ZONES[zone].0
            );
        }
    }
    for (i, code, v) in posts.lock().unwrap().iter() {
        assert_eq!(
            *code, 200,
            "POST /v1/reload after rewrite {i} (files complete): {v}"
        );
    }
    assert!(final_gen >= gen0 + 5, "generations {gen0}..{final_gen}");
    // Settle: the last rewrite (version A) is what is served.
    reload_ok(&s);
    for (zone, name) in names.iter().enumerate() {
        assert_eq!(ask(addr, name).1, vec![want[zone][0]], "{name}");
    }
    let mut s = s;
    assert!(s.is_running());
}

// ---------------------------------------------------------------------------------------------
// 6. Big configurations

/// A loose bound for reloading the big configuration in a debug build on a busy 2-core
/// machine (observed times are printed; this is not a benchmark).
const BIG_DEADLINE: Duration = Duration::from_secs(20);

/// 200 000 distinct /24s from 1.0.0.0 on, skipping the first `skip`.
fn big_list(skip: u32) -> String {
    let mut out = String::with_capacity(200_000 * 16);
    out.push_str("# generated\n");
    for i in skip..skip + 200_000 {
        let a = Ipv4Addr::from((1u32 << 24) + (i << 8));
        out.push_str(&format!("{a}/24\n"));
    }
    out
}

/// A zone with 10 000 names `nN` plus a GSLB name `geo` over the region `big`.
fn big_zone(serial: u32, n0: &str) -> String {
    let mut records = serde_json::Map::new();
    for i in 0..10_000u32 {
        let addr = if i == 0 {
            n0.to_string()
        } else {
            Ipv4Addr::from((10u32 << 24) + i).to_string()
        };
        records.insert(format!("n{i}"), json!({ "A": [addr] }));
    }
    records.insert("geo".into(), json!({ "gslb": "geo" }));
    let mut zone: Value =
        serde_json::from_str(&zone_text("big.test.", serial, Value::Object(records))).unwrap();
    zone["gslb"] = json!({ "geo": { "pools": {
        "big": { "targets": ["198.51.100.50"] },
        "default": { "targets": ["192.0.2.50"] }
    } } });
    serde_json::to_string(&zone).unwrap()
}

#[test]
fn big_configurations_reload_while_queries_are_answered() {
    let z = Zones::new();
    let list = z.geo_dir().join("big.txt");
    std::fs::write(&list, big_list(0)).unwrap();
    std::fs::write(
        z.geo_dir().join("regions.json"),
        regions_text(json!({ "big": [ { "networks_file": "big.txt" } ] })),
    )
    .unwrap();
    let file = z.file("big.test.json", &big_zone(1, "10.0.0.0"));
    let started = Instant::now();
    let s = start(&z, &[]);
    eprintln!(
        "big configuration: server ready {:?} after spawn",
        started.elapsed()
    );
    let addr = s.addr();
    let big = vec![ip4("198.51.100.50")];
    let default = vec![ip4("192.0.2.50")];
    assert_eq!(ask_from(addr, "geo.big.test.", "1.0.0.1").1, big);
    assert_eq!(ask_from(addr, "geo.big.test.", "100.64.0.1").1, default);
    assert_eq!(ask(addr, "n9999.big.test.").1, vec![ip4("10.0.39.15")]);
    let st = status(&s);
    assert_eq!(
        st["zones"][0]["names"],
        json!(10_002),
        "apex, n0..n9999, geo: {st}"
    );
    let t = Instant::now();
    reload_ok(&s);
    eprintln!(
        "big configuration: POST /v1/reload (unchanged, no query load) took {:?}",
        t.elapsed()
    );

    let stop = AtomicBool::new(false);
    let budget = AtomicU64::new(200_000);
    let until = Instant::now() + Duration::from_secs(60);
    let names: Vec<String> = vec!["n9999.big.test.".into(), "geo.big.test.".into()];
    let want = vec![
        [ip4("10.0.39.15"), ip4("10.0.39.15")],
        [ip4("198.51.100.50"), ip4("192.0.2.50")],
    ];
    let load = Load {
        addr,
        names: &names,
        want: &want,
        ecs: Some("1.0.0.1"),
        stop: &stop,
        budget: &budget,
        until,
        pace: Duration::from_millis(1),
    };
    let report = std::thread::scope(|scope| {
        let handle = scope.spawn(|| query_load(&load, 99));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // Zone change through the admin API: the reply comes once it is served.
            write_by_rename(&file, ".big.test.json.tmp", &big_zone(2, "10.9.9.9"));
            let t = Instant::now();
            reload_ok(&s);
            eprintln!("big configuration: POST /v1/reload took {:?}", t.elapsed());
            assert_eq!(ask(addr, "n0.big.test.").1, vec![ip4("10.9.9.9")]);

            // Network list change in place, picked up by the watcher: 1.0.0.0/24 leaves.
            std::fs::write(&list, big_list(1)).unwrap();
            let (_, took) = wait_for(
                "the new 200k-line network list served",
                BIG_DEADLINE,
                || match ask_from(addr, "geo.big.test.", "1.0.0.1") {
                    (ResponseCode::NoError, a) if a == default => Ok(()),
                    other => Err(format!("{other:?}")),
                },
            );
            eprintln!("big configuration: new network list served {took:?} after the write");
            let last = Ipv4Addr::from((1u32 << 24) + (200_000 << 8));
            assert_eq!(ask_from(addr, "geo.big.test.", &last.to_string()).1, big);

            // Both at once, through the watcher.
            write_by_rename(&file, ".big.test.json.tmp", &big_zone(3, "10.8.8.8"));
            std::fs::write(&list, big_list(0)).unwrap();
            let (_, took) = wait_for("zone and list changes served", BIG_DEADLINE, || {
                let a = ask(addr, "n0.big.test.");
                let b = ask_from(addr, "geo.big.test.", "1.0.0.1");
                if a.1 == [ip4("10.8.8.8")] && b.1 == big {
                    Ok(())
                } else {
                    Err(format!("n0 {a:?}, geo from 1.0.0.1 {b:?}"))
                }
            });
            eprintln!("big configuration: zone + list served {took:?} after the writes");
        }));
        stop.store(true, Ordering::Relaxed);
        let report = handle.join().unwrap();
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
        report
    });
    eprintln!(
        "big configuration: {} queries during the reloads, {} lost, max wait {:?}",
        report.sent, report.lost, report.max_wait
    );
    assert_eq!(report.lost, 0, "no query may be lost");
    assert!(
        report.bad.is_empty(),
        "unexpected replies: {:?}",
        report.bad
    );
    assert!(
        report.max_wait < Duration::from_millis(500),
        "a query waited {:?} during a reload",
        report.max_wait
    );
    let st = status(&s);
    assert_eq!(st["last_reload"]["ok"], json!(true), "{st}");
    assert_eq!(status_serial(&st, "big.test."), Some(3), "{st}");
}

/// An admin reload right after an edit reads the new files; the watcher, firing a moment
/// later for the same edit, finds nothing new and does not reload (or bump the generation)
/// a second time.
#[test]
fn the_watcher_does_not_reload_what_an_admin_reload_already_read() {
    let z = Zones::new();
    let file = z.file(
        "example.net.json",
        &www_zone("example.net.", 1, "192.0.2.1"),
    );
    let s = start(&z, &[]);
    write_in_place(&file, &www_zone("example.net.", 2, "192.0.2.2"));
    assert_eq!(reload_ok(&s), 2);
    let unchanged = r#"gslbd_reloads_total{result="unchanged"}"#;
    wait_for(
        "the watcher to see the edit",
        Duration::from_secs(5),
        || {
            let n = metric(&s, unchanged);
            (n >= 1.0).then_some(()).ok_or(format!("{unchanged} = {n}"))
        },
    );
    assert_eq!(generation(&s), 2, "no second reload for the same files");
    assert_eq!(ask(s.addr(), "www.example.net.").1, [ip4("192.0.2.2")]);
    // A real change afterwards still reloads.
    write_in_place(&file, &www_zone("example.net.", 3, "192.0.2.3"));
    wait_for("the next edit to be served", Duration::from_secs(5), || {
        let got = ask(s.addr(), "www.example.net.").1;
        (got == [ip4("192.0.2.3")])
            .then_some(())
            .ok_or(format!("{got:?}"))
    });
    assert_eq!(generation(&s), 3);
}
