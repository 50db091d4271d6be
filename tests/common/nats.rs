//! A NATS cluster with JetStream for the fleet tests (spec §10): `NatsCluster::start(n)` runs
//! `n` real `nats-server` processes (Debian package `nats-server`, 2.9; `scripts/test` installs
//! it) as the current user, each with its own config file, JetStream store directory and log
//! in a temporary directory, its client, cluster-route and HTTP monitoring ports on 127.0.0.1
//! (free ports picked at start), and routes to every other node. `start` returns once the
//! cluster is ready for JetStream: every node's `/healthz?js-server-only=true` says ok (2.9
//! says so once the node is in contact with a meta leader; without `js-server-only` it also
//! waits until every stream it holds a replica of is current, which after a restart of the
//! whole cluster can take much longer, and is the business of the tests that made the
//! streams), every node names the same meta leader in `/jsz`, and a JetStream API request
//! (`$JS.API.INFO`) sent to each node over the client port is answered.
//! A node can be stopped and started again on the same ports and store directory, so tests can
//! take NATS away and bring it back. Every process is stopped by its pid (SIGTERM, SIGKILL
//! after the stop deadline); dropping the cluster stops every node.
//!
//! A restart of the whole cluster (`stop_all`, `start_all`) takes longer: the meta group
//! recovers from the store directories and elects a leader again (up to about 10 s here).
//! Streams (a KV bucket `B` is the stream `KV_B`) are checked with `stream_info` and
//! `wait_stream_current`; `request` sends any NATS request (`$JS.API.*`) over a raw
//! client connection, so the harness needs no NATS client crate.
//!
//! ```ignore
//! let mut nats = NatsCluster::start(3);
//! let fleet = nats.fleet_arg(); // "nats://127.0.0.1:P1,nats://127.0.0.1:P2,..." for --fleet
//! nats.stop_node(0);            // by pid; ports and store directory kept
//! let leader = nats.wait_leader(); // the two others agree on a leader among themselves
//! nats.start_node(0);           // back on the same ports; returns once it has rejoined
//! nats.stop_all();              // every port free again
//! nats.start_all();
//! nats.wait_stream_current("KV_example"); // a bucket the test (or gslbd) created
//! ```

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a cluster may take to start and elect a JetStream meta leader, and a restarted
/// node to rejoin it (elections take about 2 s; the machine's cores are shared).
pub const NATS_READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long one monitoring request or client request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// The name of the route cluster (and of the JetStream meta group).
pub const CLUSTER_NAME: &str = "gslbd-test";

/// One `nats-server` of a [`NatsCluster`]: its ports and files stay the same across restarts.
pub struct NatsNode {
    /// `server_name`: `nats-0`, `nats-1`, ... (also the names `/jsz` reports).
    pub name: String,
    pub client_port: u16,
    pub cluster_port: u16,
    pub http_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl NatsNode {
    /// `nats://127.0.0.1:CLIENT_PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }

    /// The HTTP monitoring address (`/varz`, `/routez`, `/jsz`, `/healthz`).
    pub fn monitor_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    /// The client address.
    pub fn client_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.client_port))
    }

    /// Every port the node listens on: client, cluster routes, monitoring.
    pub fn ports(&self) -> [u16; 3] {
        [self.client_port, self.cluster_port, self.http_port]
    }

    /// The node's JetStream store directory.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.join("store")
    }

    /// The node's configuration file.
    pub fn config_file(&self) -> PathBuf {
        self.dir.join("nats.conf")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("nats.log")
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    fn spawn(&mut self) {
        assert!(!self.is_running(), "{} is already running", self.name);
        // Appends, so a restarted node's log follows the earlier run's.
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .expect("open nats log");
        let child = Command::new(nats_server())
            .arg("-c")
            .arg(self.config_file())
            .arg("-js")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nats-server {}: {e}", self.name));
        self.child = Some(child);
    }

    /// SIGTERM to the node's pid, SIGKILL after the stop deadline; waits until it has exited.
    fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            super::stop_child(child);
        }
    }
}

