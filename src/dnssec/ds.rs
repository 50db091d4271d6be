//! DS records (RFC 4034 §5) of a zone's keys, digest type 2 (SHA-256, RFC 4509), as the parent
//! zone publishes them and the apex CDS RRset (RFC 7344) repeats them; and the presentation
//! of DS and DNSKEY RDATA.

use data_encoding::{BASE64, HEXUPPER};

use super::key::key_tag;

/// The DS digest type gslbd computes: SHA-256.
pub const DIGEST_SHA256: u8 = 2;

/// The SHA-256 DS digest of a DNSKEY: over the owner name in canonical (lowercase) wire form,
/// then the DNSKEY RDATA.
pub fn digest(owner: &[u8], dnskey: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(&owner.to_ascii_lowercase());
    ctx.update(dnskey);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The DS (or CDS) RDATA of a DNSKEY: key tag, algorithm, digest type 2, digest.
pub fn rdata(owner: &[u8], dnskey: &[u8]) -> Vec<u8> {
    let mut v = key_tag(dnskey).to_be_bytes().to_vec();
    v.push(dnskey.get(3).copied().unwrap_or(0));
    v.push(DIGEST_SHA256);
    v.extend_from_slice(&digest(owner, dnskey));
    v
}

/// DS or CDS RDATA in presentation form: `55648 13 2 B4C8...` (hex in upper case, as
/// dnssec-dsfromkey prints it).
pub fn ds_text(rdata: &[u8]) -> String {
    fields_text(rdata, |tail| HEXUPPER.encode(tail))
}

/// DNSKEY or CDNSKEY RDATA in presentation form: `257 3 13 base64`.
pub fn dnskey_text(rdata: &[u8]) -> String {
    fields_text(rdata, |tail| BASE64.encode(tail))
}

/// `u16 u8 u8 <tail>`, the shape DS and DNSKEY share; RFC 3597 `\# LEN HEX` when too short.
fn fields_text(rdata: &[u8], tail: impl Fn(&[u8]) -> String) -> String {
    if rdata.len() < 4 {
        return format!("\\# {} {}", rdata.len(), HEXUPPER.encode(rdata));
    }
    format!(
        "{} {} {} {}",
        u16::from_be_bytes([rdata[0], rdata[1]]),
        rdata[2],
        rdata[3],
        tail(&rdata[4..])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::name::WireName;
    use crate::dnssec::keyfile::{parse_key_file, parse_private_file};
    use crate::dnssec::Key;

    /// The DNSKEY RDATA of the only record of a `.key` text.
    fn dnskey_of(text: &str) -> (WireName, Vec<u8>) {
        let r = parse_key_file(text).unwrap();
        let mut v = r.flags.to_be_bytes().to_vec();
        v.extend_from_slice(&[3, r.algorithm]);
        v.extend_from_slice(&r.public);
        (r.owner, v)
    }

    /// RFC 6605 §6.1: the P-256 KSK of example.net. and its SHA-256 DS, key tag 55648; the
    /// RFC's private key is that key's (so `Key` rebuilds the same DNSKEY from the pair).
    #[test]
    fn ds_of_the_rfc_6605_p256_example() {
        let (owner, dnskey) = dnskey_of(
            "example.net. 3600 IN DNSKEY 257 3 13 (\n\
             \x20       GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n\
             \x20       krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n",
        );
        let ds = rdata(owner.as_bytes(), &dnskey);
        assert_eq!(
            ds_text(&ds),
            "55648 13 2 B4C8C1FE2E7477127B27115656AD6256F424625BF5C1E2770CE6D6E37DF61D17"
        );
        let private = parse_private_file(
            "Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n\
             PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n",
        )
        .unwrap();
        let key = Key::from_parts(257, 13, &dnskey[4..], &private.private).unwrap();
        assert_eq!(key.dnskey, dnskey);
        assert_eq!(key.tag, 55648);
    }

    /// RFC 8080 §6.1: the two Ed25519 keys of example.com. with their DS (SHA-256).
    #[test]
    fn ds_of_the_rfc_8080_ed25519_examples() {
        for (public, private, want) in [
            (
                "l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
                "ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=",
                "3613 15 2 3AA5AB37EFCE57F737FC1627013FEE07BDF241BD10F3B1964AB55C78E79A304B",
            ),
            (
                "zPnZ/QwEe7S8C5SPz2OfS5RR40ATk2/rYnE9xHIEijs=",
                "DSSF3o0s0f+ElWzj9E/Osxw8hLpk55chkmx0LYN5WiY=",
                "35217 15 2 401781B934E392DE492EC77AE2E15D70F6575A1C0BC59C5275C04EBE80C6614C",
            ),
        ] {
            let (owner, dnskey) = dnskey_of(&format!(
                "example.com. 3600 IN DNSKEY 257 3 15 ( {public} )"
            ));
            assert_eq!(ds_text(&rdata(owner.as_bytes(), &dnskey)), want);
            let private = parse_private_file(&format!(
                "Private-key-format: v1.2\nAlgorithm: 15 (ED25519)\nPrivateKey: {private}\n"
            ))
            .unwrap();
            let key = Key::from_parts(257, 15, &dnskey[4..], &private.private).unwrap();
            assert_eq!(key.dnskey, dnskey, "{want}");
        }
    }

    /// The owner counts in canonical form: an upper-case owner gives the lower-case digest.
    #[test]
    fn the_owner_is_hashed_in_lower_case() {
        let (_, dnskey) = dnskey_of(
            "example.com. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
        );
        let lower = digest(b"\x07example\x03com\x00", &dnskey);
        assert_eq!(digest(b"\x07EXAMPLE\x03Com\x00", &dnskey), lower);
        assert_ne!(digest(b"\x07example\x03net\x00", &dnskey), lower);
    }

    #[test]
    fn dnskey_text_is_the_key_file_rdata() {
        let text = "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=";
        let (_, dnskey) = dnskey_of(&format!("example.com. IN DNSKEY {text}"));
        assert_eq!(dnskey_text(&dnskey), text);
    }
}
