//! The reference's query reader: hickory-proto decodes the header, the question and the OPT
//! record; a structural walk delimits the other records, which gslbd does not interpret.
//!
//! The rules, from RFC 1035, RFC 6891 and RFC 7871, with gslbd's documented choices:
//! - shorter than a header, or QR=1: no reply;
//! - opcode other than QUERY: NOTIMP;
//! - QDCOUNT other than 1, a compressed or undecodable question, a record that cannot be
//!   delimited, two OPT records, an OPT whose owner is not the literal root: FORMERR;
//! - then, with one OPT record whose options do not add up to its RDATA, or that has two ECS
//!   options or a malformed one: FORMERR with an OPT in the reply (RFC 6891 §6.1.1), the DO
//!   bit copied;
//! - records other than the OPT (in any section) are skipped without being decoded.

use hickory_proto::op::{Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use std::net::IpAddr;

/// RR type of the EDNS pseudo-record.
const OPT: u16 = 41;
/// EDNS option code of Client Subnet.
const ECS: u16 = 8;

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
    pub max_payload: u16,
    pub subnet: Option<ClientSubnet>,
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
    if meta.op_code != OpCode::Query {
        return reject(ResponseCode::NotImp, None);
    }
    match decode(packet, &header) {
        Ok(request) => Parsed::Request(request),
        Err(opt_do) => reject(ResponseCode::FormErr, opt_do),
    }
}

/// A record located in the packet, undecoded.
struct Located {
    start: usize,
    rdata: usize,
    end: usize,
    rtype: u16,
}

/// Delimits the record at `start`: an owner name made of labels ending in the root label or
/// in a compression pointer (not followed: the record is not interpreted), ten fixed bytes
/// and RDLENGTH bytes of RDATA. Label types 01 and 10 are reserved (RFC 6891 §5).
fn locate(p: &[u8], start: usize) -> Option<Located> {
    let mut at = start;
    loop {
        let b = *p.get(at)?;
        match b & 0xc0 {
            0x00 if b == 0 => {
                at += 1;
                break;
            }
            0x00 => at += 1 + b as usize,
            0xc0 => {
                p.get(at + 1)?;
                at += 2;
                break;
            }
            _ => return None,
        }
    }
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

/// The request, or why not: `Err(None)` for a malformed message, `Err(Some(dnssec_ok))` when
/// only the options of its one OPT record are malformed.
fn decode(packet: &[u8], header: &Header) -> Result<Request, Option<bool>> {
    let (question_end, opt) = delimit(packet, header).ok_or(None)?;
    // DO is the top bit of the low half of the OPT's TTL, 6 bytes before its RDATA.
    let opt_do = opt.as_ref().map(|rr| packet[rr.rdata - 4] & 0x80 != 0);
    options(packet, question_end, opt).ok_or(opt_do)
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
    let mut at = question_end;
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
    Some((question_end, opt))
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
        (Some(rr), Some(edns)) => {
            let rdata = &packet[rr.rdata..rr.end];
            Some(EdnsRequest {
                version: edns.version(),
                dnssec_ok: edns.flags().dnssec_ok,
                max_payload: edns.max_payload(),
                subnet: client_subnet(rdata, edns.option(EdnsCode::Subnet))?,
            })
        }
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
