//! `gslbd serve`'s options, and how they become the server's configuration.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use gslbd::dns::edns::{self, CookieSecret, EdnsConfig};
use gslbd::fleet::{FleetConfig, FleetHealth};
use gslbd::health::ProbeSource;
use gslbd::server::{self, ServeConfig};

use crate::ConfigArgs;

// The options of `gslbd serve` (its help text is the `Serve` variant's).
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to answer on, UDP and TCP (repeatable). Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:5300")]
    listen: Vec<SocketAddr>,
    /// Address to answer DNS over TLS on (RFC 7858; TCP, repeatable). Needs --tls-cert
    /// and --tls-key; takes the --tcp-* limits, with a connection table of its own.
    #[arg(long, value_name = "ADDR:PORT", visible_alias = "tls-listen")]
    listen_tls: Vec<SocketAddr>,
    /// Address to answer DNS over QUIC on (RFC 9250; UDP, repeatable). Needs --tls-cert
    /// and --tls-key; --tcp-idle-timeout is its idle timeout and the --tcp-max-* caps
    /// count its connections.
    #[arg(long, value_name = "ADDR:PORT", visible_alias = "quic-listen")]
    listen_quic: Vec<SocketAddr>,
    /// PEM certificate chain (leaf first) of the TLS and QUIC listeners. Read again on
    /// SIGHUP and POST /v1/reload; a new pair that cannot be used keeps the old one.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Admin HTTP API address, or `off`.
    #[arg(long, default_value = "127.0.0.1:9153")]
    admin: String,
    /// Bearer token required by the admin API's mutating endpoints (reload, drains, shifts).
    #[arg(long, env = "GSLBD_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// File that keeps drains, pool drains and shifts across restarts (default: in memory).
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// UDP receive threads per listen address (default: one per CPU).
    #[arg(long)]
    udp_threads: Option<usize>,
    /// Microseconds a UDP thread (and an AF_XDP thread) keeps asking for the next query
    /// without sleeping after each batch (0: sleep at once). Trades CPU while idle for latency: on virtual
    /// machines waking a sleeping vCPU costs tens of microseconds per query.
    #[arg(long, default_value_t = 0, value_name = "MICROSECONDS")]
    udp_busy_poll: u64,
    /// Answer UDP DNS arriving on this interface from AF_XDP sockets (repeatable): an XDP
    /// program steers UDP for the --listen addresses into one socket per receive queue and
    /// passes everything else to the kernel. Needs root (or CAP_BPF, CAP_NET_ADMIN,
    /// CAP_NET_RAW, CAP_IPC_LOCK); where it cannot run, gslbd logs why and serves through
    /// the kernel. GSLBD_XDP: interfaces, comma-separated.
    #[arg(long, value_name = "IFACE", env = "GSLBD_XDP", value_delimiter = ',', value_parser = interface_name)]
    xdp: Vec<String>,
    /// Preferred busy polling on the AF_XDP sockets (0: off): each time an AF_XDP thread
    /// waits or sends, it runs the interface's receive processing itself for up to this
    /// many microseconds, instead of the kernel waking it per batch; much less CPU per query
    /// under load. Needs CAP_NET_ADMIN, and the interface's napi_defer_hard_irqs and
    /// gro_flush_timeout set (e.g. 2 and 200000; gslbd names them when they are not).
    #[arg(
        long,
        default_value_t = 0,
        value_name = "MICROSECONDS",
        env = "GSLBD_XDP_BUSY_POLL"
    )]
    xdp_busy_poll: u32,
    /// Seconds a TCP connection may stay idle between queries before it is closed.
    #[arg(long, default_value_t = 10.0)]
    tcp_idle_timeout: f64,
    /// Open TCP connections at most. A newcomer beyond this takes the place of the
    /// connection that has gone longest without completing a query (one that never
    /// completed any first).
    #[arg(long, default_value_t = 1024)]
    tcp_max_connections: usize,
    /// Open TCP connections per client network (/24 for IPv4, /56 for IPv6) at most;
    /// more are closed at once (0: no cap).
    #[arg(long, default_value_t = 256)]
    tcp_max_per_client: u32,
    /// Response rate limiting: UDP responses per second per client network (/24, /56)
    /// and kind (an answer per name, NXDOMAIN and wildcards per zone, errors); more are
    /// dropped or slipped. 0 (the default): off. `--rrl` is the same option.
    #[arg(long, visible_alias = "rrl", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    rrl_rate: u32,
    /// Every Nth response over the rate is sent truncated (TC: a real client retries over
    /// TCP) instead of dropped; 0 drops them all, 1 truncates them all.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=100))]
    rrl_slip: u32,
    /// Buckets of the rate limiter's table (a power of two; 8 bytes each).
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1024..=16_777_216))]
    rrl_table_size: u64,
    /// Log one query in every N at INFO (0: no query log).
    #[arg(long, default_value_t = 0)]
    query_log_sample: u64,
    /// Do not reload when files change (SIGHUP and the admin API still reload).
    #[arg(long)]
    no_watch: bool,
    /// Answer NSID requests (RFC 5001) with TEXT; `hostname` sends the host name.
    /// Off by default.
    #[arg(long, value_name = "TEXT")]
    nsid: Option<String>,
    /// Do not tell the version: CH TXT version.bind and version.server get REFUSED (by
    /// default they get `gslbd VERSION`, as from BIND, Knot and NSD). id.server and
    /// hostname.bind answer with the --nsid text when it is set.
    #[arg(long)]
    hide_version: bool,
    /// Key of DNS server cookies (RFC 7873, RFC 9018): 16 bytes as 32 hex digits. Nodes
    /// with the same secret accept each other's cookies. Default: random at each start.
    #[arg(
        long,
        env = "GSLBD_COOKIE_SECRET",
        hide_env_values = true,
        value_name = "HEX"
    )]
    cookie_secret: Option<String>,
    /// Local address health probes (HTTP, HTTPS, TCP) connect from. Repeatable: at most
    /// one IPv4 and one IPv6 address, each for targets of its family; a family without
    /// one uses the OS default. It must be an address of this host.
    #[arg(long, value_name = "ADDR")]
    probe_source: Vec<IpAddr>,
    /// Join a fleet through NATS JetStream: the NATS servers' URLs, comma-separated
    /// (nats://HOST:PORT,...). Without it the node stands alone.
    #[arg(long, env = "GSLBD_FLEET", value_name = "URLS", value_delimiter = ',')]
    fleet: Vec<String>,
    /// This node's name in the fleet (default: the host name).
    #[arg(long, value_name = "NAME", requires = "fleet")]
    node: Option<String>,
    /// Whose probes decide health in a fleet: a quorum of the nodes' recent votes, or
    /// this node's own probes only.
    #[arg(long, value_enum, default_value = "quorum", value_name = "MODE")]
    fleet_health: FleetHealthArg,
}