/// `n` `nats-server` processes routed to each other, with JetStream. See the module docs.
pub struct NatsCluster {
    nodes: Vec<NatsNode>,
    _dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Starts `n` nodes (one node runs JetStream standalone, without a cluster block) and
    /// waits until the cluster is ready for JetStream. Panics with every node's log when it is
    /// not ready within [`NATS_READY_DEADLINE`].
    pub fn start(n: usize) -> NatsCluster {
        assert!(n >= 1, "a NATS cluster needs at least one node");
        let dir = tempfile::tempdir().expect("tempdir");
        let ports = free_tcp_ports(3 * n);
        let mut nodes: Vec<NatsNode> = (0..n)
            .map(|i| NatsNode {
                name: format!("nats-{i}"),
                client_port: ports[3 * i],
                cluster_port: ports[3 * i + 1],
                http_port: ports[3 * i + 2],
                dir: dir.path().join(format!("nats-{i}")),
                child: None,
            })
            .collect();
        let cluster_ports: Vec<u16> = nodes.iter().map(|n| n.cluster_port).collect();
        for node in &nodes {
            std::fs::create_dir_all(node.store_dir()).expect("create store dir");
            std::fs::write(node.config_file(), node_config(node, &cluster_ports))
                .expect("write nats.conf");
        }
        for node in &mut nodes {
            node.spawn();
        }
        let mut cluster = NatsCluster { nodes, _dir: dir };
        cluster.wait_ready();
        cluster
    }

