//! The DNSSEC validation harness (`tests/common/validators.rs`: delv and the dnspython
//! validator) proven against a correct online signer: Knot DNS 3.2's `mod-onlinesign`, with
//! an ECDSA P-256 key Knot generates itself. Positive answers (A, AAAA, MX, TXT, CNAME, a
//! wildcard), NODATA, names that do not exist, referrals with and without DS, the RFC 9824
//! NXNAME shape, and trust anchors or times that must make validation fail.
//!
//! What Knot 3.2 does, as these tests pin it: no NXDOMAIN with DO; a name that does not exist
//! gets a NOERROR "black lie", one NSEC at the query name whose next name is
//! `\000.<name>` and whose bitmap is `nsec-bitmap` (default A AAAA) less the query type, plus
//! RRSIG NSEC; NODATA at an existing name is the same shape with the name's real types (and
//! `nsec-bitmap` ORed in); wildcard answers are signed as if the name existed (RRSIG labels =
//! owner labels); a referral to a child with DS carries an NSEC listing DS but not the DS
//! RRset; CO (0x4000) is ignored.
//!
//! Knot signing the whole zone at load instead (`dnssec-signing: on`) gives the classic
//! shapes the validators must read too: an NSEC chain, NXDOMAIN with covering NSECs, wildcard
//! answers signed as expansions, wildcard NODATA, empty non-terminals, DS in referrals.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::nameservers::{MasterZone, NameServer, OnlineSign};
use common::validators::{delv, validate_py, DelvVerdict, PyQuery, PyVerdict, TrustAnchor};

const ZONE: &str = "example.test.";

/// A zone with every shape a signer has to get right: apex MX/TXT, A and AAAA, a CNAME, a
/// wildcard, an empty non-terminal, a delegation without DS and one with DS.
const MASTER: &str = r#"$ORIGIN example.test.
$TTL 3600
@          SOA   ns1.example.test. hostmaster.example.test. 1 7200 900 1209600 60
@          NS    ns1
@          MX    10 mail
@          TXT   "v=spf1 -all"
ns1        A     192.0.2.53
mail       A     192.0.2.25
www        A     192.0.2.10
www        AAAA  2001:db8::10
alias      CNAME www
*.wild     A     192.0.2.20
*.wild     TXT   "made up"
a.b.deep   TXT   "below an empty non-terminal"
sub        NS    ns1.sub
ns1.sub    A     192.0.2.54
secure     NS    ns1.secure
secure     DS    12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE20A6F0E3A02FA1C3B7A0F3D2
ns1.secure A     192.0.2.55
"#;

/// [`MASTER`] written into `dir`.
fn master(dir: &Path) -> [MasterZone; 1] {
    let file = dir.join("example.test.zone");
    std::fs::write(&file, MASTER).expect("write the master file");
    [MasterZone {
        origin: ZONE.into(),
        file,
    }]
}

/// Knot serving [`MASTER`] signed on the fly (its master file in `dir`).
fn knot(dir: &Path, sign: OnlineSign) -> NameServer {
    NameServer::knot_onlinesign(&master(dir), &sign)
}

fn verdicts(addr: SocketAddr, anchor: &TrustAnchor, queries: &[PyQuery]) -> Vec<PyVerdict> {
    validate_py(addr, anchor, queries, None)
}

