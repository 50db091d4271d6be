//! The reloader: the one task that loads new configurations, whatever triggered it (file
//! watcher, SIGHUP, admin API), so reloads never overlap and are all-or-nothing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::config::{self, Paths};
use crate::dns::certs::CertStore;
use crate::fleet::{fingerprint, Loaded};
use crate::health::Monitor;
use crate::preview::{self, Preview};
use crate::snapshot::Snapshot;
use crate::state::Shared;

/// The trigger name of the file watcher (`crate::watcher`).
pub(crate) const FILE_CHANGE: &str = "file change";

/// A stamp of every file under `dirs` (following symlinks, as the loader does): path, size,
/// modification time and inode. Any write or rename changes it; cheap, unlike the content
/// fingerprint a fleet compares.
fn stamp(dirs: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut entries = Vec::new();
    let mut stack: Vec<(PathBuf, usize)> = dirs.iter().map(|d| (d.clone(), 0)).collect();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                if depth < 8 {
                    stack.push((path, depth + 1));
                }
            } else {
                let link = std::fs::read_link(&path).ok();
                entries.push((
                    path,
                    link,
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    meta.ino(),
                ));
            }
        }
    }
    entries.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    entries.hash(&mut h);
    h.finish()
}

/// The outcome of one reload attempt, as `/v1/reload` returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReloadOutcome {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One reload attempt, for `/v1/status` (`last_reload`, and the history in `reloads`).
#[derive(Debug, Clone, Serialize)]
pub struct LastReload {
    pub ok: bool,
    pub at: String,
    pub trigger: &'static str,
    /// The generation the reload installed (absent when it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    pub problems: Vec<String>,
}

/// How many reload attempts `/v1/status` keeps in `reloads`.
pub const RELOAD_HISTORY: usize = 20;

/// What `/v1/status` shows about loading.
#[derive(Debug, Clone, Serialize)]
pub struct LoadStatus {
    pub generation: u64,
    pub loaded_at: String,
    pub last_reload: Option<LastReload>,
    /// The last reload attempts, newest first (at most [`RELOAD_HISTORY`]).
    pub reloads: std::collections::VecDeque<LastReload>,
}

struct Request {
    trigger: &'static str,
    reply: Option<oneshot::Sender<ReloadOutcome>>,
}

/// A handle to ask for reloads. Cheap to clone.
#[derive(Clone)]
pub struct Reloader {
    tx: mpsc::Sender<Request>,
    status: Arc<Mutex<LoadStatus>>,
    /// Where the configuration is read from (for dry runs).
    paths: Paths,
    /// The TLS certificate and key, read again by SIGHUP and `POST /v1/reload`.
    certs: Arc<OnceLock<Arc<CertStore>>>,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Loads and compiles the configuration off the async threads; in a fleet, with the
/// fingerprint of the files (taken first: files changing meanwhile make another reload).
async fn load(paths: &Paths, fleet: bool) -> Result<(Snapshot, Option<String>), Vec<String>> {
    let paths = paths.clone();
    let work = move || {
        let print =
            fleet.then(|| fingerprint::fingerprint(&[paths.zones.clone(), paths.geo.clone()]));
        config::load(&paths).map(|s| (s, print))
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(p)) => Err(p.0.iter().map(|p| p.to_string()).collect()),
        Err(e) => Err(vec![format!("the loader panicked: {e}")]),
    }
}

