//! The Dockerfile's promises, checked without Docker: a multi-stage build (the release binary
//! built in a Rust image, run on Debian slim), an unprivileged user that binds port 53
//! through the binary's file capability, the configuration and the state as volumes whose
//! paths the command line uses, DNS and the admin API exposed, a build context without
//! `target/`, and a HEALTHCHECK whose command (run here with bash) passes against a real
//! server and fails when none answers. Its command line passes the binary's argument parser
//! in tests/deploy_files.rs.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use common::dockerfile::{self, command_line, exec_form, instructions, last, Instruction};
use common::*;

fn final_stage() -> Vec<Instruction> {
    let all = instructions();
    let last_stage = all.iter().map(|i| i.stage).max().unwrap();
    all.into_iter().filter(|i| i.stage == last_stage).collect()
}

/// Every value of `flag` in `argv` (`--flag V` or `--flag=V`).
fn values(argv: &[String], flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in argv.iter().enumerate() {
        if a == flag {
            out.extend(argv.get(i + 1).cloned());
        } else if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            out.push(v.to_string());
        }
    }
    out
}

#[test]
fn the_build_has_a_rust_stage_and_a_slim_runtime_stage_with_the_binary() {
    let all = instructions();
    let froms: Vec<&Instruction> = all.iter().filter(|i| i.keyword == "FROM").collect();
    assert!(froms.len() >= 2, "not multi-stage: {froms:?}");
    let args: Vec<&Instruction> = all.iter().filter(|i| i.keyword == "ARG").collect();
    // `FROM ${RUST_IMAGE} AS build`: the image is an ARG with a default.
    let image = |from: &Instruction| -> String {
        let name = from.args.split_whitespace().next().unwrap();
        match name.strip_prefix("${").and_then(|n| n.strip_suffix('}')) {
            Some(arg) => args
                .iter()
                .find_map(|a| a.args.strip_prefix(&format!("{arg}=")))
                .unwrap_or_else(|| panic!("ARG {arg} has no default"))
                .to_string(),
            None => name.to_string(),
        }
    };
    let build = froms[0];
    assert!(image(build).starts_with("rust:"), "{build:?}");
    assert!(
        build.args.to_ascii_lowercase().ends_with(" as build"),
        "{build:?}"
    );
    let runtime = froms.last().unwrap();
    let runtime_image = image(runtime);
    assert!(
        runtime_image.starts_with("debian:") && runtime_image.ends_with("-slim"),
        "{runtime_image}"
    );
    // The build stage builds the locked release binary; the runtime stage copies it.
    assert!(
        all.iter().any(|i| i.stage == 0
            && i.keyword == "RUN"
            && i.args.contains("cargo build --release --locked")),
        "no release build in the first stage"
    );
    let binary = &command_line()[0];
    assert!(
        final_stage().iter().any(|i| i.keyword == "COPY"
            && i.args.starts_with("--from=build")
            && i.args.ends_with(binary.as_str())),
        "the runtime stage does not copy the built binary to {binary}"
    );
    // The build context leaves out build output and history.
    let ignore =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".dockerignore"))
            .expect(".dockerignore");
    for dir in ["target", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim_end_matches('/') == dir),
            ".dockerignore lacks {dir}"
        );
    }
}

#[test]
fn gslbd_runs_unprivileged_and_binds_port_53_with_the_capability() {
    let user = last("USER").expect("no USER in the runtime stage");
    let (uid, gid) = user.args.split_once(':').unwrap_or((&user.args, ""));
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "USER {}: a numeric uid other than root's (Kubernetes' runAsNonRoot checks it)",
        user.args
    );
    assert!(gid.is_empty() || gid.parse::<u32>().is_ok_and(|g| g != 0));
    // The user exists in the image with that uid.
    assert!(
        final_stage().iter().any(
            |i| i.keyword == "RUN" && i.args.contains(&format!("useradd --system --uid {uid}"))
        ),
        "no user with uid {uid}"
    );
    // USER comes after every RUN (none of them would work unprivileged).
    let stage = final_stage();
    let user_at = stage.iter().position(|i| i.keyword == "USER").unwrap();
    assert!(stage[user_at..].iter().all(|i| i.keyword != "RUN"));
    let argv = command_line();
    let binary = &argv[0];
    assert!(
        stage.iter().any(|i| i.keyword == "RUN"
            && i.args
                .contains(&format!("setcap cap_net_bind_service=+ep {binary}"))),
        "{binary} gets no cap_net_bind_service"
    );
    assert_eq!(argv[1], "serve", "{argv:?}");
    let listen = values(&argv, "--listen");
    assert!(!listen.is_empty(), "{argv:?}");
    for l in &listen {
        let addr: SocketAddr = l.parse().unwrap_or_else(|e| panic!("--listen {l}: {e}"));
        assert_eq!(addr.port(), 53, "--listen {l}");
    }
}

