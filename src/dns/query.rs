//! The query parser: reads one DNS query in place, without allocating, and classifies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const TYPE_A: u16 = 1;
pub const TYPE_NS: u16 = 2;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_SOA: u16 = 6;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_HINFO: u16 = 13;
pub const TYPE_MX: u16 = 15;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_SRV: u16 = 33;
pub const TYPE_DS: u16 = 43;
pub const TYPE_OPT: u16 = 41;
pub const TYPE_IXFR: u16 = 251;
pub const TYPE_AXFR: u16 = 252;
pub const TYPE_ANY: u16 = 255;
pub const TYPE_CAA: u16 = 257;
pub const CLASS_IN: u16 = 1;
pub const OPTION_ECS: u16 = 8;

/// An EDNS Client Subnet option exactly as the client sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ecs {
    pub family: u16,
    pub source_prefix: u8,
    /// The address with every bit past `source_prefix` zero.
    pub addr: IpAddr,
}

impl Ecs {
    /// Number of address bytes on the wire for this source prefix.
    pub fn addr_len(&self) -> usize {
        (self.source_prefix as usize).div_ceil(8)
    }
}

/// The EDNS(0) OPT record of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edns {
    pub payload: u16,
    pub version: u8,
    pub dnssec_ok: bool,
    pub ecs: Option<Ecs>,
}

/// A parsed query. Borrowed slices point into the packet.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub id: u16,
    pub opcode: u8,
    pub rd: bool,
    pub cd: bool,
    /// Question bytes exactly as received (name in the client's case, type, class).
    pub question: &'a [u8],
    /// The question name lowercased, wire format.
    pub qname: [u8; 255],
    pub qname_len: usize,
    pub qtype: u16,
    pub qclass: u16,
    pub edns: Option<Edns>,
}

impl Query<'_> {
    pub fn qname(&self) -> &[u8] {
        &self.qname[..self.qname_len]
    }
}

/// Why a packet cannot be answered normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Not worth a reply: runt packet, or a response (QR=1).
    Drop,
    /// Header readable but the message is malformed. `opt_do` is set (to the query's DO
    /// bit) when the query's one OPT record was read but its options are malformed: the
    /// reply then carries an OPT too (RFC 6891 §6.1.1).
    FormErr {
        id: u16,
        opcode: u8,
        rd: bool,
        opt_do: Option<bool>,
    },
    /// Opcode other than QUERY.
    NotImp { id: u16, opcode: u8, rd: bool },
}

fn formerr(p: &[u8]) -> Reject {
    Reject::FormErr {
        id: u16::from_be_bytes([p[0], p[1]]),
        opcode: (p[2] >> 3) & 0x0f,
        rd: p[2] & 1 != 0,
        opt_do: None,
    }
}

/// Parses a query packet.
// Inlined so the query (with its 255-byte name buffer) is built in the caller's frame
// instead of being copied out.
#[inline(always)]
pub fn parse(p: &[u8]) -> Result<Query<'_>, Reject> {
    if p.len() < 12 || p[2] & 0x80 != 0 {
        return Err(Reject::Drop);
    }
    let id = u16::from_be_bytes([p[0], p[1]]);
    let opcode = (p[2] >> 3) & 0x0f;
    let rd = p[2] & 1 != 0;
    let cd = p[3] & 0x10 != 0;
    if opcode != 0 {
        return Err(Reject::NotImp { id, opcode, rd });
    }
    let count = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    if qd != 1 {
        return Err(formerr(p));
    }
    let mut qname = [0u8; 255];
    let mut pos = 12;
    let mut out = 0;
    loop {
        let len = *p.get(pos).ok_or_else(|| formerr(p))? as usize;
        if len > 63 || out + len + 1 > 255 {
            // Compression pointers and reserved label types have no place in a question.
            return Err(formerr(p));
        }
        let label = p.get(pos..pos + 1 + len).ok_or_else(|| formerr(p))?;
        qname[out] = len as u8;
        for (dst, src) in qname[out + 1..out + 1 + len].iter_mut().zip(&label[1..]) {
            *dst = src.to_ascii_lowercase();
        }
        out += len + 1;
        pos += len + 1;
        if len == 0 {
            break;
        }
    }
    let fixed = p.get(pos..pos + 4).ok_or_else(|| formerr(p))?;
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    let question = &p[12..pos + 4];
    pos += 4;
    for _ in 0..(an as u32 + ns as u32) {
        pos = skip_rr(p, pos).ok_or_else(|| formerr(p))?.0;
    }
    // Every record must be readable and the OPT record unique (with the root as owner)
    // before the OPT's options are looked at.
    let mut opt = None;
    for _ in 0..ar {
        let (next, rr) = skip_rr(p, pos).ok_or_else(|| formerr(p))?;
        if rr.rtype == TYPE_OPT {
            if opt.is_some() || p[pos] != 0 {
                return Err(formerr(p));
            }
            opt = Some(rr);
        }
        pos = next;
    }
    let edns = match opt {
        Some(rr) => Some(parse_opt(&rr).ok_or(Reject::FormErr {
            id,
            opcode,
            rd,
            opt_do: Some(rr.ttl & 0x8000 != 0),
        })?),
        None => None,
    };
    Ok(Query {
        id,
        opcode,
        rd,
        cd,
        question,
        qname,
        qname_len: out,
        qtype,
        qclass,
        edns,
    })
}

