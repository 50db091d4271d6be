//! Health: probes, rise/fall state, the monitor that runs them, and the immutable view the
//! selector reads.

pub mod drains;
pub mod member;
pub mod monitor;
pub mod probe;
pub mod source;
pub mod state;
pub mod status;
pub mod view;

pub use drains::DrainError;
pub use monitor::Monitor;
pub use source::{ProbeSource, ProbeSourceError};
pub use status::{FleetStatus, TargetStatus};
pub use view::{HealthView, TargetHealth};
