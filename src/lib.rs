//! gslbd: an authoritative DNS server for global server load balancing.

pub mod admin;
pub mod config;
pub mod dns;
pub mod dnssec;
pub mod fleet;
pub mod geo;
pub mod gslb;
pub mod health;
pub mod import;
pub mod metrics;
pub mod preview;
pub mod reload;
pub mod select;
pub mod server;
pub mod snapshot;
pub mod state;
pub mod watcher;
