//! DNS over TLS and over QUIC against the real `gslbd serve`: `kdig +tls` and `kdig +quic`
//! (Knot's client) and a quinn DoQ client get the same answers as TCP for a grid of queries; DoQ takes message ID
//! 0 only and serves several streams of one connection; idle connections are closed and the
//! per-client cap refuses the extra one; a certificate or key that cannot be used stops the
//! start with the file named, and a broken one on reload keeps the old one serving.
//! Certificates are made here with rcgen.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use rustls::pki_types::{CertificateDer, ServerName};

/// The name the test certificates are made for.
const HOST: &str = "ns1.example.test";

/// A CA and a server certificate it signed, as PEM files in a directory.
struct Pki {
    ca: PathBuf,
    ca_der: CertificateDer<'static>,
    cert: PathBuf,
    key: PathBuf,
}

/// Makes a CA and a certificate for `HOST` signed by it, written as `TAG-ca.pem`,
/// `TAG-cert.pem` and `TAG-key.pem` in `dir`.
fn pki(dir: &Path, tag: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("gslbd test CA {tag}"));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![HOST.to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let p = Pki {
        ca: dir.join(format!("{tag}-ca.pem")),
        ca_der: ca_cert.der().clone(),
        cert: dir.join(format!("{tag}-cert.pem")),
        key: dir.join(format!("{tag}-key.pem")),
    };
    std::fs::write(&p.ca, ca_cert.pem()).unwrap();
    std::fs::write(&p.cert, cert.pem()).unwrap();
    std::fs::write(&p.key, key.serialize_pem()).unwrap();
    p
}

/// The flags that serve DoT and DoQ on free ports with `p`'s certificate.
fn tls_args(p: &Pki) -> Vec<String> {
    let mut v: Vec<String> = [
        "--listen-tls",
        "127.0.0.1:0",
        "--listen-quic",
        "127.0.0.1:0",
    ]
    .map(String::from)
    .to_vec();
    v.extend([
        "--tls-cert".into(),
        p.cert.display().to_string(),
        "--tls-key".into(),
        p.key.display().to_string(),
    ]);
    v
}

/// Serves the shipped example with DoT and DoQ and `extra` flags.
fn serve(p: &Pki, extra: &[&str]) -> Server {
    let mut args = tls_args(p);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&example_zones(), &example_geo(), &args)
}

// ---------------------------------------------------------------------------------------------
// kdig

/// Runs `kdig ARGS...`; its stdout. Fails (never skips) when kdig is missing.
fn kdig(args: &[String]) -> Result<String, String> {
    let out = match Command::new("kdig")
        .args(["+time=3", "+retry=0"])
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`kdig` is not installed: install knot-dnsutils, or run ./scripts/test which does"
        ),
        Err(e) => panic!("cannot run kdig: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && !stdout.contains(";; ERROR") && !stderr.contains(";; ERROR") {
        Ok(stdout)
    } else {
        Err(format!("kdig {args:?}: {}\n{stdout}\n{stderr}", out.status))
    }
}

fn kdig_tcp(addr: SocketAddr, query: &[&str]) -> String {
    // kdig pads queries over TLS (RFC 8467); the same query over TCP.
    let mut args = vec![
        "+tcp".to_string(),
        "+padding".to_string(),
        format!("@{}", addr.ip()),
        "-p".into(),
        addr.port().to_string(),
    ];
    args.extend(query.iter().map(|s| s.to_string()));
    kdig(&args).unwrap_or_else(|e| panic!("{e}"))
}

/// kdig over DoT (`proto` `+tls`) or DoQ (`+quic`), trusting `ca`.
fn kdig_enc(addr: SocketAddr, ca: &Path, proto: &str, query: &[&str]) -> Result<String, String> {
    // kdig 3.2 crashes when +quic comes before +tls-ca; after it, it works.
    let mut args = vec![
        format!("+tls-ca={}", ca.display()),
        format!("+tls-hostname={HOST}"),
        proto.to_string(),
        "+padding".to_string(),
        format!("@{}", addr.ip()),
        "-p".into(),
        addr.port().to_string(),
    ];
    args.extend(query.iter().map(|s| s.to_string()));
    kdig(&args)
}

fn kdig_tls(addr: SocketAddr, ca: &Path, query: &[&str]) -> Result<String, String> {
    kdig_enc(addr, ca, "+tls", query)
}

