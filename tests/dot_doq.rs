//! DNS over TLS and over QUIC against the real `gslbd serve`: `kdig +tls` and `kdig +quic`
//! (Knot's client) and a quinn DoQ client get the same answers as TCP for a grid of queries; DoQ takes message ID
//! 0 only and serves several streams of one connection (tests/dot_doq_limits.rs: caps, idle
//! timeouts, certificates). Certificates are made here with rcgen.

mod common;

use common::encrypted::*;
use common::*;
use hickory_proto::rr::RecordType;

/// The grid of queries both encrypted transports must answer as TCP does: static records,
/// GSLB names with ECS from three regions, a CNAME, NODATA, NXDOMAIN, a long TXT and a name
/// outside our zones. Each with the status it must have.
const GRID: &[(&str, &str, Option<&str>, &str)] = &[
    ("static.example.com", "A", None, "NOERROR"),
    ("static.example.com", "AAAA", None, "NOERROR"),
    ("www.example.com", "A", Some("10.1.2.0/24"), "NOERROR"),
    ("www.example.com", "A", Some("81.2.69.160/27"), "NOERROR"),
    (
        "www.example.com",
        "AAAA",
        Some("198.51.100.0/24"),
        "NOERROR",
    ),
    ("docs.example.com", "A", None, "NOERROR"),
    ("static.example.com", "MX", None, "NOERROR"),
    ("nothere.example.com", "A", None, "NXDOMAIN"),
    ("long.example.com", "TXT", None, "NOERROR"),
    ("www.example.org", "A", None, "REFUSED"),
];

