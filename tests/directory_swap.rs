//! End-to-end tests of the file watcher following configuration directories that are replaced
//! whole (spec §10, "Fleet"): a `current -> releases/N` symlink swapped, a Kubernetes
//! ConfigMap volume (`..data` swapped, entries linked through it), a directory renamed away and
//! another renamed in, a directory deleted and created again. Each time the new content is
//! served within the pickup time, the old one until then, and further changes are followed.

mod common;

use std::path::Path;

use hickory_proto::op::ResponseCode;
use serde_json::{json, Value};

use common::reload::*;
use common::*;

const ORIGIN: &str = "example.net.";
const WWW: &str = "www.example.net.";
const FILE: &str = "example.net.json";

/// `gslbd serve` with the file watcher on (no `--no-watch`) and the admin API.
fn start(zones: &Path, geo: &Path) -> Server {
    Server::start(zones, geo, &["--admin", "127.0.0.1:0"])
}

/// Waits for `/v1/status` to show a successful file-change reload of serial `serial`.
fn wait_reloaded(s: &Server, serial: u64) -> Value {
    wait_for(
        &format!("a file-change reload of serial {serial} in /v1/status"),
        SOON,
        || {
            let st = status(s);
            if status_serial(&st, ORIGIN) == Some(serial)
                && st["last_reload"]["ok"] == json!(true)
                && st["last_reload"]["trigger"] == json!("file change")
            {
                Ok(st)
            } else {
                Err(st.to_string())
            }
        },
    )
    .0
}