    /// How many nodes the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, i: usize) -> &NatsNode {
        &self.nodes[i]
    }

    /// Every node's client URL, `nats://127.0.0.1:PORT`, in node order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(NatsNode::url).collect()
    }

    /// The URLs joined with commas: the value of `gslbd serve --fleet`.
    pub fn fleet_arg(&self) -> String {
        self.urls().join(",")
    }

    /// True while node `i` runs.
    pub fn is_running(&mut self, i: usize) -> bool {
        self.nodes[i].is_running()
    }

    /// Stops node `i` (by pid) and waits until it has exited. Its ports, configuration and
    /// store directory are kept for [`start_node`](Self::start_node).
    pub fn stop_node(&mut self, i: usize) {
        self.nodes[i].stop();
    }

    /// Starts node `i` again on the same ports and store directory and waits until the
    /// running nodes are ready for JetStream again (the node has rejoined the meta group).
    pub fn start_node(&mut self, i: usize) {
        self.nodes[i].spawn();
        self.wait_ready();
    }

    /// Starts every stopped node again (same ports and store directories) and waits until
    /// the cluster is ready for JetStream, as after [`start`](Self::start).
    pub fn start_all(&mut self) {
        for node in &mut self.nodes {
            if !node.is_running() {
                node.spawn();
            }
        }
        self.wait_ready();
    }

    /// Stops every node (by pid) and waits until each has exited.
    pub fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
    }

    /// One monitoring request (`/varz`, `/routez`, `/jsz`, ...) to node `i`, parsed as JSON.
    /// `Err` when the node does not answer, or answers with a status other than 200.
    pub fn monitor(&self, i: usize, path: &str) -> Result<Value, String> {
        let (status, body) = http_get(self.nodes[i].monitor_addr(), path)?;
        if status != 200 {
            return Err(format!(
                "{} {path}: HTTP {status}: {body}",
                self.nodes[i].name
            ));
        }
        serde_json::from_str(&body)
            .map_err(|e| format!("{} {path}: not JSON ({e}): {body}", self.nodes[i].name))
    }

    /// The JetStream meta leader node `i` knows of (`/jsz` `meta_cluster.leader`), if any.
    pub fn meta_leader(&self, i: usize) -> Result<Option<String>, String> {
        let jsz = self.monitor(i, "/jsz")?;
        Ok(jsz["meta_cluster"]["leader"]
            .as_str()
            .filter(|l| !l.is_empty())
            .map(str::to_string))
    }

    /// Node `i`'s number of routes to other nodes (`/routez` `num_routes`).
    pub fn num_routes(&self, i: usize) -> Result<u64, String> {
        let routez = self.monitor(i, "/routez")?;
        routez["num_routes"]
            .as_u64()
            .ok_or_else(|| format!("no num_routes in /routez: {routez}"))
    }

    /// A NATS request over node `i`'s client port: publishes `payload` to `subject` with a
    /// fresh reply subject and returns the first reply's payload. `Err` on no reply within the
    /// request timeout, "no responders" (a 503 status header) or a protocol error.
    pub fn request(&self, i: usize, subject: &str, payload: &str) -> Result<String, String> {
        nats_request(self.nodes[i].client_addr(), subject, payload)
    }

    /// `$JS.API.STREAM.INFO.<stream>` through node `i`, parsed; `Err` on an API error.
    pub fn stream_info(&self, i: usize, stream: &str) -> Result<Value, String> {
        let reply = self.request(i, &format!("$JS.API.STREAM.INFO.{stream}"), "")?;
        let info: Value = serde_json::from_str(&reply)
            .map_err(|e| format!("STREAM.INFO {stream}: not JSON ({e}): {reply}"))?;
        match info.get("error") {
            Some(e) => Err(format!("STREAM.INFO {stream}: {e}")),
            None => Ok(info),
        }
    }

    /// Deletes every consumer of `stream` on the servers' side, through node `i`, as a
    /// consumer's server going away would (the clients are not told); returns their names.
    pub fn delete_consumers(&self, i: usize, stream: &str) -> Vec<String> {
        let reply = self
            .request(i, &format!("$JS.API.CONSUMER.NAMES.{stream}"), "")
            .expect("CONSUMER.NAMES");
        let names: Value = serde_json::from_str(&reply).expect("CONSUMER.NAMES: JSON");
        let names: Vec<String> = names["consumers"]
            .as_array()
            .unwrap_or_else(|| panic!("CONSUMER.NAMES {stream}: {names}"))
            .iter()
            .map(|n| n.as_str().expect("a name").to_string())
            .collect();
        for n in &names {
            let subject = format!("$JS.API.CONSUMER.DELETE.{stream}.{n}");
            let reply = self.request(i, &subject, "").expect("CONSUMER.DELETE");
            assert!(reply.contains("\"success\":true"), "{subject}: {reply}");
        }
        names
    }

    /// Waits until `stream` (a KV bucket `B` is the stream `KV_B`) has a leader and every
    /// replica is current, asking the running nodes in turn, against [`NATS_READY_DEADLINE`].
    /// Returns the last stream info.
    pub fn wait_stream_current(&mut self, stream: &str) -> Value {
        let deadline = Instant::now() + NATS_READY_DEADLINE;
        let mut turn = 0;
        loop {
            let running: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_running())
                .collect();
            assert!(!running.is_empty(), "no NATS node runs");
            let i = running[turn % running.len()];
            turn += 1;
            let last = match self.stream_info(i, stream) {
                Ok(info) => {
                    let cluster = &info["cluster"];
                    let has_leader = self.nodes.len() == 1
                        || cluster["leader"].as_str().is_some_and(|l| !l.is_empty());
                    let replicas = cluster["replicas"].as_array().cloned().unwrap_or_default();
                    if has_leader && replicas.iter().all(|r| r["current"] == true) {
                        return info;
                    }
                    format!("cluster {cluster}")
                }
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                panic!(
                    "stream {stream} is not current within {NATS_READY_DEADLINE:?} \
                     (last: {last})\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the running nodes agree on a JetStream meta leader that is one of them, and
    /// returns its name. For a single node (no meta group), returns its name once its
    /// JetStream answers.
    pub fn wait_leader(&mut self) -> String {
        self.wait_ready()
    }

    /// Polls the running nodes until each is healthy for JetStream (`/healthz?js-server-only`
    /// 200, the same meta leader among the running nodes, `$JS.API.INFO` answered), against
    /// [`NATS_READY_DEADLINE`]. Returns the meta leader's name (the node's, when alone).
    fn wait_ready(&mut self) -> String {
        let deadline = Instant::now() + NATS_READY_DEADLINE;
        loop {
            for node in &mut self.nodes {
                if let Some(Ok(Some(status))) = node.child.as_mut().map(Child::try_wait) {
                    let name = node.name.clone();
                    node.child = None;
                    panic!("nats-server {name} exited ({status})\n{}", self.logs());
                }
            }
            let last = match self.ready() {
                Ok(leader) => return leader,
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                panic!(
                    "the NATS cluster is not ready for JetStream within \
                     {NATS_READY_DEADLINE:?} (last: {last})\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `Ok(leader)` when every running node is ready for JetStream; `Err(what is missing)`.
    fn ready(&mut self) -> Result<String, String> {
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_running())
            .collect();
        if running.is_empty() {
            return Err("no node runs".into());
        }
        let clustered = self.nodes.len() > 1;
        let mut leader: Option<String> = None;
        for &i in &running {
            let name = &self.nodes[i].name;
            let path = "/healthz?js-server-only=true";
            let (status, body) = http_get(self.nodes[i].monitor_addr(), path)?;
            if status != 200 {
                return Err(format!("{name} {path}: {status} {}", body.trim()));
            }
            if clustered {
                let l = self
                    .meta_leader(i)?
                    .ok_or_else(|| format!("{name} knows no meta leader"))?;
                if !running.iter().any(|&j| self.nodes[j].name == l) {
                    return Err(format!("{name} still names the stopped {l} as meta leader"));
                }
                match &leader {
                    Some(other) if *other != l => {
                        return Err(format!("{name} names {l} as meta leader, others {other}"))
                    }
                    _ => leader = Some(l),
                }
            }
            let info = self.request(i, "$JS.API.INFO", "")?;
            let info: Value = serde_json::from_str(&info)
                .map_err(|e| format!("{name} $JS.API.INFO: not JSON ({e}): {info}"))?;
            if info.get("error").is_some() || info.get("streams").is_none() {
                return Err(format!("{name} $JS.API.INFO: {info}"));
            }
        }
        Ok(leader.unwrap_or_else(|| self.nodes[running[0]].name.clone()))
    }

    /// Every node's configuration and log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let _ = write!(
                out,
                "--- {} ({}):\n{}\n--- {} log:\n{}",
                node.name,
                node.config_file().display(),
                std::fs::read_to_string(node.config_file()).unwrap_or_default(),
                node.name,
                std::fs::read_to_string(node.log_file()).unwrap_or_default()
            );
        }
        out
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// The configuration file of `node`; with more than one node, a cluster block with routes to
/// every other node's cluster port (a node ignores a route to itself, but it costs a retry).
fn node_config(node: &NatsNode, cluster_ports: &[u16]) -> String {
    let mut conf = format!(
        "# nats-server configuration of the gslbd test harness (tests/common/nats.rs).\n\
         server_name: {name}\n\
         listen: 127.0.0.1:{client}\n\
         http: 127.0.0.1:{http}\n\
         jetstream {{\n  store_dir: \"{store}\"\n}}\n",
        name = node.name,
        client = node.client_port,
        http = node.http_port,
        store = node.store_dir().display(),
    );
    if cluster_ports.len() > 1 {
        let routes: Vec<String> = cluster_ports
            .iter()
            .filter(|&&p| p != node.cluster_port)
            .map(|p| format!("    nats-route://127.0.0.1:{p}"))
            .collect();
        let _ = write!(
            conf,
            "cluster {{\n  name: {CLUSTER_NAME}\n  listen: 127.0.0.1:{}\n  routes: [\n{}\n  ]\n}}\n",
            node.cluster_port,
            routes.join("\n")
        );
    }
    conf
}

/// `nats-server`: on PATH, or in /usr/sbin (where Debian puts it, outside a normal user's
/// PATH).
pub fn nats_server() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`nats-server` is not installed: install the Debian package nats-server \
                 (./scripts/test does)"
            )
        })
}

