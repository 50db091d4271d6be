//! The configuration watcher: asks the reloader for a reload when anything under the zones or
//! geo directory changes, and keeps following those directories when they are replaced whole.
//!
//! # Design
//!
//! A configured path such as `/srv/gslbd/current/zones` is a *route*: a chain of lookups
//! (`srv` in `/`, `gslbd` in `/srv`, `current` in `/srv/gslbd`, which is a symlink to
//! `releases/41`, so `releases` in `/srv/gslbd`, `41` in `/srv/gslbd/releases`, `zones` in
//! `/srv/gslbd/releases/41`) ending at a *target* directory. inotify watches inodes, not
//! paths, so a watch on the target alone goes on watching the old directory after any of
//! those entries changes. The watcher therefore watches:
//!
//! - each target recursively, for the files in it (edits, renames, ConfigMap `..data` swaps
//!   when `--zones` is the mount itself);
//! - each directory a step looks in, non-recursively, and keeps only the events that name a
//!   looked-up entry (or the directory itself moving or going away). Everything else there
//!   (other files in `/tmp`, the `current.tmp` link being made) is dropped in the callback;
//!   opens and reads, most of the traffic in a busy directory such as `/etc`, are dropped
//!   before any lookup.
//!
//! A step event means the route may lead elsewhere: once events have been quiet for
//! [`QUIET`], the watcher resolves every route again, re-arms *all* watches on the inodes the
//! paths now lead to (even when the new route looks the same: a directory deleted and created
//! again may reuse its inode number, and its old watch is dead), checks the routes again in
//! case they moved while it re-armed, and then asks for a reload. The reload reads after the
//! new watches are in place, so nothing written in between is missed. This covers a symlink
//! swap anywhere on the way (`mv -T current.tmp current`, a ConfigMap's `..data`), a directory
//! renamed away and another renamed in, and a directory deleted and created again. While a
//! directory is missing, the route ends at the directory it would appear in, so its return is
//! seen; reloads meanwhile fail like any bad reload and the old configuration keeps serving.
//!
//! As a safety net for changes inotify cannot report (a step directory that cannot be watched,
//! lost events), the watcher re-resolves the routes every [`RECHECK`] — a few `lstat` and
//! `readlink` calls, no directory walk — and re-arms and reloads only if a route changed.
//! Watches that could not be set are retried then too.
//!
//! The watcher runs on its own thread (notify's calls block), which only ever waits on a
//! channel with a timeout: no polling.

mod interest;
mod route;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};

use crate::reload::{Reloader, FILE_CHANGE};
use interest::{Interest, Relevance};
use route::Route;

/// How long the watcher waits for writes to stop before reloading.
pub const QUIET: Duration = Duration::from_millis(400);

/// How often the routes are resolved again without any event, as a safety net.
pub const RECHECK: Duration = Duration::from_secs(2);

/// How many times in a row re-arming may find that the routes moved meanwhile.
const REARM_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot start the file watcher: {0}")]
    Notify(#[from] notify::Error),
    #[error("cannot start the file watcher thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// What the notify callback tells the watcher thread besides waking it.
#[derive(Default)]
struct Flags {
    /// A route may have changed: re-resolve and re-arm.
    route: AtomicBool,
    /// The watcher was dropped.
    stop: AtomicBool,
}

/// A running configuration watcher. Dropping it stops watching.
pub struct ConfigWatcher {
    flags: Arc<Flags>,
    wake: SyncSender<()>,
}

impl ConfigWatcher {
    /// Watches `dirs` (as configured: relative to the working directory, symlinks and all) and
    /// asks `reloader` for a reload when they change or are replaced.
    pub fn start(reloader: Reloader, dirs: &[PathBuf]) -> Result<ConfigWatcher, WatchError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let flags = Arc::new(Flags::default());
        let interest = Arc::new(RwLock::new(Interest::default()));
        // Capacity 1: wake-ups coalesce while the thread is busy.
        let (wake, woken) = sync_channel::<()>(1);
        let watcher = {
            let (flags, interest, wake) = (flags.clone(), interest.clone(), wake.clone());
            notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
                on_event(ev, &interest, &flags, &wake);
            })?
        };
        let mut follower = Follower {
            watcher,
            interest,
            dirs: dirs.to_vec(),
            cwd,
            routes: Vec::new(),
            armed: BTreeMap::new(),
            failed: BTreeSet::new(),
            reloader,
        };
        let routes = follower.resolve();
        follower.arm(routes, true);
        let thread_flags = flags.clone();
        std::thread::Builder::new()
            .name("gslbd-watch".into())
            .spawn(move || follower.run(&woken, &thread_flags))
            .map_err(WatchError::Thread)?;
        Ok(ConfigWatcher { flags, wake })
    }
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.flags.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.try_send(());
    }
}

