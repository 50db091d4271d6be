//! The reference's query reader: hickory-proto decodes the header, the question and the OPT
//! record; a structural walk delimits the other records, which gslbd does not interpret.
//!
//! The rules, from RFC 1035, RFC 6891, RFC 7871, RFC 7873 and RFC 5001, with gslbd's
//! documented choices:
//! - shorter than a header, or QR=1: no reply;
//! - the OPT record is "readable" when every question (by its name and four bytes) and every
//!   record can be delimited and exactly one OPT record, owned by the literal root, is in the
//!   additional section; error replies (NOTIMP, FORMERR) carry an OPT, without options and
//!   with the DO bit copied, exactly when it is;
//! - opcode other than QUERY: NOTIMP;
//! - QDCOUNT 0 with a readable OPT record whose options are well-formed and hold a COOKIE:
//!   a request of a server cookie alone (RFC 7873 §5.4);
//! - QDCOUNT other than 1, a compressed or undecodable question, a record that cannot be
//!   delimited, two OPT records, an OPT whose owner is not the literal root: FORMERR;
//! - then, with one OPT record whose options do not add up to its RDATA, that has two ECS
//!   options or a malformed one, or two COOKIE options or one whose length is neither 8 nor
//!   16 to 40 (RFC 7873 §5.2.2): FORMERR (with the OPT);
//! - an NSID option, whatever it holds, asks for the NSID;
//! - records other than the OPT (in any section) are skipped without being decoded.

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::net::IpAddr;

/// RR type of the EDNS pseudo-record.
const OPT: u16 = 41;
/// EDNS option code of Client Subnet.
const ECS: u16 = 8;
/// EDNS option codes of NSID and COOKIE.
const NSID: u16 = 3;
const COOKIE: u16 = 10;

/// What a packet is, as far as answering goes.
pub enum Parsed {
    /// No reply at all.
    Drop,
    /// An error reply (FORMERR, NOTIMP): the header, plus an OPT with this DO bit when
    /// `opt_do` is set.
    Reject {
        id: u16,
        op_code: OpCode,
        rd: bool,
        rcode: ResponseCode,
        opt_do: Option<bool>,
    },
    /// A query to answer.
    Request(Request),
    /// A request of a server cookie alone: no question, a COOKIE option.
    CookieOnly {
        id: u16,
        rd: bool,
        cd: bool,
        edns: EdnsRequest,
    },
}

/// A well-formed query.
pub struct Request {
    pub id: u16,
    pub rd: bool,
    pub cd: bool,
    /// The question exactly as asked (the client's letter case).
    pub query: Query,
    pub edns: Option<EdnsRequest>,
}

/// What the client said in its OPT record.
pub struct EdnsRequest {
    pub version: u8,
    pub dnssec_ok: bool,
    /// Compact Answers OK (RFC 9824 §5): the EDNS flag after DO.
    pub compact_ok: bool,
    pub max_payload: u16,
    pub subnet: Option<ClientSubnet>,
    /// The COOKIE option's data, well-formed.
    pub cookie: Option<Vec<u8>>,
    /// Whether an NSID option was sent.
    pub nsid: bool,
}

pub fn parse(packet: &[u8]) -> Parsed {
    let Some(head) = packet.get(..12) else {
        return Parsed::Drop;
    };
    let header = Header::read(&mut BinDecoder::new(head)).expect("12 bytes hold a header");
    let meta = header.metadata;
    if meta.message_type == MessageType::Response {
        return Parsed::Drop;
    }
    let reject = |rcode, opt_do| Parsed::Reject {
        id: meta.id,
        op_code: meta.op_code,
        rd: meta.recursion_desired,
        rcode,
        opt_do,
    };
    let opt = readable_opt(packet, &header);
    // DO is the top bit of the low half of the OPT's TTL, 6 bytes before its RDATA.
    let opt_do = opt.as_ref().map(|rr| packet[rr.rdata - 4] & 0x80 != 0);
    if meta.op_code != OpCode::Query {
        return reject(ResponseCode::NotImp, opt_do);
    }
    if let Some(request) = decode(packet, &header) {
        return Parsed::Request(request);
    }
    match cookie_only(packet, &header) {
        Some(edns) => Parsed::CookieOnly {
            id: meta.id,
            rd: meta.recursion_desired,
            cd: meta.checking_disabled,
            edns,
        },
        None => reject(ResponseCode::FormErr, opt_do),
    }
}