/// Waits for `/v1/status` to show a failed reload, and returns its problems.
fn wait_rejected(s: &Server) -> Vec<String> {
    let (st, _) = wait_for(
        "last_reload.ok false in /v1/status",
        PICKUP + MARGIN,
        || {
            let st = status(s);
            if st["last_reload"]["ok"] == json!(false) {
                Ok(st)
            } else {
                Err(st.to_string())
            }
        },
    );
    assert_eq!(st["last_reload"]["trigger"], json!("file change"), "{st}");
    st["last_reload"]["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().expect("a problem is a string").to_string())
        .collect()
}

#[test]
fn a_release_symlink_swap_is_followed_every_time() {
    let rel = Releases::new();
    for n in [41, 42, 43] {
        rel.release(n, &[(FILE, www_zone(ORIGIN, n, &format!("192.0.2.{n}")))]);
    }
    rel.activate(41);
    let s = start(&rel.zones(), &rel.geo());
    assert_eq!(
        ask(s.addr(), WWW),
        (ResponseCode::NoError, vec![ip4("192.0.2.41")])
    );
    let gen0 = generation(&s);

    rel.activate(42);
    let took = wait_served(&s, WWW, "192.0.2.42", PICKUP + MARGIN);
    eprintln!("swap to release 42 served {took:?} after the swap");
    wait_reloaded(&s, 42);

    // The second swap is followed too: the watch moved to release 42's directory and to the
    // new `current`.
    rel.activate(43);
    let took = wait_served(&s, WWW, "192.0.2.43", PICKUP + MARGIN);
    eprintln!("swap to release 43 served {took:?} after the swap");

    // Files of the release now current are watched: an edit there is served.
    std::fs::write(
        rel.release_dir(43).join("zones").join(FILE),
        www_zone(ORIGIN, 44, "192.0.2.44"),
    )
    .unwrap();
    let took = wait_served(&s, WWW, "192.0.2.44", PICKUP + MARGIN);
    eprintln!("edit in release 43 served {took:?} after the write");

    // A rollback to a release watched before and dropped since.
    rel.activate(41);
    let took = wait_served(&s, WWW, "192.0.2.41", PICKUP + MARGIN);
    eprintln!("rollback to release 41 served {took:?} after the swap");
    let st = wait_reloaded(&s, 41);
    assert!(
        st["generation"].as_u64().unwrap() >= gen0 + 4,
        "one reload per swap and edit: {st}"
    );
}

#[test]
fn a_directory_renamed_away_and_replaced_is_followed() {
    let root = tempfile::tempdir().unwrap();
    let zones = root.path().join("zones");
    let geo = root.path().join("geo");
    std::fs::create_dir(&zones).unwrap();
    std::fs::create_dir(&geo).unwrap();
    std::fs::write(zones.join(FILE), www_zone(ORIGIN, 1, "192.0.2.1")).unwrap();
    let s = start(&zones, &geo);
    assert_eq!(ask(s.addr(), WWW).1, vec![ip4("192.0.2.1")]);

    for n in [2u32, 3] {
        // `mv zones zones.old && mv zones.new zones`
        let new = root.path().join("zones.new");
        std::fs::create_dir(&new).unwrap();
        let addr = format!("192.0.2.{n}");
        std::fs::write(new.join(FILE), www_zone(ORIGIN, n, &addr)).unwrap();
        std::fs::rename(&zones, root.path().join(format!("zones.old{n}"))).unwrap();
        std::fs::rename(&new, &zones).unwrap();
        let took = wait_served(&s, WWW, &addr, PICKUP + MARGIN);
        eprintln!("replacement {n} served {took:?} after the renames");
        wait_reloaded(&s, n.into());
    }

    // The directory now in place is the one watched: an edit in it is served...
    std::fs::write(zones.join(FILE), www_zone(ORIGIN, 4, "192.0.2.4")).unwrap();
    let took = wait_served(&s, WWW, "192.0.2.4", PICKUP + MARGIN);
    eprintln!("edit in the replacement served {took:?} after the write");
    wait_reloaded(&s, 4);
}

#[test]
fn a_directory_deleted_and_created_again_is_followed() {
    let z = Zones::new();
    let zones = z.zones_dir().to_path_buf();
    z.file(FILE, &www_zone(ORIGIN, 1, "192.0.2.1"));
    let s = start(&zones, z.geo_dir());
    assert_eq!(ask(s.addr(), WWW).1, vec![ip4("192.0.2.1")]);

    // `rm -rf zones && mkdir zones && cp ...`, quickly.
    std::fs::remove_dir_all(&zones).unwrap();
    std::fs::create_dir(&zones).unwrap();
    std::fs::write(zones.join(FILE), www_zone(ORIGIN, 2, "192.0.2.2")).unwrap();
    let took = wait_served(&s, WWW, "192.0.2.2", PICKUP + MARGIN);
    eprintln!("recreated directory served {took:?} after the write");
    std::fs::write(zones.join(FILE), www_zone(ORIGIN, 3, "192.0.2.3")).unwrap();
    wait_served(&s, WWW, "192.0.2.3", PICKUP + MARGIN);

    // Gone for a while: a failed reload, reported, and the old configuration keeps serving.
    std::fs::remove_dir_all(&zones).unwrap();
    let problems = wait_rejected(&s);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("cannot read zones directory")),
        "{problems:?}"
    );
    assert_eq!(
        ask(s.addr(), WWW),
        (ResponseCode::NoError, vec![ip4("192.0.2.3")])
    );
    // ...and back: followed again.
    let staging = tempfile::tempdir().unwrap();
    let tmp = staging.path().join("zones");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(tmp.join(FILE), www_zone(ORIGIN, 5, "192.0.2.5")).unwrap();
    std::fs::rename(&tmp, &zones).unwrap();
    let took = wait_served(&s, WWW, "192.0.2.5", PICKUP + MARGIN);
    eprintln!("directory back served {took:?} after the rename");
    std::fs::write(zones.join(FILE), www_zone(ORIGIN, 6, "192.0.2.6")).unwrap();
    wait_served(&s, WWW, "192.0.2.6", PICKUP + MARGIN);
    wait_reloaded(&s, 6);
}

