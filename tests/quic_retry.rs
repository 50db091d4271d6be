//! DNS over QUIC under handshake pressure: while as many handshakes as the connection cap
//! are under way (clients behind a relay that swallows the server's replies, as forged
//! sources would be), a new client is first sent a Retry (RFC 9000 §8.1) and, once it has
//! proved its address, connects and is answered; without the pressure no client is.

mod common;

use std::time::{Duration, Instant};

use common::encrypted::*;
use common::udp_relay::{UdpRelay, QUIC_RETRY};
use common::*;
use hickory_proto::op::ResponseCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_handshake_pressure_a_new_doq_client_proves_its_address_and_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(
        &p,
        &["--tcp-max-connections", "3", "--tcp-idle-timeout", "30"],
    );
    let quic = s.listener("quic");
    let q = encode(&grid_query("static.example.com", "A", None));

    // No pressure: the handshake starts at once, no Retry.
    let calm = UdpRelay::start(quic, true).await;
    let (_e0, first) = doq_connect(calm.addr(), &p.ca_der, None)
        .await
        .expect("DoQ handshake");
    doq_ask(&first, &q).await.unwrap();
    assert!(
        !calm.seen().is_empty() && !calm.seen().contains(&QUIC_RETRY),
        "{:?}",
        calm.seen()
    );
    first.close(0u32.into(), b"done");

    // Three handshakes that never finish: the server's replies go nowhere.
    let stalled: Vec<UdpRelay> = black_holes(quic).await;
    let mut pending = Vec::new();
    for r in &stalled {
        let (addr, ca) = (r.addr(), p.ca_der.clone());
        pending.push(tokio::spawn(async move {
            doq_connect(addr, &ca, None).await.map(|_| ())
        }));
    }
    // Each is under way once the server has answered its Initial.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stalled.iter().all(|r| !r.seen().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the server did not take up the three handshakes: {:?}",
            stalled.iter().map(UdpRelay::seen).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for r in &stalled {
        assert!(!r.seen().contains(&QUIC_RETRY), "{:?}", r.seen());
    }

    // A newcomer is sent a Retry first, proves its address and is served.
    let newcomer = UdpRelay::start(quic, true).await;
    let (_e4, conn) = doq_connect(newcomer.addr(), &p.ca_der, None)
        .await
        .expect("a client that proves its address connects");
    let reply = decode(&doq_ask(&conn, &q).await.unwrap());
    assert_eq!(
        reply.metadata.response_code,
        ResponseCode::NoError,
        "{reply}"
    );
    assert_eq!(
        newcomer.seen().first(),
        Some(&QUIC_RETRY),
        "the server's first datagram to the newcomer: {:?}",
        newcomer.seen()
    );
    // The stalled ones are still stalled.
    for t in &pending {
        assert!(!t.is_finished());
    }
    for t in pending {
        t.abort();
    }
}

/// Three relays to `server` that drop the server's datagrams.
async fn black_holes(server: std::net::SocketAddr) -> Vec<UdpRelay> {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(UdpRelay::start(server, false).await);
    }
    out
}