impl ServeArgs {
    /// Checks the options and makes the server's configuration.
    pub fn into_config(self) -> anyhow::Result<ServeConfig> {
        let ServeArgs {
            config,
            listen,
            listen_tls,
            listen_quic,
            tls_cert,
            tls_key,
            admin,
            admin_token,
            state_file,
            udp_threads,
            udp_busy_poll,
            xdp,
            xdp_busy_poll,
            tcp_idle_timeout,
            tcp_max_connections,
            tcp_max_per_client,
            rrl_rate,
            rrl_slip,
            rrl_table_size,
            query_log_sample,
            no_watch,
            nsid,
            hide_version,
            cookie_secret,
            probe_source,
            fleet,
            node,
            fleet_health,
        } = self;
        if udp_busy_poll > 1_000_000 {
            anyhow::bail!("--udp-busy-poll is in microseconds and at most 1000000");
        }
        if xdp_busy_poll > 10_000 {
            anyhow::bail!("--xdp-busy-poll is in microseconds and at most 10000");
        }
        if !(tcp_idle_timeout.is_finite() && tcp_idle_timeout > 0.0) {
            anyhow::bail!("--tcp-idle-timeout must be a positive number of seconds");
        }
        let nsid = nsid
            .as_deref()
            .map(edns::nsid_from_arg)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let edns = EdnsConfig {
            chaos: gslbd::dns::chaos::Chaos::new(
                nsid.as_deref(),
                (!hide_version).then_some(gslbd::dns::chaos::VERSION),
            ),
            nsid,
            cookie_secret: match cookie_secret.as_deref() {
                Some(hex) => CookieSecret::from_hex(hex)
                    .map_err(|e| anyhow::anyhow!("--cookie-secret: {e}"))?,
                None => CookieSecret::random()
                    .map_err(|e| anyhow::anyhow!("cannot make a cookie secret: {e}"))?,
            },
        };
        let probe_source = ProbeSource::new(&probe_source).context("--probe-source")?;
        let encrypted = encrypted(listen_tls, listen_quic, tls_cert, tls_key)?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cfg = ServeConfig {
            paths: config.paths(),
            listen,
            udp_workers: udp_threads.unwrap_or(cpus),
            udp_busy_poll: std::time::Duration::from_micros(udp_busy_poll),
            xdp,
            xdp_busy_poll,
            tcp: gslbd::dns::tcp::TcpLimits {
                idle: std::time::Duration::from_secs_f64(tcp_idle_timeout),
                max_connections: tcp_max_connections.max(1),
                max_per_client: tcp_max_per_client,
            },
            rrl: gslbd::dns::rrl::RrlConfig {
                rate: rrl_rate,
                slip: rrl_slip,
                table_size: rrl_table_size as usize,
            },
            admin: gslbd::admin::parse_listen(&admin).map_err(anyhow::Error::msg)?,
            admin_token: admin_token.filter(|t| !t.is_empty()),
            state_file,
            query_log_every: query_log_sample,
            watch: !no_watch,
            edns,
            probe_source,
            fleet: (!fleet.is_empty()).then(|| FleetConfig {
                urls: fleet,
                node: node.unwrap_or_else(host_name),
                health: match fleet_health {
                    FleetHealthArg::Local => FleetHealth::Local,
                    FleetHealthArg::Quorum => FleetHealth::Quorum,
                },
            }),
            encrypted,
        };
        Ok(cfg)
    }
}