/// kdig's answer without what differs from one exchange to the next (message ID, timing,
/// transport lines), with the records of each section sorted (targets rotate).
fn kdig_answer(out: &str) -> String {
    let mut blocks = Vec::new();
    for block in out.split("\n\n") {
        let mut lines: Vec<String> = block
            .lines()
            .filter(|l| {
                // Answers over TLS and QUIC are padded; over TCP they are not.
                ![
                    ";; TLS session",
                    ";; QUIC session",
                    ";; PADDING",
                    ";; Received",
                    ";; Time",
                    ";; From",
                ]
                .iter()
                .any(|p| l.starts_with(p))
            })
            .map(|l| match l.find("; id: ") {
                Some(i) if l.starts_with(";; ->>HEADER<<-") => l[..i].to_string(),
                // Each runtime thread signs on its own: the times (to the second) and the
                // ECDSA signature differ from one signing to the next; the rest must not.
                _ if l.contains("\tRRSIG\t") => {
                    let (owner, rdata) = l.split_once("\tRRSIG\t").unwrap();
                    let f: Vec<&str> = rdata.split_whitespace().collect();
                    format!("{owner}\tRRSIG\t{} {}", f[..4].join(" "), f[6..8].join(" "))
                }
                _ => l.to_string(),
            })
            .collect();
        if lines.len() > 1 {
            lines[1..].sort();
        }
        if !lines.is_empty() {
            blocks.push(lines.join("\n"));
        }
    }
    blocks.join("\n\n")
}

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
    let s = serve(&p, &[]);
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

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_tls(ca: &CertificateDer<'static>, alpn: &[u8], tls13_only: bool) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut c = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    c.alpn_protocols = vec![alpn.to_vec()];
    c
}

/// A DoQ connection to `addr` trusting `ca`; with `keep_alive`, the client PINGs that often.
async fn doq_connect(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
    keep_alive: Option<Duration>,
) -> Result<(quinn::Endpoint, quinn::Connection), quinn::ConnectionError> {
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(client_tls(ca, b"doq", true)).unwrap();
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(keep_alive);
    config.transport_config(Arc::new(transport));
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(config);
    let conn = endpoint.connect(addr, HOST).unwrap().await?;
    Ok((endpoint, conn))
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut v = (msg.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(msg);
    v
}

/// One query on a new stream: the reply message (without its length), or why none came.
async fn doq_ask(conn: &quinn::Connection, msg: &[u8]) -> Result<Vec<u8>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(&framed(msg))
        .await
        .map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    let reply = recv
        .read_to_end(2 + 65535)
        .await
        .map_err(|e| e.to_string())?;
    let len = u16::from_be_bytes([reply[0], reply[1]]) as usize;
    assert_eq!(len, reply.len() - 2, "the length prefix covers the message");
    Ok(reply[2..].to_vec())
}

/// The grid query as a hickory message with message ID 0.
fn grid_query(name: &str, qtype: &str, subnet: Option<&str>) -> Message {
    let rtype: RecordType = qtype.parse().unwrap();
    let q = query(&format!("{name}."), rtype);
    let mut q = match subnet {
        Some(net) => {
            let (a, len) = net.split_once('/').unwrap();
            with_ecs(q, a, len.parse().unwrap())
        }
        None => with_edns(q, 1232),
    };
    q.metadata.id = 0;
    q
}

/// A reply with its records sorted within each section (targets rotate).
fn sorted(mut m: Message) -> Message {
    for section in [&mut m.answers, &mut m.authorities, &mut m.additionals] {
        section.sort_by_key(|r| r.to_string());
    }
    m
}

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
        send.write_all(&framed(&encode(&q))).await.unwrap();
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

#[tokio::test]
async fn idle_doq_connections_are_closed_and_the_per_client_cap_refuses_the_extra_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(
        &p,
        &["--tcp-idle-timeout", "1", "--tcp-max-per-client", "2"],
    );
    let quic = s.listener("quic");
    // Keep-alive PINGs hold the QUIC connection open at the transport level; the server
    // closes it anyway after a second without a query, like a TCP connection.
    let start = Instant::now();
    let (_e1, first) = doq_connect(quic, &p.ca_der, Some(Duration::from_millis(200)))
        .await
        .unwrap();
    let (_e2, second) = doq_connect(quic, &p.ca_der, None).await.unwrap();
    let q = grid_query("static.example.com", "A", None);
    doq_ask(&second, &encode(&q)).await.expect("admitted");
    // The third from one network is closed once its handshake is done (forged sources
    // cannot take places): DOQ_EXCESSIVE_LOAD, and no answer.
    let third = match doq_connect(quic, &p.ca_der, None).await {
        Ok((_e3, c)) => {
            let asked = doq_ask(&c, &encode(&q)).await;
            assert!(asked.is_err(), "the third connection gets no answer");
            c.closed().await
        }
        Err(e) => e,
    };
    assert!(
        matches!(third, quinn::ConnectionError::ApplicationClosed(ref c) if c.error_code == quinn::VarInt::from_u32(4)),
        "the third connection from one network is refused: {third:?}"
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), first.closed())
        .await
        .expect("the idle connection is closed within 5 s");
    assert!(
        matches!(closed, quinn::ConnectionError::ApplicationClosed(ref c) if c.error_code == quinn::VarInt::from_u32(0)),
        "closed by the server with DOQ_NO_ERROR: {closed:?}"
    );
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "not before the idle timeout ({:?})",
        start.elapsed()
    );
    // With the idle ones gone, the network may connect again.
    tokio::time::timeout(Duration::from_secs(5), second.closed())
        .await
        .unwrap();
    let (_e4, fourth) = doq_connect(quic, &p.ca_der, None)
        .await
        .expect("room again");
    doq_ask(&fourth, &encode(&q)).await.unwrap();
}

