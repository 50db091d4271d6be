//! The query parser: reads one DNS query in place, without allocating, and classifies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::edns::{QueryCookie, OPTION_COOKIE, OPTION_NSID};

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
pub const CLASS_CH: u16 = 3;
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
    /// Compact Answers OK (RFC 9824 §5): NXDOMAIN may be signalled with a compact denial.
    pub compact_ok: bool,
    pub ecs: Option<Ecs>,
    /// The COOKIE option (RFC 7873), well-formed.
    pub cookie: Option<QueryCookie>,
    /// An NSID option asks for our name server identifier (RFC 5001).
    pub nsid: bool,
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
    /// bit) when the query had a readable OPT record (every record delimited, one OPT, owned
    /// by the root): the reply then carries an OPT too (RFC 6891 §6.1.1, §7).
    FormErr {
        id: u16,
        opcode: u8,
        rd: bool,
        opt_do: Option<bool>,
    },
    /// A QUERY without a question whose OPT record holds a COOKIE option: a client asking
    /// for a server cookie (RFC 7873 §5.4), answered with one and NOERROR.
    CookieOnly {
        id: u16,
        rd: bool,
        cd: bool,
        edns: Edns,
    },
    /// Opcode other than QUERY; `opt_do` as for `FormErr`.
    NotImp {
        id: u16,
        opcode: u8,
        rd: bool,
        opt_do: Option<bool>,
    },
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
    let count = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let mut qname = [0u8; 255];
    // The one question of a QUERY, read strictly; otherwise the questions are only skipped,
    // to find the OPT record for the error reply.
    let question = if opcode == 0 && qd == 1 {
        read_question(p, &mut qname)
    } else {
        None
    };
    let after_questions = match question {
        Some((end, _)) => Some(end),
        None => skip_questions(p, qd),
    };
    // Every record must be readable and the OPT record unique (with the root as owner)
    // before the OPT counts as read.
    let opt = after_questions.and_then(|pos| find_opt(p, pos, an, ns, ar));
    let opt_do = opt
        .as_ref()
        .and_then(|o| o.as_ref().map(|rr| rr.ttl & 0x8000 != 0));
    if opcode != 0 {
        return Err(Reject::NotImp {
            id,
            opcode,
            rd,
            opt_do,
        });
    }
    let formerr = |opt_do| Reject::FormErr {
        id,
        opcode,
        rd,
        opt_do,
    };
    let (Some((end, qname_len)), Some(opt)) = (question, opt.as_ref()) else {
        // No question (FORMERR, but for a request of a server cookie alone), or no
        // readable OPT record: out of line, so the answered path stays as small.
        let cookie_only = (qd == 0).then(|| cookie_only(opt.as_ref())).flatten();
        return Err(match cookie_only {
            Some(edns) => Reject::CookieOnly { id, rd, cd, edns },
            None => formerr(opt_do),
        });
    };
    let fixed = &p[end - 4..end];
    let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
    let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
    let edns = match opt {
        Some(rr) => Some(parse_opt(rr).ok_or(formerr(opt_do))?),
        None => None,
    };
    Ok(Query {
        id,
        opcode,
        rd,
        cd,
        question: &p[12..end],
        qname,
        qname_len,
        qtype,
        qclass,
        edns,
    })
}

/// Reads the question at offset 12 into `qname` (lowercased): labels only (no compression,
/// no reserved label types), at most 255 bytes, then type and class. Returns where the
/// question ends and the name's length.
#[inline(always)]
fn read_question(p: &[u8], qname: &mut [u8; 255]) -> Option<(usize, usize)> {
    let mut pos = 12;
    let mut out = 0;
    loop {
        let len = *p.get(pos)? as usize;
        if len > 63 || out + len + 1 > 255 {
            // Compression pointers and reserved label types have no place in a question.
            return None;
        }
        let label = p.get(pos..pos + 1 + len)?;
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
    p.get(pos..pos + 4)?;
    Some((pos + 4, out))
}

/// Skips `qd` questions (names possibly compressed) from offset 12; returns where they end.
fn skip_questions(p: &[u8], qd: u16) -> Option<usize> {
    let mut pos = 12;
    for _ in 0..qd {
        pos = skip_name(p, pos)?;
        p.get(pos..pos + 4)?;
        pos += 4;
    }
    Some(pos)
}

/// Delimits every record from `pos`; `Some(opt)` when all are readable and there is at most
/// one OPT record, in the additional section, owned by the literal root.
fn find_opt(p: &[u8], mut pos: usize, an: u16, ns: u16, ar: u16) -> Option<Option<RawRr<'_>>> {
    for _ in 0..(an as u32 + ns as u32) {
        pos = skip_rr(p, pos)?.0;
    }
    let mut opt = None;
    for _ in 0..ar {
        let (next, rr) = skip_rr(p, pos)?;
        if rr.rtype == TYPE_OPT {
            if opt.is_some() || p[pos] != 0 {
                return None;
            }
            opt = Some(rr);
        }
        pos = next;
    }
    Some(opt)
}

/// The OPT of a question-less message, when it asks for a server cookie alone (RFC 7873
/// §5.4): readable, well-formed options, one of them a COOKIE.
#[cold]
#[inline(never)]
fn cookie_only(opt: Option<&Option<RawRr<'_>>>) -> Option<Edns> {
    let rr = opt?.as_ref()?;
    parse_opt(rr).filter(|e| e.cookie.is_some())
}

struct RawRr<'a> {
    rtype: u16,
    class: u16,
    ttl: u32,
    rdata: &'a [u8],
}

/// Skips a name (labels, ending in the root label or a compression pointer, which is not
/// followed); returns the position after it.
fn skip_name(p: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let len = *p.get(pos)?;
        match len {
            0 => return Some(pos + 1),
            1..=63 => pos += len as usize + 1,
            0xc0..=0xff => {
                p.get(pos + 1)?;
                return Some(pos + 2);
            }
            _ => return None,
        }
    }
}

/// Skips one resource record starting at `pos`; returns the next position and its fields.
fn skip_rr(p: &[u8], pos: usize) -> Option<(usize, RawRr<'_>)> {
    let pos = skip_name(p, pos)?;
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
        compact_ok: rr.ttl & 0x4000 != 0,
        ecs: None,
        cookie: None,
        nsid: false,
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
        } else if code == OPTION_COOKIE {
            // A malformed or repeated COOKIE option is FORMERR (RFC 7873 §5.2.2).
            if edns.cookie.is_some() {
                return None;
            }
            edns.cookie = Some(QueryCookie::parse(data)?);
        } else if code == OPTION_NSID {
            // The request is an empty option (RFC 5001 §2.1); a payload is ignored.
            edns.nsid = true;
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
mod tests;
