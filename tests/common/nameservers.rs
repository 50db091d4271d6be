//! Independent authoritative servers to compare gslbd with: NSD and Knot DNS (Debian packages
//! `nsd` and `knot`, which `scripts/test` installs), each started on master files in temporary
//! directories, on 127.0.0.1 with a free port, as the current user, without zone transfers,
//! control channel or chroot. Dropping one stops it by pid. Knot can also sign what it serves,
//! on the fly (`mod-onlinesign`) or the whole zone at load, with keys it generates itself:
//! the reference signers of the DNSSEC tests.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::{decode, encode, query, with_dnssec_ok, with_edns};

/// How long NSD or Knot may take to load the zones and answer.
pub const READY_DEADLINE: Duration = Duration::from_secs(15);

/// One zone to serve: its origin (`example.com.`) and its master file (its `$INCLUDE`s are
/// read relative to the file's directory).
#[derive(Debug, Clone)]
pub struct MasterZone {
    pub origin: String,
    pub file: PathBuf,
}

/// Knot's online signing (`mod-onlinesign`) of every zone it serves, with a key policy that
/// Knot applies itself: it generates one key of `algorithm` (a CSK, `single-type-signing`)
/// in its KASP database when it loads the zone.
#[derive(Debug, Clone)]
pub struct OnlineSign {
    /// A Knot algorithm name: `ecdsap256sha256`, `ed25519`.
    pub algorithm: &'static str,
    /// `nsec-bitmap`: the types Knot's NSEC "black lie" lists for a name that does not exist
    /// (Knot also ORs them into the NSEC of an existing name's NODATA). `None` keeps Knot's
    /// default, `[A, AAAA]`; `["TYPE128"]` makes the RFC 9824 NXNAME shape.
    pub nsec_bitmap: Option<Vec<&'static str>>,
}

/// How Knot signs the zones it serves.
#[derive(Debug, Clone)]
pub enum KnotDnssec {
    /// On the fly, per answer (`mod-onlinesign`): compact NSEC "black lies".
    Online(OnlineSign),
    /// The whole zone at load (`dnssec-signing: on`) with one CSK of this Knot algorithm
    /// name: a classic NSEC chain (RFC 4035), wildcard answers signed as expansions.
    Zone { algorithm: &'static str },
}

impl Default for OnlineSign {
    fn default() -> Self {
        OnlineSign {
            algorithm: "ecdsap256sha256",
            nsec_bitmap: None,
        }
    }
}

/// The configuration of a Knot on 127.0.0.1@`port` with everything it writes in `d`. Knot
/// reads the master files where they are and never writes them back (zonefile-sync -1); its
/// journal, timers, KASP database and control socket live in `d`.
pub fn knot_conf(d: &Path, port: u16, zones: &[MasterZone], dnssec: Option<&KnotDnssec>) -> String {
    let mut conf = format!(
        "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  \
         pidfile: \"{d}/knot.pid\"\n\
         database:\n  storage: \"{d}\"\n\
         control:\n  listen: \"{d}/knot.sock\"\n\
         log:\n  - target: stderr\n    any: notice\n",
        d = d.display()
    );
    let algorithm = match dnssec {
        Some(KnotDnssec::Online(sign)) => Some(sign.algorithm),
        Some(KnotDnssec::Zone { algorithm }) => Some(*algorithm),
        None => None,
    };
    if let Some(algorithm) = algorithm {
        let _ = write!(
            conf,
            "policy:\n  - id: signing\n    algorithm: {algorithm}\n    \
             single-type-signing: on\n"
        );
    }
    if let Some(KnotDnssec::Online(sign)) = dnssec {
        conf.push_str("mod-onlinesign:\n  - id: online\n    policy: signing\n");
        if let Some(types) = &sign.nsec_bitmap {
            let _ = writeln!(conf, "    nsec-bitmap: [{}]", types.join(", "));
        }
    }
    let _ = write!(
        conf,
        "template:\n  - id: default\n    storage: \"{d}\"\n    zonefile-sync: -1\n    \
         zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n",
        d = d.display()
    );
    match dnssec {
        Some(KnotDnssec::Online(_)) => conf.push_str("    module: mod-onlinesign/online\n"),
        Some(KnotDnssec::Zone { .. }) => {
            conf.push_str("    dnssec-signing: on\n    dnssec-policy: signing\n")
        }
        None => {}
    }
    conf.push_str("zone:\n");
    for z in zones {
        let _ = write!(
            conf,
            "  - domain: \"{}\"\n    file: \"{}\"\n",
            z.origin,
            absolute(&z.file).display()
        );
    }
    conf
}

/// Which implementation a [`NameServer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    Nsd,
    Knot,
}