#[test]
fn delv_validates_knot_online_signed_answers_and_denials() {
    let dir = tempfile::tempdir().unwrap();
    let knot = knot(dir.path(), OnlineSign::default());
    let anchor = TrustAnchor::fetch_ksk(knot.addr(), ZONE);

    for (name, rtype, data) in [
        ("www.example.test", "A", "192.0.2.10"),
        ("www.example.test", "AAAA", "2001:db8::10"),
        ("example.test", "MX", "10 mail.example.test."),
        ("example.test", "TXT", "\"v=spf1 -all\""),
        ("alias.example.test", "A", "CNAME\twww.example.test."),
        ("host.wild.example.test", "A", "192.0.2.20"),
        ("secure.example.test", "DS", "12345 13 2"),
    ] {
        let d = delv(knot.addr(), &anchor, name, rtype);
        let out = d.assert_validated(&format!("{name} {rtype}"));
        assert!(
            out.contains(data),
            "delv {name} {rtype}: no {data:?} in\n{out}"
        );
    }
    // NODATA at an existing name, and a name that does not exist (a black lie: NODATA too).
    for (name, rtype) in [
        ("www.example.test", "TXT"),
        ("nope.example.test", "A"),
        ("b.deep.example.test", "TXT"),
    ] {
        let d = delv(knot.addr(), &anchor, name, rtype);
        assert_eq!(
            d.verdict,
            DelvVerdict::NegativeValidated { nxdomain: false },
            "delv {name} {rtype}:\n{}",
            d.output
        );
        assert!(
            d.output.contains("NSEC \\000."),
            "compact NSEC:\n{}",
            d.output
        );
    }
    // The same anchor given as its DS.
    let ds = anchor.to_ds();
    assert!(ds.delv_conf().contains("static-ds"), "{}", ds.delv_conf());
    delv(knot.addr(), &ds, "www.example.test", "A").assert_validated("www A, DS anchor");
    let d = delv(knot.addr(), &ds, "nope.example.test", "A");
    assert_eq!(
        d.verdict,
        DelvVerdict::NegativeValidated { nxdomain: false },
        "{}",
        d.output
    );
}

#[test]
fn python_validator_reads_knot_online_signing() {
    let dir = tempfile::tempdir().unwrap();
    let knot = knot(dir.path(), OnlineSign::default());
    let anchor = TrustAnchor::fetch_ksk(knot.addr(), ZONE);
    let q = PyQuery::new;
    let v = verdicts(
        knot.addr(),
        &anchor,
        &[
            q("www.example.test.", "A"),
            q("www.example.test.", "AAAA").tcp(),
            q("example.test.", "MX"),
            q("host.wild.example.test.", "A").ecs("198.51.100.0/24"),
            q("alias.example.test.", "A"),
            q("alias.example.test.", "MX"),
            q("www.example.test.", "TXT"),
            q("nope.example.test.", "A"),
            q("b.deep.example.test.", "TXT"),
            q("www.sub.example.test.", "A"),
            q("sub.example.test.", "DS"),
            q("www.secure.example.test.", "A"),
            q("secure.example.test.", "DS"),
        ],
    );
    for (i, name) in [(0, "www A"), (1, "www AAAA over TCP"), (2, "apex MX")] {
        assert_eq!(
            v[i].expect("answer").signed_as.as_deref(),
            Some("existing"),
            "{name}: {}",
            v[i].dump()
        );
    }
    // Knot signs a wildcard answer as if the name existed: no NSEC needed.
    let wild = v[3].expect("answer");
    assert_eq!(
        wild.signed_as.as_deref(),
        Some("existing"),
        "{}",
        wild.dump()
    );
    assert!(
        wild.answer.iter().any(|l| l.contains("192.0.2.20")),
        "{}",
        wild.dump()
    );
    let alias = v[4].expect("answer");
    assert_eq!(alias.chain, ["alias.example.test."], "{}", alias.dump());
    // The CNAME's target has no MX: NODATA proven at the target.
    let alias_mx = v[5].expect("nodata");
    assert_eq!(
        alias_mx.chain,
        ["alias.example.test."],
        "{}",
        alias_mx.dump()
    );
    assert_eq!(
        alias_mx.denial.as_deref(),
        Some("compact"),
        "{}",
        alias_mx.dump()
    );
    for i in [6, 7, 8] {
        let d = v[i].expect("nodata");
        assert_eq!(d.denial.as_deref(), Some("compact"), "{}", d.dump());
        assert_eq!(d.rcode.as_deref(), Some("NOERROR"), "{}", d.dump());
    }
    // A name that does not exist: a black lie listing Knot's nsec-bitmap less the type.
    assert!(
        v[7].authority
            .iter()
            .any(|l| l.contains("NSEC \\000.nope.example.test. AAAA RRSIG NSEC")),
        "Knot's black lie: {}",
        v[7].dump()
    );
    let insecure = v[9].expect("referral");
    assert_eq!(
        insecure.referral.as_deref(),
        Some("insecure"),
        "{}",
        insecure.dump()
    );
    assert_eq!(insecure.aa, Some(false), "{}", insecure.dump());
    v[10].expect("nodata");
    // Knot 3.2 leaves the DS RRset out of a referral (RFC 4035 §3.1.4 wants it in) and lists
    // DS in the NSEC at the cut instead; asked directly, the DS is there and signed.
    let secure = &v[11];
    assert!(!secure.valid, "{}", secure.dump());
    assert_eq!(
        secure.referral.as_deref(),
        Some("ds-missing"),
        "{}",
        secure.dump()
    );
    assert!(
        secure.errors.iter().any(|e| e.contains("no DS RRset")),
        "{}",
        secure.dump()
    );
    v[12].expect("answer");
}

