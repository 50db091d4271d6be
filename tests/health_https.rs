//! End-to-end tests of HTTPS health checks (`type: https`, `insecure`, `host` as SNI and Host
//! header) against the real `gslbd serve` binary, with TLS backends (rustls, ring provider, a
//! self-signed certificate made by rcgen) that each test runs itself on loopback addresses
//! (127.62.T.x, T being the test's number). No probe ever leaves the machine.

mod common;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{json, Value};

use common::health::{self, *};
use common::*;

// ---------------------------------------------------------------------------------------------
// Timing of the checks used throughout

/// Probe interval (seconds) of every check in these tests.
const INTERVAL: f64 = 0.4;
/// Probe timeout (seconds); less than the interval, ample for a loopback TLS handshake.
const TIMEOUT: f64 = 0.3;
const RISE: u32 = 2;
const FALL: u32 = 2;
const T: Timing = Timing {
    interval: INTERVAL,
    timeout: TIMEOUT,
    rise: RISE,
    fall: FALL,
};
/// How often the tests look at the server while waiting for something.
const POLL: Duration = Duration::from_millis(50);

/// The name the backends' certificate is made for.
const CERT_NAME: &str = "www.example.test";

/// A loopback address private to test `test`.
fn lo(test: u8, host: u8) -> IpAddr {
    health::lo(62, test, host)
}

// ---------------------------------------------------------------------------------------------
// A TLS backend: rustls (ring) over a std listener, self-signed certificate for CERT_NAME

/// One rustls server configuration (self-signed ECDSA P-256 certificate for `CERT_NAME`),
/// shared by every backend of the test binary.
fn tls_config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let ck = rcgen::generate_simple_self_signed(vec![CERT_NAME.to_string()])
                .expect("generate self-signed certificate");
            let cert: CertificateDer<'static> = ck.cert.der().clone();
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
            let config = ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .expect("server certificate");
            Arc::new(config)
        })
        .clone()
}

/// What a TLS backend answers once the handshake is done.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// 200 with `HEALTHY_BODY`.
    Healthy,
    /// This status with `HEALTHY_BODY`.
    Status(u16),
}

#[derive(Default)]
struct Seen {
    /// TCP connections accepted.
    connections: AtomicUsize,
    /// TLS handshakes that completed.
    handshakes: AtomicUsize,
    /// TLS handshakes that failed (the client gave up, e.g. on the certificate).
    failed_handshakes: AtomicUsize,
    /// The SNI name of every ClientHello (`None`: no SNI extension), in order.
    snis: Mutex<Vec<Option<String>>>,
    /// Request lines and Host headers of the HTTP requests read over TLS, in order.
    heads: Mutex<Vec<(String, Option<String>)>>,
    /// Healthy answers (200 with `HEALTHY_BODY`) sent.
    healthy: AtomicUsize,
}