impl Implementation {
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Nsd => "NSD",
            Implementation::Knot => "Knot",
        }
    }

    fn binary(self) -> &'static str {
        match self {
            Implementation::Nsd => "nsd",
            Implementation::Knot => "knotd",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Implementation::Nsd => "nsd",
            Implementation::Knot => "knot",
        }
    }
}

/// A running NSD or Knot. Dropping it sends SIGTERM to the pid it was started as and waits
/// for it (SIGKILL after the stop deadline).
pub struct NameServer {
    pub implementation: Implementation,
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// A port free for both UDP and TCP on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

/// The installed binary `name`: on PATH, or in /usr/sbin (where Debian puts both servers,
/// outside a normal user's PATH).
fn find_binary(implementation: Implementation) -> PathBuf {
    let name = implementation.binary();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{name}` is not installed: install the Debian package {} \
                 (./scripts/test does)",
                implementation.package()
            )
        })
}

impl NameServer {
    /// Starts NSD on `zones` and waits until it answers every zone's SOA.
    pub fn nsd(zones: &[MasterZone]) -> NameServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let port = free_port();
        // NSD reads `$INCLUDE` paths relative to `zonesdir`: the master files' directory.
        // Everything it writes goes to the temp dir.
        let zonesdir = absolute(zones[0].file.parent().expect("a master file's directory"));
        assert!(
            zones
                .iter()
                .all(|z| absolute(z.file.parent().unwrap()) == zonesdir),
            "NSD reads $INCLUDE relative to one zonesdir: keep the master files in one directory"
        );
        let mut conf = format!(
            "server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  do-ip6: no\n  \
             username: \"\"\n  chroot: \"\"\n  zonesdir: \"{z}\"\n  database: \"\"\n  \
             zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
             xfrdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  logfile: \"{d}/nsd.log\"\n  \
             server-count: 1\n  reuseport: no\n  verbosity: 1\n  rrl-ratelimit: 0\n\
             remote-control:\n  control-enable: no\n",
            d = d.display(),
            z = zonesdir.display()
        );
        for z in zones {
            let _ = write!(
                conf,
                "zone:\n  name: \"{}\"\n  zonefile: \"{}\"\n",
                z.origin,
                absolute(&z.file).display()
            );
        }
        let conf_path = d.join("nsd.conf");
        std::fs::write(&conf_path, conf).expect("write nsd.conf");
        let log = d.join("nsd.log");
        let mut cmd = Command::new(find_binary(Implementation::Nsd));
        cmd.arg("-d").arg("-c").arg(&conf_path);
        NameServer::spawn(Implementation::Nsd, cmd, dir, port, log, zones)
    }

    /// Starts Knot on `zones` and waits until it answers every zone's SOA.
    pub fn knot(zones: &[MasterZone]) -> NameServer {
        NameServer::knot_with(zones, None)
    }

    /// Starts Knot on `zones`, every zone signed on the fly by `mod-onlinesign` with `sign`,
    /// and waits until each answers its SOA and its DNSKEY RRset (Knot generates the keys in
    /// its KASP database in the temp dir when it loads the zone).
    pub fn knot_onlinesign(zones: &[MasterZone], sign: &OnlineSign) -> NameServer {
        let mut server = NameServer::knot_with(zones, Some(&KnotDnssec::Online(sign.clone())));
        server.wait_signed(zones);
        server
    }

    /// Starts Knot on `zones`, each signed whole when loaded (`dnssec-signing: on`, one CSK of
    /// `algorithm` that Knot generates, an NSEC chain), and waits for the DNSKEY RRsets.
    pub fn knot_zone_signed(zones: &[MasterZone], algorithm: &'static str) -> NameServer {
        let mut server = NameServer::knot_with(zones, Some(&KnotDnssec::Zone { algorithm }));
        server.wait_signed(zones);
        server
    }

    fn knot_with(zones: &[MasterZone], dnssec: Option<&KnotDnssec>) -> NameServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let port = free_port();
        let conf_path = d.join("knot.conf");
        std::fs::write(&conf_path, knot_conf(d, port, zones, dnssec)).expect("write knot.conf");
        let log = d.join("knot.log");
        let mut cmd = Command::new(find_binary(Implementation::Knot));
        cmd.arg("-c").arg(&conf_path);
        NameServer::spawn(Implementation::Knot, cmd, dir, port, log, zones)
    }

    fn spawn(
        implementation: Implementation,
        mut cmd: Command,
        dir: tempfile::TempDir,
        port: u16,
        log: PathBuf,
        zones: &[MasterZone],
    ) -> NameServer {
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("stderr file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", implementation.name()));
        let mut server = NameServer {
            implementation,
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
            _dir: dir,
        };
        server.wait_ready(zones);
        server
    }

    /// Polls every zone's SOA (AA, NOERROR) until all answer, against a deadline.
    fn wait_ready(&mut self, zones: &[MasterZone]) {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut pending: Vec<&MasterZone> = zones.iter().collect();
        let mut last = String::from("no reply yet");
        while !pending.is_empty() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "{} exited ({status}) before answering\n{}",
                    self.implementation.name(),
                    self.logs()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not answer the SOA of {} within {READY_DEADLINE:?} (last: {last})\n{}",
                    self.implementation.name(),
                    pending[0].origin,
                    self.logs()
                );
            }
            let q = with_edns(query(&pending[0].origin, RecordType::SOA), 1232);
            match probe(self.addr, &encode(&q)) {
                Some(bytes) => {
                    let r = decode(&bytes);
                    if r.response_code == ResponseCode::NoError && r.authoritative {
                        pending.remove(0);
                    } else {
                        last = format!("{} aa={}", r.response_code, r.authoritative);
                        // Loaded but not yet serving this zone: ask again shortly.
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                None => {
                    last = "no reply within 100 ms (or not listening yet)".into();
                    // Not listening yet (ICMP port unreachable comes back at once).
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Polls every zone's DNSKEY (with DO) until each has a DNSKEY RRset in the answer: a
    /// zone whose signing module failed is served unsigned, which this turns into a failure.
    fn wait_signed(&mut self, zones: &[MasterZone]) {
        for z in zones {
            let q = with_dnssec_ok(with_edns(query(&z.origin, RecordType::DNSKEY), 1232));
            let mut last = String::from("no reply yet");
            let deadline = Instant::now() + READY_DEADLINE;
            loop {
                if let Some(r) = probe(self.addr, &encode(&q)).map(|b| decode(&b)) {
                    if r.answers
                        .iter()
                        .any(|a| a.record_type() == RecordType::DNSKEY)
                    {
                        break;
                    }
                    last = format!("{} with {} answers", r.response_code, r.answers.len());
                }
                assert!(
                    Instant::now() < deadline,
                    "{} does not sign {}: no DNSKEY within {READY_DEADLINE:?} (last: {last})\n{}",
                    self.implementation.name(),
                    z.origin,
                    self.logs()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server logged (its log file and stderr).
    pub fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- {} log:\n{}{}",
            self.implementation.name(),
            read(&self.log),
            read(&self._dir.path().join("stderr"))
        )
    }
}

impl Drop for NameServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            super::stop_child(child);
        }
    }
}

/// One UDP query; the reply, or `None` when nothing (or a port-unreachable error) comes back
/// within 100 ms.
fn probe(addr: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.connect(addr).ok()?;
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .ok()?;
    sock.send(packet).ok()?;
    let mut buf = vec![0u8; 65535];
    let n = sock.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