#[test]
fn rfc9824_nxname_shape_from_knot_nsec_bitmap() {
    // `nsec-bitmap: [TYPE128]` makes Knot's black lie the RFC 9824 shape: NSEC at the name,
    // next \000.<name>, bitmap NSEC RRSIG NXNAME.
    let dir = tempfile::tempdir().unwrap();
    let knot = knot(
        dir.path(),
        OnlineSign {
            nsec_bitmap: Some(vec!["TYPE128"]),
            ..OnlineSign::default()
        },
    );
    let anchor = TrustAnchor::fetch_ksk(knot.addr(), ZONE);
    let q = PyQuery::new;
    let v = verdicts(
        knot.addr(),
        &anchor,
        &[
            q("nope.example.test.", "A"),
            q("a.b.nope.example.test.", "MX"),
            q("nope.example.test.", "A").co(),
            q("www.example.test.", "TXT"),
        ],
    );
    for d in &v[..2] {
        d.expect("nxdomain");
        assert_eq!(d.denial.as_deref(), Some("compact-nxname"), "{}", d.dump());
        assert_eq!(d.rcode.as_deref(), Some("NOERROR"), "{}", d.dump());
    }
    // With CO the rcode must be NXDOMAIN; Knot 3.2 does not know CO and says NOERROR.
    let co = &v[2];
    assert!(!co.valid, "{}", co.dump());
    assert_eq!(co.co_in_reply, Some(false), "{}", co.dump());
    assert!(
        co.errors
            .iter()
            .any(|e| e.contains("CO set") && e.contains("NXDOMAIN")),
        "{}",
        co.dump()
    );
    // Knot ORs nsec-bitmap into an existing name's NODATA NSEC too: NXNAME beside A and AAAA
    // says the name both does and does not exist, which the validator rejects.
    let contradictory = &v[3];
    assert!(!contradictory.valid, "{}", contradictory.dump());
    assert!(
        contradictory
            .errors
            .iter()
            .any(|e| e.contains("also lists A AAAA")),
        "{}",
        contradictory.dump()
    );
    // delv 9.18 knows no NXNAME: it takes the compact NSEC as a validated NODATA.
    let d = delv(knot.addr(), &anchor, "nope.example.test", "A");
    assert_eq!(
        d.verdict,
        DelvVerdict::NegativeValidated { nxdomain: false },
        "{}",
        d.output
    );
    assert!(d.output.contains("RRSIG NSEC TYPE128"), "{}", d.output);
}