impl Reloader {
    /// Starts the reloader task. The snapshot being served counts as generation 1.
    pub fn spawn(paths: Paths, shared: Arc<Shared>, monitor: Monitor) -> Reloader {
        let (tx, mut rx) = mpsc::channel::<Request>(64);
        let loaded_at = now();
        let status = Arc::new(Mutex::new(LoadStatus {
            generation: 1,
            loaded_at: loaded_at.clone(),
            last_reload: None,
            // The history starts with the load at start-up, so a console shows since when
            // the first configuration served.
            reloads: std::collections::VecDeque::from([LastReload {
                ok: true,
                at: loaded_at,
                trigger: "start",
                generation: Some(1),
                problems: Vec::new(),
            }]),
        }));
        shared
            .metrics
            .generation
            .store(1, std::sync::atomic::Ordering::Relaxed);
        let st = status.clone();
        let dirs = [paths.zones.clone(), paths.geo.clone()];
        let own_paths = paths.clone();
        if let Some(f) = monitor.fleet() {
            f.set_loaded(Loaded {
                generation: 1,
                fingerprint: fingerprint::fingerprint(&dirs),
                loaded_at: status.lock().unwrap().loaded_at.clone(),
            });
        }
        // What the files looked like when the running configuration was last loaded.
        let mut loaded_from = stamp(&dirs);
        let certs = Arc::new(OnceLock::<Arc<CertStore>>::new());
        let own_certs = certs.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Requests that queued up while we were busy are served by this one load.
                let mut waiting = vec![first];
                while let Ok(more) = rx.try_recv() {
                    waiting.push(more);
                }
                let trigger = waiting[0].trigger;
                if let Some(c) = certs
                    .get()
                    .filter(|_| waiting.iter().any(|w| w.trigger != FILE_CHANGE))
                {
                    let c = c.clone();
                    let _ = tokio::task::spawn_blocking(move || c.reload_logged()).await;
                }
                let now_seen = stamp(&dirs);
                if waiting.iter().all(|w| w.trigger == FILE_CHANGE) && now_seen == loaded_from {
                    // The watcher saw the files a reload has already read (e.g. just after
                    // POST /v1/reload): nothing to do.
                    tracing::debug!("files unchanged since the last load; not reloading");
                    shared
                        .metrics
                        .reloads_unchanged
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                }
                loaded_from = now_seen;
                let fleet = monitor.fleet();
                let outcome = match load(&paths, fleet.is_some()).await {
                    Ok((mut snap, print)) => {
                        shared.metrics.assign_slots(&mut snap);
                        let summary = (snap.zones.len(), snap.gslb.records.len());
                        monitor.install(Arc::new(snap));
                        crate::state::release_freed_memory();
                        let generation = {
                            let mut s = st.lock().unwrap();
                            s.generation += 1;
                            s.loaded_at = now();
                            if let (Some(f), Some(fingerprint)) = (&fleet, print) {
                                f.set_loaded(Loaded {
                                    generation: s.generation,
                                    fingerprint,
                                    loaded_at: s.loaded_at.clone(),
                                });
                            }
                            s.generation
                        };
                        shared
                            .metrics
                            .reloads_ok
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        shared
                            .metrics
                            .generation
                            .store(generation, std::sync::atomic::Ordering::Relaxed);
                        tracing::info!(
                            trigger,
                            generation,
                            zones = summary.0,
                            gslb_records = summary.1,
                            "configuration reloaded"
                        );
                        ReloadOutcome {
                            ok: true,
                            generation: Some(generation),
                            problems: vec![],
                        }
                    }
                    Err(problems) => {
                        shared
                            .metrics
                            .reloads_failed
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        for p in &problems {
                            tracing::error!(trigger, problem = %p, "reload rejected; still serving the previous configuration");
                        }
                        ReloadOutcome {
                            ok: false,
                            generation: None,
                            problems,
                        }
                    }
                };
                {
                    let attempt = LastReload {
                        ok: outcome.ok,
                        at: now(),
                        trigger,
                        generation: outcome.generation,
                        problems: outcome.problems.clone(),
                    };
                    let mut s = st.lock().unwrap();
                    s.reloads.push_front(attempt.clone());
                    s.reloads.truncate(RELOAD_HISTORY);
                    s.last_reload = Some(attempt);
                }
                for w in waiting {
                    if let Some(reply) = w.reply {
                        let _ = reply.send(outcome.clone());
                    }
                }
            }
        });
        Reloader {
            tx,
            status,
            paths: own_paths,
            certs: own_certs,
        }
    }

    /// A dry run (`POST /v1/reload?dry_run=1`): loads the files as a reload would and
    /// previews what they would change against `running`, applying nothing (no install, no
    /// generation, no status). Off the async threads, beside any reload in progress.
    pub async fn dry_run(&self, running: Arc<Snapshot>) -> Result<Preview, Vec<String>> {
        let paths = self.paths.clone();
        let work = move || config::load(&paths).map(|new| preview::compare(&running, &new));
        match tokio::task::spawn_blocking(work).await {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(p)) => Err(p.0.iter().map(|p| p.to_string()).collect()),
            Err(e) => Err(vec![format!("the loader panicked: {e}")]),
        }
    }

    /// Reloads now and waits for the outcome.
    pub async fn reload(&self, trigger: &'static str) -> ReloadOutcome {
        let (reply, rx) = oneshot::channel();
        let gone = ReloadOutcome {
            ok: false,
            generation: None,
            problems: vec!["the reloader has stopped".into()],
        };
        if self
            .tx
            .send(Request {
                trigger,
                reply: Some(reply),
            })
            .await
            .is_err()
        {
            return gone;
        }
        rx.await.unwrap_or(gone)
    }

    /// Asks for a reload without waiting.
    pub fn request(&self, trigger: &'static str) {
        let _ = self.tx.try_send(Request {
            trigger,
            reply: None,
        });
    }

    pub fn status(&self) -> LoadStatus {
        self.status.lock().unwrap().clone()
    }

    /// Reads the TLS certificate and key again on each reload but those the file watcher
    /// asks for (set once).
    pub fn reload_certs(&self, certs: Arc<CertStore>) {
        let _ = self.certs.set(certs);
    }

    /// Reloads on SIGHUP.
    pub fn watch_sighup(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hup = signal(SignalKind::hangup())?;
        let me = self.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                me.request("SIGHUP");
            }
        });
        Ok(())
    }
}
