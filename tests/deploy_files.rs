//! Keeps the deployment files true to the binary: the Kubernetes manifests
//! (deploy/kubernetes/), the systemd unit (packaging/systemd/), the Dockerfile's command line
//! (its build and runtime promises: tests/dockerfile.rs), the NATS configuration
//! (deploy/nats/) and the command lines of the deployment guide (docs/deploy.md). Every YAML
//! document parses; every gslbd flag and `GSLBD_*` variable they use exists in the built
//! binary's `--help`, and every gslbd command line passes the binary's own argument parser;
//! the fleet command lines are complete (`--fleet` URLs, `--node` from the pod name, the state
//! file outside the files a fleet fingerprints); the ConfigMaps are a configuration
//! `gslbd check` accepts; the probes' paths answer 200 on a real server; the unit passes
//! `systemd-analyze verify` (when systemd is installed) and the NATS configuration
//! `nats-server -t`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

use common::*;

/// Environment variables gslbd reads that `--help` does not show (the log filter).
const ENV_NOT_IN_HELP: &[&str] = &["GSLBD_LOG"];

/// gslbd's subcommands (a `gslbd` word followed by one of these starts a command line).
const SUBCOMMANDS: &[&str] = &[
    "serve", "check", "explain", "import", "dnssec", "schema", "diff",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kubernetes_dir() -> PathBuf {
    repo().join("deploy/kubernetes")
}

fn unit_file() -> PathBuf {
    repo().join("packaging/systemd/gslbd.service")
}

/// Every `*.yaml`/`*.yml` file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The documents of a YAML file (empty documents left out).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| {
            serde::Deserialize::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
        })
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// A Helm values file, not a Kubernetes object.
fn is_helm_values(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with("values.yaml"))
}

/// Every Kubernetes object of deploy/kubernetes (Helm values left out), with its file.
fn manifests() -> Vec<(PathBuf, Value)> {
    yaml_files(&kubernetes_dir())
        .into_iter()
        .filter(|p| !is_helm_values(p))
        .flat_map(|p| yaml_documents(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect()
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

fn seq_of<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    let mut v = v;
    for key in path {
        match v.get(*key) {
            Some(next) => v = next,
            None => return &[],
        }
    }
    v.as_sequence().map(Vec::as_slice).unwrap_or(&[])
}

/// The pod spec of a workload (Deployment, DaemonSet, StatefulSet, Job) or of a Pod.
fn pod_spec(doc: &Value) -> Option<&Value> {
    match str_of(doc, &["kind"])? {
        "Pod" => doc.get("spec"),
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "Job" => {
            doc.get("spec")?.get("template")?.get("spec")
        }
        "CronJob" => doc
            .get("spec")?
            .get("jobTemplate")?
            .get("spec")?
            .get("template")?
            .get("spec"),
        _ => None,
    }
}

/// The containers (init containers too) of `spec` that run gslbd: their command or image
/// names it.
fn gslbd_containers(spec: &Value) -> Vec<&Value> {
    seq_of(spec, &["initContainers"])
        .iter()
        .chain(seq_of(spec, &["containers"]))
        .filter(|c| {
            let image = str_of(c, &["image"]).unwrap_or("");
            let first = seq_of(c, &["command"])
                .first()
                .and_then(Value::as_str)
                .unwrap_or("");
            image == "gslbd" || image.contains("/gslbd") || is_gslbd_binary(first)
        })
        .collect()
}

/// A container's command line: command then args, as strings.
fn container_argv(c: &Value) -> Vec<String> {
    seq_of(c, &["command"])
        .iter()
        .chain(seq_of(c, &["args"]))
        .map(|a| {
            a.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| panic!("non-string argument {a:?}"))
        })
        .collect()
}

fn is_gslbd_binary(word: &str) -> bool {
    word == "gslbd" || word.ends_with("/gslbd")
}

/// One use of gslbd found in a file: where, the subcommand, its arguments and among them
/// the flags (`--name` only).
#[derive(Debug)]
struct Invocation {
    source: String,
    subcommand: String,
    args: Vec<String>,
    flags: Vec<String>,
}

/// The gslbd invocations in a list of words: a `gslbd` word followed by a subcommand, its
/// flags up to the end of the list or a shell operator or comment.
fn invocations_in_words(source: &str, words: &[String]) -> Vec<Invocation> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if is_gslbd_binary(w)
            && words
                .get(i + 1)
                .is_some_and(|s| SUBCOMMANDS.contains(&s.as_str()))
        {
            let subcommand = words[i + 1].clone();
            let mut flags = Vec::new();
            let mut j = i + 2;
            while j < words.len() {
                let t = words[j].as_str();
                if ["|", "||", "&&", ";", "&"].contains(&t)
                    || t.starts_with('#')
                    || t.starts_with('>')
                    || t.starts_with("2>")
                {
                    break;
                }
                if let Some(flag) = t.strip_prefix("--").map(|_| t.split('=').next().unwrap()) {
                    flags.push(flag.to_string());
                }
                j += 1;
            }
            out.push(Invocation {
                source: source.to_string(),
                subcommand,
                args: words[i + 2..j].to_vec(),
                flags,
            });
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// Words of a shell-like line: whitespace-separated, quotes stripped, trailing `;`, `&&`
/// and `;` split off.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in line.split_whitespace() {
        let w = raw.trim_matches(|c| c == '"' || c == '\'');
        if let Some(stripped) = w.strip_suffix(';').filter(|s| !s.is_empty()) {
            out.push(stripped.to_string());
            out.push(";".to_string());
        } else {
            out.push(w.to_string());
        }
    }
    out
}