/// Asks `q` with kdig over DoT, DoQ and TCP: the status must be `status` and the three
/// answers the same.
fn kdig_same_answers(s: &Server, p: &Pki, q: &[&str], status: &str) {
    let over_tls = kdig_tls(s.listener("tls"), &p.ca, q).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        over_tls.contains(";; TLS session (TLS1.3)"),
        "kdig did not use TLS 1.3:\n{over_tls}"
    );
    assert!(
        over_tls.contains(&format!("status: {status}")),
        "{q:?}: want {status}:\n{over_tls}"
    );
    let over_quic =
        kdig_enc(s.listener("quic"), &p.ca, "+quic", q).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        over_quic.contains(";; QUIC session (QUICv1)"),
        "kdig did not use QUIC:\n{over_quic}"
    );
    let over_tcp = kdig_tcp(s.addr(), q);
    // kdig pads its queries; the answers come padded to a multiple of 468 bytes (RFC 8467).
    for (over, out) in [("TLS", &over_tls), ("QUIC", &over_quic)] {
        let size: usize = out
            .lines()
            .find_map(|l| l.strip_prefix(";; Received ")?.strip_suffix(" B"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no size in {out}"));
        assert!(
            out.contains(";; PADDING: ") && size % 468 == 0,
            "{q:?}: the answer over {over} is padded to a multiple of 468 bytes:\n{out}"
        );
    }
    assert!(!over_tcp.contains(";; PADDING"), "{over_tcp}");
    assert_eq!(
        kdig_answer(&over_tls),
        kdig_answer(&over_tcp),
        "{q:?}: DoT and TCP answers differ"
    );
    assert_eq!(
        kdig_answer(&over_quic),
        kdig_answer(&over_tcp),
        "{q:?}: DoQ and TCP answers differ"
    );
}

#[test]
fn kdig_over_tls_and_quic_gets_the_tcp_answers() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &["--admin", "127.0.0.1:0"]);
    for &(name, qtype, subnet, status) in GRID {
        let ecs = subnet.map(|net| format!("+subnet={net}"));
        let mut q = vec![name, qtype];
        q.extend(ecs.as_deref());
        kdig_same_answers(&s, &p, &q, status);
    }
    // The ECS answers really depend on the client (the grid is not all one answer).
    let office = kdig_tls(
        s.listener("tls"),
        &p.ca,
        &["www.example.com", "A", "+subnet=10.1.2.0/24"],
    )
    .unwrap();
    assert!(office.contains("10.1.0.10"), "office pool:\n{office}");
    // The admin API lists every listener with its transport, as the startup lines do.
    let (code, body) = s.http("GET", "/v1/status", None);
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let listed: Vec<(String, String)> = status["listening"]["dns"]
        .as_array()
        .unwrap_or_else(|| panic!("{status:#}"))
        .iter()
        .map(|l| {
            (
                l["transport"].as_str().unwrap().to_string(),
                l["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("tls", s.listener("tls")),
        ("quic", s.listener("quic")),
        ("udp+tcp", s.addr()),
    ]
    .iter()
    .map(|(k, a)| (k.to_string(), a.to_string()))
    .collect();
    assert_eq!(listed, want, "{status:#}");
    assert_eq!(status["listening"]["xdp"], serde_json::json!([]));
}

#[test]
fn kdig_over_tls_and_quic_gets_the_tcp_answers_of_a_signed_zone() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let zones = dir.path().join("zones");
    std::fs::create_dir(&zones).unwrap();
    let key = common::dnssec::gslbd_keygen(&zones, "example.com", &["--ksk"]);
    let text = std::fs::read_to_string(example_zones().join("example.com.json")).unwrap();
    let mut zone: serde_json::Value = serde_json::from_str(&text).unwrap();
    zone["dnssec"] = serde_json::json!({ "keys": [key] });
    std::fs::write(zones.join("example.com.json"), zone.to_string()).unwrap();
    let args = tls_args(&p);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let s = Server::start(&zones, &example_geo(), &args);
    for (q, status) in [
        (&["static.example.com", "A"][..], "NOERROR"),
        (
            &["www.example.com", "A", "+subnet=81.2.69.160/27"],
            "NOERROR",
        ),
        // Compact denial of existence: NOERROR with an NSEC made for the answer.
        (&["nothere.example.com", "A"], "NOERROR"),
        (&["static.example.com", "MX"], "NOERROR"),
        (&["example.com", "DNSKEY"], "NOERROR"),
    ] {
        let mut q = q.to_vec();
        q.push("+dnssec");
        kdig_same_answers(&s, &p, &q, status);
    }
    let signed = kdig_tls(
        s.listener("tls"),
        &p.ca,
        &["static.example.com", "A", "+dnssec"],
    );
    assert!(signed.unwrap().contains("RRSIG"), "signed answers over DoT");
}

#[test]
fn kdig_refuses_a_certificate_from_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let served = pki(dir.path(), "a");
    let other = pki(dir.path(), "b");
    let s = serve(&served, &[]);
    let err = kdig_tls(s.listener("tls"), &other.ca, &["static.example.com", "A"])
        .expect_err("a certificate from an unknown CA must fail verification");
    assert!(err.contains("TLS"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A DoQ client (quinn) and a DoT client (rustls)

#[tokio::test]
async fn doq_gets_the_tcp_answers_with_message_id_0() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &[]);
    let (_endpoint, conn) = doq_connect(s.listener("quic"), &p.ca_der, None)
        .await
        .expect("DoQ handshake");
    assert_eq!(
        conn.handshake_data()
            .and_then(|h| h.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
            .and_then(|h| h.protocol),
        Some(b"doq".to_vec()),
        "ALPN doq"
    );
    for &(name, qtype, subnet, _) in GRID {
        let q = grid_query(name, qtype, subnet);
        let over_quic = decode(&doq_ask(&conn, &encode(&q)).await.unwrap());
        assert_eq!(over_quic.id, 0, "DoQ replies carry message ID 0");
        let over_tcp = tcp(s.addr(), &q);
        assert_eq!(
            sorted(over_quic),
            sorted(over_tcp),
            "{name} {qtype} {subnet:?}: DoQ and TCP answers differ"
        );
    }
}

#[tokio::test]
async fn doq_serves_several_streams_of_one_connection_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &[]);
    let (_endpoint, conn) = doq_connect(s.listener("quic"), &p.ca_der, None)
        .await
        .unwrap();
    // All streams are open and their queries sent before any reply is read.
    let names: Vec<String> = (0..20)
        .map(|i| format!("host{i}.apps.example.com."))
        .collect();
    let mut pending = Vec::new();
    for n in &names {
        let (mut send, recv) = conn.open_bi().await.unwrap();
        let mut q = query(n, RecordType::TXT);
        q.metadata.id = 0;
        send.write_all(&frame(&encode(&q))).await.unwrap();
        send.finish().unwrap();
        pending.push(recv);
    }
    for (n, mut recv) in names.iter().zip(pending) {
        let reply = recv.read_to_end(2 + 65535).await.unwrap();
        let m = decode(&reply[2..]);
        assert_eq!(
            m.queries[0].name().to_ascii(),
            *n,
            "each stream gets its own answer"
        );
        assert_eq!(m.answers.len(), 1, "{m:?}");
    }
}