/// The notify callback: classifies the event, notes a route change, wakes the thread.
fn on_event(
    ev: notify::Result<notify::Event>,
    interest: &RwLock<Interest>,
    flags: &Flags,
    wake: &SyncSender<()>,
) {
    let relevance = match &ev {
        Ok(ev) => interest
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .classify(ev),
        Err(e) => {
            tracing::warn!(error = %e, "file watcher error; checking the configuration directories again");
            Relevance::Route
        }
    };
    match relevance {
        Relevance::None => return,
        Relevance::Route => flags.route.store(true, Ordering::SeqCst),
        Relevance::Content => {}
    }
    let _ = wake.try_send(());
}

/// The watcher thread's state.
struct Follower {
    watcher: notify::RecommendedWatcher,
    interest: Arc<RwLock<Interest>>,
    dirs: Vec<PathBuf>,
    cwd: PathBuf,
    /// The routes the watches were set for, one per `dirs` entry.
    routes: Vec<Route>,
    /// The watches in place, as (path, recursive).
    armed: BTreeMap<PathBuf, bool>,
    /// Watches that could not be set (retried at each re-check, reported once).
    failed: BTreeSet<PathBuf>,
    reloader: Reloader,
}

impl Follower {
    fn resolve(&self) -> Vec<Route> {
        self.dirs
            .iter()
            .map(|d| Route::resolve(d, &self.cwd))
            .collect()
    }

    fn run(mut self, woken: &Receiver<()>, flags: &Flags) {
        let mut next_check = Instant::now() + RECHECK;
        loop {
            let wait = next_check.saturating_duration_since(Instant::now());
            let result = woken.recv_timeout(wait);
            if flags.stop.load(Ordering::SeqCst) {
                return;
            }
            match result {
                Ok(()) => {
                    if !settle(woken, flags) {
                        return;
                    }
                    let forced = flags.route.swap(false, Ordering::SeqCst);
                    self.follow(forced);
                    self.reloader.request(FILE_CHANGE);
                }
                Err(RecvTimeoutError::Timeout) => {
                    next_check = Instant::now() + RECHECK;
                    if self.follow(false) {
                        self.reloader.request(FILE_CHANGE);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Resolves the routes again and re-arms every watch if they changed or `forced`; only
    /// retries failed watches otherwise. Returns whether a route changed.
    fn follow(&mut self, forced: bool) -> bool {
        let mut routes = self.resolve();
        let changed = routes != self.routes;
        if !changed && !forced {
            if !self.failed.is_empty() {
                self.arm(routes, false);
            }
            return false;
        }
        for _ in 0..REARM_ATTEMPTS {
            self.report(&routes);
            self.arm(routes, true);
            routes = self.resolve();
            if routes == self.routes {
                break;
            }
        }
        changed
    }

    /// Logs the directories that now lead elsewhere.
    fn report(&self, routes: &[Route]) {
        for (i, (dir, new)) in self.dirs.iter().zip(routes).enumerate() {
            let old = self.routes.get(i).and_then(|r| r.target.as_ref());
            if old == new.target.as_ref() {
                continue;
            }
            match &new.target {
                Some(t) => tracing::info!(
                    dir = %dir.display(),
                    now = %t.path.display(),
                    "configuration directory replaced; following it"
                ),
                None => tracing::warn!(
                    dir = %dir.display(),
                    "configuration directory is gone; watching for it to come back"
                ),
            }
        }
    }

    /// Sets the watches `routes` need. `full` removes every watch first and sets them all
    /// again (on the inodes the paths lead to now); otherwise only missing ones are added and
    /// stale ones removed.
    fn arm(&mut self, routes: Vec<Route>, full: bool) {
        let interest = Interest::new(&routes);
        let plan = interest.plan();
        *self.interest.write().unwrap_or_else(|e| e.into_inner()) = interest;
        let armed = std::mem::take(&mut self.armed);
        for (path, recursive) in armed {
            if full || plan.get(&path) != Some(&recursive) {
                // A watch on a deleted or moved-away directory is already gone: not an error.
                let _ = self.watcher.unwatch(&path);
            } else {
                self.armed.insert(path, recursive);
            }
        }
        let mut failed = BTreeSet::new();
        for (path, &recursive) in &plan {
            if self.armed.contains_key(path) {
                continue;
            }
            let mode = if recursive {
                RecursiveMode::Recursive
            } else {
                RecursiveMode::NonRecursive
            };
            match self.watcher.watch(path, mode) {
                Ok(()) => {
                    self.armed.insert(path.clone(), recursive);
                }
                Err(e) => {
                    if !self.failed.contains(path) {
                        tracing::warn!(
                            path = %path.display(),
                            error = %e,
                            recheck = ?RECHECK,
                            "cannot watch; changes there are seen at the next re-check"
                        );
                    }
                    failed.insert(path.clone());
                }
            }
        }
        self.failed = failed;
        self.routes = routes;
    }
}

/// Waits until no event has come for `QUIET`. False when the watcher is stopping.
fn settle(woken: &Receiver<()>, flags: &Flags) -> bool {
    loop {
        let result = woken.recv_timeout(QUIET);
        if flags.stop.load(Ordering::SeqCst) {
            return false;
        }
        match result {
            Ok(()) => continue,
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}
