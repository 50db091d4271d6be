//! Health: probes, rise/fall state, the monitor that runs them, and the immutable view the
//! selector reads.

pub mod monitor;
pub mod probe;
pub mod source;
pub mod state;
pub mod view;

pub use monitor::{DrainError, Monitor, TargetStatus};
pub use source::{ProbeSource, ProbeSourceError};
pub use view::{HealthView, TargetHealth};