#[test]
fn a_wrong_trust_anchor_or_time_fails_both_validators() {
    let dir = tempfile::tempdir().unwrap();
    let knot = knot(dir.path(), OnlineSign::default());
    let good = TrustAnchor::fetch_ksk(knot.addr(), ZONE);
    let q = PyQuery::new;
    let queries = [q("www.example.test.", "A"), q("nope.example.test.", "A")];
    for (what, bad) in [
        ("an unrelated key", TrustAnchor::unrelated_p256(ZONE)),
        ("a corrupted key", good.corrupted()),
        ("a corrupted DS", good.to_ds().corrupted()),
    ] {
        assert_ne!(bad, good);
        for (name, rtype) in [("www.example.test", "A"), ("nope.example.test", "A")] {
            let d = delv(knot.addr(), &bad, name, rtype);
            assert!(
                matches!(&d.verdict, DelvVerdict::Failed(r) if r == "broken trust chain"),
                "delv {name} {rtype} with {what} must fail:\n{}",
                d.output
            );
        }
        for v in verdicts(knot.addr(), &bad, &queries) {
            assert!(!v.valid && v.kind == "bogus", "{what}: {}", v.dump());
            assert!(
                v.errors[0].contains("no key of the DNSKEY RRset matches the trust anchor"),
                "{what}: {}",
                v.dump()
            );
        }
    }
    // The right anchor, but validated a month from now: Knot's signatures last two weeks.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30 * 86400;
    for v in validate_py(knot.addr(), &good, &queries, Some(later)) {
        assert!(!v.valid, "{}", v.dump());
        assert!(
            v.errors.iter().any(|e| e.contains("expired")),
            "{}",
            v.dump()
        );
    }
    // And now, for contrast, both pass.
    for v in verdicts(knot.addr(), &good, &queries) {
        assert!(v.valid, "{}", v.dump());
    }
}

#[test]
fn validators_read_the_classic_nsec_chain_of_knot_zone_signing() {
    let dir = tempfile::tempdir().unwrap();
    let knot = NameServer::knot_zone_signed(&master(dir.path()), "ecdsap256sha256");
    let anchor = TrustAnchor::fetch_ksk(knot.addr(), ZONE);
    let q = PyQuery::new;
    let v = verdicts(
        knot.addr(),
        &anchor,
        &[
            q("host.wild.example.test.", "A"),
            q("nope.example.test.", "A"),
            q("www.example.test.", "TXT"),
            q("host.wild.example.test.", "MX"),
            q("b.deep.example.test.", "TXT"),
            q("www.secure.example.test.", "A"),
            q("www.sub.example.test.", "A"),
            q("alias.example.test.", "MX"),
        ],
    );
    // A wildcard answer signed as an expansion (RRSIG labels 3 < 4), with the NSEC that
    // proves host.wild absent.
    let wild = v[0].expect("answer");
    assert_eq!(
        wild.signed_as.as_deref(),
        Some("wildcard-expansion"),
        "{}",
        wild.dump()
    );
    assert!(
        wild.notes
            .iter()
            .any(|n| n.contains("host.wild.example.test. covered by")),
        "{}",
        wild.dump()
    );
    let nx = v[1].expect("nxdomain");
    assert_eq!(nx.denial.as_deref(), Some("covering"), "{}", nx.dump());
    assert_eq!(nx.rcode.as_deref(), Some("NXDOMAIN"), "{}", nx.dump());
    for (i, denial) in [
        (2, "nsec-at-name"),
        (3, "wildcard-nodata"),
        (4, "empty-non-terminal"),
        (7, "nsec-at-name"),
    ] {
        assert_eq!(
            v[i].expect("nodata").denial.as_deref(),
            Some(denial),
            "{}",
            v[i].dump()
        );
    }
    assert_eq!(
        v[5].expect("referral").referral.as_deref(),
        Some("signed"),
        "{}",
        v[5].dump()
    );
    assert_eq!(
        v[6].expect("referral").referral.as_deref(),
        Some("insecure"),
        "{}",
        v[6].dump()
    );

    delv(knot.addr(), &anchor, "host.wild.example.test", "A").assert_validated("wildcard");
    for (name, rtype, nxdomain) in [
        ("nope.example.test", "A", true),
        ("www.example.test", "TXT", false),
        ("host.wild.example.test", "MX", false),
    ] {
        let d = delv(knot.addr(), &anchor, name, rtype);
        assert_eq!(
            d.verdict,
            DelvVerdict::NegativeValidated { nxdomain },
            "delv {name} {rtype}:\n{}",
            d.output
        );
    }
}
