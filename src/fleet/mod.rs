//! The fleet: several gslbd nodes sharing health verdicts, drains and configuration
//! fingerprints through NATS JetStream key-value buckets (spec §10).

pub mod bucket;
pub mod drains;
pub mod fingerprint;
pub mod follow;
pub mod ledger;
pub mod link;
pub mod member;
pub mod nodes;
pub mod pool_drains;
pub mod probe_set;
pub mod settings;
pub mod shifts;
pub mod state;
pub mod votes;

pub use ledger::Ledger;
pub use member::Member;
pub use nodes::{FleetView, Loaded};
pub use probe_set::{probe_id, ProbeSet};
pub use state::{node_key, now_ms, FleetConfig, FleetState};
pub use votes::{FleetHealth, NodeVotes, Tally, Votes};
