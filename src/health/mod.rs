//! Health: probes, rise/fall state, the monitor that runs them, and the immutable view the
//! selector reads.

pub mod drains;
pub mod gauges;
pub mod member;
pub mod monitor;
pub mod pool_drains;
pub mod probe;
pub mod shifts;
pub mod source;
pub mod state;
pub mod state_file;
pub mod status;
pub mod view;

pub use drains::DrainError;
pub use monitor::Monitor;
pub use pool_drains::PoolKey;
pub use shifts::Shift;
pub use source::{ProbeSource, ProbeSourceError};
pub use status::{FleetStatus, ShiftStatus, TargetStatus};
pub use view::{HealthView, TargetHealth};
