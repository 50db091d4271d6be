//! Notices an `--xdp` interface that went away after the fast path started on it (deleted,
//! or deleted and made again under the same name, with a new index): its XDP program and
//! AF_XDP sockets went with it. gslbd says so in its log and in `/v1/status`; UDP DNS on the
//! interface, if it comes back, is answered by the kernel until gslbd restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch::Receiver;

use crate::state::Shared;

/// How often the interfaces are looked at.
const EVERY: Duration = Duration::from_secs(1);

/// Watches `attached` (name, index at attach time) until `stop` turns true or every one of
/// them is gone.
pub async fn watch(
    shared: Arc<Shared>,
    mut attached: Vec<(String, u32)>,
    mut stop: Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EVERY);
    while !attached.is_empty() {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tick.tick() => {}
        }
        attached.retain(|(iface, index)| {
            let now = super::ifindex(iface).ok();
            if now == Some(*index) {
                return true;
            }
            let what = match now {
                None => "went away",
                Some(_) => "was deleted and made again",
            };
            let reason = format!(
                "{iface} {what} after AF_XDP started on it, taking the XDP program and sockets \
                 with it; the kernel answers UDP on it now (restart gslbd to use AF_XDP again)"
            );
            tracing::error!(iface = %iface, "{reason}");
            if let Some(l) = shared.listening.get() {
                l.lost(iface, reason);
            }
            false
        });
    }
}
