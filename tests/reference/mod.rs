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
pub mod parse;
mod records;

use std::net::IpAddr;
use std::path::Path;

use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};

use gslbd::config::{self, Paths};
use gslbd::health::HealthView;
use gslbd::snapshot::{Delegation, Node, Snapshot, Zone};

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
        Parsed::CookieOnly { id, rd, cd, edns } => {
            // RFC 7873 §5.4: no question, no records; NOERROR with the cookie (BADVERS,
            // and no options, for a later EDNS version).
            let mut reply = Message::response(id, OpCode::Query);
            reply.metadata.recursion_desired = rd;
            reply.metadata.checking_disabled = cd;
            let badvers = edns.version > 0;
            if badvers {
                reply.metadata.response_code = ResponseCode::BADVERS;
            }
            let echo = edns
                .subnet
                .filter(|_| !badvers)
                .map(|s| ClientSubnet::new(s.addr(), s.source_prefix(), 0));
            reply.set_edns(reply_edns(&edns, echo, badvers, server, src));
            return Some(reply.to_vec().expect("cookie replies encode"));
        }
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
    // Additional RRsets that go in only while the reply stays within the limit.
    let mut optional: Vec<Vec<Record>> = Vec::new();
    let badvers = request.edns.as_ref().is_some_and(|e| e.version > 0);
    if badvers {
        // RFC 6891 §6.1.3: BADVERS, answered with our version (0) and nothing else.
        reply.metadata.response_code = ResponseCode::BADVERS;
        echo = None;
    } else if qtype == RecordType::Unknown(128) {
        // NXNAME only ever appears in NSEC bitmaps: asking for it is FORMERR (RFC 9824 §3.5),
        // whatever the name and class.
        reply.metadata.response_code = ResponseCode::FormErr;
    } else if query.query_class() != DNSClass::IN
        || qtype == RecordType::AXFR
        || qtype == RecordType::IXFR
    {
        reply.metadata.response_code = ResponseCode::Refused;
    } else if let Some(answer) = resolve(snap, health, rotation, &request, src) {
        reply.metadata.authoritative = answer.authoritative;
        reply.metadata.response_code = answer.rcode;
        reply.answers = answer.answers;
        reply.authorities = answer.authorities;
        reply.additionals = answer.glue;
        optional = answer.optional;
        if let (Some(e), Some(scope)) = (&mut echo, answer.scope) {
            e.set_scope_prefix(scope);
        }
    } else {
        reply.metadata.response_code = ResponseCode::Refused;
    }
    if let Some(client) = &request.edns {
        reply.set_edns(reply_edns(client, echo, badvers, server, src));
    }
    let limit = match (&request.edns, tcp) {
        (_, true) => u16::MAX as usize,
        (None, false) => 512,
        (Some(e), false) => e.max_payload.clamp(512, OUR_PAYLOAD) as usize,
    };
    for rrset in optional {
        let before = reply.additionals.len();
        reply.additionals.extend(rrset);
        if reply.to_vec().expect("replies encode").len() > limit {
            reply.additionals.truncate(before);
            break;
        }
    }
    let bytes = reply.to_vec().expect("replies encode");
    if bytes.len() <= limit {
        return Some(bytes);
    }
    // Too big: TC with the question and the OPT only, so that the client retries over TCP.
    Some(reply.truncate().to_vec().expect("truncated replies encode"))
}

/// The reply's OPT for a client's `client` OPT: ECS (`echo`), COOKIE and NSID in that order,
/// none of them with BADVERS.
fn reply_edns(
    client: &parse::EdnsRequest,
    echo: Option<ClientSubnet>,
    badvers: bool,
    server: &ServerEdns,
    src: IpAddr,
) -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(OUR_PAYLOAD);
    edns.set_dnssec_ok(client.dnssec_ok);
    // CO is echoed to a DO query that set it (RFC 9824 §5), unless the query's EDNS
    // version is one we do not speak.
    if client.dnssec_ok && client.compact_ok && !badvers {
        edns.flags_mut().z |= 0x4000;
    }
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
    edns
}

/// An authoritative answer (or a referral).
struct Answer {
    rcode: ResponseCode,
    /// AA: clear only on a referral that answers nothing itself.
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    /// Glue the reply must carry (a referral's in-domain glue).
    glue: Vec<Record>,
    /// Additional RRsets sent while they fit, in order.
    optional: Vec<Vec<Record>>,
    /// The ECS scope, when a GSLB decision for an ECS client was made.
    scope: Option<u8>,
}

/// Where a name falls in a zone, found top-down from the origin (RFC 1034 §4.3.2).
enum Place<'s> {
    Exists(&'s Node),
    /// Made up by the wildcard at the closest encloser (RFC 4592 §3.3.1).
    Synthesised(&'s Node),
    /// At or below the cut at the given name.
    Cut(Name, &'s Delegation),
    Missing,
}

fn place<'s>(zone: &'s Zone, name: &Name) -> Place<'s> {
    let origin_labels = records::name_from_wire(zone.origin.as_bytes()).num_labels();
    let get = |n: &Name| zone.nodes.get(records::wire_lowercase(n).as_slice());
    for depth in origin_labels + 1..=name.num_labels() {
        let ancestor = name.trim_to(depth as usize);
        match get(&ancestor) {
            Some(Node::Delegation(d)) => return Place::Cut(ancestor, d),
            Some(_) => continue,
            None => {
                let encloser = name.trim_to(depth as usize - 1);
                let wildcard = Name::from_ascii("*")
                    .unwrap()
                    .append_name(&encloser)
                    .unwrap();
                return get(&wildcard).map_or(Place::Missing, Place::Synthesised);
            }
        }
    }
    get(name).map_or(Place::Missing, Place::Exists)
}

