//! Unit tests of RDATA reading.

use super::*;
use crate::import::lexer::entries;

fn origin() -> Name {
    Name::parse(b"example.com.", None).unwrap()
}

/// Reads the RDATA of `"x TYPE <rdata>"`.
fn rd(rtype: RType, rdata: &str) -> Result<Rdata, RdataError> {
    let text = format!("x {rtype} {rdata}\n");
    let es = entries(text.as_bytes()).unwrap();
    parse(rtype, &es[0].tokens[2..], Some(&origin()), (1, text.len()))
}

fn name(s: &str) -> Name {
    Name::parse(s.as_bytes(), None).unwrap()
}

#[test]
fn soa_with_units_and_relative_names() {
    let Rdata::Soa(s) = rd(
        RType::Soa,
        "ns1 hostmaster.example.com. ( 2026010101 1h 15M 2w 1D )",
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(s.mname, name("ns1.example.com."));
    assert_eq!(s.rname, name("hostmaster.example.com."));
    assert_eq!(
        (s.serial, s.refresh, s.retry, s.expire, s.minimum),
        (2026010101, 3600, 900, 1_209_600, 86_400)
    );
}

#[test]
fn addresses() {
    assert_eq!(
        rd(RType::A, "192.0.2.1").unwrap(),
        Rdata::A("192.0.2.1".parse().unwrap())
    );
    assert_eq!(
        rd(RType::Aaaa, "2001:DB8:0::1").unwrap(),
        Rdata::Aaaa("2001:db8::1".parse().unwrap())
    );
    let Err(RdataError::Syntax(e)) = rd(RType::A, "192.0.2.300") else {
        panic!()
    };
    assert_eq!(e.column, 5);
    assert!(e.message.contains("not an IPv4 address"), "{e:?}");
    assert!(rd(RType::A, "192.0.2.1 192.0.2.2").is_err());
    assert!(rd(RType::Aaaa, "").is_err());
}

#[test]
fn txt_strings_and_escapes() {
    let r = rd(
        RType::Txt,
        r#""a \"q\" b" \065\066 semi\;colon "back\\slash""#,
    )
    .unwrap();
    assert_eq!(
        r,
        Rdata::Txt(vec![
            b"a \"q\" b".to_vec(),
            b"AB".to_vec(),
            b"semi;colon".to_vec(),
            b"back\\slash".to_vec()
        ])
    );
    let long = "x".repeat(256);
    assert!(matches!(
        rd(RType::Txt, &format!("\"{long}\"")),
        Err(RdataError::Syntax(_))
    ));
    assert!(matches!(
        rd(RType::Txt, r#""caf\233""#),
        Err(RdataError::Unsupported(_))
    ));
    assert_eq!(
        rd(RType::Txt, "\"caf\\195\\169\"").unwrap(),
        Rdata::Txt(vec!["café".as_bytes().to_vec()])
    );
}

#[test]
fn mx_srv_caa_ds() {
    assert_eq!(
        rd(RType::Mx, "10 mail").unwrap(),
        Rdata::Mx {
            preference: 10,
            exchange: name("mail.example.com.")
        }
    );
    assert_eq!(
        rd(RType::Srv, "0 5 5060 .").unwrap(),
        Rdata::Srv {
            priority: 0,
            weight: 5,
            port: 5060,
            target: Name::root()
        }
    );
    assert!(rd(RType::Srv, "0 5 70000 sip").is_err());
    assert_eq!(
        rd(RType::Caa, "128 issuewild \"ca.example; account=1\"").unwrap(),
        Rdata::Caa {
            flags: 128,
            tag: "issuewild".into(),
            value: "ca.example; account=1".into()
        }
    );
    assert!(rd(RType::Caa, "0 is-sue \"x\"").is_err());
    let ds = rd(
        RType::Ds,
        "60485 RSASHA1 1 ( 2BB183AF5F22588179A5\n 3B0A98631FAD1A292118 )",
    )
    .unwrap();
    let Rdata::Ds {
        key_tag,
        algorithm,
        digest_type,
        digest,
    } = ds
    else {
        panic!()
    };
    assert_eq!((key_tag, algorithm, digest_type), (60485, 5, 1));
    assert_eq!(digest.len(), 20);
    assert_eq!(digest[0], 0x2b);
    assert!(rd(RType::Ds, "1 13 2 ABCD").is_err(), "wrong digest length");
    assert!(rd(RType::Ds, "1 13 2 XY").is_err());
}

#[test]
fn generic_rdata_is_unsupported_and_trailing_fields_are_errors() {
    assert!(matches!(
        rd(RType::A, r"\# 4 C0000201"),
        Err(RdataError::Unsupported(_))
    ));
    let Err(RdataError::Syntax(e)) = rd(RType::Cname, "a b") else {
        panic!()
    };
    assert!(e.message.contains("unexpected `b`"), "{e:?}");
    let Err(RdataError::Syntax(e)) = rd(RType::Mx, "10") else {
        panic!()
    };
    assert!(e.message.contains("missing an MX exchange"), "{e:?}");
}
