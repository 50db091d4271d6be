//! A reference responder for differential testing: gslbd's DNS behaviour (README, "DNS
//! behaviour" and "EDNS Client Subnet") implemented a second time on hickory-proto's message
//! types and encoder, reading only the snapshot's data and `gslbd::select::select`.
//!
//! It never calls `gslbd::dns::{handler, query, response}`. Where the README and the RFCs
//! leave a choice open, it makes the handler's:
//! - the records of a query other than the OPT are delimited, not decoded (`parse`);
//! - FORMERR and NOTIMP replies are a header with the query's ID, opcode and RD, and an OPT
//!   without options (DO copied) when the query's OPT record was readable (`parse`);
//! - the reply's OPT options come in the order ECS, COOKIE, NSID; a BADVERS reply has none;
//! - cookies: see `cookies`; the client address of a cookie is the packet's source, never
//!   the ECS address;
//! - answers at the question name, and the SOA of a negative answer when its zone holds the
//!   question, are owned by the name in the client's letter case;
//! - ANY at a CNAME gets the CNAME; a CNAME chain stops after 8 links or at a loop (NOERROR,
//!   no SOA); QCLASS ANY is refused like every class other than IN;
//! - a truncated reply keeps the header (AA, RCODE), the question and the OPT.
//!
//! Whether a UDP reply fits is measured on hickory's encoding, which compresses names that
//! the handler writes in full, so the two agree only where no such name is near the limit;
//! the test zones keep answers with such names far below 512 bytes or above 1232.

pub mod compare;
pub mod cookies;
mod parse;
mod records;

use std::net::IpAddr;
use std::path::Path;

use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use gslbd::config::{self, Paths};
use gslbd::health::HealthView;
use gslbd::snapshot::{Found, Node, Snapshot, Zone};

use cookies::ServerEdns;
use parse::{Parsed, Request};

/// The UDP payload size gslbd advertises, and the most it sends over UDP.
pub const OUR_PAYLOAD: u16 = 1232;
/// CNAME links followed at most (README: "chains are followed up to 8 links").
pub const MAX_CNAME_LINKS: usize = 8;

/// Loads the configuration in `zones` and `geo` (the way the server does).
pub fn load(zones: &Path, geo: &Path) -> Snapshot {
    config::load(&Paths {
        zones: zones.to_path_buf(),
        geo: geo.to_path_buf(),
    })
    .unwrap_or_else(|e| panic!("{} does not load: {e:?}", zones.display()))
}

/// The reply to `packet` from `src` over UDP (or TCP when `tcp`) by a server with `server`'s
/// secret, NSID and clock, encoded by hickory, or `None` when the packet deserves no reply.
pub fn respond(
    snap: &Snapshot,
    health: &HealthView,
    rotation: u64,
    packet: &[u8],
    src: IpAddr,
    tcp: bool,
    server: &ServerEdns,
) -> Option<Vec<u8>> {
    let request = match parse::parse(packet) {
        Parsed::Drop => return None,
        Parsed::Reject {
            id,
            op_code,
            rd,
            rcode,
            opt_do,
        } => {
            let mut reply = Message::error_msg(id, op_code, rcode);
            reply.metadata.recursion_desired = rd;
            if let Some(dnssec_ok) = opt_do {
                let mut edns = Edns::new();
                edns.set_max_payload(OUR_PAYLOAD);
                edns.set_version(0);
                edns.set_dnssec_ok(dnssec_ok);
                reply.set_edns(edns);
            }
            return Some(reply.to_vec().expect("error replies encode"));
        }
        Parsed::Request(request) => request,
    };
    let mut reply = Message::response(request.id, OpCode::Query);
    reply.metadata.recursion_desired = request.rd;
    reply.metadata.checking_disabled = request.cd;
    reply.add_query(request.query.clone());
    // The echoed ECS option: source as sent, scope 0 unless the answer depends on the client.
    let mut echo = request
        .edns
        .as_ref()
        .and_then(|e| e.subnet)
        .map(|s| ClientSubnet::new(s.addr(), s.source_prefix(), 0));
    let query = &request.query;
    let qtype = query.query_type();
    let badvers = request.edns.as_ref().is_some_and(|e| e.version > 0);
    if badvers {
        // RFC 6891 §6.1.3: BADVERS, answered with our version (0) and nothing else.
        reply.metadata.response_code = ResponseCode::BADVERS;
        echo = None;
    } else if query.query_class() != DNSClass::IN
        || qtype == RecordType::AXFR
        || qtype == RecordType::IXFR
    {
        reply.metadata.response_code = ResponseCode::Refused;
    } else if let Some(answer) = resolve(snap, health, rotation, &request, src) {
        reply.metadata.authoritative = true;
        reply.metadata.response_code = answer.rcode;
        reply.answers = answer.answers;
        reply.authorities = answer.authorities;
        if let (Some(e), Some(scope)) = (&mut echo, answer.scope) {
            e.set_scope_prefix(scope);
        }
    } else {
        reply.metadata.response_code = ResponseCode::Refused;
    }
    if let Some(client) = &request.edns {
        let mut edns = Edns::new();
        edns.set_max_payload(OUR_PAYLOAD);
        edns.set_dnssec_ok(client.dnssec_ok);
        if let Some(subnet) = echo {
            edns.options_mut().insert(EdnsOption::Subnet(subnet));
        }
        if let (Some(sent), false) = (&client.cookie, badvers) {
            let cookie = cookies::reply(server, sent, src);
            edns.options_mut().insert(EdnsOption::Unknown(10, cookie));
        }
        if let (Some(nsid), true, false) = (&server.nsid, client.nsid, badvers) {
            let payload = nsid.as_slice().try_into().expect("a short NSID");
            edns.options_mut().insert(EdnsOption::NSID(payload));
        }
        reply.set_edns(edns);
    }
    let limit = match (&request.edns, tcp) {
        (_, true) => u16::MAX as usize,
        (None, false) => 512,
        (Some(e), false) => e.max_payload.clamp(512, OUR_PAYLOAD) as usize,
    };
    let bytes = reply.to_vec().expect("replies encode");
    if bytes.len() <= limit {
        return Some(bytes);
    }
    // Too big: TC with the question and the OPT only, so that the client retries over TCP.
    Some(reply.truncate().to_vec().expect("truncated replies encode"))
}