/// Lines joined across trailing backslashes.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            cur.push_str(head);
            cur.push(' ');
        } else {
            cur.push_str(line);
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The gslbd invocations of the systemd unit's Exec*= lines.
fn unit_invocations() -> Vec<Invocation> {
    let text = std::fs::read_to_string(unit_file()).unwrap();
    logical_lines(&text)
        .iter()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .filter(|(key, _)| key.trim().starts_with("Exec"))
        .flat_map(|(key, cmd)| invocations_in_words(&format!("gslbd.service {key}"), &words(cmd)))
        .collect()
}

/// The gslbd invocations in the fenced code blocks of a Markdown file.
fn markdown_invocations(path: &Path) -> Vec<Invocation> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut code = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
            code.push('\n');
        } else if inside {
            code.push_str(line);
            code.push('\n');
        }
    }
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    logical_lines(&code)
        .iter()
        .flat_map(|l| {
            // `ExecStart=/usr/bin/gslbd serve ...` in an ini block.
            let l = l.split_once("ExecStart=").map_or(l.as_str(), |(_, r)| r);
            invocations_in_words(&name, &words(l))
        })
        .collect()
}

/// The gslbd invocations of the Kubernetes manifests, with the pod specs they run in.
fn manifest_invocations() -> Vec<Invocation> {
    let mut out = Vec::new();
    for (path, doc) in manifests() {
        let Some(spec) = pod_spec(&doc) else { continue };
        for c in gslbd_containers(spec) {
            let mut argv = container_argv(c);
            // An image whose entrypoint is gslbd: the args start with the subcommand.
            if !argv.first().is_some_and(|a| is_gslbd_binary(a)) {
                argv.insert(0, "gslbd".into());
            }
            let source = format!(
                "{} container {}",
                path.file_name().unwrap().to_string_lossy(),
                str_of(c, &["name"]).unwrap_or("?")
            );
            let found = invocations_in_words(&source, &argv);
            assert_eq!(found.len(), 1, "{source}: no gslbd subcommand in {argv:?}");
            out.extend(found);
        }
    }
    out
}

/// The gslbd invocation of the Dockerfile: its ENTRYPOINT and CMD.
fn dockerfile_invocations() -> Vec<Invocation> {
    invocations_in_words(
        "Dockerfile ENTRYPOINT+CMD",
        &common::dockerfile::command_line(),
    )
}

/// Every gslbd invocation of the manifests, the unit, the guide and the Dockerfile, by source.
fn all_invocations() -> [(&'static str, Vec<Invocation>); 4] {
    [
        ("Kubernetes manifests", manifest_invocations()),
        ("systemd unit", unit_invocations()),
        (
            "docs/deploy.md",
            markdown_invocations(&repo().join("docs/deploy.md")),
        ),
        ("Dockerfile", dockerfile_invocations()),
    ]
}

/// Every value of `flag` in `args`: `--flag=VALUE` or `--flag VALUE`.
fn values_of<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if a == flag {
            out.extend(args.get(i + 1).map(String::as_str));
        } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            out.push(v);
        }
    }
    out
}