/// One ConfigMap with both directories as item paths (`zones/…`, `geo/…`): the volume holds
/// `zones -> ..data/zones`, `geo -> ..data/geo` and `..data -> ..VERSION`, so `--zones` reaches
/// its files through two symlinks, and the kubelet's update swaps the inner one.
#[test]
fn a_configmap_volume_is_followed_through_its_symlinks() {
    let volume = tempfile::tempdir().unwrap();
    let dir = volume.path();
    let regions = |net: &str| regions_text(json!({ "lab": [ { "networks": [net] } ] }));
    let mut old = configmap_write(
        dir,
        "..2026_12_05_10_00_00.1",
        &[
            ("zones/example.net.json", gslb_zone(ORIGIN, 1, "192.0.2.1")),
            ("geo/regions.json", regions("10.1.0.0/16")),
        ],
    );
    let s = start(&dir.join("zones"), &dir.join("geo"));
    let lab = vec![ip4("198.51.100.7")];
    let default = vec![ip4("192.0.2.100")];
    assert_eq!(ask(s.addr(), WWW).1, vec![ip4("192.0.2.1")]);
    assert_eq!(ask_from(s.addr(), "app.example.net.", "10.1.2.3").1, lab);
    assert_eq!(
        ask_from(s.addr(), "app.example.net.", "10.2.2.3").1,
        default
    );

    for (n, net) in [(2u32, "10.2.0.0/16"), (3, "10.3.0.0/16")] {
        let addr = format!("192.0.2.{n}");
        let new = configmap_write(
            dir,
            &format!("..2026_12_05_10_0{n}_00.{n}"),
            &[
                ("zones/example.net.json", gslb_zone(ORIGIN, n, &addr)),
                ("geo/regions.json", regions(net)),
            ],
        );
        // The kubelet removes the previous version after the swap.
        std::fs::remove_dir_all(&old).unwrap();
        old = new;
        let took = wait_served(&s, WWW, &addr, PICKUP + MARGIN);
        eprintln!("ConfigMap update {n} served {took:?} after the swap");
        let client = format!("10.{n}.2.3");
        wait_for("the new region's network in lab", SOON, || match ask_from(
            s.addr(),
            "app.example.net.",
            &client,
        )
        .1
        {
            a if a == lab => Ok(()),
            other => Err(format!("{other:?}")),
        });
        wait_reloaded(&s, n.into());
    }
    assert_eq!(
        ask_from(s.addr(), "app.example.net.", "10.1.2.3").1,
        default,
        "the first version's network is gone"
    );
}

#[test]
fn a_bad_release_keeps_the_old_one_serving_and_is_reported() {
    let rel = Releases::new();
    rel.release(1, &[(FILE, www_zone(ORIGIN, 1, "192.0.2.1"))]);
    rel.release(2, &[(FILE, www_zone(ORIGIN, 2, "192.0.2.300"))]);
    rel.release(3, &[(FILE, www_zone(ORIGIN, 3, "192.0.2.3"))]);
    rel.activate(1);
    let s = start(&rel.zones(), &rel.geo());
    let gen0 = generation(&s);

    rel.activate(2);
    let problems = wait_rejected(&s);
    // The loader reads through the configured path, so that is the one reported.
    let file = rel.zones().join(FILE);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(&file.display().to_string()) && p.contains("192.0.2.300")),
        "a problem names the file and the bad address: {problems:?}"
    );
    let st = status(&s);
    assert_eq!(st["generation"].as_u64(), Some(gen0), "{st}");
    assert_eq!(status_serial(&st, ORIGIN), Some(1), "{st}");
    assert_eq!(
        ask(s.addr(), WWW),
        (ResponseCode::NoError, vec![ip4("192.0.2.1")]),
        "the old configuration keeps serving"
    );
    let log = s.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("reload rejected") && l.contains("192.0.2.300")),
        "the log reports the rejected release:\n{log}"
    );

    // The next good release is followed.
    rel.activate(3);
    let took = wait_served(&s, WWW, "192.0.2.3", PICKUP + MARGIN);
    eprintln!("good release after a bad one served {took:?} after the swap");
    let st = wait_reloaded(&s, 3);
    assert_eq!(st["last_reload"]["problems"], json!([]), "{st}");
}