/// The encrypted listeners, when asked for, with their certificate and key.
fn encrypted(
    tls: Vec<SocketAddr>,
    quic: Vec<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> anyhow::Result<Option<server::Encrypted>> {
    if tls.is_empty() && quic.is_empty() {
        if cert.is_some() || key.is_some() {
            anyhow::bail!(
                "--tls-cert and --tls-key serve --listen-tls and --listen-quic; give one"
            );
        }
        return Ok(None);
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        anyhow::bail!("--listen-tls and --listen-quic need --tls-cert FILE and --tls-key FILE");
    };
    Ok(Some(server::Encrypted {
        tls,
        quic,
        cert,
        key,
    }))
}

/// `--fleet-health`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FleetHealthArg {
    Local,
    Quorum,
}

/// The host name, the default node name of a fleet.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer it is given.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match (r, std::str::from_utf8(&buf[..end])) {
        (0, Ok(name)) if !name.is_empty() => name.to_string(),
        _ => "gslbd".to_string(),
    }
}

/// A network interface name as Linux takes it: 1 to 15 bytes, no '/', ':', whitespace,
/// quotes or backslashes (the name also labels metrics).
fn interface_name(s: &str) -> Result<String, String> {
    let bad = |c: char| c == '/' || c == ':' || c == '"' || c == '\\' || c.is_whitespace();
    if s.is_empty() || s.len() > 15 || s == "." || s == ".." || s.chars().any(bad) {
        return Err(format!(
            "`{s}` is not a network interface name (1 to 15 bytes, no / : \\ \" or spaces)"
        ));
    }
    Ok(s.to_string())
}
