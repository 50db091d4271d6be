//! The committed XDP program object (src/dns/xdp/steer.bpf.o, which gslbd embeds) is the
//! build of its source by scripts/build-bpf, byte for byte, with the clang named in the
//! source. With another clang, or none, the test says so and skips (GSLBD_REQUIRE_XDP=1:
//! fails). The build runs in a copy at another path, as on another machine: nothing of the
//! checkout's location may end up in the object.

use std::path::Path;
use std::process::Command;

fn skip(why: &str) {
    if std::env::var_os("GSLBD_REQUIRE_XDP").is_some_and(|v| v == "1") {
        panic!("GSLBD_REQUIRE_XDP=1 but the XDP program cannot be rebuilt: {why}");
    }
    // Past the test harness's capture, so that the run's log shows it.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: xdp_program: {why}");
}

#[test]
fn the_committed_object_is_the_build_of_the_source() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("src/dns/xdp/steer.bpf.c")).unwrap();
    let wanted = source
        .lines()
        .find_map(|l| l.strip_prefix("// Built with: "))
        .expect("the source names the clang it was built with")
        .trim();
    let version = match Command::new("clang").arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        _ => return skip("no clang (Debian: clang, llvm, libbpf-dev)"),
    };
    if version != wanted {
        return skip(&format!(
            "clang is {version:?}, the object was built with {wanted:?}"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("elsewhere");
    for file in ["scripts/build-bpf", "src/dns/xdp/steer.bpf.c"] {
        let to = copy.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), &to).unwrap();
    }
    let out = dir.path().join("steer.bpf.o");
    let status = Command::new(copy.join("scripts/build-bpf"))
        .arg(&out)
        .status()
        .expect("run scripts/build-bpf");
    assert!(status.success(), "scripts/build-bpf failed");
    let built = std::fs::read(&out).unwrap();
    let committed = std::fs::read(root.join("src/dns/xdp/steer.bpf.o")).unwrap();
    assert!(
        built == committed,
        "src/dns/xdp/steer.bpf.o is not the build of steer.bpf.c: run scripts/build-bpf and commit"
    );
}