#[tokio::test]
async fn at_the_global_cap_a_new_doq_connection_takes_the_place_of_the_one_idle_longest() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(&p, &["--tcp-max-connections", "2"]);
    let quic = s.listener("quic");
    let q = encode(&grid_query("static.example.com", "A", None));
    let (_e1, busy) = doq_connect(quic, &p.ca_der, None).await.unwrap();
    doq_ask(&busy, &q).await.unwrap();
    let (_e2, silent) = doq_connect(quic, &p.ca_der, None).await.unwrap();
    // Wait until the server holds both (the second is admitted after its handshake).
    doq_ask(&silent, &q).await.unwrap();
    let (_e3, newcomer) = doq_connect(quic, &p.ca_der, None).await.unwrap();
    doq_ask(&newcomer, &q)
        .await
        .expect("the newcomer is served");
    // The one that answered longest ago made room: `busy` asked first, then `silent`.
    let closed = tokio::time::timeout(Duration::from_secs(5), busy.closed())
        .await
        .expect("closed to make room");
    assert!(
        matches!(closed, quinn::ConnectionError::ApplicationClosed(ref c) if c.error_code == quinn::VarInt::from_u32(4)),
        "DOQ_EXCESSIVE_LOAD: {closed:?}"
    );
    doq_ask(&silent, &q)
        .await
        .expect("the other one is still served");
}

/// A DoT connection with a completed handshake.
fn dot_connect(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>> {
    let mut sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut conn = rustls::ClientConnection::new(
        Arc::new(client_tls(ca, b"dot", false)),
        ServerName::try_from(HOST).unwrap(),
    )
    .unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)?;
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

/// One query over a DoT connection; the reply.
fn dot_ask(
    c: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    msg: &[u8],
) -> std::io::Result<Vec<u8>> {
    c.write_all(&framed(msg))?;
    c.flush()?;
    let mut len = [0u8; 2];
    c.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    c.read_exact(&mut buf)?;
    Ok(buf)
}

#[test]
fn idle_dot_connections_are_closed_and_the_per_client_cap_refuses_the_extra_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let s = serve(
        &p,
        &["--tcp-idle-timeout", "1", "--tcp-max-per-client", "2"],
    );
    let dot = s.listener("tls");
    let q = encode(&query("static.example.com.", RecordType::A));
    let start = Instant::now();
    let mut first = dot_connect(dot, &p.ca_der).expect("first connection");
    let mut second = dot_connect(dot, &p.ca_der).expect("second connection");
    assert_eq!(first.conn.alpn_protocol(), Some(&b"dot"[..]), "ALPN dot");
    let reply = decode(&dot_ask(&mut second, &q).unwrap());
    assert_eq!(reply.answers.len(), 2, "{reply:?}");
    assert!(
        dot_connect(dot, &p.ca_der)
            .and_then(|mut c| dot_ask(&mut c, &q))
            .is_err(),
        "the third connection from one network is closed at once"
    );
    // Idle: the server closes the connection (EOF or reset, not our 5 s read timeout).
    let mut buf = [0u8; 1];
    match first.read(&mut buf) {
        Ok(0) => {}
        Err(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("want the idle connection closed, got {other:?}"),
    }
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "not before the idle timeout ({:?})",
        start.elapsed()
    );
    // The other idle one goes too; then there is room again.
    let _ = second.read(&mut buf);
    let mut again = dot_connect(dot, &p.ca_der).expect("room again");
    dot_ask(&mut again, &q).expect("answered");
}

// ---------------------------------------------------------------------------------------------
// Certificates that cannot be used

