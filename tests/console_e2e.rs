//! The operators' console in a real browser (headless Chromium over the DevTools protocol):
//! what a person sees at `GET /` of the admin API. Targets with TCP health checks and their
//! states; a backend stopped turning its row to "down" without a page reload; the explain
//! form's answer against a real DNS query; a drain made from the page (asking for the token
//! first) taking the target out of DNS answers, and a pool drain; a rejected reload with its
//! problem; a phone's screen without sideways scrolling; no Content-Security-Policy
//! violation, script error or resource from elsewhere. Screenshots are saved as artifacts.

mod common;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chromiumoxide::Page;
use hickory_proto::rr::RecordType;
use serde_json::{json, Value};

use common::backend::TcpBackend;
use common::browser::{click, element, eval, screenshot, type_into, viewport, wait_page, Chromium};
use common::health::{write_zone, Timing};
use common::*;

const T: Timing = Timing {
    interval: 0.2,
    timeout: 0.15,
    rise: 1,
    fall: 2,
};
const TOKEN: &str = "console-e2e-token";
/// The console polls every 2 s; a change shows within one poll after the server has it.
const POLL: Duration = Duration::from_secs(2);

fn lo(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 41, host))
}

/// The target rows as the page shows them: address → (state text, since, last error).
const ROWS_JS: &str = r#"Object.fromEntries([...document.querySelectorAll('tr.target')].map(tr =>
  [tr.dataset.address, {
    state: tr.querySelector('.state .badge').innerText.trim(),
    since: tr.querySelector('.since').innerText.trim(),
    error: tr.querySelector('.error').innerText.trim(),
    button: tr.querySelector('button').innerText.trim()}]))"#;

fn row_state(rows: &Value, addr: IpAddr) -> &str {
    rows[addr.to_string()]["state"].as_str().unwrap_or("")
}

/// The answer a client in `client` (ECS /32) gets over UDP for www.console.test A.
fn dns_answer(s: &Server, client: &str) -> BTreeSet<IpAddr> {
    let m = udp(
        s.addr(),
        &with_ecs(query("www.console.test.", RecordType::A), client, 32),
    );
    answer_addresses(&m).into_iter().collect()
}

fn set(addrs: &[IpAddr]) -> BTreeSet<IpAddr> {
    addrs.iter().copied().collect()
}

/// Waits until DNS answers exactly `want` (health and drains take effect at once or within
/// the check bounds).
fn wait_dns(s: &Server, want: &[IpAddr], within: Duration) {
    let want = set(want);
    wait_for("DNS answer", within, || {
        let got = dns_answer(s, "192.0.2.7");
        if got == want {
            Ok(())
        } else {
            Err(format!("{got:?}, want {want:?}"))
        }
    });
}

fn fixture(port: u16) -> Zones {
    let z = Zones::new();
    std::fs::write(
        z.geo_dir().join("regions.json"),
        r#"{ "version": 1, "regions": { "lab": [ { "networks": ["10.0.0.0/8"] } ] } }"#,
    )
    .unwrap();
    write_zone(
        &z,
        "console.test.",
        1,
        json!({ "www": { "gslb": "web" }, "mail": { "A": ["192.0.2.25"] } }),
        json!({ "tcp": T.check("tcp", port, json!({})) }),
        json!({ "web": {
            "check": "tcp",
            "ttl": 20,
            "pools": {
                "default": { "targets": [lo(10).to_string(), lo(11).to_string(), lo(12).to_string()],
                             "fallback": ["lab"] },
                "lab": { "targets": [lo(13).to_string()] }
            }
        } }),
    );
    z
}