/// An authoritative answer.
struct Answer {
    rcode: ResponseCode,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    /// The ECS scope, when a GSLB decision for an ECS client was made.
    scope: Option<u8>,
}

/// Answers a question of class IN from our zones; `None` when it is not in any of them.
fn resolve(
    snap: &Snapshot,
    health: &HealthView,
    rotation: u64,
    request: &Request,
    src: IpAddr,
) -> Option<Answer> {
    let qname = request.query.name();
    let qtype = request.query.query_type();
    let Found::InZone { mut zone, mut node } = snap.find(&records::wire_lowercase(qname)) else {
        return None;
    };
    let mut answer = Answer {
        rcode: ResponseCode::NoError,
        answers: Vec::new(),
        authorities: Vec::new(),
        scope: None,
    };
    // The name being answered: the question as asked, then each CNAME target.
    let mut owner = qname.clone();
    let mut aliases: Vec<Name> = Vec::new();
    let mut negative: Option<&Zone> = None;
    loop {
        match node {
            None => {
                answer.rcode = ResponseCode::NXDomain;
                negative = Some(zone);
            }
            Some(Node::Empty) => negative = Some(zone),
            Some(_) if qtype == RecordType::ANY && !matches!(node, Some(Node::Cname { .. })) => {
                answer.answers.push(records::rfc8482_hinfo(zone, &owner));
            }
            Some(Node::Static(sets)) => match sets.iter().find(|s| s.rtype == u16::from(qtype)) {
                Some(set) => answer
                    .answers
                    .extend(set.records.iter().map(|t| records::from_tail(&owner, t))),
                None => negative = Some(zone),
            },
            Some(Node::Gslb(i)) if matches!(qtype, RecordType::A | RecordType::AAAA) => {
                let rec = &snap.gslb.records[*i];
                // RFC 7871 §7.1.2: a source prefix of 0 says nothing about the client.
                let subnet = request.edns.as_ref().and_then(|e| e.subnet);
                let subnet = subnet.filter(|s| s.source_prefix() > 0);
                let client = subnet.map_or(src, |s| s.addr());
                let sel =
                    gslbd::select::select(snap, health, rec, client, qtype.into(), rotation, None);
                if subnet.is_some() {
                    answer.scope = Some(sel.scope);
                }
                match sel.pool {
                    Some(p) => answer.answers.extend(sel.targets.iter().map(|&t| {
                        records::address(&owner, rec.ttl, rec.pools[p].targets[t as usize].addr)
                    })),
                    None => negative = Some(zone),
                }
            }
            Some(Node::Gslb(_)) => negative = Some(zone),
            Some(Node::Cname { tail, target }) => {
                answer.answers.push(records::from_tail(&owner, tail));
                aliases.push(owner);
                let target_name = records::name_from_wire(target.as_bytes());
                let done = matches!(qtype, RecordType::CNAME | RecordType::ANY)
                    || aliases.len() == MAX_CNAME_LINKS
                    || aliases.contains(&target_name);
                if !done {
                    if let Found::InZone { zone: z, node: n } = snap.find(target.as_bytes()) {
                        (zone, node, owner) = (z, n, target_name);
                        continue;
                    }
                }
            }
        }
        break;
    }
    if let Some(z) = negative {
        answer.authorities.push(records::negative_soa(z, qname));
    }
    Some(answer)
}
