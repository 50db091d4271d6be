//! Unit tests of the edns module.
use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn client(s: &str) -> [u8; 8] {
    hex(s).try_into().unwrap()
}

fn secret(s: &str) -> CookieSecret {
    CookieSecret::from_hex(s).unwrap()
}

const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

/// RFC 9018 Appendix A.1: a client cookie alone gets a new server cookie.
#[test]
fn rfc9018_a1_new_cookie() {
    let q = QueryCookie::parse(&hex("2464c4abcf10c957")).unwrap();
    let (reply, verdict) = secret(SECRET).reply(&q, "198.51.100.100".parse().unwrap(), 1559731985);
    assert_eq!(verdict, CookieVerdict::New);
    assert_eq!(
        reply.to_vec(),
        hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
    );
}

/// A.2: the cookie of A.1 is valid 40 minutes later, and renewed because it is older
/// than half an hour.
#[test]
fn rfc9018_a2_renewed_cookie() {
    let sent = hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480");
    let q = QueryCookie::parse(&sent).unwrap();
    let (reply, verdict) = secret(SECRET).reply(&q, "198.51.100.100".parse().unwrap(), 1559734385);
    assert_eq!(verdict, CookieVerdict::Valid);
    assert_eq!(
        reply.to_vec(),
        hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
    );
}

/// A.3: the reserved bytes are hashed as sent; the cookie (stamped 1559727985) was valid
/// when fresh, and by the example's reply time (1h52m later) it has expired, so the
/// reply holds a new one either way.
#[test]
fn rfc9018_a3_reserved_bytes_and_expiry() {
    let s = secret(SECRET);
    let addr: IpAddr = "203.0.113.203".parse().unwrap();
    let sent = hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
    let q = QueryCookie::parse(&sent).unwrap();
    assert_eq!(
        s.verify(&q.client, q.server().unwrap(), addr, 1559727985),
        Some(0)
    );
    let (reply, verdict) = s.reply(&q, addr, 1559734700);
    assert_eq!(verdict, CookieVerdict::Invalid, "older than an hour");
    assert_eq!(
        reply.to_vec(),
        hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
    );
}

/// A.4: an IPv6 client's cookie made with the old secret is invalid under the new one,
/// which makes the new cookie.
#[test]
fn rfc9018_a4_ipv6_and_rolled_secret() {
    let addr: IpAddr = "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap();
    let old = secret("dd3bdf9344b678b185a6f5cb60fca715");
    let new = secret("445536bcd2513298075a5d379663c962");
    let sent = hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
    let q = QueryCookie::parse(&sent).unwrap();
    let now = 1559741961;
    assert_eq!(
        old.verify(&q.client, q.server().unwrap(), addr, now),
        Some(144)
    );
    let (reply, verdict) = new.reply(&q, addr, now);
    assert_eq!(verdict, CookieVerdict::Invalid);
    assert_eq!(
        reply.to_vec(),
        hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a")
    );
    let (_, verdict) = old.reply(&q, addr, now);
    assert_eq!(
        verdict,
        CookieVerdict::Valid,
        "the old secret still accepts it"
    );
}

#[test]
fn a_young_valid_cookie_is_echoed_and_its_age_limits_hold() {
    let s = secret(SECRET);
    let addr: IpAddr = "192.0.2.1".parse().unwrap();
    let c = client("0102030405060708");
    let made = 4_294_967_000u32; // 296 s before the timestamp wraps
    let server = s.server_cookie(&c, addr, made);
    let mut sent = c.to_vec();
    sent.extend_from_slice(&server);
    let q = QueryCookie::parse(&sent).unwrap();
    for (later, verdict, echoed) in [
        (0i64, CookieVerdict::Valid, true),
        (1800, CookieVerdict::Valid, true),
        (1801, CookieVerdict::Valid, false),
        (3600, CookieVerdict::Valid, false),
        (3601, CookieVerdict::Invalid, false),
        (-300, CookieVerdict::Valid, true),
        (-301, CookieVerdict::Invalid, false),
    ] {
        let now = (i64::from(made) + later).rem_euclid(1 << 32) as u32;
        let (reply, v) = s.reply(&q, addr, now);
        assert_eq!(v, verdict, "{later} s later");
        assert_eq!(reply[8..] == server, echoed, "{later} s later");
        assert_eq!(reply[..8], c);
        if !echoed {
            assert_eq!(reply[8..], s.server_cookie(&c, addr, now));
        }
    }
    // Another address, client cookie, secret or version: not ours.
    let other: IpAddr = "192.0.2.2".parse().unwrap();
    assert_eq!(s.verify(&c, &server, other, made), None);
    assert_eq!(
        s.verify(&client("0102030405060709"), &server, addr, made),
        None
    );
    assert_eq!(
        secret(&"0".repeat(32)).verify(&c, &server, addr, made),
        None
    );
    let mut v2 = server;
    v2[0] = 2;
    assert_eq!(s.verify(&c, &v2, addr, made), None);
    assert_eq!(s.verify(&c, &server[..15], addr, made), None);
}

#[test]
fn cookie_option_lengths() {
    for len in 0..=48 {
        let ok = len == 8 || (16..=40).contains(&len);
        assert_eq!(QueryCookie::parse(&vec![7; len]).is_some(), ok, "{len}");
    }
    let q = QueryCookie::parse(&[7; 40]).unwrap();
    assert_eq!(q.server().unwrap().len(), 32);
    assert_eq!(QueryCookie::parse(&[7; 8]).unwrap().server(), None);
}

#[test]
fn secrets_and_nsid_arguments() {
    assert!(CookieSecret::from_hex(SECRET).is_ok());
    assert!(CookieSecret::from_hex(&SECRET.to_uppercase()).is_ok());
    assert!(CookieSecret::from_hex(&SECRET[..30]).is_err());
    assert!(CookieSecret::from_hex(&format!("{SECRET}00")).is_err());
    assert!(CookieSecret::from_hex(&format!("{}zz", &SECRET[..30])).is_err());
    assert_ne!(
        CookieSecret::random().unwrap(),
        CookieSecret::random().unwrap()
    );
    assert_eq!(&*nsid_from_arg("ns1.fra").unwrap(), b"ns1.fra");
    assert!(!nsid_from_arg("hostname").unwrap().is_empty());
    assert!(nsid_from_arg("").is_err());
    assert!(nsid_from_arg(&"x".repeat(MAX_NSID + 1)).is_err());
}