struct RawRr<'a> {
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: &'a [u8],
}

/// Skips one resource record starting at `pos`; returns the next position and its fields.
fn skip_rr(p: &[u8], mut pos: usize) -> Option<(usize, RawRr<'_>)> {
    loop {
        let len = *p.get(pos)?;
        match len {
            0 => {
                pos += 1;
                break;
            }
            1..=63 => pos += len as usize + 1,
            0xc0..=0xff => {
                p.get(pos + 1)?;
                pos += 2;
                break;
            }
            _ => return None,
        }
    }
    let f = p.get(pos..pos + 10)?;
    let rdlen = u16::from_be_bytes([f[8], f[9]]) as usize;
    let rdata = p.get(pos + 10..pos + 10 + rdlen)?;
    let rr = RawRr {
        rtype: u16::from_be_bytes([f[0], f[1]]),
        class: u16::from_be_bytes([f[2], f[3]]),
        ttl: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
        rdata,
    };
    Some((pos + 10 + rdlen, rr))
}

fn parse_opt(rr: &RawRr<'_>) -> Option<Edns> {
    let mut edns = Edns {
        payload: rr.class,
        version: (rr.ttl >> 16) as u8,
        dnssec_ok: rr.ttl & 0x8000 != 0,
        ecs: None,
    };
    let mut opts = rr.rdata;
    while !opts.is_empty() {
        let head = opts.get(..4)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        let data = opts.get(4..4 + len)?;
        if code == OPTION_ECS {
            if edns.ecs.is_some() {
                return None;
            }
            edns.ecs = Some(parse_ecs(data)?);
        }
        opts = &opts[4 + len..];
    }
    Some(edns)
}

/// Validates an ECS option (RFC 7871 §6): known family, prefix within the family, exactly
/// the address bytes the prefix needs, and no bits set past the prefix.
fn parse_ecs(d: &[u8]) -> Option<Ecs> {
    let head = d.get(..4)?;
    let family = u16::from_be_bytes([head[0], head[1]]);
    let source_prefix = head[2];
    let max = match family {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    if source_prefix > max {
        return None;
    }
    let bytes = &d[4..];
    let need = (source_prefix as usize).div_ceil(8);
    if bytes.len() != need {
        return None;
    }
    if source_prefix % 8 != 0 {
        let mask = 0xffu8 >> (source_prefix % 8);
        if bytes[need - 1] & mask != 0 {
            return None;
        }
    }
    let addr = if family == 1 {
        let mut o = [0u8; 4];
        o[..need].copy_from_slice(bytes);
        IpAddr::V4(Ipv4Addr::from(o))
    } else {
        let mut o = [0u8; 16];
        o[..need].copy_from_slice(bytes);
        IpAddr::V6(Ipv6Addr::from(o))
    };
    Some(Ecs {
        family,
        source_prefix,
        addr,
    })
}

#[cfg(test)]
mod tests {
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
        assert!(matches!(parse(&p), Err(Reject::NotImp { opcode: 2, .. })));
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
}
