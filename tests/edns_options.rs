//! End to end: NSID (`--nsid`), DNS cookies (`--cookie-secret`, RFC 7873 / RFC 9018) and the
//! OPT record of NOTIMP and FORMERR replies, as dig and a client on the wire see them, and
//! the cookie verdicts in `/metrics`.

mod common;

use std::process::Command;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::RecordType;

use common::metrics::scrape_until;
use common::*;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";

/// The example configuration served with `args` (and the admin API on a free port).
fn example_with(args: &[&str]) -> Server {
    let mut all = vec!["--admin", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Server::start(&example_zones(), &example_geo(), &all)
}

/// The line of dig's output that starts with `prefix`, if any.
fn line<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines().find(|l| l.starts_with(prefix))
}

/// The hex of the `; COOKIE: HEX (good)` line of dig's output.
fn dig_cookie(out: &str) -> String {
    let l = line(out, "; COOKIE: ").unwrap_or_else(|| panic!("no COOKIE line:\n{out}"));
    l["; COOKIE: ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A query for `www.example.com. A` with EDNS and the given COOKIE option data.
fn cookie_query(cookie: &[u8]) -> Message {
    let mut m = with_edns(query("www.example.com.", RecordType::A), 1232);
    m.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::Unknown(10, cookie.to_vec()));
    m
}

/// The COOKIE option data of a reply.
fn reply_cookie(m: &Message) -> Option<Vec<u8>> {
    match m.edns.as_ref()?.option(EdnsCode::Cookie)? {
        EdnsOption::Unknown(10, data) => Some(data.clone()),
        other => panic!("COOKIE decoded as {other:?}"),
    }
}

fn cookies_counted(s: &Server, result: &'static str, n: f64) -> f64 {
    let m = scrape_until(s.admin_addr(), |m| {
        m.val("gslbd_cookies_total", &[("result", result)]) >= n
    });
    m.must("gslbd_cookies_total", &[("result", result)])
}

#[test]
fn dig_nsid_shows_the_configured_text_and_nothing_without_it() {
    let s = example_with(&["--nsid", "ns1.fra.example"]);
    let out = dig(s.addr(), &["+nsid", "www.example.com"]);
    let nsid = line(&out, "; NSID: ").unwrap_or_else(|| panic!("no NSID line:\n{out}"));
    assert!(nsid.ends_with("(\"ns1.fra.example\")"), "{nsid}");
    // Not asked: not sent.
    let out = dig(s.addr(), &["+nonsid", "www.example.com"]);
    assert!(line(&out, "; NSID").is_none(), "{out}");
    // Off by default.
    let off = example_with(&[]);
    let out = dig(off.addr(), &["+nsid", "www.example.com"]);
    assert!(out.contains("status: NOERROR"), "{out}");
    assert!(line(&out, "; NSID").is_none(), "{out}");
}

#[test]
fn nsid_hostname_sends_the_host_name() {
    let s = example_with(&["--nsid", "hostname"]);
    let mut m = with_edns(query("www.example.com.", RecordType::A), 1232);
    m.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::NSID(Vec::new().as_slice().try_into().unwrap()));
    let r = tcp(s.addr(), &m);
    let Some(EdnsOption::NSID(got)) = r.edns.as_ref().unwrap().option(EdnsCode::NSID) else {
        panic!("no NSID in {r:?}");
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host name");
    assert_eq!(String::from_utf8_lossy(got.as_ref()), host.trim());
}

#[test]
fn dig_cookie_gets_a_server_cookie_which_is_echoed_when_sent_back() {
    let s = example_with(&["--cookie-secret", SECRET]);
    let out = dig(s.addr(), &["+cookie", "www.example.com"]);
    let cookie = dig_cookie(&out);
    assert_eq!(
        cookie.len(),
        48,
        "8-byte client and 16-byte server cookie: {cookie}"
    );
    assert_eq!(
        &cookie[16..24],
        "01000000",
        "version 1, reserved 0: {cookie}"
    );
    assert!(
        line(&out, "; COOKIE: ").unwrap().ends_with("(good)"),
        "{out}"
    );
    // Sent back (as a resolver does), the young server cookie is valid and echoed.
    let again = dig(s.addr(), &[&format!("+cookie={cookie}"), "www.example.com"]);
    assert_eq!(dig_cookie(&again), cookie, "{again}");
    assert_eq!(cookies_counted(&s, "new", 1.0), 1.0);
    assert_eq!(cookies_counted(&s, "valid", 1.0), 1.0);
    // Without cookies, none in the reply.
    let out = dig(s.addr(), &["+nocookie", "www.example.com"]);
    assert!(line(&out, "; COOKIE").is_none(), "{out}");
}

/// The CHAOS class, as operators ask BIND, Knot and NSD: `dig CH TXT id.server` names the
/// node (the --nsid text), `version.bind` the software unless --hide-version; anything else
/// in CH is refused.
#[test]
fn chaos_txt_names_the_node_and_the_version() {
    let s = example_with(&["--nsid", "ns1.fra"]);
    let txt = |s: &Server, name: &str, qtype: &str| dig(s.addr(), &["+norec", "CH", qtype, name]);
    for name in ["id.server", "hostname.bind", "ID.Server"] {
        let out = txt(&s, name, "TXT");
        assert!(
            out.contains("status: NOERROR") && out.contains("flags: qr aa"),
            "{out}"
        );
        let answer = line(&out, &format!("{name}.")).unwrap_or_else(|| panic!("{out}"));
        assert!(answer.ends_with("0\tCH\tTXT\t\"ns1.fra\""), "{answer:?}");
    }
    // The version, as `gslbd --version` prints it.
    let version = Command::new(bin()).arg("--version").output().unwrap();
    let version = String::from_utf8(version.stdout).unwrap();
    for name in ["version.bind", "version.server"] {
        let out = txt(&s, name, "TXT");
        let answer = line(&out, &format!("{name}.")).unwrap_or_else(|| panic!("{out}"));
        assert_eq!(
            answer.rsplit('\t').next().unwrap(),
            format!("\"{}\"", version.trim()),
            "{out}"
        );
    }
    // ANY gets the TXT record; another type nothing, authoritatively.
    let any = txt(&s, "id.server", "ANY");
    assert!(any.contains("ANSWER: 1,"), "{any}");
    let a = txt(&s, "id.server", "A");
    assert!(
        a.contains("status: NOERROR") && a.contains("ANSWER: 0,") && a.contains("aa"),
        "{a}"
    );
    // Other CH names are refused, as is everything without --nsid or with --hide-version.
    let other = txt(&s, "authors.bind", "TXT");
    assert!(other.contains("status: REFUSED"), "{other}");
    let quiet = example_with(&["--hide-version"]);
    for name in ["id.server", "version.bind"] {
        let out = txt(&quiet, name, "TXT");
        assert!(out.contains("status: REFUSED"), "{name}: {out}");
    }
}

/// RFC 7873 §5.4: a client may ask for a server cookie alone, with no question (`dig
/// +header-only +cookie`). The reply is NOERROR with the cookie, and the cookie then works.
#[test]
fn a_request_for_a_server_cookie_alone_gets_noerror_and_a_good_cookie() {
    let s = example_with(&["--cookie-secret", SECRET]);
    let out = dig(s.addr(), &["+cookie", "+header-only"]);
    assert!(
        out.contains("status: NOERROR") && out.contains("QUERY: 0, ANSWER: 0, AUTHORITY: 0"),
        "{out}"
    );
    assert!(
        line(&out, "; COOKIE: ").unwrap().ends_with("(good)"),
        "{out}"
    );
    let cookie = dig_cookie(&out);
    assert_eq!(cookie.len(), 48, "{cookie}");
    // The cookie got this way is valid on the next query.
    let again = dig(s.addr(), &[&format!("+cookie={cookie}"), "www.example.com"]);
    assert_eq!(dig_cookie(&again), cookie, "{again}");
    assert_eq!(cookies_counted(&s, "valid", 1.0), 1.0);
    assert!(again.contains("status: NOERROR"), "{again}");

    // Over TCP the same.
    let out = dig(s.addr(), &["+tcp", "+cookie", "+header-only"]);
    assert!(out.contains("status: NOERROR"), "{out}");
    assert_eq!(dig_cookie(&out).len(), 48, "{out}");
    // No question without a cookie is still FORMERR (with an OPT, as the query had one);
    // a later EDNS version gets BADVERS and no cookie.
    let out = dig(s.addr(), &["+nocookie", "+header-only"]);
    assert!(out.contains("status: FORMERR"), "{out}");
    let opt = raw_opt(1232, 1, false, &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    let reply = udp_raw(s.addr(), &raw_packet(9, [0, 0], [0, 0, 0, 1], &opt)).expect("a reply");
    let m = decode(&reply);
    assert_eq!(u16::from(m.metadata.response_code), 16, "BADVERS: {m}");
    assert_eq!(reply_cookie(&m), None, "{m}");
}

#[test]
fn nodes_sharing_the_secret_accept_each_others_cookies() {
    let a = example_with(&["--cookie-secret", SECRET]);
    let b = example_with(&["--cookie-secret", SECRET]);
    let c = example_with(&["--cookie-secret", OTHER_SECRET]);
    let client = [0x5a; 8];
    let from_a = reply_cookie(&udp(a.addr(), &cookie_query(&client))).expect("a cookie");
    assert_eq!((from_a.len(), &from_a[..8]), (24, &client[..]));
    // B takes A's cookie as its own: it echoes it (over UDP and TCP) and counts it valid.
    for r in [
        udp(b.addr(), &cookie_query(&from_a)),
        tcp(b.addr(), &cookie_query(&from_a)),
    ] {
        assert_eq!(r.response_code, ResponseCode::NoError);
        assert!(!r.answers.is_empty(), "answered normally: {r}");
        assert_eq!(reply_cookie(&r).as_deref(), Some(&from_a[..]));
    }
    assert_eq!(cookies_counted(&b, "valid", 2.0), 2.0);
    // C, with another secret, answers normally but with a new cookie, and counts invalid.
    let r = udp(c.addr(), &cookie_query(&from_a));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert!(!r.answers.is_empty(), "no BADCOOKIE enforcement: {r}");
    let from_c = reply_cookie(&r).unwrap();
    assert_eq!(from_c[..8], client);
    assert_ne!(from_c, from_a);
    assert_eq!(cookies_counted(&c, "invalid", 1.0), 1.0);
    assert_eq!(cookies_counted(&c, "valid", 0.0), 0.0);
    // ...and C's cookie is good at C.
    let r = udp(c.addr(), &cookie_query(&from_c));
    assert_eq!(reply_cookie(&r).unwrap(), from_c);
    assert_eq!(cookies_counted(&c, "valid", 1.0), 1.0);
}

#[test]
fn malformed_cookie_gets_formerr_with_an_opt() {
    let s = example_with(&[]);
    for len in [0usize, 7, 9, 15, 41] {
        let mut option = 10u16.to_be_bytes().to_vec();
        option.extend_from_slice(&(len as u16).to_be_bytes());
        option.extend(std::iter::repeat_n(0xab, len));
        let p = raw_query(
            0x0c0c,
            "www.example.com.",
            1,
            Some(&raw_opt(1232, 0, true, &option)),
        );
        let replies = [
            udp_raw(s.addr(), &p).expect("UDP reply"),
            tcp_raw(s.addr(), &p).expect("TCP reply"),
        ];
        for r in replies {
            let m = decode(&r);
            assert_eq!(
                m.response_code,
                ResponseCode::FormErr,
                "cookie of {len} bytes"
            );
            let edns = m.edns.as_ref().expect("FORMERR carries an OPT");
            assert!(edns.flags().dnssec_ok, "DO copied");
            assert!(edns.options().as_ref().is_empty(), "no options: {m:?}");
        }
    }
    // A well-formed cookie of 40 bytes (a 32-byte server cookie of another server) is fine.
    let r = udp(s.addr(), &cookie_query(&[1; 40]));
    assert_eq!(r.response_code, ResponseCode::NoError);
    assert_eq!(reply_cookie(&r).unwrap().len(), 24);
}

#[test]
fn notimp_carries_an_opt_only_when_the_query_has_one() {
    let s = example_with(&[]);
    for opcode in [2u8, 5] {
        let q = raw_question("example.com.", 6);
        let with = [q.clone(), raw_opt(1232, 0, true, &[])].concat();
        let p = raw_packet(0x7777, [opcode << 3, 0], [1, 0, 0, 1], &with);
        for r in [
            udp_raw(s.addr(), &p).unwrap(),
            tcp_raw(s.addr(), &p).unwrap(),
        ] {
            assert_eq!(raw_rcode(&r), 4, "NOTIMP for opcode {opcode}");
            assert_eq!((r[2] >> 3) & 0x0f, opcode);
            let m = decode(&r);
            let edns = m.edns.as_ref().expect("NOTIMP carries an OPT");
            assert_eq!((edns.max_payload(), edns.flags().dnssec_ok), (1232, true));
        }
        let p = raw_packet(0x7778, [opcode << 3, 0], [1, 0, 0, 0], &q);
        for r in [
            udp_raw(s.addr(), &p).unwrap(),
            tcp_raw(s.addr(), &p).unwrap(),
        ] {
            assert_eq!(raw_rcode(&r), 4);
            assert_eq!(r.len(), 12, "a bare header without an OPT: {r:02x?}");
        }
    }
    // FORMERR for two questions keeps the OPT too.
    let two = [
        raw_question("example.com.", 6),
        raw_question("www.example.com.", 1),
        raw_opt(1232, 0, false, &[]),
    ]
    .concat();
    let p = raw_packet(0x7779, [1, 0], [2, 0, 0, 1], &two);
    let m = decode(&udp_raw(s.addr(), &p).unwrap());
    assert_eq!(m.response_code, ResponseCode::FormErr);
    assert!(m.edns.is_some(), "FORMERR carries an OPT: {m:?}");
}

#[test]
fn truncated_replies_keep_the_cookie_and_nsid() {
    let zones = Zones::new();
    let many: Vec<String> = (0..60).map(|i| format!("192.0.2.{i}")).collect();
    zones.zone("big.test.", serde_json::json!({ "many": { "A": many } }));
    let s = Server::start(zones.zones_dir(), zones.geo_dir(), &["--nsid", "big-ns"]);
    let out = dig(
        s.addr(),
        &[
            "+ignore",
            "+bufsize=512",
            "+cookie",
            "+nsid",
            "many.big.test",
        ],
    );
    let flags = line(&out, ";; flags:").unwrap_or_else(|| panic!("{out}"));
    assert!(flags.contains(" tc"), "TC over UDP: {flags}");
    assert!(flags.contains("ANSWER: 0"), "{flags}");
    assert_eq!(dig_cookie(&out).len(), 48, "{out}");
    assert!(
        line(&out, "; NSID: ").is_some_and(|l| l.ends_with("(\"big-ns\")")),
        "{out}"
    );
    drop(zones);
}

#[test]
fn bad_cookie_secrets_and_nsid_are_refused_at_start() {
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .args(["--zones"])
            .arg(example_zones())
            .args(["--geo"])
            .arg(example_geo())
            .args(["--listen", "127.0.0.1:0", "--admin", "off"])
            .args(args)
            .env_remove("GSLBD_COOKIE_SECRET");
        if let Some(v) = env {
            cmd.env("GSLBD_COOKIE_SECRET", v);
        }
        let out = cmd.output().expect("run gslbd");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (args, env) in [
        (&["--cookie-secret", "0123"][..], None),
        (&["--cookie-secret", &"g".repeat(32)][..], None),
        (&[][..], Some("0123456789abcdef")),
        (&["--nsid", ""][..], None),
    ] {
        let (code, stderr) = run(args, env);
        assert_eq!(code, Some(1), "{args:?} {env:?}: {stderr}");
        assert!(
            stderr.contains("cookie secret") || stderr.contains("--nsid"),
            "{args:?} {env:?}: {stderr}"
        );
    }
}

/// `GSLBD_COOKIE_SECRET` sets the secret as `--cookie-secret` does.
#[test]
fn the_secret_can_come_from_the_environment() {
    let from_flag = example_with(&["--cookie-secret", SECRET]);
    let cookie = reply_cookie(&udp(from_flag.addr(), &cookie_query(&[9; 8]))).unwrap();
    let from_env = Server::start_with_env(
        &example_zones(),
        &example_geo(),
        &[],
        &[("GSLBD_COOKIE_SECRET", SECRET)],
    );
    let r = udp(from_env.addr(), &cookie_query(&cookie));
    assert_eq!(
        reply_cookie(&r).unwrap(),
        cookie,
        "the same secret echoes it"
    );
}
