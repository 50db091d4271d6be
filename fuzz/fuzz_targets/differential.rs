//! Fuzz target: any bytes through gslbd's request handler and through the hickory-based
//! reference responder of `tests/reference`, which must give the same reply or both none
//! (see `reference::compare`), over UDP and TCP, for the shipped example configuration and
//! for the extra zones of `tests/reference/zones`.
//!
//! `cargo +nightly fuzz run differential` from the repository root.
#![no_main]

// The reference also serves tests/differential.rs, which uses more of it.
#[allow(dead_code)]
#[path = "../../tests/reference/mod.rs"]
mod reference;

use std::net::IpAddr;
use std::path::Path;
use std::sync::OnceLock;

use gslbd::dns::edns::{CookieSecret, EdnsConfig};
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::health::HealthView;
use gslbd::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fn snapshots() -> &'static [Snapshot; 2] {
    static SNAPS: OnceLock<[Snapshot; 2]> = OnceLock::new();
    SNAPS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let geo = root.join("geo");
        [
            reference::load(&root.join("zones"), &geo),
            reference::load(&root.join("tests/reference/zones"), &geo),
        ]
    })
}

/// Clients in and outside the example's regions; the input's length picks one.
const CLIENTS: [&str; 6] = [
    "192.0.2.1",
    "81.2.69.161",
    "175.16.199.200",
    "10.1.2.3",
    "2001:480::1",
    "fd00::1",
];

fuzz_target!(|data: &[u8]| {
    let health = HealthView::all_up();
    let src: IpAddr = CLIENTS[data.len() % CLIENTS.len()].parse().unwrap();
    let rotation = data.len() as u64;
    // The clock moves with the input, so cookies in it are sometimes young, old or ahead.
    let now = (data.len() as u32).wrapping_mul(977).wrapping_sub(2000);
    let secret = [7u8; 16];
    let nsid = (data.len() % 2 == 0).then(|| b"fuzz-ns".to_vec());
    let edns = EdnsConfig {
        nsid: nsid.clone().map(Into::into),
        cookie_secret: CookieSecret::new(secret),
    };
    let server = reference::cookies::ServerEdns { secret, nsid, now };
    for snapshot in snapshots() {
        for transport in [Transport::Udp, Transport::Tcp] {
            let mut ctx = Context {
                snapshot,
                health: &health,
                rotation,
                trace: None,
                edns: &edns,
                now,
            };
            let mut out = Vec::new();
            let got = handle(&mut ctx, data, src, transport, &mut out).map(|_| out);
            let tcp = transport == Transport::Tcp;
            let want = reference::respond(snapshot, &health, rotation, data, src, tcp, &server);
            if let Err(e) = reference::compare::compare(data, got.as_deref(), want.as_deref()) {
                panic!("{transport:?} from {src}: {e}");
            }
        }
    }
});
