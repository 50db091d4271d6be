//! The probe loop under tokio's paused clock: timing of probes and of rise/fall flips.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::gslb::CheckKind;

struct Scripted {
    healthy: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<tokio::time::Instant>>>,
}

impl Probe for Scripted {
    async fn check(&self) -> Result<Duration, String> {
        self.calls.lock().unwrap().push(tokio::time::Instant::now());
        if self.healthy.load(Ordering::SeqCst) {
            Ok(Duration::from_millis(1))
        } else {
            Err("connection refused".into())
        }
    }
}

fn spec(interval: u64, rise: u32, fall: u32) -> CheckSpec {
    CheckSpec {
        kind: CheckKind::Tcp,
        port: 80,
        path: "/".into(),
        host: None,
        expect: vec![],
        body_contains: None,
        insecure: false,
        interval: Duration::from_secs(interval),
        timeout: Duration::from_millis(500),
        rise,
        fall,
    }
}

struct Harness {
    healthy: Arc<AtomicBool>,
    calls: Arc<Mutex<Vec<tokio::time::Instant>>>,
    state: Arc<Mutex<ProbeState>>,
    start: tokio::time::Instant,
    _monitor: Monitor,
}

impl Harness {
    fn start(spec: CheckSpec) -> Self {
        let monitor = Monitor::new(
            Arc::new(Shared::new(Snapshot::default())),
            None,
            ProbeSource::default(),
        );
        let healthy = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(Mutex::new(ProbeState::new(SystemTime::now())));
        let probe = Scripted {
            healthy: healthy.clone(),
            calls: calls.clone(),
        };
        tokio::spawn(probe_loop(
            probe,
            spec,
            Duration::ZERO,
            state.clone(),
            Arc::downgrade(&monitor.inner),
            "test".into(),
        ));
        Harness {
            healthy,
            calls,
            state,
            start: tokio::time::Instant::now(),
            _monitor: monitor,
        }
    }

    async fn at(&self, secs: f64) {
        tokio::time::sleep_until(self.start + Duration::from_secs_f64(secs)).await;
    }

    fn up(&self) -> bool {
        self.state.lock().unwrap().up
    }
}

#[tokio::test(start_paused = true)]
async fn goes_down_after_fall_failures_and_up_after_rise_successes() {
    let h = Harness::start(spec(1, 2, 3));
    h.at(0.5).await;
    assert_eq!(
        h.calls.lock().unwrap().len(),
        1,
        "the first probe runs at once"
    );
    h.healthy.store(false, Ordering::SeqCst);
    h.at(2.9).await;
    assert!(h.up(), "two failures are not enough with fall = 3");
    h.at(3.1).await;
    assert!(!h.up(), "the third failure (t=3) takes it down");
    h.healthy.store(true, Ordering::SeqCst);
    h.at(4.5).await;
    assert!(!h.up(), "one success is not enough with rise = 2");
    h.at(5.1).await;
    assert!(h.up(), "the second success (t=5) brings it up");
    assert_eq!(h.calls.lock().unwrap().len(), 6, "one probe per interval");
}

#[tokio::test(start_paused = true)]
async fn a_flapping_backend_does_not_flap_the_state() {
    let h = Harness::start(spec(1, 2, 2));
    for i in 0..20 {
        // Alternate: every other probe fails; never two in a row.
        h.healthy.store(i % 2 == 0, Ordering::SeqCst);
        h.at(i as f64 + 0.5).await;
        assert!(h.up(), "flipped at probe {i}");
    }
}
