//! Health: probes, rise/fall state and the immutable view the selector reads.

pub mod view;

pub use view::{HealthView, TargetHealth};
