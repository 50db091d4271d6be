//! The queries of the differential test as data, their wire form (encoded by hickory-proto,
//! then patched where hickory would not write them), and byte-level mutations.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::rdata::{A, OPT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// What the query's EDNS record says.
#[derive(Debug, Clone)]
pub struct EdnsSpec {
    pub version: u8,
    pub dnssec_ok: bool,
    pub z: u16,
    /// Written raw, so values below 512 reach the server.
    pub payload: u16,
    pub ecs: Option<(IpAddr, u8)>,
    pub other: Option<(u16, Vec<u8>)>,
    /// COOKIE options' data, written as they are (none, one, or a repeated one).
    pub cookies: Vec<Vec<u8>>,
    /// An NSID option's payload (a request is empty).
    pub nsid: Option<Vec<u8>>,
}

/// Unusual but well-formed message shapes.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Plain,
    NoQuestion,
    TwoQuestions,
    AnswerRecord,
    AdditionalRecord,
    TwoOpts,
    /// The question name ends in a pointer (into the header, where a zero byte reads as the
    /// root): hickory decodes it, gslbd refuses compression in the question.
    CompressedQuestion,
    /// The OPT owner is a pointer to the question's root label instead of a literal root.
    OptOwnerPointer,
    /// An OPT record in the answer section (hickory refuses to decode such a message).
    OptInAnswer,
}

#[derive(Debug, Clone)]
pub struct QuerySpec {
    pub id: u16,
    pub opcode: u8,
    pub rd: bool,
    pub cd: bool,
    pub ad: bool,
    pub name: Name,
    pub qtype: u16,
    pub qclass: u16,
    pub edns: Option<EdnsSpec>,
    pub shape: Shape,
}

impl QuerySpec {
    /// The query on the wire, encoded by hickory, then patched: the OPT payload, and the
    /// compression of the shapes that hickory would not write.
    pub fn encode(&self) -> Vec<u8> {
        let (mut bytes, opt_len) = self.encode_with_hickory();
        let name_len = self.name.iter().map(|l| l.len() + 1).sum::<usize>() + 1;
        match (self.shape, opt_len) {
            (Shape::CompressedQuestion, _) => {
                let keep = if name_len > 1 {
                    1 + bytes[12] as usize
                } else {
                    0
                };
                bytes.splice(12 + keep..12 + name_len, [0xc0, 4]);
            }
            (Shape::OptOwnerPointer, Some(opt_len)) => {
                let opt = bytes.len() - opt_len;
                bytes.splice(opt..opt + 1, [0xc0, (12 + name_len - 1) as u8]);
            }
            _ => {}
        }
        bytes
    }

    /// The query as hickory encodes it, and the length of its OPT record (the last one).
    fn encode_with_hickory(&self) -> (Vec<u8>, Option<usize>) {
        let mut m = Message::new(self.id, MessageType::Query, OpCode::from_u8(self.opcode));
        m.metadata.recursion_desired = self.rd;
        m.metadata.checking_disabled = self.cd;
        m.metadata.authentic_data = self.ad;
        let mut q = Query::query(self.name.clone(), RecordType::from(self.qtype));
        q.set_query_class(DNSClass::from(self.qclass));
        let record = Record::from_rdata(self.name.clone(), 60, RData::A(A::new(192, 0, 2, 1)));
        match self.shape {
            Shape::Plain | Shape::CompressedQuestion | Shape::OptOwnerPointer => {
                m.add_query(q);
            }
            Shape::NoQuestion => {}
            Shape::TwoQuestions => {
                m.add_queries([q.clone(), q]);
            }
            Shape::AnswerRecord => {
                m.add_query(q).add_answer(record);
            }
            Shape::AdditionalRecord => {
                m.add_query(q).add_additional(record);
            }
            Shape::OptInAnswer => {
                let opt = Record::from_rdata(Name::root(), 0, RData::OPT(OPT::default()));
                m.add_query(q).add_answer(opt);
            }
            Shape::TwoOpts => {
                let opt = Record::from_rdata(Name::root(), 0, RData::OPT(OPT::default()));
                m.add_query(q).add_additional(opt);
            }
        }
        let Some(e) = &self.edns else {
            return (m.to_vec().unwrap(), None);
        };
        let mut edns = Edns::new();
        edns.set_version(e.version);
        edns.set_dnssec_ok(e.dnssec_ok);
        edns.flags_mut().z = e.z;
        let mut opt_len = 11;
        if let Some((code, data)) = &e.other {
            edns.options_mut()
                .insert(EdnsOption::Unknown(*code, data.clone()));
            opt_len += 4 + data.len();
        }
        if let Some((addr, prefix)) = e.ecs {
            edns.options_mut()
                .insert(EdnsOption::Subnet(ClientSubnet::new(addr, prefix, 0)));
            opt_len += 8 + (prefix as usize).div_ceil(8);
        }
        for cookie in &e.cookies {
            edns.options_mut()
                .insert(EdnsOption::Unknown(10, cookie.clone()));
            opt_len += 4 + cookie.len();
        }
        if let Some(payload) = &e.nsid {
            edns.options_mut()
                .insert(EdnsOption::NSID(payload.as_slice().try_into().unwrap()));
            opt_len += 4 + payload.len();
        }
        m.set_edns(edns);
        let mut bytes = m.to_vec().unwrap();
        // The OPT is the last record; its CLASS (the payload size) is 3 bytes in.
        let class = bytes.len() - opt_len + 3;
        bytes[class..class + 2].copy_from_slice(&e.payload.to_be_bytes());
        (bytes, Some(opt_len))
    }
}

/// One byte-level change to a packet.
#[derive(Debug, Clone)]
pub enum Mutation {
    Set(usize, u8),
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
}

/// `packet` with `mutations` applied in order (positions wrap around its length).
pub fn mutate(packet: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut p = packet.to_vec();
    for m in mutations {
        let n = p.len();
        match *m {
            Mutation::Set(i, b) if n > 0 => p[i % n] = b,
            Mutation::Flip(i, bit) if n > 0 => p[i % n] ^= 1 << bit,
            Mutation::Insert(i, b) => p.insert(i % (n + 1), b),
            Mutation::Delete(i) if n > 0 => drop(p.remove(i % n)),
            Mutation::Truncate(i) => p.truncate(i % (n + 1)),
            _ => {}
        }
    }
    p
}
