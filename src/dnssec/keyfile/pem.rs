//! Private keys in PEM: PKCS#8 (`BEGIN PRIVATE KEY`, as Knot's keymgr keeps them in
//! `keys/<id>.pem`) or SEC1 (`BEGIN EC PRIVATE KEY`, OpenSSL's), for P-256 and Ed25519. Read
//! in place of a `.private` file, they give the same private key field.

use data_encoding::BASE64;

use super::{syntax, KeyFileProblem, LineError, PrivateKeyFile};

/// id-ecPublicKey (1.2.840.10045.2.1).
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-Ed25519 (1.3.101.112).
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;

/// Parses a PEM private key of algorithm 13 or 15.
pub fn parse_pem(text: &str) -> Result<PrivateKeyFile, LineError> {
    let mut begin = None;
    let mut b64 = String::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            if begin.is_some() {
                return Err(syntax(line_no, "a second BEGIN line"));
            }
            if label != "PRIVATE KEY" && label != "EC PRIVATE KEY" {
                return Err(syntax(
                    line_no,
                    format!(
                        "a PEM `{label}`: gslbd reads an unencrypted `PRIVATE KEY` (PKCS#8) \
                         or `EC PRIVATE KEY`"
                    ),
                ));
            }
            begin = Some((line_no, label == "EC PRIVATE KEY"));
        } else if line.starts_with("-----END ") {
            break;
        } else if begin.is_some() {
            b64.push_str(line);
        }
    }
    let (line, sec1) = begin.ok_or_else(|| syntax(1, "no `-----BEGIN PRIVATE KEY-----` line"))?;
    let der = BASE64.decode(b64.as_bytes()).map_err(|e| {
        (
            line,
            KeyFileProblem::Base64 {
                field: "PEM key",
                error: e.to_string(),
            },
        )
    })?;
    let bad = |what: &str| syntax(line, format!("not a P-256 or Ed25519 private key: {what}"));
    let (algorithm, private) = if sec1 {
        (13, ec_private_key(&der).ok_or_else(|| bad("bad EC key"))?)
    } else {
        pkcs8(&der).map_err(bad)?
    };
    Ok(PrivateKeyFile {
        algorithm,
        algorithm_line: line,
        private,
        private_line: line,
    })
}

/// PKCS#8 PrivateKeyInfo (RFC 5208, RFC 5958): version, algorithm, the private key.
fn pkcs8(der: &[u8]) -> Result<(u8, Vec<u8>), &'static str> {
    let (info, _) = tlv(der, SEQUENCE).ok_or("no PKCS#8 structure")?;
    let (_version, rest) = tlv(info, INTEGER).ok_or("no version")?;
    let (alg_id, rest) = tlv(rest, SEQUENCE).ok_or("no algorithm")?;
    let (key, _) = tlv(rest, OCTET_STRING).ok_or("no private key")?;
    let (oid, params) = tlv(alg_id, OID).ok_or("no algorithm identifier")?;
    if oid == OID_ED25519 {
        // CurvePrivateKey (RFC 8410): an OCTET STRING of the 32-byte seed.
        let (seed, _) = tlv(key, OCTET_STRING).ok_or("bad Ed25519 key")?;
        return Ok((15, seed.to_vec()));
    }
    if oid != OID_EC {
        return Err("another algorithm");
    }
    match tlv(params, OID) {
        Some((curve, _)) if curve == OID_P256 => {}
        _ => return Err("an EC key on another curve"),
    }
    Ok((13, ec_private_key(key).ok_or("bad EC key")?))
}

/// ECPrivateKey (RFC 5915): version 1, then the scalar. GnuTLS (Knot) writes the scalar with a
/// leading zero byte; it becomes the 32 bytes BIND stores.
fn ec_private_key(der: &[u8]) -> Option<Vec<u8>> {
    let (seq, _) = tlv(der, SEQUENCE)?;
    let (version, rest) = tlv(seq, INTEGER)?;
    if version != [1] {
        return None;
    }
    let (scalar, _) = tlv(rest, OCTET_STRING)?;
    let start = scalar.iter().position(|&b| b != 0).unwrap_or(scalar.len());
    let digits = &scalar[start..];
    if digits.len() > 32 {
        return None;
    }
    let mut out = vec![0u8; 32 - digits.len()];
    out.extend_from_slice(digits);
    Some(out)
}

/// One DER element of type `tag` at the start of `input`: its contents and what follows.
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 2 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| acc << 8 | b as usize);
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Knot 3.2's keymgr: P-256 with a 33-byte scalar (leading zero), and Ed25519; the same
    /// P-256 key as OpenSSL's SEC1 `EC PRIVATE KEY`.
    #[test]
    fn keymgr_and_openssl_pem_keys() {
        let p256 = "-----BEGIN PRIVATE KEY-----\n\
            MIGUAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHoweAIBAQQhANRH9DravjcBdhmV\n\
            3LmRwzuQkemhZROPzE8RIxRuXBFuoAoGCCqGSM49AwEHoUQDQgAElLXYfb47yBU8\n\
            RUV125yMeRYZG0apnidfjmgLoObxxjX38yS/wiXbfSE3WcB3r6BpNcKo3TigPog3\n\
            /aGHG/+YPQ==\n\
            -----END PRIVATE KEY-----\n";
        let k = parse_pem(p256).unwrap();
        assert_eq!((k.algorithm, k.private.len()), (13, 32));
        assert_eq!(&k.private[..4], &[0xd4, 0x47, 0xf4, 0x3a]);
        let ed = "-----BEGIN PRIVATE KEY-----\n\
            MC4CAQAwBQYDK2VwBCIEIBmO6MOaHf9R8/Ykrwfs612LvvC1hhMwA/ktXB3/AhMV\n\
            -----END PRIVATE KEY-----\n";
        let k = parse_pem(ed).unwrap();
        assert_eq!((k.algorithm, k.private.len()), (15, 32));
        assert_eq!(&k.private[..4], &[0x19, 0x8e, 0xe8, 0xc3]);
    }

    #[test]
    fn other_pem_keys_are_refused() {
        // An RSA PKCS#8 header (truncated: the algorithm is all that is read).
        let rsa = "-----BEGIN PRIVATE KEY-----\nMBQCAQAwDQYJKoZIhvcNAQEBBQAEAA==\n-----END PRIVATE KEY-----\n";
        let (line, p) = parse_pem(rsa).unwrap_err();
        assert_eq!(line, 1);
        assert!(p.to_string().contains("another algorithm"), "{p}");
        let enc =
            "\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let (line, p) = parse_pem(enc).unwrap_err();
        assert_eq!(line, 2);
        assert!(p.to_string().contains("unencrypted"), "{p}");
        assert!(parse_pem("nothing").is_err());
    }
}