/// The OPT of a question-less message when it asks for a server cookie: every record
/// delimited, one OPT owned by the root, its options well-formed, one of them a COOKIE.
fn cookie_only(packet: &[u8], header: &Header) -> Option<EdnsRequest> {
    if header.counts.queries != 0 {
        return None;
    }
    let (_, opt) = records(packet, 12, header)?;
    let rr = opt?;
    let mut trimmed = packet[..12].to_vec();
    trimmed[4..12].copy_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
    trimmed.extend_from_slice(&packet[rr.start..rr.end]);
    let message = Message::from_vec(&trimmed).ok()?;
    let edns = edns_request(packet, &rr, message.edns.as_ref()?)?;
    edns.cookie.is_some().then_some(edns)
}

/// The query's one OPT record when every question and record can be delimited, there is one
/// OPT and it is owned by the literal root; `None` otherwise.
fn readable_opt(p: &[u8], header: &Header) -> Option<Located> {
    let counts = &header.counts;
    let mut at = 12;
    for _ in 0..counts.queries {
        at = end_of_name(p, at)? + 4;
        if at > p.len() {
            return None;
        }
    }
    let (_, opt) = records(p, at, header)?;
    opt
}

/// A record located in the packet, undecoded.
struct Located {
    start: usize,
    rdata: usize,
    end: usize,
    rtype: u16,
}

/// Where the name at `at` ends: labels ending in the root label or in a compression pointer
/// (not followed). Label types 01 and 10 are reserved (RFC 6891 §5).
fn end_of_name(p: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let b = *p.get(at)?;
        match b & 0xc0 {
            0x00 if b == 0 => return Some(at + 1),
            0x00 => at += 1 + b as usize,
            0xc0 => {
                p.get(at + 1)?;
                return Some(at + 2);
            }
            _ => return None,
        }
    }
}

/// Delimits the record at `start`: an owner name (not interpreted), ten fixed bytes and
/// RDLENGTH bytes of RDATA.
fn locate(p: &[u8], start: usize) -> Option<Located> {
    let at = end_of_name(p, start)?;
    let fixed = p.get(at..at + 10)?;
    let rdlength = u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
    let end = at + 10 + rdlength;
    (end <= p.len()).then_some(Located {
        start,
        rdata: at + 10,
        end,
        rtype: u16::from_be_bytes([fixed[0], fixed[1]]),
    })
}

/// The request; `None` when the message is malformed.
fn decode(packet: &[u8], header: &Header) -> Option<Request> {
    let (question_end, opt) = delimit(packet, header)?;
    options(packet, question_end, opt)
}

/// Checks the question and delimits every record: where the question ends, and the one OPT
/// record if there is one. `None` when the message is malformed.
fn delimit(packet: &[u8], header: &Header) -> Option<(usize, Option<Located>)> {
    if header.counts.queries != 1 {
        return None;
    }
    let mut decoder = BinDecoder::new(packet);
    decoder.read_slice(12).ok()?;
    let query = Query::read(&mut decoder).ok()?;
    let question_end = decoder.index();
    // A question written without pointers takes exactly its uncompressed length.
    let name_len: usize = query.name().iter().map(|l| l.len() + 1).sum::<usize>() + 1;
    if question_end != 12 + name_len + 4 {
        return None;
    }
    let (_, opt) = records(packet, question_end, header)?;
    Some((question_end, opt))
}

/// Delimits the records from `at` on: where they end, and the one OPT record if there is
/// one; `None` when one cannot be delimited or the OPT is repeated or not owned by the root.
fn records(packet: &[u8], mut at: usize, header: &Header) -> Option<(usize, Option<Located>)> {
    let counts = &header.counts;
    for _ in 0..counts.answers as usize + counts.authorities as usize {
        at = locate(packet, at)?.end;
    }
    let mut opt: Option<Located> = None;
    for _ in 0..counts.additionals {
        let rr = locate(packet, at)?;
        at = rr.end;
        if rr.rtype == OPT {
            if opt.is_some() || packet[rr.start] != 0 {
                return None;
            }
            opt = Some(rr);
        }
    }
    Some((at, opt))
}

