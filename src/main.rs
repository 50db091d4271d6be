//! The `gslbd` command line: serve, check, explain, diff, import, dnssec, schema (and the
//! hidden `man`, which writes the manual pages).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use gslbd::config::{self, Paths};
use gslbd::dns::edns::{self, CookieSecret, EdnsConfig};
use gslbd::dns::explain;
use gslbd::fleet::FleetConfig;
use gslbd::fleet::FleetHealth;
use gslbd::health::{HealthView, ProbeSource};
use gslbd::preview;
use gslbd::server::{self, ServeConfig, ServeError};

#[derive(Parser)]
#[command(
    name = "gslbd",
    version,
    about = "Authoritative GeoDNS server for global server load balancing"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Clone)]
struct ConfigArgs {
    /// Directory of zone files (`<origin>.json`).
    #[arg(long, default_value = "zones")]
    zones: PathBuf,
    /// Directory of `regions.json`, databases and network lists.
    #[arg(long, default_value = "geo")]
    geo: PathBuf,
}

impl ConfigArgs {
    fn paths(&self) -> Paths {
        Paths {
            zones: self.zones.clone(),
            geo: self.geo.clone(),
        }
    }
}

// Parsed once per run: the size of the `serve` variant costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve DNS on UDP and TCP (and TLS, QUIC when asked) until SIGTERM or SIGINT.
    Serve {
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
        /// Microseconds a UDP thread keeps asking for the next query without sleeping after
        /// each batch (0: sleep at once). Trades CPU while idle for latency: on virtual
        /// machines waking a sleeping vCPU costs tens of microseconds per query.
        #[arg(long, default_value_t = 0, value_name = "MICROSECONDS")]
        udp_busy_poll: u64,
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
        /// dropped or slipped. 0 (the default): off.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
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
    },
    /// Validate the configuration and print a summary, or every problem.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Print the JSON Schema (draft 2020-12) of a configuration file, for editors.
    #[command(after_help = "Example:\n  gslbd schema zone > schema/zone.schema.json")]
    Schema {
        /// `zone` (zones/<origin>.json) or `regions` (geo/regions.json).
        #[arg(value_name = "FILE", value_parser = PossibleValuesParser::new(["zone", "regions"])
            .try_map(|s| s.parse::<config::schema::SchemaFile>()))]
        file: config::schema::SchemaFile,
    },
    /// Show how one query from one client is answered, and why.
    Explain {
        /// The name to ask for.
        name: String,
        /// The record type (default A).
        #[arg(default_value = "A")]
        qtype: String,
        /// The client: an address, or a subnet as a resolver sends in ECS.
        #[arg(long)]
        client: String,
        #[command(flatten)]
        config: ConfigArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Preview a reload: which clients would get another pool, and which names change.
    ///
    /// Compares the configuration in --zones/--geo (new) with the one in
    /// --against-zones/--against-geo (old, e.g. what runs now). Per GSLB name and type it
    /// lists the client address ranges whose answering pool (with every target up) moves,
    /// then the names and types added, removed or changed, then a summary. Exit status, as
    /// diff(1): 0 no changes, 1 changes, 2 trouble (a configuration with problems, listed
    /// as `gslbd check` lists them).
    #[command(
        after_help = "Example:\n  gslbd diff --zones new/zones --geo new/geo --against-zones zones --against-geo geo"
    )]
    Diff {
        #[command(flatten)]
        config: ConfigArgs,
        /// Zones directory of the configuration to compare against (the old one).
        #[arg(long, value_name = "DIR")]
        against_zones: PathBuf,
        /// Geo directory of the configuration to compare against (the old one).
        #[arg(long, value_name = "DIR")]
        against_geo: PathBuf,
        /// Print JSON instead of text (the schema is in the README).
        #[arg(long)]
        json: bool,
    },
    /// Convert an RFC 1035 master file (BIND, NSD, Knot) to zone JSON on stdout.
    ///
    /// Save the output as `<origin without the final dot>.json` in the zones directory
    /// (`example.com.json` for `example.com.`): gslbd loads a zone only under that name.
    /// Records the JSON cannot express are listed as FILE:LINE: message (exit 1), syntax
    /// errors as FILE:LINE:COLUMN: message.
    #[command(
        after_help = "Example:\n  gslbd import examples/example.com.zone > zones/example.com.json"
    )]
    Import {
        /// The master file.
        file: PathBuf,
        /// Origin for relative names before the first $ORIGIN (default: from the file name,
        /// e.g. `example.com.zone` or `db.example.com` → `example.com.`).
        #[arg(long, value_name = "NAME")]
        origin: Option<String>,
        /// Skip records the JSON cannot express (still listed on stderr) and exit 0.
        #[arg(long)]
        skip_unsupported: bool,
    },
    /// DNSSEC keys: make a key pair, print the DS records for the parent zone.
    Dnssec {
        #[command(subcommand)]
        command: DnssecCommand,
    },
    /// Write the manual pages, gslbd(1) and one per subcommand (gslbd-serve(1), ...), into DIR.
    ///
    /// The pages come from this command line definition (clap_mangen), walking every
    /// subcommand, so a new subcommand gets its page with no change here. They are committed
    /// under packaging/man/ (`gslbd man packaging/man`) rather than made by a build script:
    /// the definition lives in this binary, where no build script can reach it, and
    /// `cargo deb` packages files that exist before it runs. tests/man_pages.rs fails when
    /// the committed pages differ from what this writes.
    #[command(hide = true)]
    Man {
        /// The directory to write `gslbd.1`, `gslbd-serve.1`, ... into (created if missing).
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum DnssecCommand {
    /// Make a key pair in BIND's format (`K<zone>.+<alg>+<tag>.key` and `.private`) and print
    /// its base name, to list in the zone's `"dnssec": { "keys": [...] }`.
    #[command(after_help = "Example:\n  gslbd dnssec keygen example.com --ksk")]
    Keygen {
        /// The zone (`example.com` or `example.com.`).
        zone: String,
        /// 13 (ECDSAP256SHA256) or 15 (ED25519).
        #[arg(long, default_value = "13")]
        algorithm: gslbd::dnssec::Algorithm,
        /// Make a KSK (flags 257; alone, it signs everything) instead of a ZSK (flags 256).
        #[arg(long)]
        ksk: bool,
        /// Directory to write the key files into.
        #[arg(long, default_value = "zones")]
        dir: PathBuf,
    },
    /// Print the DS records (SHA-256) of the zone's KSKs, for the parent zone or registrar.
    Ds {
        /// The zone (`example.com` or `example.com.`).
        zone: String,
        /// Directory of zone files (`<origin>.json`) and their key files.
        #[arg(long, default_value = "zones")]
        zones: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("GSLBD_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gslbd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn print_problems(problems: &config::Problems) {
    for p in &problems.0 {
        eprintln!("{p}");
    }
    eprintln!("{} problems found", problems.0.len());
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Dnssec { command } => dnssec(command),
        Command::Man { dir } => {
            std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Schema { file } => {
            print!("{}", file.text());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            origin,
            skip_unsupported,
        } => {
            let options = gslbd::import::Options {
                origin,
                skip_unsupported,
            };
            match gslbd::import::import(&file, &options) {
                Ok(imported) => {
                    for w in &imported.warnings {
                        eprintln!("{w}");
                    }
                    print!("{}", imported.json);
                    Ok(ExitCode::SUCCESS)
                }
                Err(gslbd::import::ImportError::Problems(problems)) => {
                    print_problems(&problems);
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Serve {
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
            tcp_idle_timeout,
            tcp_max_connections,
            tcp_max_per_client,
            rrl_rate,
            rrl_slip,
            rrl_table_size,
            query_log_sample,
            no_watch,
            nsid,
            cookie_secret,
            probe_source,
            fleet,
            node,
            fleet_health,
        } => {
            if udp_busy_poll > 1_000_000 {
                anyhow::bail!("--udp-busy-poll is in microseconds and at most 1000000");
            }
            if !(tcp_idle_timeout.is_finite() && tcp_idle_timeout > 0.0) {
                anyhow::bail!("--tcp-idle-timeout must be a positive number of seconds");
            }
            let edns = EdnsConfig {
                nsid: nsid
                    .as_deref()
                    .map(edns::nsid_from_arg)
                    .transpose()
                    .map_err(anyhow::Error::msg)?,
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
            match server::serve(cfg) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(ServeError::Config(problems)) => {
                    eprintln!("gslbd: the configuration is not valid; not starting");
                    print_problems(&problems);
                    Ok(ExitCode::FAILURE)
                }
                Err(ServeError::ProbeSource(e)) => {
                    Err(anyhow::Error::new(e).context("--probe-source"))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Check { config } => match config::load(&config.paths()) {
            Ok(snap) => {
                for z in &snap.zones {
                    println!(
                        "{}: {} names, serial {}{}{} ({})",
                        z.origin,
                        z.names,
                        z.serial,
                        z.shape(),
                        z.signing(),
                        z.file.display()
                    );
                }
                println!(
                    "configuration OK: {} zones, {} regions, {} gslb records, {} health probes",
                    snap.zones.len(),
                    snap.geo.regions.len(),
                    snap.gslb.records.len(),
                    snap.gslb.probes.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                print_problems(&problems);
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Diff {
            config,
            against_zones,
            against_geo,
            json,
        } => {
            let old = Paths {
                zones: against_zones,
                geo: against_geo,
            };
            match preview::diff_paths(&config.paths(), &old) {
                Ok(p) => {
                    if json {
                        println!("{}", serde_json::to_string_pretty(&p)?);
                    } else {
                        print!("{}", preview::render::text(&p));
                    }
                    Ok(ExitCode::from(u8::from(p.changed)))
                }
                Err(e) => {
                    eprintln!("gslbd: {e}");
                    print_problems(e.problems());
                    Ok(ExitCode::from(2))
                }
            }
        }
        Command::Explain {
            name,
            qtype,
            client,
            config,
            json,
        } => {
            let snap = match config::load(&config.paths()) {
                Ok(s) => s,
                Err(problems) => {
                    print_problems(&problems);
                    return Ok(ExitCode::FAILURE);
                }
            };
            let client = explain::parse_client(&client)?;
            let e = explain::explain(&snap, &HealthView::all_up(), &name, &qtype, client)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print!("{e}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn dnssec(command: DnssecCommand) -> anyhow::Result<ExitCode> {
    match command {
        DnssecCommand::Keygen {
            zone,
            algorithm,
            ksk,
            dir,
        } => {
            println!(
                "{}",
                gslbd::dnssec::keygen::keygen(&zone, algorithm, ksk, &dir)?
            );
            Ok(ExitCode::SUCCESS)
        }
        DnssecCommand::Ds { zone, zones } => match config::ds_records(&zones, &zone) {
            Ok(lines) => {
                for l in lines {
                    println!("{l}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                print_problems(&problems);
                Ok(ExitCode::FAILURE)
            }
        },
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
