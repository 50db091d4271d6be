//! The Debian package (`[package.metadata.deb]` in Cargo.toml): built with cargo-deb from the
//! binary under test (`cargo deb --no-build`, so no second release build), then read with
//! dpkg-deb: every file where Debian wants it with sane owners and modes, the conffiles, the
//! control fields, maintainer scripts that are valid sh and do what dh_installsysusers and
//! dh_installsystemd would. The extracted binary runs and accepts the packaged example
//! configuration, and the packaged manual pages render.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The package, built into a temporary directory, and what dpkg-deb says of it.
struct Package {
    dir: tempfile::TempDir,
    deb: PathBuf,
}

impl Package {
    /// `cargo deb --no-build` with the binary under test standing in for the release one:
    /// cargo-deb reads `target/release/gslbd` of the asset list from `$CARGO_TARGET_DIR/release/`.
    fn build() -> Option<Package> {
        let has_cargo_deb = Command::new(cargo())
            .args(["deb", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_cargo_deb {
            eprintln!("cargo-deb is not installed (./scripts/test installs it): no package built");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("target/release");
        std::fs::create_dir_all(&release).unwrap();
        std::fs::copy(bin(), release.join("gslbd")).unwrap();
        let deb = dir.path().join("gslbd.deb");
        run(Command::new(cargo())
            .current_dir(repo())
            .env("CARGO_TARGET_DIR", dir.path().join("target"))
            .args([
                "deb",
                "--no-build",
                "--locked",
                "--offline",
                "--strip",
                "--fast",
            ])
            .arg("--output")
            .arg(&deb));
        Some(Package { dir, deb })
    }

    /// `dpkg-deb -c`: path (without the leading `.`) → (mode string, owner/group).
    fn contents(&self) -> BTreeMap<String, (String, String)> {
        run(Command::new("dpkg-deb").arg("-c").arg(&self.deb))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert!(f.len() >= 6, "dpkg-deb -c line {l:?}");
                let path = f[5].trim_start_matches('.').to_string();
                (path, (f[0].to_string(), f[1].to_string()))
            })
            .collect()
    }

    fn field(&self, name: &str) -> String {
        run(Command::new("dpkg-deb").arg("-f").arg(&self.deb).arg(name))
            .trim()
            .to_string()
    }

    /// The control archive, extracted (`dpkg-deb -e`).
    fn control(&self) -> PathBuf {
        let dir = self.dir.path().join("DEBIAN");
        if !dir.is_dir() {
            run(Command::new("dpkg-deb").arg("-e").arg(&self.deb).arg(&dir));
        }
        dir
    }

    /// The file system tree, extracted (`dpkg-deb -x`).
    fn root(&self) -> PathBuf {
        let dir = self.dir.path().join("root");
        if !dir.is_dir() {
            run(Command::new("dpkg-deb").arg("-x").arg(&self.deb).arg(&dir));
        }
        dir
    }
}

/// The manual pages packaging/man/ holds, by file name.
fn committed_pages() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(repo().join("packaging/man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    out.sort();
    out
}

/// One package build (a few seconds: stripping and compressing the binary) for every check.
#[test]
fn cargo_deb_makes_a_debian_package() {
    let Some(pkg) = Package::build() else { return };
    control_data_conffiles_and_maintainer_scripts_are_debians(&pkg);
    binary_unit_user_configuration_docs_and_man_pages_are_installed(&pkg);
}

fn binary_unit_user_configuration_docs_and_man_pages_are_installed(pkg: &Package) {
    let files = pkg.contents();
    let mut expected: Vec<(String, &str)> = vec![
        ("/usr/bin/gslbd".into(), "-rwxr-xr-x"),
        ("/usr/lib/systemd/system/gslbd.service".into(), "-rw-r--r--"),
        ("/usr/lib/sysusers.d/gslbd.conf".into(), "-rw-r--r--"),
        ("/etc/default/gslbd".into(), "-rw-------"),
        ("/usr/share/doc/gslbd/copyright".into(), "-rw-r--r--"),
        ("/usr/share/doc/gslbd/README.md".into(), "-rw-r--r--"),
        ("/usr/share/doc/gslbd/deploy.md".into(), "-rw-r--r--"),
        (
            "/usr/share/doc/gslbd/examples/zones/example.com.json".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/doc/gslbd/examples/geo/regions.json".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/doc/gslbd/examples/systemd/xdp.conf".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/gslbd/grafana/gslbd-dashboard.json".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/gslbd/prometheus/gslbd-alerts.yaml".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/gslbd/schema/zone.schema.json".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/gslbd/schema/regions.schema.json".into(),
            "-rw-r--r--",
        ),
        // Where the examples' "$schema" keys point (../schema/ from their directories).
        (
            "/usr/share/doc/gslbd/examples/schema/zone.schema.json".into(),
            "-rw-r--r--",
        ),
        (
            "/usr/share/doc/gslbd/examples/schema/regions.schema.json".into(),
            "-rw-r--r--",
        ),
    ];
    let pages = committed_pages();
    assert!(pages.contains(&"gslbd-serve.1".to_string()), "{pages:?}");
    for page in &pages {
        expected.push((format!("/usr/share/man/man1/{page}.gz"), "-rw-r--r--"));
    }
    for (path, mode) in &expected {
        let (got, _) = files
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the package: {:#?}", files.keys()));
        assert_eq!(got, mode, "mode of {path}");
    }
    for (path, (mode, owner)) in &files {
        assert_eq!(owner, "0/0", "{path} is not root's");
        assert_ne!(mode.as_bytes()[8], b'w', "{path} is writable by others");
        if mode.starts_with('-') && mode.contains('x') {
            assert_eq!(path, "/usr/bin/gslbd", "{path} is executable");
        }
        assert!(
            !path.starts_with("/lib/") && !path.starts_with("/bin/"),
            "{path}: outside /usr"
        );
    }
    // Every file the examples need (the databases regions.json names) came along.
    let root = pkg.root();
    let examples = root.join("usr/share/doc/gslbd/examples");
    let out = run(Command::new(root.join("usr/bin/gslbd"))
        .arg("check")
        .arg("--zones")
        .arg(examples.join("zones"))
        .arg("--geo")
        .arg(examples.join("geo")));
    assert!(out.contains("configuration OK"), "{out}");
    let version = run(Command::new(root.join("usr/bin/gslbd")).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("gslbd {}", env!("CARGO_PKG_VERSION"))
    );
    // The unit and the sysusers file are the repository's, unchanged.
    for (packaged, source) in [
        (
            "usr/lib/systemd/system/gslbd.service",
            "packaging/systemd/gslbd.service",
        ),
        (
            "usr/lib/sysusers.d/gslbd.conf",
            "packaging/systemd/gslbd.sysusers",
        ),
        ("etc/default/gslbd", "packaging/debian/default"),
    ] {
        assert_eq!(
            std::fs::read(root.join(packaged)).unwrap(),
            std::fs::read(repo().join(source)).unwrap(),
            "{packaged} differs from {source}"
        );
    }
    let unit = std::fs::read_to_string(root.join("usr/lib/systemd/system/gslbd.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/gslbd serve"));
    // The packaged manual pages render (man reads the gzipped pages as installed).
    let Some(man) = tool("man") else {
        eprintln!("man is not installed: the packaged pages are not rendered");
        return;
    };
    for page in &pages {
        let path = root.join("usr/share/man/man1").join(format!("{page}.gz"));
        let text = run(Command::new(&man)
            .arg("-l")
            .arg(&path)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat"));
        let stem = page.trim_end_matches(".1");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(&format!("NAME {stem} - ")), "{page}:\n{text}");
        assert!(flat.contains("SYNOPSIS"), "{page}:\n{text}");
    }
}

fn control_data_conffiles_and_maintainer_scripts_are_debians(pkg: &Package) {
    assert_eq!(pkg.field("Package"), "gslbd");
    assert_eq!(
        pkg.field("Version"),
        format!("{}-1", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(pkg.field("Section"), "net");
    assert!(pkg.field("Maintainer").contains('@'));
    let depends = pkg.field("Depends");
    assert!(depends.contains("libc6 (>="), "Depends: {depends}");
    assert!(
        depends.contains("systemd | systemd-standalone-sysusers | systemd-sysusers"),
        "Depends: {depends}"
    );
    assert!(!pkg.field("Description").is_empty());

    let control = pkg.control();
    // Every file under /etc is a conffile, and only those.
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    let etc: Vec<String> = pkg
        .contents()
        .into_iter()
        .filter(|(p, (m, _))| p.starts_with("/etc/") && m.starts_with('-'))
        .map(|(p, _)| p)
        .collect();
    assert_eq!(conffiles.lines().collect::<Vec<_>>(), etc);
    assert_eq!(etc, ["/etc/default/gslbd"]);

    let script = |name: &str| -> String {
        let path = control.join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("no {name}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "{name} mode {mode:o}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{name}: no #!/bin/sh");
        assert!(!text.contains("#DEBHELPER#"), "{name}: token left");
        run(Command::new("sh").arg("-n").arg(&path));
        if let Some(checkbashisms) = tool("checkbashisms") {
            run(Command::new(checkbashisms).arg(&path));
        }
        text
    };
    let postinst = script("postinst");
    // The user exists before anything runs as it; the unit is registered, restarted on
    // upgrade if it runs, and neither enabled nor started on a first install.
    let sysusers = postinst.find("systemd-sysusers").expect("systemd-sysusers");
    assert!(postinst.contains("gslbd.conf"));
    let chgrp = postinst
        .find("-g gslbd")
        .expect("the configuration directory");
    assert!(sysusers < chgrp, "the group is used before it exists");
    assert!(postinst.contains("deb-systemd-helper update-state gslbd.service"));
    assert!(postinst.contains("deb-systemd-invoke try-restart gslbd.service"));
    assert!(!postinst.contains("deb-systemd-invoke start"), "{postinst}");
    // Enabled again on upgrade only if the administrator had enabled it.
    assert!(
        postinst.contains("if deb-systemd-helper debian-installed gslbd.service; then"),
        "{postinst}"
    );
    let prerm = script("prerm");
    assert!(
        prerm.contains("deb-systemd-invoke stop gslbd.service"),
        "{prerm}"
    );
    let postrm = script("postrm");
    assert!(
        postrm.contains("deb-systemd-helper purge gslbd.service"),
        "{postrm}"
    );
    assert!(postrm.contains("rm -rf /var/lib/gslbd"), "{postrm}");
    assert!(
        postrm.contains("rmdir --ignore-fail-on-non-empty /etc/gslbd"),
        "{postrm}"
    );
}
