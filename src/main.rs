//! The `gslbd` command line: serve, check, explain.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use gslbd::config::{self, Paths};
use gslbd::dns::explain;
use gslbd::health::HealthView;
use gslbd::server::{self, ServeConfig, ServeError};

#[derive(Parser)]
#[command(
    name = "gslbd",
    version,
    about = "Authoritative GeoDNS server for global server load balancing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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

#[derive(Subcommand)]
enum Command {
    /// Serve DNS on UDP and TCP until SIGTERM or SIGINT.
    Serve {
        #[command(flatten)]
        config: ConfigArgs,
        /// Address to answer on, UDP and TCP (repeatable). Port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:5300")]
        listen: Vec<SocketAddr>,
        /// Admin HTTP API address, or `off`.
        #[arg(long, default_value = "127.0.0.1:9153")]
        admin: String,
        /// UDP receive threads per listen address (default: one per CPU).
        #[arg(long)]
        udp_threads: Option<usize>,
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
    /// Validate the configuration and print a summary, or every problem.
    Check {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GSLBD_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gslbd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            admin,
            udp_threads,
        } => {
            let _ = admin;
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let cfg = ServeConfig {
                paths: config.paths(),
                listen,
                udp_workers: udp_threads.unwrap_or(cpus),
                tcp: Default::default(),
            };
            match server::serve(cfg) {
                Ok(()) => Ok(ExitCode::SUCCESS),
                Err(ServeError::Config(problems)) => {
                    eprintln!("gslbd: the configuration is not valid; not starting");
                    for p in &problems.0 {
                        eprintln!("{p}");
                    }
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
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
                    for p in &problems.0 {
                        eprintln!("{p}");
                    }
                    return Ok(ExitCode::FAILURE);
                }
            };
            let client = explain::parse_client(&client)?;
            let health = HealthView::all_up();
            let e = explain::explain(&snap, &health, &name, &qtype, client)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                print!("{e}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => match config::load(&config.paths()) {
            Ok(snap) => {
                for z in &snap.zones {
                    println!(
                        "{}: {} names, serial {} ({})",
                        z.origin,
                        z.names,
                        z.serial,
                        z.file.display()
                    );
                }
                println!("configuration OK: {} zones", snap.zones.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                for p in &problems.0 {
                    eprintln!("{p}");
                }
                eprintln!("{} problems found", problems.0.len());
                Ok(ExitCode::FAILURE)
            }
        },
    }
}