/// Runs `gslbd serve ARGS` expecting it to refuse to start; its stderr.
fn refuses_to_start(args: &[&str]) -> String {
    let mut child = serve_command(&example_zones(), &example_geo())
        .args(["--listen", "127.0.0.1:0", "--admin", "off"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + START_DEADLINE;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            stop_child(child);
            panic!("gslbd serve {args:?} started; it must refuse");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    err
}

#[test]
fn serve_refuses_a_certificate_or_key_it_cannot_use_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = pki(dir.path(), "a");
    let b = pki(dir.path(), "b");
    let path = |p: &Path| p.display().to_string();
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a PEM file\n").unwrap();
    let tls = ["--listen-tls", "127.0.0.1:0"];
    let with = |cert: &Path, key: &Path| {
        let mut v = tls.map(String::from).to_vec();
        v.extend([
            "--tls-cert".into(),
            path(cert),
            "--tls-key".into(),
            path(key),
        ]);
        v
    };
    let run =
        |args: Vec<String>| refuses_to_start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = run(with(&missing, &a.key));
    assert!(
        err.contains(&format!("cannot read {}", path(&missing))),
        "{err}"
    );
    let err = run(with(&a.cert, &garbage));
    assert!(
        err.contains(&path(&garbage)) && err.contains("private key"),
        "{err}"
    );
    let err = run(with(&garbage, &a.key));
    assert!(
        err.contains(&path(&garbage)) && err.contains("certificate"),
        "{err}"
    );
    let err = run(with(&a.cert, &b.key));
    assert!(
        err.contains(&format!(
            "{} does not match the certificate in {}",
            path(&b.key),
            path(&a.cert)
        )),
        "{err}"
    );
    let err = refuses_to_start(&["--listen-quic", "127.0.0.1:0"]);
    assert!(
        err.contains("--tls-cert") && err.contains("--tls-key"),
        "{err}"
    );
}

#[test]
fn a_reload_with_a_broken_key_keeps_the_old_certificate_and_a_good_pair_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = pki(dir.path(), "a");
    let b = pki(dir.path(), "b");
    // The files the server reads, first holding pair a.
    let live = Pki {
        ca: a.ca.clone(),
        ca_der: a.ca_der.clone(),
        cert: dir.path().join("live-cert.pem"),
        key: dir.path().join("live-key.pem"),
    };
    std::fs::copy(&a.cert, &live.cert).unwrap();
    std::fs::copy(&a.key, &live.key).unwrap();
    let s = serve(&live, &["--admin", "127.0.0.1:0"]);
    let dot = s.listener("tls");
    let q = ["static.example.com", "A"];
    kdig_tls(dot, &a.ca, &q).expect("served with pair a");

    std::fs::write(
        &live.key,
        "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (status, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(status, 200, "{body}");
    let problem = format!("{}", live.key.display());
    wait_for("the reload problem logged", Duration::from_secs(5), || {
        let err = s.stderr();
        (err.contains("TLS certificate not reloaded") && err.contains(&problem))
            .then_some(())
            .ok_or(err)
    });
    kdig_tls(dot, &a.ca, &q).expect("still served with pair a");
    doq_answers(s.listener("quic"), &a.ca_der).expect("DoQ still served with pair a");

    std::fs::copy(&b.cert, &live.cert).unwrap();
    std::fs::copy(&b.key, &live.key).unwrap();
    let (status, body) = s.http("POST", "/v1/reload", None);
    assert_eq!(status, 200, "{body}");
    kdig_tls(dot, &b.ca, &q).expect("served with pair b after the reload");
    assert!(
        kdig_tls(dot, &a.ca, &q).is_err(),
        "pair a is no longer presented"
    );
    doq_answers(s.listener("quic"), &b.ca_der).expect("DoQ presents pair b");
    assert!(
        doq_answers(s.listener("quic"), &a.ca_der).is_err(),
        "DoQ no longer presents pair a"
    );
}

/// From a blocking test: connects over DoQ trusting `ca` and asks one query.
fn doq_answers(addr: SocketAddr, ca: &CertificateDer<'static>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (endpoint, conn) = doq_connect(addr, ca, None)
            .await
            .map_err(|e| e.to_string())?;
        let q = grid_query("static.example.com", "A", None);
        doq_ask(&conn, &encode(&q)).await?;
        conn.close(quinn::VarInt::from_u32(0), b"");
        endpoint.wait_idle().await;
        Ok(())
    })
}

#[test]
fn sigterm_stops_the_server_with_open_tls_and_quic_connections() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki(dir.path(), "a");
    let mut s = serve(&p, &[]);
    let q = encode(&query("static.example.com.", RecordType::A));
    let mut dot = dot_connect(s.listener("tls"), &p.ca_der).unwrap();
    dot_ask(&mut dot, &q).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let quic = s.listener("quic");
    let (endpoint, conn) = runtime
        .block_on(doq_connect(quic, &p.ca_der, None))
        .unwrap();
    let start = Instant::now();
    let status = s.stop().expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(start.elapsed() < STOP_DEADLINE);
    // The DoQ connection was closed by the server, not left to time out.
    let closed = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(1), conn.closed()).await });
    assert!(
        matches!(closed, Ok(quinn::ConnectionError::ApplicationClosed(_))),
        "{closed:?}"
    );
    runtime.block_on(async move { drop(endpoint) });
}
