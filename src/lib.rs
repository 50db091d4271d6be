//! gslbd: an authoritative DNS server for global server load balancing.

pub mod config;
pub mod dns;
pub mod gslb;
pub mod server;
pub mod snapshot;
pub mod state;
