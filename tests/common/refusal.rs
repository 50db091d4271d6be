//! A refused start: `gslbd serve` run with arguments it must reject, bounded by a deadline so
//! that a server that starts anyway fails the test instead of hanging it.

use std::io::Read;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Instant;

use super::START_DEADLINE;

/// Runs `gslbd serve --zones Z --geo G --listen 127.0.0.1:0 --admin off EXTRA...`, which must
/// exit by itself within `START_DEADLINE`; returns its exit status and stderr. A server still
/// running then is killed (by its pid) and the test fails.
pub fn serve_refused(zones: &Path, geo: &Path, extra_args: &[&str]) -> (ExitStatus, String) {
    let mut child = super::serve_command(zones, geo)
        .args(["--listen", "127.0.0.1:0", "--admin", "off"])
        .args(extra_args)
        .env("GSLBD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gslbd");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + START_DEADLINE;
    let status = loop {
        match child.try_wait().expect("wait for gslbd") {
            Some(status) => break status,
            None if Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = reader.join().unwrap_or_default();
                panic!(
                    "gslbd serve {extra_args:?} was still running after {START_DEADLINE:?}; \
                     it must refuse to start\nstderr:\n{stderr}"
                );
            }
        }
    };
    (status, reader.join().expect("stderr reader"))
}
