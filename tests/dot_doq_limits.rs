//! DNS over TLS and over QUIC against the real `gslbd serve`, at the edges: idle connections
//! are closed and the per-client cap refuses the extra one; at the global cap a newcomer takes
//! the place of the connection idle longest; a certificate or key that cannot be used stops
//! the start with the file named, and a broken one on reload keeps the old one serving;
//! SIGTERM stops a server with open connections. Certificates are made here with rcgen.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::encrypted::*;
use common::*;
use hickory_proto::rr::RecordType;
use rustls::pki_types::CertificateDer;

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