/// `gslbd SUBCOMMAND --help`: its flags and the environment variables it names.
fn help(subcommand: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new(bin())
        .args([subcommand, "--help"])
        .output()
        .expect("run gslbd --help");
    assert!(out.status.success(), "gslbd {subcommand} --help failed");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut flags = BTreeSet::new();
    let mut env = BTreeSet::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with('-') {
            for w in t.split([' ', ',']) {
                if w.starts_with("--") {
                    flags.insert(w.split(['<', '=']).next().unwrap().to_string());
                }
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("[env: ") {
            let name = &rest[at + 6..];
            let end = name.find(']').unwrap();
            env.insert(name[..end].split('=').next().unwrap().to_string());
            rest = &name[end..];
        }
    }
    (flags, env)
}

#[test]
fn every_yaml_file_parses_and_every_manifest_is_listed_in_the_kustomization() {
    let files = yaml_files(&repo().join("deploy"));
    assert!(files.len() >= 7, "expected the manifests, found {files:?}");
    for f in &files {
        let docs = yaml_documents(f);
        assert!(!docs.is_empty(), "{}: no YAML document", f.display());
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.starts_with('#'),
            "{}: must open with a header comment",
            f.display()
        );
    }
    let mut listed = BTreeSet::new();
    let mut present = BTreeSet::new();
    for (path, doc) in manifests() {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let kind = str_of(&doc, &["kind"])
            .unwrap_or_else(|| panic!("{file}: a document without kind: {doc:?}"));
        assert!(
            str_of(&doc, &["apiVersion"]).is_some(),
            "{file}: {kind} without apiVersion"
        );
        if kind == "Kustomization" {
            for r in seq_of(&doc, &["resources"]) {
                listed.insert(r.as_str().unwrap().to_string());
            }
            continue;
        }
        assert!(
            str_of(&doc, &["metadata", "name"]).is_some(),
            "{file}: {kind} without metadata.name"
        );
        present.insert(file);
    }
    assert_eq!(
        listed, present,
        "kustomization.yaml must list every manifest of deploy/kubernetes"
    );
}

