//! Online signing end to end (spec §9): `gslbd serve` on the shipped example signed with keys
//! from `gslbd dnssec keygen`, every kind of answer checked by validators gslbd does not
//! contain — delv (BIND) and dnspython — with the zone's KSK as trust anchor; then key
//! rollovers done by editing the key list and reloading, checked the same way; and the
//! signature counters.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::dnssec::gslbd_keygen;
use common::metrics::scrape;
use common::validators::{delv, validate_py, DelvVerdict, PyQuery, PyVerdict, TrustAnchor};
use common::{wait_for, Server};

const ZONE: &str = "example.com.";

/// The shipped example in a temp zones directory, with a KSK and a ZSK (ECDSA P-256) and a
/// second delegation whose child is signed (DS at the cut).
struct Signed {
    dir: tempfile::TempDir,
    keys: Vec<String>,
}

impl Signed {
    fn new(keys: &[&[&str]]) -> Signed {
        let dir = tempfile::tempdir().unwrap();
        let keys = keys
            .iter()
            .map(|args| gslbd_keygen(dir.path(), ZONE, args))
            .collect();
        let s = Signed { dir, keys };
        s.write(&s.keys.iter().map(String::as_str).collect::<Vec<_>>());
        s
    }

    fn zones(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("example.com.json")
    }

    /// Writes the zone signed by `keys` (base names).
    fn write(&self, keys: &[&str]) {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.com.json");
        let mut zone: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shipped).unwrap()).unwrap();
        zone["dnssec"] = serde_json::json!({ "keys": keys });
        zone["records"]["secure"] = serde_json::json!({
            "NS": ["ns1.secure.example.com."],
            "DS": [{ "key_tag": 2371, "algorithm": 13, "digest_type": 2,
                     "digest": "1F987CC6583E92DF0890718C42D1CB0EBF7E6C2D7F5D6A2F5E4B1A5D7C3E2B1A" }]
        });
        zone["records"]["ns1.secure"] = serde_json::json!({ "A": ["192.0.2.55"] });
        std::fs::write(self.file(), serde_json::to_string_pretty(&zone).unwrap()).unwrap();
    }

    fn serve(&self) -> Server {
        let geo = Path::new(env!("CARGO_MANIFEST_DIR")).join("geo");
        Server::start(
            self.zones(),
            &geo,
            &["--admin", "127.0.0.1:0", "--no-watch"],
        )
    }
}

/// The KSK as a validator's trust anchor, read from its key file (not from the server).
fn anchor(s: &Signed, base: &str) -> TrustAnchor {
    let text = std::fs::read_to_string(s.zones().join(format!("{base}.key"))).unwrap();
    let line = text
        .lines()
        .find(|l| !l.starts_with(';') && l.contains("DNSKEY"))
        .expect("a DNSKEY line");
    let rdata = line.split("DNSKEY").nth(1).unwrap();
    TrustAnchor::dnskey(ZONE, rdata)
}

fn reload(server: &Server) {
    let (code, body) = server.http("POST", "/v1/reload", None);
    assert_eq!(code, 200, "{body}");
}

