//! RDATA encoders for the static record types, used when a configuration is compiled.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::WireName;

pub fn a(addr: Ipv4Addr) -> Vec<u8> {
    addr.octets().to_vec()
}

pub fn aaaa(addr: Ipv6Addr) -> Vec<u8> {
    addr.octets().to_vec()
}

/// NS, CNAME and PTR: one uncompressed name.
pub fn name(target: &WireName) -> Vec<u8> {
    target.as_bytes().to_vec()
}

pub fn mx(preference: u16, exchange: &WireName) -> Vec<u8> {
    let mut v = preference.to_be_bytes().to_vec();
    v.extend_from_slice(exchange.as_bytes());
    v
}

pub fn srv(priority: u16, weight: u16, port: u16, target: &WireName) -> Vec<u8> {
    let mut v = Vec::with_capacity(6 + target.as_bytes().len());
    for x in [priority, weight, port] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v.extend_from_slice(target.as_bytes());
    v
}

/// One TXT record: the text split into character-strings of at most 255 bytes.
pub fn txt(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return vec![0];
    }
    let mut v = Vec::with_capacity(bytes.len() + bytes.len() / 255 + 1);
    for chunk in bytes.chunks(255) {
        v.push(chunk.len() as u8);
        v.extend_from_slice(chunk);
    }
    v
}

/// One TXT record made of exactly these character-strings (each at most 255 bytes).
pub fn txt_strings(parts: &[String]) -> Result<Vec<u8>, String> {
    if parts.is_empty() {
        return Err("a TXT record needs at least one string".into());
    }
    let mut v = Vec::new();
    for p in parts {
        if p.len() > 255 {
            return Err(format!(
                "a character-string holds at most 255 bytes; this one has {}",
                p.len()
            ));
        }
        v.push(p.len() as u8);
        v.extend_from_slice(p.as_bytes());
    }
    if v.len() > u16::MAX as usize {
        return Err("the TXT record is longer than 65535 bytes".into());
    }
    Ok(v)
}

/// DS (RFC 4034 §5): key tag, algorithm, digest type, digest (given in hex). The digest
/// length must match the digest types whose length is known (1: SHA-1, 2: SHA-256, 4: SHA-384).
pub fn ds(key_tag: u16, algorithm: u8, digest_type: u8, hex: &str) -> Result<Vec<u8>, String> {
    let digest = decode_hex(hex)?;
    let expected = match digest_type {
        1 => Some(20),
        2 => Some(32),
        4 => Some(48),
        _ => None,
    };
    if digest.is_empty() || expected.is_some_and(|n| n != digest.len()) {
        return Err(format!(
            "a digest of type {digest_type} is {} bytes; this one has {}",
            expected.unwrap_or(1),
            digest.len()
        ));
    }
    let mut v = key_tag.to_be_bytes().to_vec();
    v.push(algorithm);
    v.push(digest_type);
    v.extend_from_slice(&digest);
    Ok(v)
}

/// Hex digits (white space allowed between them, as in zone files) to bytes.
fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("`{hex}` has an odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("`{hex}` is not hexadecimal"))
        })
        .collect()
}

/// CAA (RFC 8659): flags, tag length, tag, value.
pub fn caa(flags: u8, tag: &str, value: &str) -> Vec<u8> {
    let mut v = vec![flags, tag.len() as u8];
    v.extend_from_slice(tag.as_bytes());
    v.extend_from_slice(value.as_bytes());
    v
}

/// The RFC 8482 answer to ANY: HINFO "RFC8482" "".
pub fn hinfo_rfc8482() -> Vec<u8> {
    let mut v = vec![7];
    v.extend_from_slice(b"RFC8482");
    v.push(0);
    v
}

#[allow(clippy::too_many_arguments)]
pub fn soa(
    mname: &WireName,
    rname: &WireName,
    serial: u32,
    refresh: u32,
    retry: u32,
    expire: u32,
    minimum: u32,
) -> Vec<u8> {
    let mut v = mname.as_bytes().to_vec();
    v.extend_from_slice(rname.as_bytes());
    for x in [serial, refresh, retry, expire, minimum] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{RData, RecordType};
    use hickory_proto::serialize::binary::{BinDecoder, Restrict};

    fn read(rtype: RecordType, wire: &[u8]) -> RData {
        let mut dec = BinDecoder::new(wire);
        RData::read(&mut dec, rtype, Restrict::new(wire.len() as u16)).unwrap()
    }

    #[test]
    fn long_txt_is_split_into_255_byte_strings_that_hickory_reads_back() {
        let RData::TXT(parsed) = read(RecordType::TXT, &txt(&"x".repeat(600))) else {
            panic!("not TXT")
        };
        let parts: Vec<usize> = parsed.txt_data.iter().map(|s| s.len()).collect();
        assert_eq!(parts, [255, 255, 90]);
    }

    #[test]
    fn txt_strings_and_ds_read_back() {
        let RData::TXT(parsed) = read(
            RecordType::TXT,
            &txt_strings(&["v=spf1".into(), " -all".into()]).unwrap(),
        ) else {
            panic!("not TXT")
        };
        assert_eq!(parsed.txt_data.len(), 2);
        assert!(txt_strings(&["x".repeat(256)]).is_err());
        let hex = "2BB183AF5F22588179A53B0A98631FAD1A292118C9F7C2D2C2C4C9E5D2F9A2E5";
        let wire = ds(60485, 13, 2, hex).unwrap();
        assert_eq!(&wire[..4], &[0xec, 0x45, 13, 2]);
        assert_eq!(wire.len(), 4 + 32);
        assert_eq!(&wire[4..8], &[0x2b, 0xb1, 0x83, 0xaf]);
        assert!(ds(1, 13, 2, "abc").is_err());
        assert!(ds(1, 13, 2, "zz").is_err());
        assert!(ds(1, 13, 1, hex).is_err());
    }

    #[test]
    fn caa_reads_back() {
        let RData::CAA(parsed) = read(RecordType::CAA, &caa(128, "issue", "ca.example")) else {
            panic!("not CAA")
        };
        assert!(parsed.issuer_critical);
        assert_eq!(parsed.tag, "issue");
    }
}
