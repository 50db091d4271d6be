//! The fleet: several gslbd nodes sharing health verdicts, drains and configuration
//! fingerprints through NATS JetStream key-value buckets (spec §10). Work in progress: the
//! quorum view and the vote encoding are here; the NATS link comes next.

pub mod link;
pub mod votes;

pub use votes::{probe_id, FleetHealth, NodeVotes, Verdict, Votes};
