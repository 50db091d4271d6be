//! Key file parsing: the layouts dnssec-keygen, ldns-keygen and RFC examples use, and each
//! mistake reported with its line.

use super::*;

const P256: &str =
    "GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==";
const P256_PRIVATE: &str = "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=";

fn name(s: &str) -> WireName {
    WireName::parse(s, None).unwrap()
}

fn problem_of(text: &str) -> (usize, String) {
    let (line, p) = parse_key_file(text).unwrap_err();
    (line, p.to_string())
}

/// dnssec-keygen: comment lines first, no TTL, class IN, the base64 split by a space.
#[test]
fn bind_layout_with_comments() {
    let text = format!(
        "; This is a key-signing key, keyid 55648, for example.net.\n\
         ; Created: 20261205113216 (Sat Dec  5 11:32:16 2026)\n\
         ; Publish: 20261205113216 (Sat Dec  5 11:32:16 2026)\n\
         example.net. IN DNSKEY 257 3 13 {} {}\n",
        &P256[..56],
        &P256[56..]
    );
    let r = parse_key_file(&text).unwrap();
    assert_eq!(r.owner, name("example.net."));
    assert_eq!((r.flags, r.algorithm, r.line), (257, 13, 4));
    assert_eq!(BASE64.encode(&r.public), P256);
}

/// ldns-keygen: tabs, a trailing `;{id = ...}` comment, no final newline.
#[test]
fn ldns_layout_with_tabs_and_a_trailing_comment() {
    let text =
        format!("example.net.\tIN\tDNSKEY\t256 3 13 {P256} ;{{id = 55647 (zsk), size = 256b}}");
    let r = parse_key_file(&text).unwrap();
    assert_eq!((r.flags, r.algorithm, r.line), (256, 13, 1));
    assert_eq!(BASE64.encode(&r.public), P256);
}

/// TTL and class in either order or absent; type and class in any case; the algorithm as a
/// mnemonic; an upper-case owner.
#[test]
fn ttl_and_class_in_any_order() {
    for head in [
        "example.net. 3600 IN DNSKEY",
        "example.net. IN 3600 DNSKEY",
        "example.net. 3600 DNSKEY",
        "example.net. DNSKEY",
        "EXAMPLE.net. in dnskey",
    ] {
        for alg in ["13", "ECDSAP256SHA256", "ecdsap256sha256"] {
            let r = parse_key_file(&format!("{head} 257 3 {alg} {P256}\n"))
                .unwrap_or_else(|e| panic!("{head} {alg}: {e:?}"));
            assert_eq!(r.owner, name("example.net."), "{head}");
            assert_eq!((r.flags, r.algorithm), (257, 13), "{head} {alg}");
        }
    }
}