/// The request from a delimited message; `None` when the OPT record's options are malformed.
fn options(packet: &[u8], question_end: usize, opt: Option<Located>) -> Option<Request> {
    let header = Header::read(&mut BinDecoder::new(&packet[..12])).expect("12 bytes hold a header");
    // Let hickory decode the question and the OPT record on their own.
    let mut trimmed = packet[..12].to_vec();
    trimmed[4..12].copy_from_slice(&[0, 1, 0, 0, 0, 0, 0, opt.is_some() as u8]);
    trimmed.extend_from_slice(&packet[12..question_end]);
    if let Some(rr) = &opt {
        trimmed.extend_from_slice(&packet[rr.start..rr.end]);
    }
    let message = Message::from_vec(&trimmed).ok()?;
    let edns = match (&opt, &message.edns) {
        (None, _) => None,
        (Some(rr), Some(edns)) => Some(edns_request(packet, rr, edns)?),
        (Some(_), None) => unreachable!("hickory decoded an OPT record without EDNS"),
    };
    Some(Request {
        id: header.metadata.id,
        rd: header.metadata.recursion_desired,
        cd: header.metadata.checking_disabled,
        query: message.queries.into_iter().next()?,
        edns,
    })
}

/// What the OPT record `rr` (decoded by hickory as `edns`) asks; `None` when its options are
/// malformed.
fn edns_request(
    packet: &[u8],
    rr: &Located,
    edns: &hickory_proto::op::Edns,
) -> Option<EdnsRequest> {
    let rdata = &packet[rr.rdata..rr.end];
    let subnet = client_subnet(rdata, edns.option(EdnsCode::Subnet))?;
    let (cookie, nsid) = cookie_and_nsid(rdata)?;
    Some(EdnsRequest {
        version: edns.version(),
        dnssec_ok: edns.flags().dnssec_ok,
        compact_ok: edns.flags().z & 0x4000 != 0,
        max_payload: edns.max_payload(),
        subnet,
        cookie,
        nsid,
    })
}

/// The ECS option of an OPT RDATA, validated as RFC 7871 §6 asks: `None` when the options do
/// not add up to the RDATA, when ECS appears twice, or when the option is malformed (unknown
/// family, source prefix longer than the address, other than exactly the address bytes the
/// prefix needs, or bits set past the prefix). `decoded` is hickory's reading of the option.
fn client_subnet(rdata: &[u8], decoded: Option<&EdnsOption>) -> Option<Option<ClientSubnet>> {
    let mut rest = rdata;
    let mut wire: Option<&[u8]> = None;
    while !rest.is_empty() {
        let head = rest.get(..4)?;
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        let data = rest.get(4..4 + len)?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        if code == ECS && wire.replace(data).is_some() {
            return None;
        }
        rest = &rest[4 + len..];
    }
    let Some(wire) = wire else {
        return Some(None);
    };
    let Some(EdnsOption::Subnet(subnet)) = decoded else {
        return None;
    };
    let family = u16::from_be_bytes([*wire.first()?, *wire.get(1)?]);
    let max = match (family, subnet.addr()) {
        (1, IpAddr::V4(_)) => 32,
        (2, IpAddr::V6(_)) => 128,
        _ => return None,
    };
    let prefix = subnet.source_prefix();
    if prefix > max || wire.len() != 4 + (prefix as usize).div_ceil(8) {
        return None;
    }
    (masked(subnet.addr(), prefix) == subnet.addr()).then_some(Some(*subnet))
}

/// The COOKIE option's data and whether NSID was asked for; `None` when there are two COOKIE
/// options or one of a length RFC 7873 §5.2.2 calls malformed (the options are known to add
/// up to the RDATA: `client_subnet` checks that first).
fn cookie_and_nsid(rdata: &[u8]) -> Option<(Option<Vec<u8>>, bool)> {
    let mut cookies = Vec::new();
    let mut nsid = false;
    let mut rest = rdata;
    while rest.len() >= 4 {
        let code = u16::from_be_bytes([rest[0], rest[1]]);
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        let data = rest.get(4..4 + len)?;
        match code {
            COOKIE => cookies.push(data.to_vec()),
            NSID => nsid = true,
            _ => {}
        }
        rest = &rest[4 + len..];
    }
    match cookies.as_slice() {
        [] => Some((None, nsid)),
        [c] if c.len() == 8 || (16..=40).contains(&c.len()) => Some((Some(c.clone()), nsid)),
        _ => None,
    }
}

/// `addr` with every bit past the first `prefix` cleared.
fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & keep).into())
        }
        IpAddr::V6(a) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & keep).into())
        }
    }
}
