//! The manual pages under packaging/man/ (installed by the Debian package): they are exactly
//! what the binary's hidden `gslbd man DIR` writes from its command line definition, every
//! subcommand `--help` lists has one, and each renders with man(1) without a groff warning.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/man")
}

/// File name → contents of every `*.1` in `dir`.
fn pages(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands `gslbd [PATH...] --help` lists under `Commands:` (without `help`).
fn subcommands(path: &[String]) -> Vec<(String, String)> {
    let help = run(Command::new(bin()).args(path).arg("--help"));
    let Some(rest) = help.split("Commands:\n").nth(1) else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| {
            let (name, about) = l.trim().split_once(' ')?;
            (name != "help").then(|| (name.to_string(), about.trim().to_string()))
        })
        .collect()
}

/// Every (page name, first line of its `--help` description) of the command tree.
fn command_tree(path: &mut Vec<String>, out: &mut Vec<(String, String)>) {
    for (name, about) in subcommands(path) {
        path.push(name);
        out.push((format!("gslbd-{}", path.join("-")), about));
        command_tree(path, out);
        path.pop();
    }
}

#[test]
fn committed_pages_are_what_the_binary_writes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    run(Command::new(bin()).arg("man").arg(&out));
    let fresh = pages(&out);
    let committed = pages(&committed_dir());
    assert!(fresh.contains_key("gslbd.1"), "{:?}", fresh.keys());
    assert!(
        !fresh.keys().any(|k| k.starts_with("gslbd-man")),
        "the hidden `man` subcommand gets no page: {:?}",
        fresh.keys()
    );
    let stale = "packaging/man/ is out of date: regenerate it with \
                 `rm packaging/man/*.1 && cargo run -- man packaging/man`";
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "{stale}"
    );
    for (name, text) in &fresh {
        assert_eq!(&committed[name], text, "{name}: {stale}");
    }
}

#[test]
fn every_subcommand_has_a_page_naming_it() {
    let mut tree = Vec::new();
    command_tree(&mut Vec::new(), &mut tree);
    let names: Vec<&str> = tree.iter().map(|(n, _)| n.as_str()).collect();
    for expected in ["gslbd-serve", "gslbd-check", "gslbd-dnssec-keygen"] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    let committed = pages(&committed_dir());
    let root = &committed["gslbd.1"];
    for (name, about) in &tree {
        let page = committed
            .get(&format!("{name}.1"))
            .unwrap_or_else(|| panic!("no packaging/man/{name}.1"));
        let roff_name = name.replace('-', "\\-");
        assert!(
            page.starts_with(".ie") && page.contains(&format!(".TH {name} 1")),
            "{name}.1 has no title line"
        );
        assert!(
            page.contains(&format!("{roff_name} \\- ")),
            "{name}.1: no NAME line"
        );
        // The about line of `--help` is the page's summary: its first words are there (roff
        // escapes quotes and dashes, so plain words only).
        for word in about
            .split_whitespace()
            .take(5)
            .filter(|w| w.chars().all(char::is_alphanumeric))
        {
            assert!(page.contains(word), "{name}.1 lacks {word:?} of {about:?}");
        }
        // The parent page lists the subcommands of the first level.
        if name.matches('-').count() == 1 {
            assert!(
                root.contains(&format!("{roff_name}(1)")),
                "gslbd.1 lacks {name}"
            );
        }
    }
}

#[test]
fn pages_render_with_man_without_warnings() {
    let dir = committed_dir();
    let committed = pages(&dir);
    let groff = ["/usr/bin/groff", "/bin/groff"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let man = ["/usr/bin/man", "/bin/man"]
        .into_iter()
        .find(|p| Path::new(p).is_file());
    let (Some(groff), Some(man)) = (groff, man) else {
        eprintln!("groff or man is not installed: the pages are not rendered");
        return;
    };
    for name in committed.keys() {
        let path = dir.join(name);
        // -k: the input is UTF-8 (preconv), as man(1) reads it; -ww: every warning.
        let out = Command::new(groff)
            .args(["-k", "-man", "-ww", "-z", "-Tutf8"])
            .arg(&path)
            .output()
            .expect("run groff");
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.trim().is_empty(),
            "groff warns about {name}:\n{warnings}"
        );
        let text = run(Command::new(man)
            .arg("-l")
            .arg(&path)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat"));
        let stem = name.trim_end_matches(".1");
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"] {
            assert!(
                text.lines().any(|l| l == section),
                "{name}: no {section} section in man's output:\n{text}"
            );
        }
        // man justifies lines: compare with runs of spaces collapsed.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&format!("NAME {stem} - ")),
            "{name}: no NAME line:\n{text}"
        );
    }
}