/// An HTTPS backend on one loopback address and port; dropping it stops it.
struct TlsBackend {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Seen>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsBackend {
    /// An HTTPS backend on `ip:port` (port 0 picks one) answering `Mode::Healthy`.
    fn start(ip: IpAddr, port: u16) -> TlsBackend {
        let addr = SocketAddr::new(ip, port);
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind test backend on {addr}: {e}"));
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let mode = Arc::new(Mutex::new(Mode::Healthy));
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let config = tls_config();
        let thread = {
            let (mode, seen, stop) = (mode.clone(), seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((s, _)) => serve_https(s, &config, &mode, &seen),
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        TlsBackend {
            addr,
            mode,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn connections(&self) -> usize {
        self.seen.connections.load(Ordering::SeqCst)
    }

    fn handshakes(&self) -> usize {
        self.seen.handshakes.load(Ordering::SeqCst)
    }

    fn failed_handshakes(&self) -> usize {
        self.seen.failed_handshakes.load(Ordering::SeqCst)
    }

    fn healthy_answers(&self) -> usize {
        self.seen.healthy.load(Ordering::SeqCst)
    }

    fn snis(&self) -> Vec<Option<String>> {
        self.seen.snis.lock().unwrap().clone()
    }

    fn heads(&self) -> Vec<(String, Option<String>)> {
        self.seen.heads.lock().unwrap().clone()
    }
}

impl Drop for TlsBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Does the TLS handshake (recording the SNI name), reads one request head, records it and
/// answers according to `mode`; always closes.
fn serve_https(tcp: TcpStream, config: &Arc<ServerConfig>, mode: &Mutex<Mode>, seen: &Seen) {
    seen.connections.fetch_add(1, Ordering::SeqCst);
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(1)));
    let mut tcp = tcp;
    let mut conn = ServerConnection::new(config.clone()).expect("server connection");
    // Bounded: each round reads or writes at least one record, or fails (1 s socket time-outs).
    let mut rounds = 0;
    let mut ok = true;
    while conn.is_handshaking() {
        rounds += 1;
        if rounds > 50 || conn.complete_io(&mut tcp).is_err() {
            ok = false;
            break;
        }
    }
    seen.snis
        .lock()
        .unwrap()
        .push(conn.server_name().map(str::to_string));
    if !ok {
        seen.failed_handshakes.fetch_add(1, Ordering::SeqCst);
        return;
    }
    seen.handshakes.fetch_add(1, Ordering::SeqCst);

    let mut s = StreamOwned::new(conn, tcp);
    let Some(head) = read_head(&mut s) else {
        return;
    };
    seen.heads.lock().unwrap().push(head);
    let status = match *mode.lock().unwrap() {
        Mode::Healthy => 200,
        Mode::Status(code) => code,
    };
    if status == 200 {
        seen.healthy.fetch_add(1, Ordering::SeqCst);
    }
    write_response(&mut s, status, HEALTHY_BODY);
    s.conn.send_close_notify();
    let _ = s.flush();
    let _ = s.sock.shutdown(std::net::Shutdown::Write);
}

// ---------------------------------------------------------------------------------------------
// Configuration fixtures

/// Writes zone `origin` whose `www` is gslb record `web` with one default pool of `targets`
/// (each an address string or `{address, check}`), and the given `checks`.
fn write_zone(z: &Zones, origin: &str, checks: Value, targets: Vec<Value>) {
    let mut zone: Value = serde_json::from_str(&zone_json(
        origin,
        3600,
        60,
        json!({ "www": { "gslb": "web" } }),
    ))
    .unwrap();
    zone["checks"] = checks;
    zone["gslb"] = json!({ "web": { "pools": { "default": { "targets": targets } } } });
    z.file(
        &format!("{}.json", origin.trim_end_matches('.')),
        &serde_json::to_string_pretty(&zone).unwrap(),
    );
}

/// `{address, check}` for a target checked by `check`.
fn checked(ip: IpAddr, check: &str) -> Value {
    json!({ "address": ip.to_string(), "check": check })
}

/// Starts `gslbd serve` on the fixture with the admin API on a free port.
fn start(z: &Zones) -> Server {
    Server::start(
        z.zones_dir(),
        z.geo_dir(),
        &["--admin", "127.0.0.1:0", "--udp-threads", "1"],
    )
}

// ---------------------------------------------------------------------------------------------
// Looking at the server

/// True when `host` is `name` or `name:port`.
fn host_is(host: &str, name: &str, port: u16) -> bool {
    host == name || host == format!("{name}:{port}")
}

// ---------------------------------------------------------------------------------------------
// 1. insecure: true keeps a self-signed backend up; a 503 over TLS takes it down

#[test]
fn insecure_https_check_keeps_self_signed_backend_up_and_503_takes_it_down() {
    let a = TlsBackend::start(lo(1, 10), 0);
    let fixed = lo(1, 12); // no check: always answered
    let z = Zones::new();
    write_zone(
        &z,
        "s1.test.",
        json!({ "hc": T.check("https", a.port(), json!({ "insecure": true, "host": CERT_NAME })) }),
        vec![checked(a.ip(), "hc"), json!(fixed.to_string())],
    );
    let s = start(&z);
    let name = "www.s1.test.";

    let (r, _) = wait_state(&s, a.ip(), "up", T.patience());
    assert_eq!(r["check"], "hc", "{r}");
    assert!(
        r["latency_ms"].as_f64().is_some_and(|l| l >= 0.0),
        "a latency: {r}"
    );
    assert!(r["error"].is_null(), "no error while up: {r}");
    assert_eq!(answer(&s, name, None), set(&[a.ip(), fixed]));

    // It stays up over several intervals: every probe is a TLS handshake and a 200.
    let before = a.healthy_answers();
    let deadline = Instant::now() + Duration::from_secs_f64(INTERVAL * 5.0);
    while Instant::now() < deadline {
        assert_eq!(
            answer(&s, name, None),
            set(&[a.ip(), fixed]),
            "{}",
            row(&s, a.ip())
        );
        std::thread::sleep(POLL);
    }
    let r = row(&s, a.ip());
    assert_eq!(r["state"], "up", "{r}");
    assert!(r["latency_ms"].is_number(), "{r}");
    assert!(
        a.healthy_answers() - before >= 3,
        "about one probe per interval: {} in {} intervals",
        a.healthy_answers() - before,
        5
    );
    assert_eq!(a.failed_handshakes(), 0, "every handshake completed");
    assert!(a.handshakes() >= a.healthy_answers());
    for (line, _) in a.heads() {
        assert!(line.starts_with("GET /healthz HTTP/1.1"), "{line:?}");
    }

    // The backend answers 503: gone within interval × fall + 1 s.
    a.set(Mode::Status(503));
    let took = wait_answer(&s, name, None, &[fixed], T.patience());
    assert!(
        took <= T.removal_bound(),
        "503 target left the answer after {took:?}, bound {:?}",
        T.removal_bound()
    );
    let r = row(&s, a.ip());
    assert_eq!(r["state"], "down", "{r}");
    assert!(
        r["error"].as_str().unwrap_or_default().contains("503"),
        "error names the status: {r}"
    );
    assert!(r["latency_ms"].is_null(), "{r}");

    // And back after `rise` healthy answers.
    let healthy_before = a.healthy_answers();
    a.set(Mode::Healthy);
    let took = wait_answer(&s, name, None, &[a.ip(), fixed], T.patience());
    assert!(
        took <= T.recovery_bound(),
        "recovered target came back after {took:?}, bound {:?}",
        T.recovery_bound()
    );
    assert!(a.healthy_answers() - healthy_before >= RISE as usize);
    assert_eq!(row(&s, a.ip())["state"], "up");
}

// ---------------------------------------------------------------------------------------------
// 2. Without insecure, the self-signed certificate is refused

#[test]
fn https_check_without_insecure_refuses_a_self_signed_certificate() {
    let strict = TlsBackend::start(lo(2, 10), 0);
    // The same certificate behind an `insecure: true` check: the backend itself works.
    let control = TlsBackend::start(lo(2, 11), strict.port());
    let z = Zones::new();
    write_zone(
        &z,
        "s2.test.",
        json!({
            "strict": T.check("https", strict.port(), json!({ "host": CERT_NAME })),
            "lax": T.check("https", control.port(), json!({ "host": CERT_NAME, "insecure": true }))
        }),
        vec![checked(strict.ip(), "strict"), checked(control.ip(), "lax")],
    );
    let s = start(&z);
    let name = "www.s2.test.";

    let (r, _) = wait_state(&s, strict.ip(), "down", T.patience());
    let err = r["error"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert!(
        err.contains("certificate") || err.contains("unknownissuer"),
        "the error mentions the certificate: {r}"
    );
    assert!(r["latency_ms"].is_null(), "{r}");
    wait_state(&s, control.ip(), "up", T.patience());
    assert_eq!(answer(&s, name, None), set(&[control.ip()]));

    // The probes reached the backend but never got past the handshake: no request was sent.
    assert!(
        strict.connections() >= FALL as usize,
        "{} connections",
        strict.connections()
    );
    assert!(strict.failed_handshakes() >= FALL as usize);
    assert_eq!(
        strict.handshakes(),
        0,
        "the client must abort the handshake"
    );
    assert!(strict.heads().is_empty(), "{:?}", strict.heads());

    // It stays down: later probes fail the same way.
    let deadline = Instant::now() + Duration::from_secs_f64(INTERVAL * 3.0);
    while Instant::now() < deadline {
        assert_eq!(
            answer(&s, name, None),
            set(&[control.ip()]),
            "{}",
            row(&s, strict.ip())
        );
        std::thread::sleep(POLL);
    }
    assert_eq!(row(&s, strict.ip())["state"], "down");
}

// ---------------------------------------------------------------------------------------------
// 3. `host` is the SNI name and the Host header

#[test]
fn https_check_host_is_sent_as_sni_and_host_header() {
    let named = TlsBackend::start(lo(3, 10), 0);
    let port = named.port();
    let bare = TlsBackend::start(lo(3, 11), port);
    let z = Zones::new();
    write_zone(
        &z,
        "s3.test.",
        json!({
            "named": T.check("https", port, json!({ "host": CERT_NAME, "insecure": true })),
            "bare": T.check("https", port, json!({ "insecure": true }))
        }),
        vec![checked(named.ip(), "named"), checked(bare.ip(), "bare")],
    );
    let s = start(&z);
    wait_state(&s, named.ip(), "up", T.patience());
    wait_state(&s, bare.ip(), "up", T.patience());
    assert_eq!(
        answer(&s, "www.s3.test.", None),
        set(&[named.ip(), bare.ip()])
    );

    // With `host`: SNI and Host header are that name on every probe.
    let snis = named.snis();
    assert!(!snis.is_empty());
    assert!(
        snis.iter().all(|n| n.as_deref() == Some(CERT_NAME)),
        "SNI must be the check's `host`: {snis:?}"
    );
    let heads = named.heads();
    assert!(!heads.is_empty());
    for (line, host) in &heads {
        assert!(line.starts_with("GET /healthz HTTP/1.1"), "{line:?}");
        let host = host.as_deref().unwrap_or_default();
        assert!(
            host_is(host, CERT_NAME, port),
            "Host header must be the check's `host`: {host:?}"
        );
    }

    // Without `host`: the URL names the address, so no SNI (none is sent for an IP address)
    // and the Host header is the address.
    let snis = bare.snis();
    assert!(!snis.is_empty());
    assert!(
        snis.iter().all(Option::is_none),
        "no SNI for an address: {snis:?}"
    );
    let ip = bare.ip().to_string();
    for (line, host) in bare.heads() {
        assert!(line.starts_with("GET /healthz HTTP/1.1"), "{line:?}");
        let host = host.unwrap_or_default();
        assert!(
            host_is(&host, &ip, port),
            "Host header without `host`: {host:?}"
        );
    }
}
