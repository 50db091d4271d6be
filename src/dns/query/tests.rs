//! Unit tests of the query module.
use super::*;

fn query(name: &[u8], qtype: u16, opt: Option<&[u8]>) -> Vec<u8> {
    let mut p = vec![
        0x12,
        0x34,
        0x01,
        0x00,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        opt.is_some() as u8,
    ];
    p.extend_from_slice(name);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&1u16.to_be_bytes());
    if let Some(rdata) = opt {
        p.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0]);
        p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        p.extend_from_slice(rdata);
    }
    p
}

fn ecs(family: u16, source: u8, scope: u8, addr: &[u8]) -> Vec<u8> {
    let mut o = 8u16.to_be_bytes().to_vec();
    o.extend_from_slice(&((4 + addr.len()) as u16).to_be_bytes());
    o.extend_from_slice(&family.to_be_bytes());
    o.extend_from_slice(&[source, scope]);
    o.extend_from_slice(addr);
    o
}

#[test]
fn parses_question_lowercased_and_keeps_original_case() {
    let p = query(b"\x03WwW\x07example\x03com\x00", TYPE_A, None);
    let q = parse(&p).unwrap();
    assert_eq!(q.qname(), b"\x03www\x07example\x03com\x00");
    assert_eq!(&q.question[..4], b"\x03WwW");
    assert_eq!((q.id, q.rd, q.qtype, q.qclass), (0x1234, true, 1, 1));
    assert!(q.edns.is_none());
}

#[test]
fn parses_edns_and_ecs() {
    let p = query(b"\x01a\x00", TYPE_AAAA, Some(&ecs(1, 20, 0, &[81, 2, 64])));
    let e = parse(&p).unwrap().edns.unwrap();
    assert_eq!((e.payload, e.version, e.dnssec_ok), (4096, 0, true));
    let ecs = e.ecs.unwrap();
    assert_eq!(ecs.addr, "81.2.64.0".parse::<IpAddr>().unwrap());
    assert_eq!(ecs.source_prefix, 20);
}

#[test]
fn rejects_malformed_ecs() {
    for bad in [
        ecs(3, 24, 0, &[1, 2, 3]),       // unknown family
        ecs(1, 33, 0, &[1, 2, 3, 4, 5]), // prefix too long
        ecs(1, 24, 0, &[1, 2, 3, 4]),    // too many address bytes
        ecs(1, 24, 0, &[1, 2]),          // too few
        ecs(1, 20, 0, &[81, 2, 65]),     // bits past the prefix
        ecs(2, 129, 0, &[0; 17]),        // prefix too long for IPv6
        vec![0, 8, 0, 2, 0, 1],          // truncated option
    ] {
        let p = query(b"\x01a\x00", TYPE_A, Some(&bad));
        assert!(matches!(parse(&p), Err(Reject::FormErr { .. })), "{bad:?}");
    }
}

#[test]
fn classifies_bad_packets() {
    assert_eq!(parse(&[0; 11]).unwrap_err(), Reject::Drop);
    let mut p = query(b"\x01a\x00", TYPE_A, None);
    p[2] |= 0x80;
    assert_eq!(parse(&p).unwrap_err(), Reject::Drop);
    let mut p = query(b"\x01a\x00", TYPE_A, None);
    p[2] = 2 << 3;
    assert!(matches!(
        parse(&p),
        Err(Reject::NotImp {
            opcode: 2,
            opt_do: None,
            ..
        })
    ));
    let mut p = query(b"\x01a\x00", TYPE_A, None);
    p[5] = 2;
    assert!(matches!(parse(&p), Err(Reject::FormErr { .. })));
    let p = query(b"\xc0\x0c", TYPE_A, None);
    assert!(matches!(parse(&p), Err(Reject::FormErr { .. })));
    let p = query(b"\x05ab", TYPE_A, None);
    assert!(matches!(parse(&p), Err(Reject::FormErr { .. })));
}

#[test]
fn two_opt_records_are_formerr() {
    let mut p = query(b"\x01a\x00", TYPE_A, Some(&[]));
    p[11] = 2;
    p.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(parse(&p), Err(Reject::FormErr { .. })));
}

fn option(code: u16, data: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend_from_slice(&(data.len() as u16).to_be_bytes());
    o.extend_from_slice(data);
    o
}

fn opt_do(r: Result<Query<'_>, Reject>) -> Option<bool> {
    match r {
        Err(Reject::FormErr { opt_do, .. } | Reject::NotImp { opt_do, .. }) => opt_do,
        other => panic!("not rejected: {other:?}"),
    }
}

