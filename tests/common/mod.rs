//! Shared test harness: starts the real `gslbd` binary, writes zone fixtures, sends queries.
#![allow(dead_code)]

pub mod backend;
pub mod browser;
pub mod dnssec;
pub mod dockerfile;
pub mod encrypted;
pub mod fleet;
pub mod geo;
pub mod health;
pub mod metrics;
pub mod nameservers;
pub mod nats;
pub mod netns;
pub mod refusal;
pub mod reload;
pub mod schema;
pub mod udp_relay;
pub mod validators;
pub mod vantage;
pub mod xdp;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

/// How long the server may take to print its listening line.
pub const START_DEADLINE: Duration = Duration::from_secs(10);
/// How long the server may take to exit after SIGTERM.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);
/// How long a query waits for its reply before the test fails.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// The path of the `gslbd` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_gslbd")
}

/// The repository's shipped `zones/` directory.
pub fn example_zones() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("zones")
}

/// The repository's shipped `geo/` directory.
pub fn example_geo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("geo")
}

/// A running `gslbd serve`. Dropping it sends SIGTERM (then SIGKILL after 5 s).
pub struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    /// The other listeners, printed before the first `(udp+tcp)` line: (kind, address), e.g.
    /// ("tls", 127.0.0.1:40123) for `gslbd listening on 127.0.0.1:40123 (tls)`.
    listeners: Vec<(String, SocketAddr)>,
    /// What it printed on stdout up to and including its first `(udp+tcp)` line.
    startup: Vec<String>,
    stderr: Arc<Mutex<String>>,
    /// Keeps temporary directories alive as long as the server runs.
    _keep: Vec<tempfile::TempDir>,
    /// The configuration it serves, and its files as they were when it started: a stopping
    /// server checks the files against the schema again when they changed (`schema`).
    zones: PathBuf,
    geo: PathBuf,
    accepted: BTreeMap<PathBuf, (gslbd::config::schema::SchemaFile, String)>,
}

fn collect_stderr(child: &mut Child) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().expect("stderr");
    let b = buf.clone();
    let thread = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match err.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => b
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n])),
            }
        }
    });
    (buf, thread)
}

impl Server {
    /// Starts `gslbd serve --zones Z --geo G --listen 127.0.0.1:0 --admin off EXTRA...` and
    /// waits for its `gslbd listening on ADDR (udp+tcp)` line. When EXTRA has `--admin`, that
    /// one is used instead of `off` (pass `--admin 127.0.0.1:0` and read `admin_addr()`).
    pub fn start(zones: &Path, geo: &Path, extra_args: &[&str]) -> Server {
        Server::start_with_env(zones, geo, extra_args, &[])
    }

    /// Like `start`, with `env` set in the server's environment.
    pub fn start_with_env(
        zones: &Path,
        geo: &Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let admin_args: &[&str] = if extra_args.contains(&"--admin") {
            &[]
        } else {
            &["--admin", "off"]
        };
        let mut cmd = serve_command(zones, geo);
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(admin_args)
            .args(extra_args)
            .envs(env.iter().copied());
        Server::launch(cmd, zones, geo, extra_args)
    }