/// The RDATA in parentheses over several lines, with comments inside (RFC 6605 and keymgr
/// styles), parentheses touching the tokens or not.
#[test]
fn parentheses_across_lines() {
    for text in [
        format!(
            "example.net. 3600 IN DNSKEY 257 3 13 (\n        {} ; first half\n        {} )\n",
            &P256[..44],
            &P256[44..]
        ),
        format!(
            "example.net. 3600 IN DNSKEY (257 3 13\n{}\n{})",
            &P256[..10],
            &P256[10..]
        ),
        format!("example.net. 3600 IN DNSKEY ( 257\n3\n13\n{P256}\n)\n\n; end\n"),
    ] {
        let r = parse_key_file(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        assert_eq!((r.flags, r.algorithm, r.line), (257, 13, 1), "{text}");
        assert_eq!(BASE64.encode(&r.public), P256, "{text}");
    }
}

#[test]
fn mistakes_in_key_files_name_their_line() {
    let cases: Vec<(String, usize, &str)> = vec![
        (
            format!("; c\nexample.net. IN DNSKEY 257 3 13 {}!\n", &P256[..87]),
            2,
            "bad base64 in the public key",
        ),
        (
            format!("example.net. IN DNSKEY 257 3 13 {}\n", &P256[..50]),
            1,
            "bad base64",
        ),
        ("; only comments\n\n".into(), 1, "no DNSKEY record"),
        (
            format!(
                "example.net. IN DNSKEY 257 3 13 {P256}\nexample.net. IN DNSKEY 256 3 13 {P256}\n"
            ),
            2,
            "a second record",
        ),
        (
            format!("example.net. IN DS 257 3 13 {P256}\n"),
            1,
            "a DS record",
        ),
        (
            format!("example.net. CH DNSKEY 257 3 13 {P256}\n"),
            1,
            "class CH",
        ),
        (
            format!("example.net. IN DNSKEY 257 2 13 {P256}\n"),
            1,
            "protocol `2`",
        ),
        (
            format!("example.net. IN DNSKEY 70000 3 13 {P256}\n"),
            1,
            "flags `70000`",
        ),
        (
            format!("example.net. IN DNSKEY 257 3 NOPE {P256}\n"),
            1,
            "`NOPE` is not an algorithm",
        ),
        (
            "example.net. IN DNSKEY 257 3 13\n".into(),
            1,
            "no public key",
        ),
        (
            "example.net. IN DNSKEY 257\n".into(),
            1,
            "no protocol field",
        ),
        (
            format!("example.net IN DNSKEY 257 3 13 {P256}\n"),
            1,
            "must end with a dot",
        ),
        (
            format!("\n\nexample.net. IN DNSKEY 257 3 13 ( {P256}\n"),
            3,
            "never closed",
        ),
        (
            format!("example.net. IN DNSKEY 257 3 13 {P256} )\n"),
            1,
            "without `(`",
        ),
    ];
    for (text, line, part) in cases {
        let (got_line, msg) = problem_of(&text);
        assert!(msg.contains(part), "{text:?}: {msg:?} lacks {part:?}");
        assert_eq!(got_line, line, "{text:?}: {msg}");
    }
}

/// v1.2 (ldns, the RFCs) and v1.3 (BIND 9.9+) alike; timing fields ignored.
#[test]
fn private_files_v1_2_and_v1_3() {
    for (format, extra) in [
        ("v1.2", ""),
        (
            "v1.3",
            "Created: 20261205113216\nPublish: 20261205113216\nActivate: 20261205113216\n",
        ),
    ] {
        let text = format!(
            "Private-key-format: {format}\nAlgorithm: 13 (ECDSAP256SHA256)\n\
             PrivateKey: {P256_PRIVATE}\n{extra}"
        );
        let p = parse_private_file(&text).unwrap();
        assert_eq!((p.algorithm, p.algorithm_line, p.private_line), (13, 2, 3));
        assert_eq!(BASE64.encode(&p.private), P256_PRIVATE);
    }
}

#[test]
fn mistakes_in_private_files_name_their_line() {
    let head = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n";
    let cases: Vec<(String, usize, &str)> = vec![
        (
            format!("{head}PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6m=\n"),
            3,
            "bad base64 in the private key",
        ),
        (head.into(), 2, "no `PrivateKey:` line"),
        (
            format!("Private-key-format: v2.0\nAlgorithm: 13\nPrivateKey: {P256_PRIVATE}\n"),
            1,
            "`v2.0`",
        ),
        (
            format!("Algorithm: 13\nPrivateKey: {P256_PRIVATE}\n"),
            1,
            "not a BIND private key",
        ),
        (
            format!("Private-key-format: v1.3\nAlgorithm: thirteen\nPrivateKey: {P256_PRIVATE}\n"),
            2,
            "`thirteen`",
        ),
        (
            format!("{head}Algorithm: 13\nPrivateKey: {P256_PRIVATE}\n"),
            3,
            "a second `Algorithm:`",
        ),
        (format!("{head}garbage\n"), 3, "expected `Field: value`"),
        (
            "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\nModulus: AQAB\n".into(),
            2,
            "algorithm 8 (RSASHA256): not supported",
        ),
    ];
    for (text, line, part) in cases {
        let (got_line, p) = parse_private_file(&text).unwrap_err();
        let msg = p.to_string();
        assert!(msg.contains(part), "{text:?}: {msg:?} lacks {part:?}");
        assert_eq!(got_line, line, "{text:?}: {msg}");
    }
}

/// Writes `base.key` and `base.private` into `dir`.
fn pair(dir: &Path, base: &str, key: &str, private: &str) -> PathBuf {
    let base = dir.join(base);
    std::fs::write(with_suffix(&base, ".key"), key).unwrap();
    std::fs::write(with_suffix(&base, ".private"), private).unwrap();
    base
}

fn private_text(alg: &str, b64: &str) -> String {
    format!("Private-key-format: v1.3\nAlgorithm: {alg}\nPrivateKey: {b64}\n")
}

/// Loading checks the pair against the zone and each other; each refusal names the file
/// (and the line where there is one).
#[test]
fn pairs_load_or_say_which_file_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let zone = name("example.net.");
    let good_key = format!("example.net. 3600 IN DNSKEY 257 3 13 {P256}\n");
    let good_private = private_text("13 (ECDSAP256SHA256)", P256_PRIVATE);

    let base = pair(d, "Kexample.net.+013+55648", &good_key, &good_private);
    let key = load_pair(&base, &zone).unwrap();
    assert_eq!((key.tag, key.flags, key.is_ksk()), (55648, 257, true));

    let err = |base: &Path, zone: &WireName| load_pair(base, zone).unwrap_err().to_string();

    let other = err(&base, &name("example.com."));
    assert!(other.ends_with("Kexample.net.+013+55648.key:1: the key is of zone `example.net.`, not of `example.com.`"), "{other}");

    std::fs::remove_file(with_suffix(&base, ".private")).unwrap();
    let missing = err(&base, &zone);
    assert!(
        missing.ends_with("Kexample.net.+013+55648.private: does not exist"),
        "{missing}"
    );

    let b = pair(
        d,
        "revoked",
        &good_key.replace(" 257 ", " 385 "),
        &good_private,
    );
    assert!(err(&b, &zone).contains("revoked.key:1: flags 385"));

    let b = pair(d, "rsa", &good_key.replace(" 13 ", " 8 "), &good_private);
    let rsa = err(&b, &zone);
    assert!(
        rsa.contains("rsa.key:1: algorithm 8 (RSASHA256): not supported"),
        "{rsa}"
    );

    let b = pair(
        d,
        "short",
        &format!("example.net. IN DNSKEY 257 3 13 {}\n", &P256[..44]),
        &good_private,
    );
    assert!(err(&b, &zone).contains("short.key:1: the public key has 33 bytes"));

    let b = pair(
        d,
        "algs",
        &good_key,
        &private_text("15 (ED25519)", P256_PRIVATE),
    );
    let algs = err(&b, &zone);
    assert!(
        algs.contains("algs.private:2: algorithm 15 here but 13 in algs.key"),
        "{algs}"
    );

    // The Ed25519 private key of RFC 8080: 32 bytes, but not this key's.
    let b = pair(
        d,
        "foreign",
        &good_key,
        &private_text("13", "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI="),
    );
    let foreign = err(&b, &zone);
    assert!(
        foreign.ends_with(
            "foreign.private: the private key does not match the public key in foreign.key"
        ),
        "{foreign}"
    );

    let b = pair(d, "len", &good_key, &private_text("13", "AAAA"));
    assert!(err(&b, &zone).contains("len.private:3: the private key has 3 bytes"));
}