/// Queries every kind of answer of §9 and returns dnspython's verdicts, each checked for its
/// kind; `what` names the key state for messages.
fn check_everything(server: &Server, anchor: &TrustAnchor, what: &str) -> Vec<PyVerdict> {
    let cases: Vec<(PyQuery, &str)> = vec![
        (PyQuery::new("static.example.com", "A"), "answer"),
        (PyQuery::new("www.example.com", "A"), "answer"),
        (PyQuery::new("www.example.com", "AAAA"), "answer"),
        // GSLB answers of several pools: Europe, China Telecom, US-CA, the default.
        (
            PyQuery::new("www.example.com", "A").ecs("81.2.69.160/27"),
            "answer",
        ),
        (
            PyQuery::new("www.example.com", "A").ecs("175.16.199.0/24"),
            "answer",
        ),
        (
            PyQuery::new("www.example.com", "A").ecs("214.78.1.0/24"),
            "answer",
        ),
        (
            PyQuery::new("api.example.com", "A").ecs("8.8.8.0/24"),
            "answer",
        ),
        (
            PyQuery::new("edge7.cdn.example.com", "A").ecs("81.2.69.160/27"),
            "answer",
        ),
        (PyQuery::new("any.thing.apps.example.com", "TXT"), "answer"),
        (PyQuery::new("status.apps.example.com", "A"), "answer"),
        (PyQuery::new("docs.example.com", "AAAA"), "answer"),
        (PyQuery::new("example.com", "MX"), "answer"),
        (PyQuery::new("example.com", "DNSKEY").tcp(), "answer"),
        (PyQuery::new("example.com", "CDS"), "answer"),
        (PyQuery::new("example.com", "CDNSKEY"), "answer"),
        (PyQuery::new("_sip._udp.example.com", "SRV"), "answer"),
        (PyQuery::new("long.example.com", "TXT"), "answer"),
        (PyQuery::new("secure.example.com", "DS"), "answer"),
        // Without CO: NOERROR, but the NXNAME in the NSEC tells validators it is NXDOMAIN.
        (PyQuery::new("nope.example.com", "A"), "nxdomain"),
        (PyQuery::new("nope.example.com", "A").co(), "nxdomain"),
        (PyQuery::new("ns2.example.com", "TXT"), "nodata"),
        (PyQuery::new("www.example.com", "MX"), "nodata"),
        (PyQuery::new("_udp.example.com", "A"), "nodata"),
        (PyQuery::new("x.cdn.example.com", "TXT"), "nodata"),
        (PyQuery::new("lab.example.com", "DS"), "nodata"),
        (PyQuery::new("www.lab.example.com", "A"), "referral"),
        (PyQuery::new("www.secure.example.com", "A"), "referral"),
        // CNAME pools: the CDN's alias (out of the zone), an alias into the zone (followed),
        // and a nearest data centre.
        (
            PyQuery::new("media.example.com", "A").ecs("81.2.69.160/27"),
            "answer",
        ),
        (
            PyQuery::new("media.example.com", "AAAA").ecs("175.16.199.0/24"),
            "answer",
        ),
        (
            PyQuery::new("edge.example.com", "AAAA").ecs("2001:218::/32"),
            "answer",
        ),
    ];
    let queries: Vec<PyQuery> = cases.iter().map(|(q, _)| q.clone()).collect();
    let verdicts = validate_py(server.addr(), anchor, &queries, None);
    assert_eq!(verdicts.len(), cases.len());
    for ((q, kind), v) in cases.iter().zip(&verdicts) {
        assert!(
            v.valid && v.kind == *kind,
            "{what}: {} {} (co {}, ecs {:?}) should be a valid {kind}:\n{}",
            q.name,
            q.rtype,
            q.co,
            q.ecs,
            v.dump()
        );
    }
    verdicts
}

/// What delv (BIND's validator) says of a few answers of each kind.
fn check_with_delv(server: &Server, anchor: &TrustAnchor, what: &str) {
    for (name, rtype) in [
        ("www.example.com", "A"),
        ("edge7.cdn.example.com", "A"),
        ("status.apps.example.com", "A"),
        ("example.com", "DNSKEY"),
        ("example.com", "CDS"),
        ("example.com", "MX"),
        ("secure.example.com", "DS"),
    ] {
        let d = delv(server.addr(), anchor, name, rtype);
        d.assert_validated(&format!("{what}: {name} {rtype}"));
    }
    for (name, rtype) in [("nope.example.com", "A"), ("ns2.example.com", "TXT")] {
        let d = delv(server.addr(), anchor, name, rtype);
        assert!(
            matches!(d.verdict, DelvVerdict::NegativeValidated { .. }),
            "{what}: {name} {rtype}: {}",
            d.output
        );
    }
}

#[test]
fn every_kind_of_answer_is_secure_in_delv_and_dnspython() {
    let s = Signed::new(&[&["--ksk"], &[]]);
    let server = s.serve();
    let ksk = anchor(&s, &s.keys[0]);
    let verdicts = check_everything(&server, &ksk, "KSK + ZSK");
    check_with_delv(&server, &ksk, "KSK + ZSK");
    // The wildcard is signed as if the name existed, and the denial is the compact one.
    let wild = &verdicts[8];
    assert_eq!(
        wild.signed_as.as_deref(),
        Some("existing"),
        "{}",
        wild.dump()
    );
    let nx = &verdicts[18];
    assert_eq!(
        nx.denial.as_deref(),
        Some("compact-nxname"),
        "{}",
        nx.dump()
    );
    assert_eq!(nx.rcode.as_deref(), Some("NOERROR"));
    let nx_co = &verdicts[19];
    assert_eq!(nx_co.rcode.as_deref(), Some("NXDOMAIN"));
    assert_eq!(nx_co.co_in_reply, Some(true));
    assert_eq!(
        verdicts[25].referral.as_deref(),
        Some("insecure"),
        "{}",
        verdicts[25].dump()
    );
    assert_eq!(
        verdicts[26].referral.as_deref(),
        Some("signed"),
        "{}",
        verdicts[26].dump()
    );
    // A key the zone does not have makes both validators fail: the checks can fail.
    let wrong = TrustAnchor::unrelated_p256(ZONE);
    let d = delv(server.addr(), &wrong, "www.example.com", "A");
    assert!(matches!(d.verdict, DelvVerdict::Failed(_)), "{}", d.output);
    let v = validate_py(
        server.addr(),
        &wrong,
        &[PyQuery::new("www.example.com", "A")],
        None,
    );
    assert!(!v[0].valid, "{}", v[0].dump());
}