/// The additional RRsets of a static answer of type `qtype` at `node`.
fn additional_of(node: &Node, qtype: RecordType) -> Vec<Vec<Record>> {
    let Node::Static(sets) = node else {
        return Vec::new();
    };
    sets.iter()
        .filter(|s| s.rtype == u16::from(qtype))
        .flat_map(|s| s.additional.iter().map(records::rrset))
        .collect()
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
    let mut zone = snap.zone_for(&records::wire_lowercase(qname))?;
    if qtype == RecordType::DS && records::wire_lowercase(qname) == zone.origin.as_bytes() {
        // The parent side of a cut answers DS when we serve it (RFC 4035 §3.1.4.1).
        let parent = qname.base_name();
        if let Some(p) = snap.zone_for(&records::wire_lowercase(&parent)) {
            if matches!(place(p, qname), Place::Cut(ref c, _) if c == qname) {
                zone = p;
            }
        }
    }
    let mut answer = Answer {
        rcode: ResponseCode::NoError,
        authoritative: true,
        answers: Vec::new(),
        authorities: Vec::new(),
        glue: Vec::new(),
        optional: Vec::new(),
        scope: None,
    };
    // The name being answered: the question as asked, then each CNAME target.
    let mut owner = qname.clone();
    let mut aliases: Vec<Name> = Vec::new();
    let mut negative: Option<&Zone> = None;
    loop {
        let node = match place(zone, &owner) {
            Place::Missing => {
                answer.rcode = ResponseCode::NXDomain;
                negative = Some(zone);
                break;
            }
            Place::Cut(cut, d) if qtype == RecordType::DS && cut == owner => {
                match &d.ds {
                    Some(ds) => answer
                        .answers
                        .extend(ds.records.iter().map(|t| records::from_tail(&owner, t))),
                    None => negative = Some(zone),
                }
                break;
            }
            Place::Cut(cut, d) => {
                answer.authoritative = !answer.answers.is_empty();
                let cut = owner.trim_to(cut.num_labels() as usize);
                answer
                    .authorities
                    .extend(d.ns.records.iter().map(|t| records::from_tail(&cut, t)));
                answer.glue = d.glue.iter().flat_map(records::rrset).collect();
                answer.optional = d.sibling.iter().map(records::rrset).collect();
                break;
            }
            Place::Exists(n) | Place::Synthesised(n) => n,
        };
        match node {
            Node::Empty | Node::Delegation(_) => negative = Some(zone),
            _ if qtype == RecordType::ANY && !matches!(node, Node::Cname { .. }) => {
                answer.answers.push(records::rfc8482_hinfo(zone, &owner));
            }
            Node::Static(sets) => match sets.iter().find(|s| s.rtype == u16::from(qtype)) {
                Some(set) => {
                    answer
                        .answers
                        .extend(set.records.iter().map(|t| records::from_tail(&owner, t)));
                    answer.optional = additional_of(node, qtype);
                }
                None => negative = Some(zone),
            },
            Node::Gslb(i)
                if matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::CNAME) =>
            {
                let rec = &snap.gslb.records[*i];
                // RFC 7871 §7.1.2: a source prefix of 0 says nothing about the client.
                let subnet = request.edns.as_ref().and_then(|e| e.subnet);
                let subnet = subnet.filter(|s| s.source_prefix() > 0);
                let client = subnet.map_or(src, |s| s.addr());
                let sel =
                    gslbd::select::select(snap, health, rec, client, qtype.into(), rotation, None);
                if subnet.is_some() {
                    // Along a chain of GSLB names the answer depends on each decision.
                    answer.scope = Some(sel.scope.max(answer.scope.unwrap_or(0)));
                }
                let ttl = sel.ttl(rec);
                let pool = sel.pool.map(|p| &rec.pools[p]);
                match pool.map(|p| (p, &p.cname)) {
                    Some((_, Some(c))) => {
                        let target_name = records::name_from_wire(c.target.as_bytes());
                        answer
                            .answers
                            .push(records::cname(&owner, ttl, target_name.clone()));
                        aliases.push(owner.clone());
                        let done = qtype == RecordType::CNAME
                            || aliases.len() == MAX_CNAME_LINKS
                            || aliases.contains(&target_name);
                        if !done {
                            if let Some(z) = snap.zone_for(c.target.as_bytes()) {
                                (zone, owner) = (z, target_name);
                                continue;
                            }
                        }
                    }
                    Some((p, None)) if qtype != RecordType::CNAME => answer.answers.extend(
                        sel.targets
                            .iter()
                            .map(|&t| records::address(&owner, ttl, p.targets[t as usize].addr)),
                    ),
                    _ => negative = Some(zone),
                }
            }
            Node::Gslb(_) => negative = Some(zone),
            Node::Cname { tail, target } => {
                answer.answers.push(records::from_tail(&owner, tail));
                aliases.push(owner.clone());
                let target_name = records::name_from_wire(target.as_bytes());
                let done = matches!(qtype, RecordType::CNAME | RecordType::ANY)
                    || aliases.len() == MAX_CNAME_LINKS
                    || aliases.contains(&target_name);
                if !done {
                    if let Some(z) = snap.zone_for(target.as_bytes()) {
                        (zone, owner) = (z, target_name);
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