/// `k` distinct TCP ports free on 127.0.0.1 at the time of asking (all bound at once, then
/// released, so no two are the same).
pub fn free_tcp_ports(k: usize) -> Vec<u16> {
    // Below the kernel's ephemeral range: a port the kernel hands out for an outgoing
    // connection (any test's client socket) can never be one picked here and released, so
    // nats-server cannot find it taken when it binds it a moment later.
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    let (from, to) = (10_000u16, low.max(10_000 + 4096));
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = super::Rng::new(seed);
    let mut listeners = Vec::with_capacity(k);
    // Bounded: at most 100 tries per port.
    for _ in 0..k * 100 {
        if listeners.len() == k {
            break;
        }
        let port = from + rng.below(usize::from(to - from)) as u16;
        if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(l);
        }
    }
    assert_eq!(listeners.len(), k, "no {k} free TCP ports in {from}..{to}");
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// True when nothing listens on TCP 127.0.0.1:`port` (it can be bound).
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// One HTTP/1.0 GET (so the reply is neither chunked nor kept alive): (status, body), or
/// `Err` when the server cannot be reached or answers garbage.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .map_err(|e| format!("GET {path} from {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("GET {path} from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("GET {path} from {addr}: no HTTP header in {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {path} from {addr}: bad status line in {head:?}"))?;
    Ok((status, body.to_string()))
}