#[test]
fn every_gslbd_flag_in_manifests_unit_and_guide_exists_in_the_binary() {
    let sources = all_invocations();
    let mut helps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (what, found) in &sources {
        assert!(
            !found.is_empty(),
            "no gslbd command line found in the {what}"
        );
        for inv in found {
            let known = helps
                .entry(inv.subcommand.clone())
                .or_insert_with(|| help(&inv.subcommand).0);
            for flag in &inv.flags {
                checked += 1;
                if !known.contains(flag) {
                    problems.push(format!(
                        "{}: `gslbd {} {flag}` is not in `gslbd {} --help`",
                        inv.source, inv.subcommand, inv.subcommand
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 20,
        "only {checked} flags found: is the extraction broken?"
    );
    // The unit and the Kubernetes Deployment both run `serve`; the unit's reload checks first.
    let unit = &sources[1].1;
    assert!(unit.iter().any(|i| i.subcommand == "serve"), "{unit:?}");
    assert!(unit.iter().any(|i| i.subcommand == "check"), "{unit:?}");
}

#[test]
fn every_gslbd_command_line_passes_the_binary_argument_parser() {
    // `gslbd SUBCOMMAND ARGS... --help` parses every argument before the final `--help`, values
    // included (addresses, modes, numbers), then prints the help and exits 0; a misspelt flag
    // or a value the flag refuses exits 2.
    let mut problems = Vec::new();
    let mut checked = 0;
    for (_, found) in all_invocations() {
        for inv in found {
            let out = Command::new(bin())
                .arg(&inv.subcommand)
                .args(&inv.args)
                .arg("--help")
                .output()
                .expect("run gslbd");
            checked += 1;
            if !out.status.success() {
                problems.push(format!(
                    "{}: `gslbd {} {}`: {}",
                    inv.source,
                    inv.subcommand,
                    inv.args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 5, "only {checked} command lines found");
}

/// Whether `urls` is a comma-separated list of `nats://HOST:PORT`.
fn is_nats_url_list(urls: &str) -> bool {
    urls.split(',').all(|url| {
        url.strip_prefix("nats://")
            .and_then(|hp| hp.rsplit_once(':'))
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    })
}

#[test]
fn fleet_command_lines_are_complete_and_keep_the_state_file_out_of_the_fingerprint() {
    let mut problems = Vec::new();
    let mut full_fleet_line_in_guide = false;
    for (what, found) in all_invocations() {
        for inv in found.iter().filter(|i| i.subcommand == "serve") {
            let args = &inv.args;
            let fleet = values_of(args, "--fleet");
            for urls in &fleet {
                if !is_nats_url_list(urls) {
                    problems.push(format!(
                        "{}: --fleet {urls}: not nats://HOST:PORT,...",
                        inv.source
                    ));
                }
            }
            // In the zones directory the state file would be read as a zone; in either
            // directory it would change the fingerprint the fleet compares at every drain.
            for state in values_of(args, "--state-file") {
                for dir in values_of(args, "--zones")
                    .into_iter()
                    .chain(values_of(args, "--geo"))
                {
                    if Path::new(state).starts_with(dir) {
                        problems.push(format!(
                            "{}: --state-file {state} is inside {dir}",
                            inv.source
                        ));
                    }
                }
            }
            if what == "docs/deploy.md"
                && !fleet.is_empty()
                && ["--node", "--probe-source", "--state-file"]
                    .iter()
                    .all(|f| !values_of(args, f).is_empty())
            {
                full_fleet_line_in_guide = true;
            }
        }
    }
    // GSLBD_FLEET=... in the guide holds URLs as --fleet does.
    let guide = std::fs::read_to_string(repo().join("docs/deploy.md")).unwrap();
    let mut env_values = 0;
    for (at, _) in guide.match_indices("GSLBD_FLEET=") {
        let value: String = guide[at + "GSLBD_FLEET=".len()..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !['\'', '"', '`'].contains(c))
            .collect();
        env_values += 1;
        if !is_nats_url_list(&value) {
            problems.push(format!(
                "docs/deploy.md: GSLBD_FLEET={value}: not nats://HOST:PORT,..."
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(env_values >= 1, "the guide sets no GSLBD_FLEET");
    assert!(
        full_fleet_line_in_guide,
        "the guide has no `gslbd serve` with --fleet, --node, --probe-source and --state-file"
    );
}

/// The `$(NAME)` references of a container argument, which Kubernetes expands from the
/// container's `env` (and passes on literally when NAME is not there).
fn env_refs(arg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = arg;
    while let Some(at) = rest.find("$(") {
        let tail = &rest[at + 2..];
        let Some(end) = tail.find(')') else { break };
        out.push(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

#[test]
fn kubernetes_replicas_join_the_fleet_named_after_their_pods() {
    let mut serving = 0;
    for (path, doc) in manifests() {
        let Some(spec) = pod_spec(&doc) else { continue };
        for c in gslbd_containers(spec) {
            let argv = container_argv(c);
            if !argv.iter().any(|a| a == "serve") {
                continue;
            }
            serving += 1;
            let file = path.file_name().unwrap().to_string_lossy();
            let env: BTreeMap<&str, &Value> = seq_of(c, &["env"])
                .iter()
                .map(|e| (str_of(e, &["name"]).unwrap(), e))
                .collect();
            for a in &argv {
                for name in env_refs(a) {
                    assert!(
                        env.contains_key(name),
                        "{file}: `{a}` refers to {name}, which is not in the container's env"
                    );
                }
            }
            assert_eq!(
                values_of(&argv, "--fleet").len(),
                1,
                "{file}: --fleet once: {argv:?}"
            );
            assert_eq!(
                values_of(&argv, "--node"),
                ["$(POD_NAME)"],
                "{file}: --node=$(POD_NAME)"
            );
            assert_eq!(
                str_of(env["POD_NAME"], &["valueFrom", "fieldRef", "fieldPath"]),
                Some("metadata.name"),
                "{file}: POD_NAME comes from the downward API"
            );
        }
    }
    assert!(serving >= 1, "no gslbd serve container");
}

#[test]
fn gslbd_environment_variables_in_manifests_and_unit_exist() {
    let (_, env) = help("serve");
    let mut names = BTreeSet::new();
    for (_, doc) in manifests() {
        let Some(spec) = pod_spec(&doc) else { continue };
        for c in gslbd_containers(spec) {
            for e in seq_of(c, &["env"]) {
                names.insert(str_of(e, &["name"]).unwrap().to_string());
            }
        }
    }
    let unit = std::fs::read_to_string(unit_file()).unwrap();
    let docs = std::fs::read_to_string(repo().join("docs/deploy.md")).unwrap();
    // The unit's EnvironmentFile as the Debian package installs it (/etc/default/gslbd).
    let default = std::fs::read_to_string(repo().join("packaging/debian/default")).unwrap();
    for text in [&unit, &docs, &default] {
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if w.starts_with("GSLBD_") {
                names.insert(w.to_string());
            }
        }
    }
    let gslbd_vars: Vec<&String> = names.iter().filter(|n| n.starts_with("GSLBD_")).collect();
    assert!(gslbd_vars.len() >= 2, "found {names:?}");
    for name in gslbd_vars {
        assert!(
            env.contains(name) || ENV_NOT_IN_HELP.contains(&name.as_str()),
            "{name} is used but gslbd does not read it (serve --help names {env:?})"
        );
    }
}

/// The data of the ConfigMap `name` of deploy/kubernetes.
fn config_map(name: &str) -> BTreeMap<String, String> {
    let (_, doc) = manifests()
        .into_iter()
        .find(|(_, d)| {
            str_of(d, &["kind"]) == Some("ConfigMap")
                && str_of(d, &["metadata", "name"]) == Some(name)
        })
        .unwrap_or_else(|| panic!("no ConfigMap {name}"));
    let data = doc.get("data").and_then(Value::as_mapping).expect("data");
    data.iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v.as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn kubernetes_config_maps_are_a_configuration_gslbd_check_accepts() {
    // The layout of the pod: /etc/gslbd/{zones,geo} from the ConfigMaps, /etc/gslbd/geoip
    // from the init container (here MaxMind's test databases under the production names).
    let root = tempfile::tempdir().unwrap();
    let (zones, geo, geoip) = (
        root.path().join("zones"),
        root.path().join("geo"),
        root.path().join("geoip"),
    );
    for (dir, map) in [(&zones, "gslbd-zones"), (&geo, "gslbd-geo")] {
        std::fs::create_dir(dir).unwrap();
        for (key, text) in config_map(map) {
            std::fs::write(dir.join(key), text).unwrap();
        }
    }
    std::fs::create_dir(&geoip).unwrap();
    for (test_db, name) in [
        ("GeoLite2-City-Test.mmdb", "GeoLite2-City.mmdb"),
        ("GeoLite2-ASN-Test.mmdb", "GeoLite2-ASN.mmdb"),
    ] {
        std::fs::copy(
            example_geo().join("testdata").join(test_db),
            geoip.join(name),
        )
        .unwrap();
    }
    let out = check(&zones, &geo);
    assert!(
        out.status.success(),
        "gslbd check rejects the ConfigMaps:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The init container downloads what regions.json names.
    let regions = std::fs::read_to_string(geo.join("regions.json")).unwrap();
    assert!(regions.contains("../geoip/GeoLite2-City.mmdb"), "{regions}");
    let deployment = std::fs::read_to_string(kubernetes_dir().join("deployment.yaml")).unwrap();
    assert!(deployment.contains("GeoLite2-City GeoLite2-ASN"));
}

/// The port of a `--flag=ADDR:PORT` or `--flag ADDR:PORT` argument.
fn port_of_flag(argv: &[String], flag: &str) -> Option<u16> {
    values_of(argv, flag)
        .into_iter()
        .find_map(|v| v.rsplit_once(':')?.1.parse().ok())
}

#[test]
fn kubernetes_ports_and_probes_match_the_arguments_and_answer_on_a_real_server() {
    let server = Server::start(
        &example_zones(),
        &example_geo(),
        &["--admin", "127.0.0.1:0"],
    );
    let docs = manifests();
    let mut probes = 0;
    let mut target_ports = BTreeSet::new();
    for (_, doc) in &docs {
        let Some(spec) = pod_spec(doc) else { continue };
        for c in gslbd_containers(spec) {
            let argv = container_argv(c);
            let admin = port_of_flag(&argv, "--admin").expect("--admin ADDR:PORT");
            let listen = port_of_flag(&argv, "--listen").expect("--listen ADDR:PORT");
            let ports: BTreeMap<&str, (u64, &str)> = seq_of(c, &["ports"])
                .iter()
                .map(|p| {
                    (
                        str_of(p, &["name"]).unwrap(),
                        (
                            p.get("containerPort").and_then(Value::as_u64).unwrap(),
                            str_of(p, &["protocol"]).unwrap_or("TCP"),
                        ),
                    )
                })
                .collect();
            let dns: BTreeSet<&str> = ports
                .values()
                .filter(|(port, _)| *port == u64::from(listen))
                .map(|(_, proto)| *proto)
                .collect();
            assert_eq!(
                dns,
                BTreeSet::from(["TCP", "UDP"]),
                "--listen port {listen} must be a container port for UDP and TCP: {ports:?}"
            );
            for probe in ["readinessProbe", "livenessProbe"] {
                let get = c
                    .get(probe)
                    .and_then(|p| p.get("httpGet"))
                    .unwrap_or_else(|| panic!("{probe} must be an httpGet"));
                let path = str_of(get, &["path"]).unwrap();
                let port = match get.get("port").unwrap() {
                    Value::String(name) => ports[name.as_str()].0,
                    other => other.as_u64().unwrap(),
                };
                assert_eq!(port, u64::from(admin), "{probe} must ask the --admin port");
                let (status, body) = server.http("GET", path, None);
                assert_eq!(status, 200, "{probe} GET {path} on a real gslbd: {body}");
                probes += 1;
            }
            target_ports.extend(ports.keys().map(|k| k.to_string()));
        }
    }
    assert!(probes >= 2, "no probe found");
    // Every Service port of gslbd targets a named container port that exists, and DNS is
    // published on 53 for UDP and TCP.
    let mut published = BTreeSet::new();
    for (_, doc) in &docs {
        if str_of(doc, &["kind"]) != Some("Service") {
            continue;
        }
        for p in seq_of(doc, &["spec", "ports"]) {
            let target = str_of(p, &["targetPort"]).expect("named targetPort");
            assert!(
                target_ports.contains(target),
                "targetPort {target} is no container port"
            );
            let port = p.get("port").and_then(Value::as_u64).unwrap();
            published.insert((port, str_of(p, &["protocol"]).unwrap_or("TCP").to_string()));
        }
    }
    assert!(published.contains(&(53, "UDP".into())), "{published:?}");
    assert!(published.contains(&(53, "TCP".into())), "{published:?}");
}

#[test]
fn fleet_urls_name_the_pods_of_the_nats_chart() {
    let values = yaml_documents(&kubernetes_dir().join("nats-values.yaml"));
    let values = &values[0];
    let config = values.get("config").unwrap();
    assert_eq!(
        config["cluster"]["enabled"].as_bool(),
        Some(true),
        "NATS must be clustered"
    );
    let replicas = config["cluster"]["replicas"].as_u64().unwrap();
    assert!(
        replicas >= 3,
        "JetStream needs 3 servers to survive one failure"
    );
    assert_eq!(config["jetstream"]["enabled"].as_bool(), Some(true));
    // The --fleet value of the Deployment: one URL per NATS pod of the release `nats`.
    let deployment = yaml_documents(&kubernetes_dir().join("deployment.yaml"));
    let spec = pod_spec(&deployment[0]).unwrap();
    let argv = container_argv(gslbd_containers(spec)[0]);
    let urls = argv
        .iter()
        .find_map(|a| a.strip_prefix("--fleet="))
        .expect("--fleet=URLS");
    let expected: Vec<String> = (0..replicas)
        .map(|i| format!("nats://nats-{i}.nats-headless:4222"))
        .collect();
    assert_eq!(urls, expected.join(","));
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let text = std::fs::read_to_string(unit_file()).unwrap();
    assert!(
        text.starts_with('#'),
        "the unit opens with a header comment"
    );
    for line in [
        "User=gslbd",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(text.lines().any(|l| l == line), "the unit lacks {line}");
    }
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("systemd-analyze is not installed: the unit's syntax is not verified");
        return;
    };
    // verify checks that the binaries exist: point the unit at the one under test. The
    // AF_XDP drop-in goes beside it, where systemd looks for drop-ins, and is verified with it.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("gslbd.service");
    std::fs::write(&copy, text.replace("/usr/bin/gslbd", bin())).unwrap();
    let dropins = dir.path().join("gslbd.service.d");
    std::fs::create_dir(&dropins).unwrap();
    std::fs::copy(
        repo().join("packaging/systemd/xdp.conf"),
        dropins.join("xdp.conf"),
    )
    .unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify ({}):\n{stderr}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn nats_server_configuration_is_valid() {
    let conf = repo().join("deploy/nats/nats-server.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.starts_with('#'), "opens with a header comment");
    let out = Command::new(common::nats::nats_server())
        .arg("-t")
        .arg("-c")
        .arg(&conf)
        .output()
        .expect("run nats-server -t");
    assert!(
        out.status.success(),
        "nats-server -t rejects {}:\n{}{}",
        conf.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "server_name:",
        "jetstream {",
        "store_dir:",
        "cluster {",
        "routes:",
    ] {
        assert!(
            text.contains(needle),
            "the NATS configuration lacks {needle}"
        );
    }
}
