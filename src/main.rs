//! The `gslbd` command line: serve, check, explain, diff, import, dnssec, schema (and the
//! hidden `man`, which writes the manual pages).

use std::path::PathBuf;
use std::process::ExitCode;

mod serve_args;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use gslbd::config::{self, Paths};
use gslbd::dns::explain;
use gslbd::health::HealthView;
use gslbd::preview;
use gslbd::server::{self, ServeError};

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
    Serve(serve_args::ServeArgs),
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
    match problems.0.len() {
        1 => eprintln!("1 problem found"),
        n => eprintln!("{n} problems found"),
    }
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
        Command::Serve(args) => match server::serve(args.into_config()?) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(ServeError::Config(problems)) => {
                eprintln!("gslbd: the configuration is not valid; not starting");
                print_problems(&problems);
                Ok(ExitCode::FAILURE)
            }
            Err(ServeError::ProbeSource(e)) => Err(anyhow::Error::new(e).context("--probe-source")),
            Err(e) => Err(e.into()),
        },
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
