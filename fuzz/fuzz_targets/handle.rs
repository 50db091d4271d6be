//! Fuzz target: any bytes through the request handler (UDP and TCP size rules) against the
//! shipped example configuration. A reply must decode with hickory-proto and echo the id.
//!
//! `cargo +nightly fuzz run handle` from the repository root.
#![no_main]

use std::net::IpAddr;
use std::sync::OnceLock;

use gslbd::config::{self, Paths};
use gslbd::dns::edns::{CookieSecret, EdnsConfig};
use gslbd::dns::handler::{handle, Context, Transport};
use gslbd::health::HealthView;
use gslbd::snapshot::Snapshot;
use libfuzzer_sys::fuzz_target;

fn snapshot() -> &'static Snapshot {
    static SNAP: OnceLock<Snapshot> = OnceLock::new();
    SNAP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        config::load(&Paths {
            zones: root.join("zones"),
            geo: root.join("geo"),
        })
        .expect("the shipped example loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let health = HealthView::all_up();
    let src: IpAddr = "192.0.2.1".parse().unwrap();
    let edns = EdnsConfig {
        nsid: Some(b"fuzz".to_vec().into()),
        cookie_secret: CookieSecret::new([7; 16]),
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut ctx = Context {
            snapshot: snapshot(),
            health: &health,
            rotation: data.len() as u64,
            trace: None,
            edns: &edns,
            now: data.len() as u32,
        };
        let mut out = Vec::new();
        if handle(&mut ctx, data, src, transport, &mut out).is_some() {
            assert!(data.len() >= 12 && data[2] & 0x80 == 0);
            assert_eq!(out[..2], data[..2]);
            let limit = if transport == Transport::Udp { 1232 } else { 65535 };
            assert!(out.len() <= limit);
            hickory_proto::op::Message::from_vec(&out).expect("reply decodes");
        }
    }
});
