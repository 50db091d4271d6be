//! The watcher's interest: which filesystem events matter for the current routes, and which
//! watches they need. Shared between the notify callback (which classifies every event) and
//! the watcher thread (which replaces it whenever it re-arms).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use notify::event::{EventKind, ModifyKind};
use notify::Event;

use super::route::Route;

/// What an event means for the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relevance {
    /// Nothing we load.
    None,
    /// A file or directory under a configuration directory changed: reload.
    Content,
    /// An entry on the way to a configuration directory changed (a symlink swapped, a
    /// directory renamed, deleted or created), or events were lost: re-resolve, re-arm every
    /// watch, then reload.
    Route,
}

/// The entries and directories that matter for a set of routes.
#[derive(Debug, Default)]
pub struct Interest {
    steps: BTreeMap<PathBuf, BTreeSet<OsString>>,
    targets: Vec<PathBuf>,
}

impl Interest {
    pub fn new(routes: &[Route]) -> Interest {
        let mut me = Interest::default();
        for r in routes {
            for (dir, names) in &r.steps {
                me.steps
                    .entry(dir.clone())
                    .or_default()
                    .extend(names.iter().cloned());
            }
            if let Some(t) = &r.target {
                me.targets.push(t.path.clone());
            }
        }
        me.targets.sort();
        me.targets.dedup();
        me
    }

    /// Classifies one event. Access events (opens, closes after reading: our own loads make
    /// them) never matter.
    pub fn classify(&self, ev: &Event) -> Relevance {
        if ev.need_rescan() {
            return Relevance::Route;
        }
        if ev.kind.is_access() {
            return Relevance::None;
        }
        // A step directory itself going away or moving (its own entry is a step of its parent,
        // unless it is the root or the working directory).
        let moved_or_gone = matches!(
            ev.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
        );
        let mut relevance = Relevance::None;
        for p in &ev.paths {
            let entry = p
                .parent()
                .zip(p.file_name())
                .is_some_and(|(dir, name)| self.steps.get(dir).is_some_and(|s| s.contains(name)));
            if entry || (moved_or_gone && self.steps.contains_key(p)) {
                return Relevance::Route;
            }
            if self.targets.iter().any(|t| p.starts_with(t)) {
                relevance = Relevance::Content;
            }
        }
        relevance
    }

    /// The watches the routes need, as (path, recursive): each target recursively, each step
    /// directory alone. Nothing is watched twice, and nothing inside a recursive watch (notify
    /// keys its watches by path, and removing a recursive watch removes those under it).
    pub fn plan(&self) -> BTreeMap<PathBuf, bool> {
        let covered = |p: &Path, besides: Option<&Path>| {
            self.targets
                .iter()
                .any(|t| Some(t.as_path()) != besides && p.starts_with(t))
        };
        let mut plan = BTreeMap::new();
        for t in &self.targets {
            if !covered(t, Some(t)) {
                plan.insert(t.clone(), true);
            }
        }
        for dir in self.steps.keys() {
            if !covered(dir, None) {
                plan.insert(dir.clone(), false);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watcher::route::Target;
    use notify::event::{AccessKind, CreateKind, Flag, RemoveKind, RenameMode};

    fn route(steps: &[(&str, &str)], target: Option<&str>) -> Route {
        let mut r = Route::default();
        for (d, n) in steps {
            r.steps
                .entry(PathBuf::from(d))
                .or_default()
                .insert(OsString::from(n));
        }
        r.target = target.map(|t| Target {
            path: PathBuf::from(t),
            dev: 1,
            ino: 2,
        });
        r
    }

    fn ev(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    fn release() -> Interest {
        Interest::new(&[route(
            &[
                ("/", "srv"),
                ("/srv", "current"),
                ("/srv", "releases"),
                ("/srv/releases", "41"),
                ("/srv/releases/41", "zones"),
            ],
            Some("/srv/releases/41/zones"),
        )])
    }

    #[test]
    fn a_swapped_symlink_is_a_route_change() {
        let i = release();
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(i.classify(&ev(to, "/srv/current")), Relevance::Route);
        assert_eq!(
            i.classify(&ev(to, "/srv/current.tmp")),
            Relevance::None,
            "the temporary link is not on the way"
        );
        assert_eq!(
            i.classify(&ev(
                EventKind::Create(CreateKind::Folder),
                "/srv/releases/42"
            )),
            Relevance::None
        );
    }

    #[test]
    fn files_in_the_target_are_content_and_reads_are_nothing() {
        let i = release();
        let modify = EventKind::Modify(ModifyKind::Any);
        assert_eq!(
            i.classify(&ev(modify, "/srv/releases/41/zones/a.json")),
            Relevance::Content
        );
        assert_eq!(
            i.classify(&ev(
                EventKind::Access(AccessKind::Any),
                "/srv/releases/41/zones/a.json"
            )),
            Relevance::None
        );
        assert_eq!(
            i.classify(&ev(EventKind::Access(AccessKind::Any), "/srv")),
            Relevance::None
        );
        assert_eq!(i.classify(&ev(modify, "/srv/other")), Relevance::None);
    }

    #[test]
    fn a_step_directory_going_away_and_lost_events_are_route_changes() {
        let i = release();
        assert_eq!(
            i.classify(&ev(EventKind::Remove(RemoveKind::Folder), "/srv/releases")),
            Relevance::Route
        );
        assert_eq!(
            i.classify(&Event::new(EventKind::Other).set_flag(Flag::Rescan)),
            Relevance::Route
        );
    }

    #[test]
    fn one_directory_for_both_zones_and_geo_is_watched_once() {
        let r = route(&[("/", "c")], Some("/c"));
        let plan: Vec<_> = Interest::new(&[r.clone(), r]).plan().into_iter().collect();
        assert_eq!(
            plan,
            [(PathBuf::from("/"), false), (PathBuf::from("/c"), true)]
        );
    }

    #[test]
    fn the_plan_watches_targets_recursively_and_steps_alone_without_overlap() {
        let i = Interest::new(&[
            route(&[("/", "c"), ("/c", "zones")], Some("/c/zones")),
            // geo contains zones' step directory and target: both covered by it.
            route(&[("/", "c")], Some("/c")),
        ]);
        let plan: Vec<_> = i.plan().into_iter().collect();
        assert_eq!(
            plan,
            [(PathBuf::from("/"), false), (PathBuf::from("/c"), true)]
        );
    }
}
