//! The state shared between the query loops and the control tasks.

use arc_swap::ArcSwap;

use crate::health::HealthView;
use crate::snapshot::Snapshot;

/// Read once per query, without locks; replaced whole by the reloader.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub health: ArcSwap<HealthView>,
}

impl Shared {
    pub fn new(snapshot: Snapshot) -> Self {
        Shared {
            snapshot: ArcSwap::from_pointee(snapshot),
            health: ArcSwap::from_pointee(HealthView::all_up()),
        }
    }
}
