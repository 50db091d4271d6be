//! DNS over TLS and over QUIC from the client's side, for the tests of the encrypted
//! listeners: a CA and a server certificate made with rcgen, `gslbd serve` with them, kdig
//! (`+tls`, `+quic`) and its answers, and rustls/quinn clients that ask one query at a time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;
use rustls::pki_types::{CertificateDer, ServerName};

/// The name the test certificates are made for.
pub const HOST: &str = "ns1.example.test";

/// A CA and a server certificate it signed, as PEM files in a directory.
pub struct Pki {
    pub ca: PathBuf,
    pub ca_der: CertificateDer<'static>,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes a CA and a certificate for `HOST` signed by it, written as `TAG-ca.pem`,
/// `TAG-cert.pem` and `TAG-key.pem` in `dir`.
pub fn pki(dir: &Path, tag: &str) -> Pki {
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
pub fn tls_args(p: &Pki) -> Vec<String> {
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
pub fn serve(p: &Pki, extra: &[&str]) -> Server {
    let mut args = tls_args(p);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(&example_zones(), &example_geo(), &args)
}

// ---------------------------------------------------------------------------------------------
// kdig

/// Runs `kdig ARGS...`; its stdout. Fails (never skips) when kdig is missing.
pub fn kdig(args: &[String]) -> Result<String, String> {
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

pub fn kdig_tcp(addr: SocketAddr, query: &[&str]) -> String {
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
pub fn kdig_enc(
    addr: SocketAddr,
    ca: &Path,
    proto: &str,
    query: &[&str],
) -> Result<String, String> {
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

pub fn kdig_tls(addr: SocketAddr, ca: &Path, query: &[&str]) -> Result<String, String> {
    kdig_enc(addr, ca, "+tls", query)
}

/// kdig's answer without what differs from one exchange to the next (message ID, timing,
/// transport lines), with the records of each section sorted (targets rotate).
pub fn kdig_answer(out: &str) -> String {
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

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn client_tls(
    ca: &CertificateDer<'static>,
    alpn: &[u8],
    tls13_only: bool,
) -> rustls::ClientConfig {
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
pub async fn doq_connect(
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

/// One query on a new stream: the reply message (without its length), or why none came.
pub async fn doq_ask(conn: &quinn::Connection, msg: &[u8]) -> Result<Vec<u8>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(&super::frame(msg))
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
pub fn grid_query(name: &str, qtype: &str, subnet: Option<&str>) -> Message {
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
pub fn sorted(mut m: Message) -> Message {
    for section in [&mut m.answers, &mut m.authorities, &mut m.additionals] {
        section.sort_by_key(|r| r.to_string());
    }
    m
}

/// A DoT connection with a completed handshake.
pub fn dot_connect(
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
pub fn dot_ask(
    c: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    msg: &[u8],
) -> std::io::Result<Vec<u8>> {
    c.write_all(&super::frame(msg))?;
    c.flush()?;
    let mut len = [0u8; 2];
    c.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    c.read_exact(&mut buf)?;
    Ok(buf)
}
