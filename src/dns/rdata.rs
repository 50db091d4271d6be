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
    fn caa_reads_back() {
        let RData::CAA(parsed) = read(RecordType::CAA, &caa(128, "issue", "ca.example")) else {
            panic!("not CAA")
        };
        assert!(parsed.issuer_critical);
        assert_eq!(parsed.tag, "issue");
    }
}