#[test]
fn a_single_ed25519_csk_signs_everything() {
    let s = Signed::new(&[&["--ksk", "--algorithm", "15"]]);
    let server = s.serve();
    let csk = anchor(&s, &s.keys[0]);
    check_everything(&server, &csk, "Ed25519 CSK");
    check_with_delv(&server, &csk, "Ed25519 CSK");
}

#[test]
fn rollovers_by_editing_the_key_list_and_reloading_stay_secure() {
    let s = Signed::new(&[&["--ksk"], &[], &[], &["--ksk"]]);
    let (ksk1, zsk1, zsk2, ksk2) = (&s.keys[0], &s.keys[1], &s.keys[2], &s.keys[3]);
    s.write(&[ksk1, zsk1]);
    let server = s.serve();
    let a1 = anchor(&s, ksk1);
    check_everything(&server, &a1, "before");
    // ZSK rollover, double signature: both ZSKs publish and sign, then the old one goes.
    s.write(&[ksk1, zsk1, zsk2]);
    reload(&server);
    check_everything(&server, &a1, "two ZSKs");
    s.write(&[ksk1, zsk2]);
    reload(&server);
    check_everything(&server, &a1, "new ZSK");
    check_with_delv(&server, &a1, "new ZSK");
    let dnskeys = common::dig(server.addr(), &["+norec", "+short", ZONE, "DNSKEY"]);
    assert_eq!(
        dnskeys.lines().count(),
        2,
        "the old ZSK is gone:\n{dnskeys}"
    );
    // KSK rollover: the new KSK is added (and its DS given to the parent), then the old one
    // removed; validators holding the new anchor see every answer secure throughout.
    s.write(&[ksk1, ksk2, zsk2]);
    reload(&server);
    let a2 = anchor(&s, ksk2);
    check_everything(&server, &a2, "two KSKs, new anchor");
    check_everything(&server, &a1, "two KSKs, old anchor");
    s.write(&[ksk2, zsk2]);
    reload(&server);
    check_everything(&server, &a2, "new KSK");
    check_with_delv(&server, &a2, "new KSK");
    let d = delv(server.addr(), &a1, "www.example.com", "A");
    assert!(
        matches!(d.verdict, DelvVerdict::Failed(_)),
        "old anchor: {}",
        d.output
    );
}

#[test]
fn signatures_made_and_cached_are_counted() {
    let s = Signed::new(&[&["--ksk"], &[]]);
    let server = s.serve();
    let admin = server.admin_addr();
    let before = scrape(admin);
    let made =
        |m: &common::metrics::Scrape| m.val("gslbd_dnssec_signatures_total", &[("result", "made")]);
    let cached = |m: &common::metrics::Scrape| {
        m.val("gslbd_dnssec_signatures_total", &[("result", "cached")])
    };
    for _ in 0..20 {
        common::dig(
            server.addr(),
            &["+dnssec", "+norec", "www.example.com", "A"],
        );
    }
    let (after, _) = wait_for("the counters", Duration::from_secs(5), || {
        let m = scrape(admin);
        let (made, cached) = (made(&m) - made(&before), cached(&m) - cached(&before));
        (made + cached >= 20.0)
            .then_some(m)
            .ok_or_else(|| format!("made {made}, cached {cached}"))
    });
    // One signature per set of addresses the rotation gives (max_answers 2 of 3), and
    // nothing else: the rest came from the cache.
    let new = made(&after) - made(&before);
    assert!((1.0..=3.0).contains(&new), "{new} signatures made");
    assert_eq!(new + cached(&after) - cached(&before), 20.0);
}
