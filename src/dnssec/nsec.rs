//! NSEC records of compact denial of existence (RFC 9824): one NSEC at the name denied,
//! whose next name is its immediate successor `\000.<name>`, and whose type bitmap says
//! what the name holds (or NXNAME when it does not exist).

use super::TYPE_NSEC;

/// Longest NSEC RDATA we write: a 255-byte next name and bitmaps of every window.
const MAX_RDATA: usize = 255 + 256 * 34;

/// The NSEC record tail (TYPE .. RDATA) at `owner` with `types` (any order, no duplicates)
/// and `ttl`, written into `out` (cleared first).
pub fn compact_tail(out: &mut Vec<u8>, owner: &[u8], types: &[u16], ttl: u32) {
    out.clear();
    out.extend_from_slice(&TYPE_NSEC.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let rdata_at = out.len();
    successor(out, owner);
    type_bitmaps(out, types);
    let rdlength = (out.len() - rdata_at) as u16;
    debug_assert!(rdlength as usize <= MAX_RDATA);
    out[rdata_at - 2..rdata_at].copy_from_slice(&rdlength.to_be_bytes());
}

/// Appends the immediate successor of `owner` in canonical order (RFC 4471 §3.1.1):
/// `\000.<owner>`; when that would exceed 255 bytes, the owner with its first label's last
/// octet incremented (a later name that is no child of it; RFC 4471 §3.1.2 for long names).
fn successor(out: &mut Vec<u8>, owner: &[u8]) {
    if owner.len() + 2 <= 255 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(owner);
        return;
    }
    let at = out.len();
    out.extend_from_slice(owner);
    let first = owner[0] as usize;
    if first > 0 && owner[first] < 0xff {
        // Lowercased to stay canonical ('@' + 1 is 'A'); either way it sorts later.
        out[at + first] = (owner[first] + 1).to_ascii_lowercase();
    }
}

/// Appends the type bit maps field (RFC 4034 §4.1.2) for `types`.
pub fn type_bitmaps(out: &mut Vec<u8>, types: &[u16]) {
    let mut sorted: smallvec::SmallVec<[u16; 16]> = types.iter().copied().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut i = 0;
    while i < sorted.len() {
        let window = (sorted[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < sorted.len() && (sorted[i] >> 8) as u8 == window {
            let low = (sorted[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
}

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
    use hickory_proto::rr::{RData, Record, RecordType};
    use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

    use super::*;
    use crate::dns::name::WireName;

    fn decode(owner: &[u8], tail: &[u8]) -> NSEC {
        let wire = [owner, tail].concat();
        match Record::read(&mut BinDecoder::new(&wire)).unwrap().data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) => n,
            other => panic!("not an NSEC: {other:?}"),
        }
    }

    /// hickory reads our NSEC back: the next name is `\000.<owner>` and the bitmap holds
    /// exactly the types given, across windows (NXNAME 128 is in window 0, CAA 257 in 1).
    #[test]
    fn compact_nsec_reads_back_in_hickory() {
        let owner = WireName::parse("nx.example.com.", None).unwrap();
        let mut tail = Vec::new();
        compact_tail(&mut tail, owner.as_bytes(), &[47, 46, 128], 300);
        let nsec = decode(owner.as_bytes(), &tail);
        assert_eq!(nsec.next_domain_name().to_string(), "\\000.nx.example.com.");
        let types: Vec<RecordType> = nsec.type_bit_maps().collect();
        assert_eq!(
            types,
            [
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::Unknown(128)
            ]
        );
        compact_tail(&mut tail, owner.as_bytes(), &[1, 257, 28, 1, 46, 47], 300);
        let types: Vec<RecordType> = decode(owner.as_bytes(), &tail).type_bit_maps().collect();
        assert_eq!(
            types,
            [
                RecordType::A,
                RecordType::AAAA,
                RecordType::RRSIG,
                RecordType::NSEC,
                RecordType::CAA
            ]
        );
    }

    /// A name too long for `\000.` in front gets a successor of the same length, later in
    /// canonical order.
    #[test]
    fn successor_of_a_longest_name_stays_within_255_bytes() {
        let mut owner = Vec::new();
        for _ in 0..3 {
            owner.push(63);
            owner.extend_from_slice(&[b'a'; 63]);
        }
        owner.push(61);
        owner.extend_from_slice(&[b'b'; 61]);
        owner.push(0);
        assert_eq!(owner.len(), 255);
        let mut out = Vec::new();
        successor(&mut out, &owner);
        assert_eq!(out.len(), 255);
        assert_eq!(out[63], b'b', "first label's last octet incremented");
        assert!(out > owner);
    }
}
