//! What a fleet member shares between its NATS link, its health monitor and its admin API:
//! how it joined, whether NATS can be heard, the other nodes' votes and descriptions, and
//! the pokes that make the link publish.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::nodes::{Loaded, Nodes};
use super::votes::{FleetHealth, Votes};

/// How often a node republishes its votes when nothing changed (what keeps them fresh): the
/// shortest probe interval, within these bounds, so votes never age past 3 intervals.
const HEARTBEAT_MIN: Duration = Duration::from_millis(100);
const HEARTBEAT_MAX: Duration = Duration::from_secs(1);

/// How this node joins the fleet (`serve --fleet URLS --node NAME --fleet-health MODE`).
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub urls: Vec<String>,
    pub node: String,
    pub health: FleetHealth,
}

/// The state one node's fleet link shares with the rest of the process.
pub struct FleetState {
    pub config: FleetConfig,
    /// The other nodes' votes, as last read.
    pub votes: Mutex<Votes>,
    /// Every node's description (`/v1/fleet`), as last read; this node's own included.
    pub nodes: Mutex<Nodes>,
    /// The configuration this node serves, as it describes it to the fleet.
    pub loaded: Mutex<Loaded>,
    /// Whether the link works now; without it the node answers from its own probes.
    pub connected: AtomicBool,
    /// Poked by the monitor when one of this node's verdicts flips.
    pub own_changed: Notify,
    /// Poked when a drain, pool drain or shift is made through this node's API.
    pub drains_changed: Notify,
    /// Poked when this node loaded a new configuration.
    pub loaded_changed: Notify,
    /// The heartbeat in milliseconds (see `set_shortest_interval`).
    heartbeat_ms: AtomicU64,
}

impl FleetState {
    pub fn new(config: FleetConfig) -> Self {
        FleetState {
            config,
            votes: Mutex::new(Votes::default()),
            nodes: Mutex::new(Nodes::default()),
            loaded: Mutex::new(Loaded::default()),
            connected: AtomicBool::new(false),
            own_changed: Notify::new(),
            drains_changed: Notify::new(),
            loaded_changed: Notify::new(),
            heartbeat_ms: AtomicU64::new(HEARTBEAT_MAX.as_millis() as u64),
        }
    }

    /// Sets the heartbeat from the shortest probe interval of the served configuration.
    pub fn set_shortest_interval(&self, interval: Option<Duration>) {
        let beat = interval
            .unwrap_or(HEARTBEAT_MAX)
            .clamp(HEARTBEAT_MIN, HEARTBEAT_MAX);
        self.heartbeat_ms
            .store(beat.as_millis() as u64, Ordering::Relaxed);
    }

    pub(super) fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed))
    }

    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Records the configuration just loaded and has the link tell the fleet.
    pub fn set_loaded(&self, loaded: Loaded) {
        *self.loaded.lock().unwrap() = loaded;
        self.loaded_changed.notify_one();
    }

    /// This node's key in the buckets.
    pub fn key(&self) -> String {
        node_key(&self.config.node)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A NATS key for a node name: letters, digits, `-` and `_` kept, anything else as `_`.
pub fn node_key(node: &str) -> String {
    node.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