    /// Runs `cmd` (a `gslbd serve` command line, whatever runs it) and waits for its
    /// `gslbd listening on ADDR (udp+tcp)` line; `zones` and `geo` are the directories it
    /// serves, `extra_args` what to show of its arguments should it fail to start.
    pub fn launch(mut cmd: Command, zones: &Path, geo: &Path, extra_args: &[&str]) -> Server {
        if !cmd.get_envs().any(|(k, _)| k == "GSLBD_LOG") {
            // Warnings unless the one running the tests asks for more.
            let level = std::env::var("GSLBD_TEST_LOG").unwrap_or_else(|_| "warn".into());
            cmd.env("GSLBD_LOG", level);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gslbd");
        let (stderr, stderr_thread) = collect_stderr(&mut child);
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            // Keeps draining stdout after the listening line so the server never blocks on it.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_DEADLINE;
        let mut seen = Vec::new();
        let mut admin = None;
        let mut listeners = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("gslbd listening on ") {
                        let (a, kind) = rest
                            .strip_suffix(')')
                            .and_then(|r| r.split_once(" ("))
                            .unwrap_or_else(|| {
                                panic!("unexpected listening line format: {line:?}")
                            });
                        let a = a.parse::<SocketAddr>().unwrap_or_else(|e| {
                            panic!("bad address in listening line {line:?}: {e}")
                        });
                        if kind == "udp+tcp" {
                            seen.push(line);
                            break a;
                        }
                        listeners.push((kind.to_string(), a));
                    }
                    if let Some(rest) = line.strip_prefix("gslbd admin API on ") {
                        admin = Some(rest.parse::<SocketAddr>().expect("admin address"));
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let why = match e {
                        mpsc::RecvTimeoutError::Timeout => {
                            format!("did not print its listening line within {START_DEADLINE:?}")
                        }
                        mpsc::RecvTimeoutError::Disconnected => {
                            "closed stdout without printing its listening line".to_string()
                        }
                    };
                    let _ = child.kill();
                    let status = child.wait();
                    let _ = stderr_thread.join();
                    panic!(
                        "gslbd serve {why} (exit status {status:?})\nargs: --zones {} --geo {} \
                         {extra_args:?}\nstdout: {seen:?}\nstderr:\n{}",
                        zones.display(),
                        geo.display(),
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        // It started, so the loader accepted these files: the schema must too.
        let accepted = schema::assert_accepted(zones, geo);
        Server {
            child: Some(child),
            addr,
            admin,
            listeners,
            startup: seen,
            stderr,
            _keep: Vec::new(),
            zones: zones.to_path_buf(),
            geo: geo.to_path_buf(),
            accepted,
        }
    }

    /// Serves the repository's shipped `zones/` with its `geo/` (or an empty geo directory
    /// when the repository has none), as `gslbd serve` does from the repository root.
    pub fn example() -> Server {
        let geo = example_geo();
        if geo.is_dir() {
            return Server::start(&example_zones(), &geo, &[]);
        }
        let empty = tempfile::tempdir().expect("tempdir");
        let mut s = Server::start(&example_zones(), empty.path(), &[]);
        s._keep.push(empty);
        s
    }

    /// Serves the zones of a fixture; the fixture lives as long as the server.
    pub fn with_zones(zones: Zones) -> Server {
        let mut s = Server::start(zones.zones_dir(), zones.geo_dir(), &[]);
        s._keep.push(zones.zones);
        s._keep.push(zones.geo);
        s
    }

    /// One HTTP/1.1 request with a JSON `body` to the admin API: (status, body).
    pub fn http_body(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        http_request_with_body(self.admin_addr(), method, path, token, body)
    }

    /// What it printed on stdout while starting, its `(udp+tcp)` line last.
    pub fn startup_lines(&self) -> &[String] {
        &self.startup
    }

    /// The admin API address (start with `--admin 127.0.0.1:0`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
            .expect("server started without --admin 127.0.0.1:0")
    }

    /// One HTTP/1.1 request to the admin API: (status, body).
    pub fn http(&self, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
        http_request(self.admin_addr(), method, path, token)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the first listener of `kind` (`tls`, `quic`) the server printed.
    pub fn listener(&self, kind: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("the server printed no ({kind}) listening line"))
    }

    /// Everything the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Sends SIGTERM and waits up to 5 s. Returns the exit status, or `None` when the server
    /// had to be killed.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.stop_with(libc::SIGTERM)
    }

    /// Sends `signal` and waits up to 5 s. Returns the exit status, or `None` when the server
    /// had to be killed. Then, when the configuration files changed since the start (a hot
    /// reload) and the loader accepts them, asserts that they match the schema.
    pub fn stop_with(&mut self, signal: libc::c_int) -> Option<ExitStatus> {
        let child = self.child.take()?;
        let status = signal_and_wait(child, signal);
        if !std::thread::panicking() {
            schema::assert_valid_if_changed_and_accepted(&self.zones, &self.geo, &self.accepted);
        }
        status
    }
}

/// Sends `signal` to our own child and waits up to 5 s; SIGKILL after that (`None`).
fn signal_and_wait(mut child: Child, signal: libc::c_int) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain kill(2) on the pid of our own child, which has not been reaped yet.
    unsafe {
        libc::kill(pid, signal);
    }
    let deadline = Instant::now() + STOP_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stops a child process this test started: SIGTERM to its pid, SIGKILL after
/// `STOP_DEADLINE`; returns once it has exited (reaped).
pub fn stop_child(mut child: std::process::Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + STOP_DEADLINE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `gslbd serve --zones ZONES --geo GEO`, to complete with listen and other options.
pub fn serve_command(zones: &Path, geo: &Path) -> Command {
    let mut c = Command::new(bin());
    c.arg("serve")
        .arg("--zones")
        .arg(zones)
        .arg("--geo")
        .arg(geo);
    c
}

/// A zones directory (and an empty geo directory) in temporary directories.
pub struct Zones {
    zones: tempfile::TempDir,
    geo: tempfile::TempDir,
}

impl Default for Zones {
    fn default() -> Self {
        Self::new()
    }
}

impl Zones {
    pub fn new() -> Zones {
        Zones {
            zones: tempfile::tempdir().expect("tempdir"),
            geo: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn zones_dir(&self) -> &Path {
        self.zones.path()
    }

    pub fn geo_dir(&self) -> &Path {
        self.geo.path()
    }

    /// Writes `contents` as `zones/<file_name>` and returns its path.
    pub fn file(&self, file_name: &str, contents: &str) -> PathBuf {
        let path = self.zones.path().join(file_name);
        std::fs::write(&path, contents).expect("write zone file");
        path
    }

    /// Writes a complete zone `<origin>.json` with the given `records` object; the apex
    /// gets NS records unless `records` defines `@` itself.
    pub fn zone(&self, origin: &str, records: serde_json::Value) -> PathBuf {
        let file = format!("{}.json", origin.trim_end_matches('.'));
        self.file(&file, &zone_json(origin, 3600, 60, records))
    }

    /// `gslbd check` on this fixture.
    pub fn check(&self) -> std::process::Output {
        check(self.zones_dir(), self.geo_dir())
    }
}

/// Runs `gslbd import FILE` (which must succeed; warnings are allowed) and writes the JSON
/// into this fixture as `<origin>.json`, the name gslbd loads it under. Returns the zone JSON.
pub fn import_into(zones: &Zones, master: &Path) -> serde_json::Value {
    let out = Command::new(bin())
        .arg("import")
        .arg(master)
        .output()
        .expect("run gslbd import");
    assert!(
        out.status.success(),
        "gslbd import {} failed ({}):\n{}",
        master.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8 JSON");
    let json: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    let origin = json["origin"].as_str().expect("origin").to_string();
    zones.file(&format!("{}.json", origin.trim_end_matches('.')), &text);
    json
}

/// The JSON text of a zone with the given TTL, SOA minimum and records.
pub fn zone_json(origin: &str, ttl: u32, minimum: u32, records: serde_json::Value) -> String {
    let mut records = records;
    let map = records.as_object_mut().expect("records must be an object");
    map.entry("@").or_insert_with(
        || serde_json::json!({ "NS": [format!("ns1.{origin}"), format!("ns2.{origin}")] }),
    );
    let zone = serde_json::json!({
        "version": 1,
        "origin": origin,
        "ttl": ttl,
        "soa": {
            "mname": format!("ns1.{origin}"),
            "rname": format!("hostmaster.{origin}"),
            "serial": 1,
            "refresh": 7200,
            "retry": 900,
            "expire": 1209600,
            "minimum": minimum
        },
        "records": records
    });
    serde_json::to_string_pretty(&zone).unwrap()
}

/// Runs `gslbd check` and asserts it fails with exit code 1; returns stderr.
pub fn check_fails(z: &Zones) -> String {
    let o = z.check();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "check must exit 1 on an invalid configuration\nstdout:\n{}\nstderr:\n{err}",
        String::from_utf8_lossy(&o.stdout)
    );
    err
}

/// The stderr line naming `file` (by file name) and containing every one of `parts`.
pub fn line_with<'a>(err: &'a str, file: &str, parts: &[&str]) -> &'a str {
    err.lines()
        .find(|l| l.contains(file) && parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line naming {file} with {parts:?} in:\n{err}"))
}

/// Runs `gslbd check --zones Z --geo G`; when it exits 0, also asserts that the files match
/// the schema (`schema`).
pub fn check(zones: &Path, geo: &Path) -> std::process::Output {
    let out = Command::new(bin())
        .arg("check")
        .arg("--zones")
        .arg(zones)
        .arg("--geo")
        .arg(geo)
        .env("GSLBD_LOG", "warn")
        .output()
        .expect("run gslbd check");
    if out.status.success() {
        schema::assert_accepted(zones, geo);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Queries

/// A query for `name`/`rtype` with a random id, RD clear, no EDNS.
pub fn query(name: &str, rtype: RecordType) -> Message {
    let mut m = Message::query();
    m.add_query(Query::query(
        Name::from_ascii(name).expect("query name"),
        rtype,
    ));
    m
}

/// The same query with an OPT record advertising `payload`.
pub fn with_edns(mut m: Message, payload: u16) -> Message {
    let mut e = Edns::new();
    e.set_max_payload(payload);
    e.set_version(0);
    m.set_edns(e);
    m
}

/// The same query with the DO bit set (EDNS(0) with payload 1232 added when absent).
pub fn with_dnssec_ok(m: Message) -> Message {
    let mut m = if m.edns.is_some() {
        m
    } else {
        with_edns(m, 1232)
    };
    m.edns.as_mut().unwrap().set_dnssec_ok(true);
    m
}

/// The same query with EDNS(0) (payload 1232) and an ECS option.
pub fn with_ecs(m: Message, addr: &str, source_prefix: u8) -> Message {
    let mut m = if m.edns.is_some() {
        m
    } else {
        with_edns(m, 1232)
    };
    let subnet = ClientSubnet::new(addr.parse().expect("ECS address"), source_prefix, 0);
    m.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::Subnet(subnet));
    m
}

/// The ECS option of a reply, if any.
pub fn reply_ecs(m: &Message) -> Option<ClientSubnet> {
    match m.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some(*s),
        other => panic!("unexpected ECS option form: {other:?}"),
    }
}

pub fn encode(m: &Message) -> Vec<u8> {
    m.to_vec().expect("encode query")
}

pub fn decode(bytes: &[u8]) -> Message {
    Message::from_vec(bytes).unwrap_or_else(|e| panic!("cannot decode reply ({e}): {bytes:02x?}"))
}

/// Sends `m` over UDP and returns the reply (fails the test after 3 s without one).
pub fn udp(addr: SocketAddr, m: &Message) -> Message {
    let bytes = udp_raw_timeout(addr, &encode(m), REPLY_TIMEOUT)
        .unwrap_or_else(|| panic!("no UDP reply to {m}"));
    let reply = decode(&bytes);
    assert_eq!(reply.id, m.id, "reply id must match the query id");
    reply
}

/// Sends raw bytes over UDP; the reply, or `None` when none arrives within 500 ms.
pub fn udp_raw(addr: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    udp_raw_timeout(addr, packet, Duration::from_millis(500))
}

pub fn udp_raw_timeout(addr: SocketAddr, packet: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind UDP client");
    sock.connect(addr).expect("connect UDP client");
    sock.set_read_timeout(Some(timeout)).unwrap();
    sock.send(packet).expect("send UDP");
    let mut buf = vec![0u8; 65535];
    match sock.recv(&mut buf) {
        Ok(n) => Some(buf[..n].to_vec()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(e) => panic!("UDP receive failed: {e}"),
    }
}

/// A TCP connection to `to` from the local address `source` (say 127.0.x.y, to stand for a
/// client network of its own), with the reply timeout for reads.
pub fn tcp_connect_from(source: std::net::IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::for_address(to), Type::STREAM, None)?;
    sock.bind(&SocketAddr::new(source, 0).into())?;
    sock.connect_timeout(&to.into(), REPLY_TIMEOUT)?;
    let s: TcpStream = sock.into();
    s.set_read_timeout(Some(REPLY_TIMEOUT))?;
    Ok(s)
}

fn tcp_connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT).expect("TCP connect");
    s.set_read_timeout(Some(REPLY_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(REPLY_TIMEOUT)).unwrap();
    s
}

pub fn read_framed(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf)?;
    Ok(buf)
}

/// A DNS message with its TCP length prefix.
pub fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut v = (bytes.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(bytes);
    v
}

/// Sends `m` over TCP (length-prefixed) and returns the reply.
pub fn tcp(addr: SocketAddr, m: &Message) -> Message {
    let reply = decode(&tcp_raw(addr, &encode(m)).expect("TCP reply"));
    assert_eq!(reply.id, m.id, "reply id must match the query id");
    reply
}

/// Sends one raw message over TCP; the raw reply, or the I/O error (e.g. connection closed).
pub fn tcp_raw(addr: SocketAddr, packet: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = tcp_connect(addr);
    s.write_all(&frame(packet))?;
    read_framed(&mut s)
}

/// Writes every query on one connection before reading; returns the replies in arrival order.
pub fn tcp_pipelined(addr: SocketAddr, queries: &[Message]) -> Vec<Message> {
    let mut s = tcp_connect(addr);
    let mut all = Vec::new();
    for q in queries {
        all.extend_from_slice(&frame(&encode(q)));
    }
    s.write_all(&all).expect("write pipelined queries");
    (0..queries.len())
        .map(|i| {
            decode(&read_framed(&mut s).unwrap_or_else(|e| {
                panic!("reply {i} of {} pipelined queries: {e}", queries.len())
            }))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// dig

/// Runs `dig @IP -p PORT ARGS...` and returns its stdout. Fails (never skips) when dig is
/// missing.
pub fn dig(addr: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("dig")
        .arg(format!("@{}", addr.ip()))
        .arg("-p")
        .arg(addr.port().to_string())
        .args(["+time=3", "+tries=1"])
        .args(args)
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`dig` is not installed: install dnsutils (apt-get install dnsutils), \
             or run ./scripts/test which installs it"
        ),
        Err(e) => panic!("cannot run dig: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dig {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

// ---------------------------------------------------------------------------------------------
// Raw packets

/// A raw query packet: header with `flags` (byte 2 and 3), the given counts, then `body`.
pub fn raw_packet(id: u16, flags: [u8; 2], counts: [u16; 4], body: &[u8]) -> Vec<u8> {
    let mut p = id.to_be_bytes().to_vec();
    p.extend_from_slice(&flags);
    for c in counts {
        p.extend_from_slice(&c.to_be_bytes());
    }
    p.extend_from_slice(body);
    p
}

/// Wire form of a question: name (presentation, no escapes), type, class IN.
pub fn raw_question(name: &str, rtype: u16) -> Vec<u8> {
    let mut v = Vec::new();
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v.extend_from_slice(&rtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v
}

/// Wire form of an OPT record with `payload`, `version`, DO flag and the raw options.
pub fn raw_opt(payload: u16, version: u8, dnssec_ok: bool, options: &[u8]) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&41u16.to_be_bytes());
    v.extend_from_slice(&payload.to_be_bytes());
    v.extend_from_slice(&[0, version, if dnssec_ok { 0x80 } else { 0 }, 0]);
    v.extend_from_slice(&(options.len() as u16).to_be_bytes());
    v.extend_from_slice(options);
    v
}

/// Wire form of an ECS option (code 8) with the given fields and raw address bytes.
pub fn raw_ecs(family: u16, source: u8, scope: u8, addr: &[u8]) -> Vec<u8> {
    let mut v = 8u16.to_be_bytes().to_vec();
    v.extend_from_slice(&((4 + addr.len()) as u16).to_be_bytes());
    v.extend_from_slice(&family.to_be_bytes());
    v.extend_from_slice(&[source, scope]);
    v.extend_from_slice(addr);
    v
}

/// A well-formed query packet for `name`/`rtype`, with an optional OPT record.
pub fn raw_query(id: u16, name: &str, rtype: u16, opt: Option<&[u8]>) -> Vec<u8> {
    let mut body = raw_question(name, rtype);
    if let Some(o) = opt {
        body.extend_from_slice(o);
    }
    raw_packet(id, [0x01, 0x00], [1, 0, 0, opt.is_some() as u16], &body)
}

/// The 4-bit RCODE in a raw reply header.
pub fn raw_rcode(reply: &[u8]) -> u8 {
    reply[3] & 0x0f
}

/// A small deterministic PRNG (xorshift64*) so fuzz-style tests are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// A minimal HTTP/1.1 client for the admin API: (status, body).
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    http_request_with_body(addr, method, path, token, "")
}

/// Like `http_request`, sending `body` (JSON) with the request.
pub fn http_request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let headers: Vec<&str> = auth.iter().map(String::as_str).collect();
    let reply = http_exchange(addr, method, path, &headers, body);
    (reply.status, reply.body)
}

/// An HTTP response: status, headers (names in lowercase) and body.
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpReply {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request (`Connection: close`) with extra header lines (`Name: value`), the
/// whole response read.
pub fn http_exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> HttpReply {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to admin API {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read HTTP response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad HTTP response: {text:?}"));
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    HttpReply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The A/AAAA addresses of the answer section, in answer order.
pub fn answer_addresses(m: &Message) -> Vec<std::net::IpAddr> {
    use hickory_proto::rr::RData;
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(std::net::IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(std::net::IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// Calls `f` every 50 ms until it returns `Ok`, for at most `within`; returns its value and how
/// long it took. On time-out, fails with `what` and the last `Err` (what was seen instead).
pub fn wait_for<T>(
    what: &str,
    within: Duration,
    mut f: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    let start = Instant::now();
    let deadline = start + within;
    loop {
        match f() {
            Ok(v) => return (v, start.elapsed()),
            Err(last) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}