/// Opens the console with listeners that record CSP violations and script errors from the
/// first byte on, and a marker that a page reload would lose.
async fn open_console(chrome: &Chromium, admin: SocketAddr) -> Page {
    let page = chrome.open("about:blank").await;
    page.evaluate_on_new_document(
        "window.__csp = []; window.__errors = [];
         document.addEventListener('securitypolicyviolation',
           e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
         window.addEventListener('error', e => window.__errors.push(String(e.message)));",
    )
    .await
    .expect("init script");
    page.goto(format!("http://{admin}/"))
        .await
        .expect("open the console");
    page.wait_for_navigation().await.expect("console loads");
    eval(&page, "window.__marker = 'same page'; true").await;
    page
}

async fn assert_not_reloaded(page: &Page) {
    assert_eq!(
        eval(page, "window.__marker").await,
        json!("same page"),
        "the page was reloaded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_health_explains_and_drains_in_a_real_browser() {
    let a = TcpBackend::start(lo(10), 0);
    let port = a.port();
    let mut b = TcpBackend::start(lo(11), port);
    let _c = TcpBackend::start(lo(12), port);
    let _d = TcpBackend::start(lo(13), port);
    let (ia, ib, ic, id) = (lo(10), lo(11), lo(12), lo(13));
    let z = fixture(port);
    let s = Server::start_with_env(
        z.zones_dir(),
        z.geo_dir(),
        // An --xdp interface that does not exist: the console says it is served by the
        // kernel, and why.
        &[
            "--admin",
            "127.0.0.1:0",
            "--udp-threads",
            "1",
            "--xdp",
            "nosuchif0",
        ],
        &[("GSLBD_ADMIN_TOKEN", TOKEN)],
    );
    let admin = s.admin_addr();

    // The page and its files come with a strict CSP, from this server only.
    for path in ["/", "/console.js", "/console.css"] {
        let r = http_exchange(admin, "GET", path, &[], "");
        assert_eq!(r.status, 200, "GET {path}");
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
            "GET {path}: CSP {csp:?}"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }

    let chrome = Chromium::start().await;
    let page = open_console(&chrome, admin).await;
    let patience = T.patience() + POLL;

    // Every target with its state in words; the checked ones with since when.
    let (rows, _) = wait_page(&page, "four targets up", ROWS_JS, patience, |v| {
        [ia, ib, ic, id].iter().all(|&x| row_state(v, x) == "up")
    })
    .await;
    for x in [ia, ib, ic, id] {
        let since = rows[x.to_string()]["since"].as_str().unwrap_or_default();
        assert!(since.ends_with("ago"), "{x}: since {since:?}");
    }
    let (summary, _) = wait_page(
        &page,
        "summary",
        "document.getElementById('summary').innerText",
        POLL,
        |v| v.as_str().is_some_and(|t| t.contains("4 up, 0 down")),
    )
    .await;
    assert!(summary.as_str().unwrap().contains("1 zone"), "{summary}");
    assert_eq!(
        eval(&page, "document.getElementById('fleet').hidden").await,
        json!(true),
        "a node standing alone shows no fleet section"
    );
    wait_dns(&s, &[ia, ib, ic], Duration::from_secs(2));

    // A backend stops: its row turns "down", with the error, without a page reload.
    b.stop();
    let (rows, took) = wait_page(&page, "stopped backend down", ROWS_JS, patience, |v| {
        row_state(v, ib) == "down"
    })
    .await;
    assert!(
        took <= T.removal_bound() + POLL + Duration::from_secs(1),
        "the page showed the target down after {took:?}"
    );
    let error = rows[ib.to_string()]["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "a down target shows its last error");
    assert_eq!(row_state(&rows, ia), "up");
    assert_not_reloaded(&page).await;
    let pool_state = eval(
        &page,
        "document.querySelector('tbody.pool[data-pool=\"default\"] .pool-state').innerText",
    )
    .await;
    assert_eq!(pool_state, json!("2 of 3 up"));
    // Not colour alone: a down badge differs in colour from an up one, and says so.
    let colours = eval(
        &page,
        "[...document.querySelectorAll('.badge.up, .badge.down')].map(b => [b.innerText, getComputedStyle(b).color])",
    )
    .await;
    let up = colours.as_array().unwrap().iter().find(|p| p[0] == "up");
    let down = colours.as_array().unwrap().iter().find(|p| p[0] == "down");
    assert!(
        up.is_some() && down.is_some() && up.unwrap()[1] != down.unwrap()[1],
        "{colours}"
    );
    wait_dns(&s, &[ia, ic], Duration::from_secs(2));

    // The explain form answers what DNS answers that client.
    type_into(&page, "#explain-form input[name=name]", "www.console.test").await;
    type_into(&page, "#explain-form input[name=client]", "192.0.2.7").await;
    click(&page, "#explain-form button[type=submit]").await;
    let (answers, _) = wait_page(
        &page,
        "explain answer",
        "[...document.querySelectorAll('#explain-out .answer li')].map(li => li.innerText)",
        Duration::from_secs(5),
        |v| v.as_array().is_some_and(|a| !a.is_empty()),
    )
    .await;
    let shown: BTreeSet<IpAddr> = answers
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str()?.split_whitespace().last()?.parse().ok())
        .collect();
    assert_eq!(
        shown,
        dns_answer(&s, "192.0.2.7"),
        "explain vs DNS: {answers}"
    );
    let trace = eval(
        &page,
        "document.querySelector('#explain-out .trace').innerText",
    )
    .await;
    assert!(
        trace.as_str().unwrap_or_default().contains("default"),
        "the trace names the answering pool: {trace}"
    );

    // Drain from the page: without the token the page asks for it and nothing changes.
    let drain_a = format!("tr.target[data-address=\"{ia}\"] button.target-drain");
    click(&page, &drain_a).await;
    let (message, _) = wait_page(
        &page,
        "token request",
        "document.getElementById('message').innerText",
        Duration::from_secs(5),
        |v| v.as_str().is_some_and(|t| t.contains("token")),
    )
    .await;
    assert_eq!(
        eval(&page, "document.getElementById('token-form').hidden").await,
        json!(false),
        "{message}"
    );
    assert_eq!(dns_answer(&s, "192.0.2.7"), set(&[ia, ic]));
    type_into(&page, "#token", TOKEN).await;
    click(&page, "#token-form button[type=submit]").await;
    click(&page, &drain_a).await;
    wait_page(&page, "drained target", ROWS_JS, POLL * 2, |v| {
        row_state(v, ia) == "drained" && v[ia.to_string()]["button"] == "Undrain"
    })
    .await;
    // Drains take effect before the API call returns.
    assert_eq!(dns_answer(&s, "192.0.2.7"), set(&[ic]));
    click(&page, &drain_a).await;
    wait_page(&page, "undrained target", ROWS_JS, POLL * 2, |v| {
        row_state(v, ia) == "up"
    })
    .await;
    assert_eq!(dns_answer(&s, "192.0.2.7"), set(&[ia, ic]));

    // A pool drained from the page: its fallback answers.
    let pool_button = "tbody.pool[data-pool=\"default\"] button.pool-drain";
    click(&page, pool_button).await;
    wait_page(
        &page,
        "drained pool",
        "document.querySelector('tbody.pool[data-pool=\"default\"] .pool-state').innerText",
        POLL * 2,
        |v| v.as_str().is_some_and(|t| t.starts_with("drained")),
    )
    .await;
    assert_eq!(dns_answer(&s, "192.0.2.7"), set(&[id]));
    click(&page, pool_button).await;
    wait_page(
        &page,
        "undrained pool",
        "document.querySelector('tbody.pool[data-pool=\"default\"] .pool-state').innerText",
        POLL * 2,
        |v| v == "2 of 3 up",
    )
    .await;
    assert_eq!(dns_answer(&s, "192.0.2.7"), set(&[ia, ic]));

    // A broken file: the reload is rejected, and the page lists the problem.
    let zone_file = z.zones_dir().join("console.test.json");
    let good = std::fs::read_to_string(&zone_file).unwrap();
    std::fs::write(
        &zone_file,
        good.replace("\"ttl\": 20", "\"ttl\": \"twenty\""),
    )
    .unwrap();
    let (code, body) = s.http("POST", "/v1/reload", Some(TOKEN));
    assert_eq!(code, 422, "{body}");
    let (problems, _) = wait_page(
        &page,
        "rejected reload",
        "document.getElementById('reload-rows').innerText",
        POLL * 2,
        |v| v.as_str().is_some_and(|t| t.contains("rejected")),
    )
    .await;
    let problems = problems.as_str().unwrap();
    assert!(
        problems.contains("console.test.json") && problems.contains("ttl"),
        "{problems}"
    );
    assert_not_reloaded(&page).await;
    std::fs::write(&zone_file, good).unwrap();

    // The zones list opens into the zone's records.
    click(&page, "#zone-list details summary").await;
    wait_page(
        &page,
        "zone records",
        "document.querySelector('#zone-list .records').innerText",
        Duration::from_secs(5),
        |v| {
            v.as_str()
                .is_some_and(|t| t.contains("192.0.2.25") && t.contains("SOA"))
        },
    )
    .await;

    // What DNS is answered on: the listener, and the --xdp interface's fallback with why.
    let (listening, _) = wait_page(
        &page,
        "listening table",
        "document.getElementById('listening-rows').innerText",
        POLL * 2,
        |v| v.as_str().is_some_and(|t| t.contains("nosuchif0")),
    )
    .await;
    let listening = listening.as_str().unwrap();
    assert!(
        listening.contains(&format!("{}\tudp+tcp", s.addr()))
            && listening.contains("kernel: there is no interface nosuchif0"),
        "{listening}"
    );

    let desktop = screenshot(&page, "desktop").await;
    // On a phone the page fits the screen's width: wide tables scroll inside their box.
    viewport(&page, Some((390, 844))).await;
    let fits = eval(
        &page,
        "document.documentElement.scrollWidth <= window.innerWidth + 1",
    )
    .await;
    let phone = screenshot(&page, "phone").await;
    assert_eq!(
        fits,
        json!(true),
        "the page scrolls sideways on a phone ({})",
        phone.display()
    );
    viewport(&page, None).await;

    // Nothing but this server's files, no CSP violation, no script error.
    let origin = format!("http://{admin}/");
    let resources = eval(
        &page,
        "performance.getEntriesByType('resource').map(e => e.name)",
    )
    .await;
    for r in resources.as_array().unwrap() {
        assert!(r.as_str().unwrap().starts_with(&origin), "resource {r}");
    }
    assert_eq!(
        eval(&page, "window.__csp").await,
        json!([]),
        "CSP violations"
    );
    assert_eq!(
        eval(&page, "window.__errors").await,
        json!([]),
        "script errors"
    );
    let leaks = eval(
        &page,
        "document.body.innerText.match(/\\b(undefined|null|NaN|\\[object Object\\])\\b/g)",
    )
    .await;
    assert_eq!(
        leaks,
        Value::Null,
        "the page shows a JavaScript value as text"
    );
    let _ = element(&page, "#gslb-list").await;
    eprintln!("screenshots: {} {}", desktop.display(), phone.display());
}

/// The fleet table: every node of a three-node fleet, the node answering marked, and a node
/// that stops turning to "not heard" without a page reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_the_fleet_nodes_and_shows_one_going_away() {
    let nats = common::nats::NatsCluster::start(3);
    let mut f = common::fleet::Fleet::start(42, &nats, "quorum");
    for i in 0..3 {
        f.connected(i);
    }
    let chrome = Chromium::start().await;
    let page = open_console(&chrome, f.nodes[0].admin_addr()).await;
    const FLEET_JS: &str = r#"document.getElementById('fleet').hidden ? null :
      Object.fromEntries([...document.querySelectorAll('#fleet-rows tr')].map(tr =>
        [tr.cells[0].innerText.trim(), tr.cells[1].innerText.trim()]))"#;
    let patience = common::fleet::FLEET_PATIENCE + POLL;
    let (rows, _) = wait_page(&page, "three connected nodes", FLEET_JS, patience, |v| {
        v == &json!({ "a (this node)": "connected", "b": "connected", "c": "connected" })
    })
    .await;
    assert_eq!(
        eval(&page, "document.getElementById('fleet-link').hidden").await,
        json!(false),
        "{rows}"
    );
    f.stop(2);
    wait_page(&page, "node c not heard", FLEET_JS, patience, |v| {
        v["c"] == "not heard" && v["b"] == "connected"
    })
    .await;
    assert_not_reloaded(&page).await;
    let summary = eval(&page, "document.getElementById('summary').innerText").await;
    assert!(
        summary.as_str().unwrap_or_default().contains("node a"),
        "{summary}"
    );
    screenshot(&page, "fleet").await;
}
