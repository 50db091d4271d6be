//! The reference's records: snapshot data turned into hickory-proto `Record`s.
//!
//! Static records exist in the snapshot only in wire form (a record without its owner), so
//! hickory decodes their RDATA; everything the handler derives (the negative-caching SOA,
//! the RFC 8482 HINFO, GSLB addresses) is built here from first principles instead.

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, HINFO, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};

use gslbd::snapshot::{Additional, RrTail, Zone};

/// A snapshot record with its owner: TYPE, CLASS, TTL, RDLENGTH and RDATA decoded by hickory.
pub fn from_tail(owner: &Name, tail: &RrTail) -> Record {
    let b = &tail.0;
    let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let rtype = RecordType::from(u16_at(0));
    let ttl = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let rdlength = u16_at(8);
    assert_eq!(b.len(), 10 + rdlength as usize, "record length");
    let mut decoder = BinDecoder::new(&b[10..]);
    let rdata = RData::read(&mut decoder, rtype, Restrict::new(rdlength))
        .unwrap_or_else(|e| panic!("snapshot record {rtype} does not decode: {e}"));
    let mut record = Record::from_rdata(owner.clone(), ttl, rdata);
    record.dns_class = DNSClass::from(u16_at(2));
    record
}

/// A name in gslbd's lowercase wire format as a hickory name.
pub fn name_from_wire(wire: &[u8]) -> Name {
    let mut labels = Vec::new();
    let mut at = 0;
    while wire[at] != 0 {
        let len = wire[at] as usize;
        labels.push(&wire[at + 1..at + 1 + len]);
        at += 1 + len;
    }
    let mut name = Name::from_labels(labels).expect("snapshot names are valid");
    name.set_fqdn(true);
    name
}

/// A hickory name in lowercase wire format, the key of the snapshot's lookups.
pub fn wire_lowercase(name: &Name) -> Vec<u8> {
    let mut wire = Vec::new();
    for label in name.iter() {
        wire.push(label.len() as u8);
        wire.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    wire.push(0);
    wire
}

/// The zone's SOA record (as in answers) and its RDATA.
fn soa(zone: &Zone) -> (Record, SOA) {
    let record = from_tail(&name_from_wire(zone.origin.as_bytes()), &zone.soa);
    let RData::SOA(soa) = &record.data else {
        panic!("the zone SOA is not an SOA record");
    };
    let soa = soa.clone();
    (record, soa)
}

/// The SOA for the AUTHORITY section of a negative answer (RFC 2308 §3): TTL is the lesser
/// of the SOA's own TTL and its MINIMUM field. `qname` is the question as asked: when the zone
/// origin is one of its suffixes, the owner keeps the client's letter case.
pub fn negative_soa(zone: &Zone, qname: &Name) -> Record {
    let (mut record, soa) = soa(zone);
    record.ttl = record.ttl.min(soa.minimum);
    let origin = record.name.clone();
    if origin.zone_of(qname) {
        record.name = qname.trim_to(origin.iter().count());
    }
    record
}

/// The RFC 8482 §4.2 answer to ANY: one synthesised HINFO "RFC8482" "", with the zone TTL.
pub fn rfc8482_hinfo(zone: &Zone, owner: &Name) -> Record {
    let ttl = soa(zone).0.ttl;
    let hinfo = HINFO::new("RFC8482".to_string(), String::new());
    Record::from_rdata(owner.clone(), ttl, RData::HINFO(hinfo))
}

/// A GSLB answer: the target address with the record's TTL.
pub fn address(owner: &Name, ttl: u32, addr: IpAddr) -> Record {
    let rdata = match addr {
        IpAddr::V4(a) => RData::A(A(a)),
        IpAddr::V6(a) => RData::AAAA(AAAA(a)),
    };
    Record::from_rdata(owner.clone(), ttl, rdata)
}

/// The CNAME record a CNAME pool answers with.
pub fn cname(owner: &Name, ttl: u32, target: Name) -> Record {
    Record::from_rdata(
        owner.clone(),
        ttl,
        RData::CNAME(hickory_proto::rr::rdata::CNAME(target)),
    )
}

/// An additional-section RRset (glue or the address of an NS/MX/SRV target).
pub fn rrset(a: &Additional) -> Vec<Record> {
    let owner = name_from_wire(a.owner.as_bytes());
    a.records.iter().map(|t| from_tail(&owner, t)).collect()
}
