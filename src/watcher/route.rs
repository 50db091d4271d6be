//! A route: how one configured directory path resolves right now, step by step. Every step
//! looks one name up in one directory; a change to any of those entries (a symlink swapped, a
//! directory renamed, deleted or created) can change where the path leads, so the watcher
//! watches the directories the steps look in and re-resolves the route when they change.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow before giving up (as Linux does).
const MAX_LINKS: usize = 40;

/// The directory a route leads to: its real path (no symlinks in it) and its identity, which
/// changes when the directory is replaced even if the path stays the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    pub dev: u64,
    pub ino: u64,
}

/// The resolution of one configured path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// Each directory looked in (a real path) with the names looked up in it.
    pub steps: BTreeMap<PathBuf, BTreeSet<OsString>>,
    /// Where the path leads, if to a directory.
    pub target: Option<Target>,
}

impl Route {
    /// Resolves `path` the way the kernel does, relative paths from `cwd` (a real path, as
    /// `std::env::current_dir` returns it). A missing entry, a dangling symlink, a loop or a
    /// non-directory at the end gives a route with no target, whose steps end at the directory
    /// the missing entry would appear in, so watching them sees it come back.
    pub fn resolve(path: &Path, cwd: &Path) -> Route {
        let mut route = Route::default();
        let mut at = if path.is_absolute() {
            PathBuf::from("/")
        } else {
            cwd.to_path_buf()
        };
        let mut pending: Vec<OsString> = Vec::new();
        push_front(&mut pending, path, &mut at);
        let mut links = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                at.pop();
                continue;
            }
            route
                .steps
                .entry(at.clone())
                .or_default()
                .insert(name.clone());
            let next = at.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(&next) else {
                return route;
            };
            if meta.file_type().is_symlink() {
                links += 1;
                let Ok(link) = std::fs::read_link(&next) else {
                    return route;
                };
                if links > MAX_LINKS {
                    return route;
                }
                push_front(&mut pending, &link, &mut at);
            } else {
                at = next;
            }
        }
        if let Ok(meta) = std::fs::metadata(&at) {
            if meta.is_dir() {
                route.target = Some(Target {
                    path: at,
                    dev: meta.dev(),
                    ino: meta.ino(),
                });
            }
        }
        route
    }
}

/// Queues the components of `path` to be looked up before those already pending (`pending` is
/// a stack: its last element is next). An absolute `path` restarts from the root.
fn push_front(pending: &mut Vec<OsString>, path: &Path, at: &mut PathBuf) {
    let mut names = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir => {
                *at = PathBuf::from("/");
                names.clear();
            }
            Component::Prefix(_) | Component::CurDir => {}
            Component::ParentDir => names.push(OsString::from("..")),
            Component::Normal(n) => names.push(n.to_os_string()),
        }
    }
    pending.extend(names.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn real(p: &Path) -> PathBuf {
        std::fs::canonicalize(p).unwrap()
    }

    fn steps_in(route: &Route, dir: &Path) -> Vec<String> {
        route
            .steps
            .get(dir)
            .map(|s| s.iter().map(|n| n.to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_plain_directory_leads_to_itself() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        std::fs::create_dir(base.join("zones")).unwrap();
        let r = Route::resolve(&base.join("zones"), Path::new("/nonexistent"));
        let target = r.target.clone().expect("a target");
        assert_eq!(target.path, base.join("zones"));
        assert_eq!(steps_in(&r, &base), ["zones"]);
        assert!(r.steps.contains_key(Path::new("/")), "{:?}", r.steps);
    }

    #[test]
    fn a_release_symlink_is_followed_and_its_entry_is_a_step() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        for n in ["41", "42"] {
            std::fs::create_dir_all(base.join("releases").join(n).join("zones")).unwrap();
        }
        symlink("releases/41", base.join("current")).unwrap();
        let path = base.join("current/zones");
        let r = Route::resolve(&path, Path::new("/"));
        assert_eq!(
            r.target.as_ref().unwrap().path,
            base.join("releases/41/zones")
        );
        assert_eq!(steps_in(&r, &base), ["current", "releases"]);
        assert_eq!(steps_in(&r, &base.join("releases")), ["41"]);
        assert_eq!(steps_in(&r, &base.join("releases/41")), ["zones"]);

        std::fs::remove_file(base.join("current")).unwrap();
        symlink(base.join("releases/42"), base.join("current")).unwrap();
        let swapped = Route::resolve(&path, Path::new("/"));
        assert_ne!(swapped, r);
        assert_eq!(swapped.target.unwrap().path, base.join("releases/42/zones"));
    }

    #[test]
    fn a_replaced_directory_changes_identity_not_path() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        std::fs::create_dir(base.join("zones")).unwrap();
        let before = Route::resolve(&base.join("zones"), Path::new("/"));
        std::fs::rename(base.join("zones"), base.join("zones.old")).unwrap();
        std::fs::create_dir(base.join("zones")).unwrap();
        let after = Route::resolve(&base.join("zones"), Path::new("/"));
        assert_eq!(before.target.as_ref().unwrap().path, base.join("zones"));
        assert_eq!(after.target.as_ref().unwrap().path, base.join("zones"));
        assert_ne!(before, after, "the inode differs");
    }

    #[test]
    fn a_missing_directory_has_no_target_and_steps_up_to_where_it_would_be() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        let r = Route::resolve(&base.join("zones/deeper"), Path::new("/"));
        assert_eq!(r.target, None);
        assert_eq!(steps_in(&r, &base), ["zones"]);
        assert!(!r.steps.contains_key(&base.join("zones")));
    }

    #[test]
    fn relative_paths_start_at_cwd_and_dotdot_is_physical() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::create_dir(base.join("geo")).unwrap();
        // `link/..` is `a`, not `base`: `..` applies to where the symlink leads.
        symlink("a/b", base.join("link")).unwrap();
        std::fs::create_dir(base.join("a/geo")).unwrap();
        let r = Route::resolve(Path::new("link/../geo"), &base);
        assert_eq!(r.target.as_ref().unwrap().path, base.join("a/geo"));
        assert_eq!(steps_in(&r, &base), ["a", "link"]);
        assert!(
            !r.steps.contains_key(Path::new("/")),
            "nothing above cwd: {:?}",
            r.steps
        );
    }

    #[test]
    fn symlink_loops_and_files_have_no_target() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        symlink("loop", base.join("loop")).unwrap();
        assert_eq!(
            Route::resolve(&base.join("loop"), Path::new("/")).target,
            None
        );
        std::fs::write(base.join("file"), "x").unwrap();
        assert_eq!(
            Route::resolve(&base.join("file"), Path::new("/")).target,
            None
        );
    }

    #[test]
    fn a_configmap_mount_resolves_through_both_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let base = real(t.path());
        std::fs::create_dir_all(base.join("..2026_12_05_a/zones")).unwrap();
        symlink("..2026_12_05_a", base.join("..data")).unwrap();
        symlink("..data/zones", base.join("zones")).unwrap();
        let r = Route::resolve(&base.join("zones"), Path::new("/"));
        assert_eq!(
            r.target.as_ref().unwrap().path,
            base.join("..2026_12_05_a/zones")
        );
        assert_eq!(steps_in(&r, &base), ["..2026_12_05_a", "..data", "zones"]);
    }
}
