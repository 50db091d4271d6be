//! The fingerprint of a node's configuration: a SHA-256 over every file under the zones
//! and geo directories, so nodes that load the same files have the same one, whatever their
//! paths, times or inodes.

use std::path::{Path, PathBuf};

/// Hex SHA-256 of every regular file under `dirs` (following symlinks, 8 levels deep at
/// most): each directory's index, then each file's path relative to it, length and bytes,
/// in path order. Hidden files and editor backups (`~`) are left out; unreadable files
/// count by name.
pub fn fingerprint(dirs: &[PathBuf]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (i, dir) in dirs.iter().enumerate() {
        let mut files = Vec::new();
        walk(dir, Path::new(""), 0, &mut files);
        files.sort();
        ctx.update(&(i as u64).to_be_bytes());
        for rel in files {
            let bytes = std::fs::read(dir.join(&rel)).unwrap_or_default();
            let name = rel.to_string_lossy();
            ctx.update(&(name.len() as u64).to_be_bytes());
            ctx.update(name.as_bytes());
            ctx.update(&(bytes.len() as u64).to_be_bytes());
            ctx.update(&bytes);
        }
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn walk(root: &Path, rel: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in read.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let rel = rel.join(&name);
        match std::fs::metadata(root.join(&rel)) {
            Ok(m) if m.is_dir() && depth < 8 => walk(root, &rel, depth + 1, out),
            Ok(m) if m.is_file() => out.push(rel),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_files_same_fingerprint_wherever_they_are() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            std::fs::create_dir(d.join("sub")).unwrap();
            std::fs::write(d.join("z.json"), "{}").unwrap();
            std::fs::write(d.join("sub/k"), "key").unwrap();
        }
        std::fs::write(a.path().join(".z.json.swp"), "junk").unwrap();
        std::fs::write(b.path().join("z.json~"), "old").unwrap();
        let fa = fingerprint(&[a.path().into()]);
        assert_eq!(fa, fingerprint(&[b.path().into()]));
        assert_eq!(fa.len(), 64);
        std::fs::write(b.path().join("sub/k"), "kez").unwrap();
        assert_ne!(fa, fingerprint(&[b.path().into()]), "one byte changed");
        std::fs::write(b.path().join("sub/k"), "key").unwrap();
        std::fs::rename(b.path().join("sub/k"), b.path().join("sub/l")).unwrap();
        assert_ne!(fa, fingerprint(&[b.path().into()]), "a file renamed");
        // The same files split differently between the two directories differ too.
        assert_ne!(
            fingerprint(&[a.path().into(), b.path().into()]),
            fingerprint(&[b.path().into(), a.path().into()])
        );
    }
}