#[test]
fn parses_cookie_and_nsid_options() {
    let mut opts = option(10, &[1, 2, 3, 4, 5, 6, 7, 8]);
    opts.extend(option(3, &[]));
    let p = query(b"\x01a\x00", TYPE_A, Some(&opts));
    let e = parse(&p).unwrap().edns.unwrap();
    let c = e.cookie.unwrap();
    assert_eq!(
        (c.client, c.server(), e.nsid),
        ([1, 2, 3, 4, 5, 6, 7, 8], None, true)
    );
    let p = query(b"\x01a\x00", TYPE_A, Some(&option(10, &[9; 24])));
    let e = parse(&p).unwrap().edns.unwrap();
    assert_eq!(e.cookie.unwrap().server(), Some(&[9u8; 16][..]));
    assert!(!e.nsid);
}

#[test]
fn malformed_or_repeated_cookies_are_formerr_with_opt() {
    for len in [0, 7, 9, 15, 41, 60] {
        let p = query(b"\x01a\x00", TYPE_A, Some(&option(10, &vec![1; len])));
        assert_eq!(opt_do(parse(&p)), Some(true), "cookie of {len} bytes");
    }
    let mut two = option(10, &[1; 8]);
    two.extend(option(10, &[1; 8]));
    let p = query(b"\x01a\x00", TYPE_A, Some(&two));
    assert_eq!(opt_do(parse(&p)), Some(true));
}

#[test]
fn notimp_and_formerr_carry_the_opt_when_it_is_readable() {
    // NOTIFY (4) and UPDATE (5) with an OPT, DO set: NOTIMP with OPT.
    for opcode in [2u8, 4, 5, 15] {
        let mut p = query(b"\x01a\x00", TYPE_A, Some(&[]));
        p[2] = opcode << 3;
        assert_eq!(opt_do(parse(&p)), Some(true), "opcode {opcode}");
        // No question, or two: the OPT is still found.
        let mut q = p.clone();
        q[5] = 0;
        q.drain(12..12 + 3 + 4);
        assert_eq!(
            opt_do(parse(&q)),
            Some(true),
            "opcode {opcode}, no question"
        );
        // An unreadable record: no OPT.
        let mut r = p.clone();
        r.truncate(r.len() - 1);
        assert_eq!(opt_do(parse(&r)), None, "opcode {opcode}, cut");
    }
    // FORMERR for two questions, or a compressed one, keeps the OPT (DO clear here).
    let mut p = query(b"\x01a\x00", TYPE_A, Some(&[]));
    let at = p.len() - 4;
    p[at] = 0;
    p[5] = 2;
    p.splice(12..12, *b"\x01b\x00\x00\x01\x00\x01");
    assert_eq!(opt_do(parse(&p)), Some(false));
    let mut p = query(b"\x01a\xc0\x0c", TYPE_A, Some(&[]));
    let at = p.len() - 4;
    p[at] = 0;
    assert_eq!(opt_do(parse(&p)), Some(false));
    let p = query(b"\x01a\x00", TYPE_A, None);
    let mut p2 = p.clone();
    p2[5] = 0;
    assert_eq!(opt_do(parse(&p2)), None);
}

#[test]
fn no_question_with_a_cookie_asks_for_a_server_cookie() {
    let cookie = [0u8, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
    let mut p = query(b"\x01a\x00", TYPE_A, Some(&cookie));
    p[5] = 0;
    p.drain(12..12 + 3 + 4);
    match parse(&p) {
        Err(Reject::CookieOnly { id, rd, edns, .. }) => {
            assert_eq!((id, rd), (0x1234, true));
            assert_eq!(edns.cookie.unwrap().client, [1, 2, 3, 4, 5, 6, 7, 8]);
        }
        other => panic!("{other:?}"),
    }
    // Another opcode: NOTIMP. No cookie, a malformed one, or two questions: FORMERR.
    let mut n = p.clone();
    n[2] = 4 << 3;
    assert!(matches!(parse(&n), Err(Reject::NotImp { .. })));
    let mut bare = query(b"\x01a\x00", TYPE_A, Some(&[]));
    bare[5] = 0;
    bare.drain(12..12 + 3 + 4);
    assert!(matches!(parse(&bare), Err(Reject::FormErr { .. })));
    let mut bad = query(b"\x01a\x00", TYPE_A, Some(&cookie[..10]));
    bad[5] = 0;
    bad.drain(12..12 + 3 + 4);
    assert!(matches!(parse(&bad), Err(Reject::FormErr { .. })));
}
