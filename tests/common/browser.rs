//! A real headless Chromium for the console tests: started by the test (Debian's
//! `chromium`), driven over the DevTools protocol (chromiumoxide), stopped by its pid.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, Element, Page};
use futures_util::StreamExt;
use serde_json::Value;

/// Where Debian installs Chromium (the test command installs it when missing).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long Chromium may take to open its DevTools port.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// A Chromium process and the DevTools connection to it.
pub struct Chromium {
    child: Option<Child>,
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts headless Chromium with a fresh profile and connects to it.
    pub async fn start() -> Chromium {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                // Nothing but the pages the test opens: no update checks, sync or other
                // background connections.
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMIUM}: {e} (the test command installs `chromium`)"));
        // Chromium prints the DevTools address on stderr once it listens; the rest of its
        // stderr is drained so it never blocks on a full pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(at) = line.find("ws://") {
                        let _ = tx.send(line[at..].trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let ws = match rx.recv_timeout(START_DEADLINE) {
            Ok(ws) => ws,
            Err(_) => {
                super::stop_child(child);
                panic!("Chromium printed no DevTools address within {START_DEADLINE:?}");
            }
        };
        let (browser, mut handler) = Browser::connect(ws).await.expect("DevTools connection");
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Chromium {
            child: Some(child),
            browser,
            handler,
            _profile: profile,
        }
    }

    /// Opens `url` in a new tab and waits for it to load.
    pub async fn open(&self, url: &str) -> Page {
        let page = self.browser.new_page(url).await.expect("new page");
        page.wait_for_navigation().await.expect("page loads");
        page
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        self.handler.abort();
        if let Some(child) = self.child.take() {
            super::stop_child(child);
        }
    }
}

/// Evaluates `js` in the page and returns its value as JSON.
pub async fn eval(page: &Page, js: &str) -> Value {
    page.evaluate(js)
        .await
        .unwrap_or_else(|e| panic!("evaluating `{js}`: {e}"))
        .into_value()
        .unwrap_or(Value::Null)
}

/// Polls `js` until `ok` accepts its value, at most `within`; returns the value and how long
/// it took. Panics with the last value seen, after saving a screenshot next to the others.
pub async fn wait_page(
    page: &Page,
    what: &str,
    js: &str,
    within: Duration,
    ok: impl Fn(&Value) -> bool,
) -> (Value, Duration) {
    let start = Instant::now();
    loop {
        let v = eval(page, js).await;
        if ok(&v) {
            return (v, start.elapsed());
        }
        if start.elapsed() >= within {
            let shot = screenshot(page, "failure").await;
            panic!(
                "{what}: not on the page within {within:?}; last seen: {v} (screenshot {})",
                shot.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The element `css` matches, once one does (within 10 s).
pub async fn element(page: &Page, css: &str) -> Element {
    let start = Instant::now();
    loop {
        match page.find_element(css).await {
            Ok(e) => return e,
            Err(_) if start.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("no element `{css}` on the page: {e}"),
        }
    }
}

/// Clicks the element `css` matches as a person would (scrolled into view, mouse click).
pub async fn click(page: &Page, css: &str) {
    element(page, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
}

/// Types `text` into the input `css` matches, after clearing it.
pub async fn type_into(page: &Page, css: &str, text: &str) {
    let js = format!(
        "document.querySelector({}).value = ''",
        serde_json::to_string(css).unwrap()
    );
    eval(page, &js).await;
    let e = element(page, css).await;
    e.click().await.expect("focus the input");
    e.type_str(text).await.expect("type");
}

/// Gives the page a phone's screen (CSS pixels, device scale 3) or, with `None`, the
/// desktop window back.
pub async fn viewport(page: &Page, phone: Option<(i64, i64)>) {
    match phone {
        Some((w, h)) => {
            page.execute(SetDeviceMetricsOverrideParams::new(w, h, 3.0, true))
                .await
                .expect("phone viewport");
        }
        None => {
            page.execute(
                chromiumoxide::cdp::browser_protocol::emulation::ClearDeviceMetricsOverrideParams::default(),
            )
            .await
            .expect("desktop viewport");
        }
    }
}

/// Saves a full-page screenshot as `<target tmp dir>/console-<name>.png` and returns it.
pub async fn screenshot(page: &Page, name: &str) -> std::path::PathBuf {
    let path =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("console-{name}.png"));
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .expect("screenshot");
    path
}