/// A request over the NATS client protocol on a fresh connection (CONNECT, SUB to an inbox,
/// PUB with that inbox as reply subject), see [`NatsCluster::request`].
pub fn nats_request(addr: SocketAddr, subject: &str, payload: &str) -> Result<String, String> {
    let what = |e: &dyn std::fmt::Display| format!("request {subject} on {addr}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT).map_err(|e| what(&e))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .map_err(|e| what(&e))?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| what(&e))?);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| what(&e))?;
    if !line.starts_with("INFO ") {
        return Err(what(&format!("expected INFO, got {line:?}")));
    }
    let inbox = format!("_INBOX.gslbd_harness.{}", std::process::id());
    let mut out = String::from(
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true}\r\n",
    );
    let _ = write!(
        out,
        "SUB {inbox} 1\r\nPUB {subject} {inbox} {}\r\n{payload}\r\n",
        payload.len()
    );
    stream.write_all(out.as_bytes()).map_err(|e| what(&e))?;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| what(&e))?;
        if n == 0 {
            return Err(what(&"connection closed"));
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.first().copied() {
            Some("PING") => stream.write_all(b"PONG\r\n").map_err(|e| what(&e))?,
            Some("MSG") | Some("HMSG") => {
                let total: usize = words
                    .last()
                    .and_then(|w| w.parse().ok())
                    .ok_or_else(|| what(&format!("bad {line:?}")))?;
                let mut body = vec![0u8; total + 2];
                reader.read_exact(&mut body).map_err(|e| what(&e))?;
                body.truncate(total);
                let mut body = String::from_utf8_lossy(&body).into_owned();
                if words[0] == "HMSG" {
                    // HMSG <subject> <sid> [reply] <header bytes> <total bytes>
                    let header_len: usize = words[words.len() - 2]
                        .parse()
                        .map_err(|_| what(&format!("bad {line:?}")))?;
                    let headers = body[..header_len].to_string();
                    if headers.starts_with("NATS/1.0 503") {
                        return Err(what(&"no responders"));
                    }
                    body = body[header_len..].to_string();
                }
                return Ok(body);
            }
            Some("-ERR") => return Err(what(&line.trim())),
            _ => {}
        }
    }
}
