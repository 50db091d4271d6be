//! The link to NATS: connects (and reconnects with backoff), creates the votes bucket,
//! publishes this node's votes whenever they change and at every heartbeat, and follows
//! every other node's. NATS is never on the query path: what arrives here only changes the
//! health view the next time it is built.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;
use tokio::sync::Notify;

use super::votes::{FleetHealth, NodeVotes, Votes};

/// The bucket of votes: one key per node, its latest `NodeVotes`.
pub const VOTES_BUCKET: &str = "gslbd_votes";
/// How often a node republishes its votes when nothing changed (what keeps them fresh): the
/// shortest probe interval, within these bounds, so votes never age past 3 intervals.
const HEARTBEAT_MIN: Duration = Duration::from_millis(100);
const HEARTBEAT_MAX: Duration = Duration::from_secs(1);
/// Reconnection backoff: doubles from the first to the last.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
];
/// A bucket operation that takes longer than this counts as NATS being unreachable.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// How this node joins the fleet (`serve --fleet URLS --node NAME --fleet-health MODE`).
#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub urls: Vec<String>,
    pub node: String,
    pub health: FleetHealth,
}

/// What the link shares with the health monitor.
pub struct FleetState {
    pub config: FleetConfig,
    /// The other nodes' votes, as last read.
    pub votes: Mutex<Votes>,
    /// Whether the link works now; without it the node answers from its own probes.
    pub connected: AtomicBool,
    /// Poked by the monitor when one of this node's verdicts flips.
    pub own_changed: Notify,
    /// The heartbeat in milliseconds (see `set_shortest_interval`).
    heartbeat_ms: AtomicU64,
}

impl FleetState {
    pub fn new(config: FleetConfig) -> Self {
        FleetState {
            config,
            votes: Mutex::new(Votes::default()),
            connected: AtomicBool::new(false),
            own_changed: Notify::new(),
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

    fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms.load(Ordering::Relaxed))
    }

    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
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

/// Runs the link until the process ends. `own` gives this node's current votes; `changed` is
/// called whenever what the fleet says (or whether it can be heard) changes.
pub async fn run(
    state: Arc<FleetState>,
    own: impl Fn() -> NodeVotes + Send + Sync + 'static,
    changed: impl Fn() + Send + Sync + 'static,
) {
    let own = Arc::new(own);
    let changed = Arc::new(changed);
    let mut attempt = 0usize;
    loop {
        match session(&state, own.clone(), changed.clone()).await {
            Ok(()) => attempt = 0,
            Err(e) => {
                tracing::warn!(error = %e, "fleet: NATS unreachable; answering from this node's own probes");
            }
        }
        if state.connected.swap(false, Ordering::Relaxed) {
            changed();
        }
        tokio::time::sleep(BACKOFF[attempt.min(BACKOFF.len() - 1)]).await;
        attempt += 1;
    }
}

/// One connection: until something fails.
async fn session(
    state: &Arc<FleetState>,
    own: Arc<dyn Fn() -> NodeVotes + Send + Sync>,
    changed: Arc<dyn Fn() + Send + Sync>,
) -> Result<(), String> {
    let urls: Vec<async_nats::ServerAddr> = state
        .config
        .urls
        .iter()
        .map(|u| u.parse().map_err(|e| format!("NATS URL `{u}`: {e}")))
        .collect::<Result<_, _>>()?;
    let client = tokio::time::timeout(
        OP_TIMEOUT,
        async_nats::ConnectOptions::new()
            .name(format!("gslbd {}", state.config.node))
            .connection_timeout(OP_TIMEOUT)
            .connect(urls),
    )
    .await
    .map_err(|_| "connect timed out".to_string())?
    .map_err(|e| format!("connect: {e}"))?;
    let js = jetstream::new(client);
    let bucket = timed(open_bucket(&js)).await?;
    let me = node_key(&state.config.node);
    let mut watch = timed(async { bucket.watch_all().await.map_err(|e| e.to_string()) }).await?;
    timed(publish(&bucket, &me, own.as_ref())).await?;
    state.connected.store(true, Ordering::Relaxed);
    tracing::info!(node = %state.config.node, "fleet: joined through NATS");
    changed();
    // A deadline, not a timer made anew each turn: other nodes' votes arriving must not
    // postpone ours.
    let mut next_beat = tokio::time::Instant::now() + state.heartbeat();
    loop {
        tokio::select! {
            entry = watch.next() => {
                let entry = entry.ok_or("the watch ended")?.map_err(|e| e.to_string())?;
                if entry.key == me {
                    continue;
                }
                let mut votes = state.votes.lock().unwrap();
                match entry.operation {
                    kv::Operation::Put => match NodeVotes::decode(&entry.value) {
                        Some(v) => votes.set(&entry.key, v),
                        None => tracing::debug!(node = %entry.key, "fleet: unreadable votes ignored"),
                    },
                    kv::Operation::Delete | kv::Operation::Purge => votes.remove(&entry.key),
                }
                drop(votes);
                changed();
            }
            _ = tokio::time::sleep_until(next_beat) => {
                timed(publish(&bucket, &me, own.as_ref())).await?;
                next_beat = tokio::time::Instant::now() + state.heartbeat();
            }
            _ = state.own_changed.notified() => {
                timed(publish(&bucket, &me, own.as_ref())).await?;
                next_beat = tokio::time::Instant::now() + state.heartbeat();
            }
        }
    }
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(OP_TIMEOUT, f)
        .await
        .map_err(|_| "NATS did not answer in time".to_string())?
}

/// The votes bucket, created when missing: one value per node (history 1), forgotten after
/// a minute without a heartbeat; replicated on up to 3 servers of the cluster. The bucket's
/// stream is created as the KV convention has it (`KV_<bucket>` over `$KV.<bucket>.>`)
/// rather than through the client's `create_key_value`, which first reads account limits in
/// a form NATS 2.9 (Debian 12) does not answer.
async fn open_bucket(js: &jetstream::Context) -> Result<kv::Store, String> {
    if let Ok(b) = js.get_key_value(VOTES_BUCKET).await {
        return Ok(b);
    }
    let mut last = String::new();
    for replicas in [3, 1] {
        let config = jetstream::stream::Config {
            name: format!("KV_{VOTES_BUCKET}"),
            description: Some("gslbd: each node's health votes".into()),
            subjects: vec![format!("$KV.{VOTES_BUCKET}.>")],
            max_messages_per_subject: 1,
            max_age: Duration::from_secs(60),
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: replicas,
            ..Default::default()
        };
        match js.create_stream(config).await {
            Ok(_) => break,
            Err(e) => last = e.to_string(),
        }
    }
    // Created now, or by another node meanwhile.
    js.get_key_value(VOTES_BUCKET)
        .await
        .map_err(|e| format!("cannot open the {VOTES_BUCKET} bucket: {e}; creating it: {last}"))
}

async fn publish(
    bucket: &kv::Store,
    me: &str,
    own: &(dyn Fn() -> NodeVotes + Send + Sync),
) -> Result<(), String> {
    let votes = own();
    bucket
        .put(me, votes.encode().into())
        .await
        .map(|_| ())
        .map_err(|e| format!("publishing votes: {e}"))
}