#[tokio::test]
async fn doq_closes_the_connection_on_a_non_zero_message_id() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &[]);
    let (_endpoint, conn) = doq_connect(s.listener("quic"), &p.ca_der, None)
        .await
        .unwrap();
    let mut q = query("static.example.com.", RecordType::A);
    q.metadata.id = 4711;
    assert!(doq_ask(&conn, &encode(&q)).await.is_err(), "no answer");
    // RFC 9250 §4.2.1 and §4.3.3: a connection error DOQ_PROTOCOL_ERROR (0x2).
    match conn.closed().await {
        quinn::ConnectionError::ApplicationClosed(c) => {
            assert_eq!(c.error_code, quinn::VarInt::from_u32(2), "{c:?}")
        }
        other => panic!("want DOQ_PROTOCOL_ERROR, got {other:?}"),
    }
}

/// Each transport's queries are counted under its own label, and only the transports the
/// server runs are listed.
#[tokio::test]
async fn queries_are_counted_by_transport() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &["--admin", "127.0.0.1:0"]);
    let q = encode(&query("static.example.com.", RecordType::A));
    for _ in 0..2 {
        udp_raw(s.addr(), &q).expect("a UDP answer");
    }
    for _ in 0..3 {
        tcp_raw(s.addr(), &q).expect("a TCP answer");
    }
    let mut dot = dot_connect(s.listener("tls"), &p.ca_der).expect("DoT handshake");
    for _ in 0..4 {
        dot_ask(&mut dot, &q).expect("a DoT answer");
    }
    let (_endpoint, conn) = doq_connect(s.listener("quic"), &p.ca_der, None)
        .await
        .expect("DoQ handshake");
    let mut doq = q.clone();
    doq[..2].copy_from_slice(&[0, 0]);
    for _ in 0..5 {
        doq_ask(&conn, &doq).await.expect("a DoQ answer");
    }
    let admin = s.admin_addr();
    let want = [("udp", 2.0), ("tcp", 3.0), ("tls", 4.0), ("quic", 5.0)];
    let m = tokio::task::spawn_blocking(move || {
        common::metrics::scrape_until(admin, |m| {
            want.iter()
                .all(|(t, n)| m.val("gslbd_queries_by_transport_total", &[("transport", t)]) >= *n)
        })
    })
    .await
    .unwrap();
    for (t, n) in want {
        assert_eq!(
            m.must("gslbd_queries_by_transport_total", &[("transport", t)]),
            n,
            "{t}"
        );
    }
    assert_eq!(
        m.get("gslbd_queries_by_transport_total", &[("transport", "xdp")]),
        None,
        "no AF_XDP here"
    );
    // The per-transport counts add up to the queries counted by zone, type and code.
    assert_eq!(m.sum("gslbd_queries_total"), 14.0);
}
