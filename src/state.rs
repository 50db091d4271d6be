//! The state shared between the query loops and the control tasks.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::dns::edns::EdnsConfig;
use crate::health::HealthView;
use crate::metrics::Metrics;
use crate::snapshot::Snapshot;

/// What queries are answered from: a configuration and the health of its targets. The two
/// are published together so a query never sees a health view built for another snapshot.
pub struct Serving {
    pub snapshot: Arc<Snapshot>,
    pub health: Arc<HealthView>,
}

/// Read once per query, without locks; replaced whole by the reloader and the health
/// monitor (which serialise their writes through `update`).
pub struct Shared {
    pub serving: ArcSwap<Serving>,
    pub metrics: Arc<Metrics>,
    /// Log one query in this many (0: none).
    pub query_log_every: u64,
    /// NSID and cookie secret.
    pub edns: EdnsConfig,
    /// Response rate limiting of UDP answers, when on.
    pub rrl: Option<Arc<crate::dns::rrl::Rrl>>,
    /// What DNS is answered on, set once every listener is up.
    pub listening: std::sync::OnceLock<crate::dns::listening::Listening>,
    writer: std::sync::Mutex<()>,
}

impl Shared {
    pub fn new(snapshot: Snapshot) -> Self {
        Shared {
            serving: ArcSwap::from_pointee(Serving {
                snapshot: Arc::new(snapshot),
                health: Arc::new(HealthView::all_up()),
            }),
            metrics: Arc::new(Metrics::default()),
            query_log_every: 0,
            edns: EdnsConfig::default(),
            rrl: None,
            listening: std::sync::OnceLock::new(),
            writer: std::sync::Mutex::new(()),
        }
    }

    pub fn with_query_log(mut self, every: u64) -> Self {
        self.query_log_every = every;
        self
    }

    /// Turns response rate limiting on (a rate of 0 leaves it off).
    pub fn with_rrl(mut self, cfg: crate::dns::rrl::RrlConfig) -> Self {
        if cfg.rate > 0 {
            let rrl = Arc::new(crate::dns::rrl::Rrl::new(cfg));
            *self.metrics.rrl.lock().unwrap() = Some(rrl.clone());
            self.rrl = Some(rrl);
        }
        self
    }

    pub fn with_edns(mut self, edns: EdnsConfig) -> Self {
        self.edns = edns;
        self
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.serving.load().snapshot.clone()
    }

    /// Replaces what is served, computed from what is served now. Writers are serialised;
    /// readers never wait.
    pub fn update(&self, f: impl FnOnce(&Serving) -> Serving) {
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let next = f(&self.serving.load());
        self.serving.store(Arc::new(next));
    }
}

/// Gives memory freed by a (re)load back to the operating system. Loading reads whole
/// databases and lists and builds large temporary vectors; without this the allocator keeps
/// that peak as resident memory for the life of the process.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the OS; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