#[test]
fn configuration_and_state_are_volumes_and_dns_and_admin_are_exposed() {
    let argv = command_line();
    let volumes: BTreeSet<String> = final_stage()
        .iter()
        .filter(|i| i.keyword == "VOLUME")
        .flat_map(|i| {
            exec_form(&i.args)
                .unwrap_or_else(|| i.args.split_whitespace().map(String::from).collect())
        })
        .collect();
    for flag in ["--zones", "--geo"] {
        let v = values(&argv, flag);
        assert_eq!(v.len(), 1, "{flag} in {argv:?}");
        assert!(
            volumes.contains(&v[0]),
            "{flag} {} is no volume: {volumes:?}",
            v[0]
        );
    }
    let state = values(&argv, "--state-file");
    assert_eq!(state.len(), 1, "--state-file in {argv:?}");
    let state_dir = Path::new(&state[0]).parent().unwrap().to_str().unwrap();
    assert!(
        volumes.contains(state_dir),
        "{state_dir} is no volume: {volumes:?}"
    );
    // The image ships the example configuration where the volumes go.
    for (src, dst) in [
        ("zones", &values(&argv, "--zones")[0]),
        ("geo", &values(&argv, "--geo")[0]),
    ] {
        assert!(
            final_stage()
                .iter()
                .any(|i| i.keyword == "COPY" && i.args == format!("{src} {dst}")),
            "the example {src}/ is not copied to {dst}"
        );
    }
    let exposed: BTreeSet<String> = final_stage()
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .flat_map(|i| {
            i.args
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let admin: SocketAddr = values(&argv, "--admin")[0].parse().unwrap();
    assert!(
        admin.ip().is_unspecified(),
        "the admin API must listen beyond the container's loopback to be published"
    );
    // 853: DNS over TLS and over QUIC (RFC 7858, RFC 9250), for a command line that adds them.
    for port in [
        "53/udp".to_string(),
        "53/tcp".to_string(),
        "853/tcp".to_string(),
        "853/udp".to_string(),
        format!("{}/tcp", admin.port()),
    ] {
        assert!(
            exposed.contains(&port),
            "{port} is not exposed: {exposed:?}"
        );
    }
}

/// The HEALTHCHECK's command, with the admin port replaced by `port`.
fn healthcheck(port: u16) -> Vec<String> {
    let hc = last("HEALTHCHECK").expect("no HEALTHCHECK");
    let argv = exec_form(&hc.args).expect("HEALTHCHECK CMD in exec form");
    let admin: SocketAddr = values(&command_line(), "--admin")[0].parse().unwrap();
    let from = format!("/{}", admin.port());
    assert!(argv.iter().any(|a| a.contains(&from)), "{argv:?}");
    assert!(argv.iter().any(|a| a.contains("/healthz")), "{argv:?}");
    argv.into_iter()
        .map(|a| a.replace(&from, &format!("/{port}")))
        .collect()
}

fn runs_ok(argv: &[String]) -> bool {
    Command::new(&argv[0])
        .args(&argv[1..])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
        .success()
}

#[test]
fn the_healthcheck_passes_while_gslbd_serves_and_fails_when_it_does_not() {
    assert!(dockerfile::path().is_file());
    let mut s = Server::start(
        &example_zones(),
        &example_geo(),
        &["--admin", "127.0.0.1:0", "--udp-threads", "1"],
    );
    let port = s.admin_addr().port();
    let argv = healthcheck(port);
    assert!(runs_ok(&argv), "{argv:?} fails against a serving gslbd");
    s.stop();
    assert!(!runs_ok(&argv), "{argv:?} passes with nothing listening");
}

#[test]
fn kubernetes_containers_of_the_image_keep_the_capability_its_binary_needs_to_start() {
    // The binary's file capability (+ep) must be in the bounding set, or exec fails with
    // EPERM: a container that drops ALL adds NET_BIND_SERVICE back.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/deployment.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    let containers = doc["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .expect("containers");
    let mut checked = 0;
    for c in containers
        .iter()
        .filter(|c| c["image"].as_str() == Some("gslbd"))
    {
        let caps = &c["securityContext"]["capabilities"];
        let list = |key: &str| -> Vec<&str> {
            caps[key]
                .as_sequence()
                .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default()
        };
        if list("drop").contains(&"ALL") {
            assert!(
                list("add").contains(&"NET_BIND_SERVICE"),
                "{}: drops ALL without adding NET_BIND_SERVICE back",
                c["name"].as_str().unwrap_or("?")
            );
        }
        checked += 1;
    }
    assert!(checked >= 1, "no container runs the gslbd image");
}
