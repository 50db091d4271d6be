//! Name compression (RFC 1035 §4.1.4): names written as pointers to names already in the
//! message, for owners and for the RDATA names RFC 3597 §4 allows (NS, CNAME, SOA, PTR, MX).

/// How many name positions a message remembers; later names are written in full.
const CAPACITY: usize = 48;
/// Pointers hold 14 bits: names starting later cannot be pointed to.
const MAX_TARGET: usize = 0x3fff;
/// Where the question name starts.
const QUESTION: usize = 12;

/// Positions in the message where a sequence of labels ending in the root begins (each label
/// of each name written in full), to point to from later names.
#[derive(Clone, Copy)]
pub(super) struct Table {
    at: [u16; CAPACITY],
    len: usize,
    /// Whether the question name's labels are in the table yet (added on first use, so
    /// answers that compress nothing pay nothing).
    question: bool,
}

impl Table {
    pub fn new(has_question: bool) -> Self {
        Table {
            at: [0; CAPACITY],
            len: 0,
            question: !has_question,
        }
    }

    /// How many positions are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.len
    }

    /// Forgets positions at or past `end` in the message (after a rollback to `end`).
    pub fn forget_from(&mut self, end: usize) {
        let mut kept = 0;
        for i in 0..self.len {
            if (self.at[i] as usize) < end {
                self.at[kept] = self.at[i];
                kept += 1;
            }
        }
        self.len = kept;
    }

    fn remember(&mut self, pos: usize) {
        if self.len < CAPACITY && pos <= MAX_TARGET {
            self.at[self.len] = pos as u16;
            self.len += 1;
        }
    }

    /// Where in `buf` the name `name` (lowercase wire labels) was written already, if it was.
    fn find(&self, buf: &[u8], name: &[u8]) -> Option<u16> {
        self.at[..self.len]
            .iter()
            .copied()
            .find(|&at| equal_at(buf, at as usize, name))
    }

    /// Appends `name` (uncompressed lowercase wire form) to `buf`, its longest suffix that
    /// is already in the message replaced by a pointer.
    pub fn write_name(&mut self, buf: &mut Vec<u8>, name: &[u8]) {
        if !self.question {
            self.question = true;
            self.remember_labels(buf, QUESTION);
        }
        let mut new = [0usize; CAPACITY];
        let mut added = 0;
        let mut i = 0;
        while i < name.len() && name[i] != 0 {
            if let Some(at) = self.find(buf, &name[i..]) {
                buf.extend_from_slice(&(0xc000 | at).to_be_bytes());
                self.remember_all(&new[..added]);
                return;
            }
            if added < CAPACITY {
                new[added] = buf.len();
                added += 1;
            }
            let end = i + 1 + name[i] as usize;
            buf.extend_from_slice(&name[i..end]);
            i = end;
        }
        buf.push(0);
        self.remember_all(&new[..added]);
    }

    /// Remembers each label of the whole name written at `pos`.
    fn remember_labels(&mut self, buf: &[u8], mut pos: usize) {
        while let Some(&len) = buf.get(pos).filter(|&&l| l != 0 && l < 64) {
            self.remember(pos);
            pos += len as usize + 1;
        }
    }

    fn remember_all(&mut self, positions: &[usize]) {
        positions.iter().for_each(|&p| self.remember(p));
    }
}

/// Whether the name at `pos` in `buf` (labels, possibly ending in a pointer) is `name`,
/// byte for byte: the question keeps the client's case, which answers do not copy into
/// other names.
fn equal_at(buf: &[u8], mut pos: usize, name: &[u8]) -> bool {
    let mut i = 0;
    // A message we write has no pointer chains longer than its names have labels.
    for _ in 0..128 {
        let Some(&len) = buf.get(pos) else {
            return false;
        };
        if len & 0xc0 == 0xc0 {
            let Some(&low) = buf.get(pos + 1) else {
                return false;
            };
            pos = ((len as usize & 0x3f) << 8) | low as usize;
            continue;
        }
        if name.get(i) != Some(&len) {
            return false;
        }
        if len == 0 {
            return true;
        }
        let n = len as usize;
        if buf.get(pos + 1..pos + 1 + n) != name.get(i + 1..i + 1 + n) {
            return false;
        }
        pos += n + 1;
        i += n + 1;
    }
    false
}

/// Writes RDATA of `rtype` with its names compressed when the type allows it (RFC 3597 §4:
/// only the RFC 1035 types) and SRV whole, remembering its target; false, writing nothing,
/// for the other types.
pub(super) fn rdata(table: &mut Table, buf: &mut Vec<u8>, rtype: u16, rdata: &[u8]) -> bool {
    match rtype {
        // NS, CNAME, PTR: one name.
        2 | 5 | 12 => table.write_name(buf, rdata),
        // MX: preference, exchange.
        15 if rdata.len() > 2 => {
            buf.extend_from_slice(&rdata[..2]);
            table.write_name(buf, &rdata[2..]);
        }
        // SOA: MNAME, RNAME, then five numbers.
        6 => {
            let mname = name_len(rdata);
            let rname = name_len(&rdata[mname..]);
            table.write_name(buf, &rdata[..mname]);
            table.write_name(buf, &rdata[mname..mname + rname]);
            buf.extend_from_slice(&rdata[mname + rname..]);
        }
        // SRV: the target is written whole (RFC 2782) but later names may point to it.
        33 if rdata.len() > 6 => {
            let target = buf.len() + 6;
            buf.extend_from_slice(rdata);
            table.remember_labels(buf, target);
        }
        _ => return false,
    }
    true
}

/// The length of the uncompressed name that `wire` starts with.
fn name_len(wire: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(&len) = wire.get(pos) {
        pos += 1;
        if len == 0 {
            break;
        }
        pos += len as usize;
    }
    pos.min(wire.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::serialize::binary::BinDecodable;

    fn wire(text: &str) -> Vec<u8> {
        crate::dns::name::WireName::parse(text, None)
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    /// A message with a question for `qname`: header then the question.
    fn message(qname: &[u8]) -> Vec<u8> {
        let mut m = vec![0; 12];
        m.extend_from_slice(qname);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    /// Decodes the name at `pos` with hickory, which follows the pointers.
    fn read(buf: &[u8], pos: usize) -> String {
        let mut d = hickory_proto::serialize::binary::BinDecoder::new(buf);
        d.read_slice(pos).unwrap();
        hickory_proto::rr::Name::read(&mut d).unwrap().to_string()
    }

    #[test]
    fn names_point_to_the_longest_suffix_written_before() {
        let mut buf = message(&wire("www.example.com."));
        let mut t = Table::new(true);
        let first = buf.len();
        t.write_name(&mut buf, &wire("ns1.example.com."));
        assert_eq!(
            &buf[first..],
            b"\x03ns1\xc0\x10",
            "points to example.com in the question"
        );
        let second = buf.len();
        t.write_name(&mut buf, &wire("ns1.example.com."));
        assert_eq!(
            buf.len() - second,
            2,
            "a name written before is one pointer"
        );
        let third = buf.len();
        t.write_name(&mut buf, &wire("mail.example.net."));
        assert_eq!(buf.len() - third, wire("mail.example.net.").len());
        let fourth = buf.len();
        t.write_name(&mut buf, &wire("example.net."));
        assert_eq!(buf.len() - fourth, 2);
        let root = buf.len();
        t.write_name(&mut buf, &[0]);
        assert_eq!(&buf[root..], &[0]);
        for (pos, want) in [
            (first, "ns1.example.com."),
            (second, "ns1.example.com."),
            (third, "mail.example.net."),
            (fourth, "example.net."),
        ] {
            assert_eq!(read(&buf, pos), want);
        }
    }

    /// The question keeps the client's case; names are not made to point into it unless
    /// they match it byte for byte.
    #[test]
    fn a_question_in_other_case_is_not_pointed_to() {
        let mut buf = message(b"\x03WWW\x07Example\x03COM\x00");
        let mut t = Table::new(true);
        let at = buf.len();
        t.write_name(&mut buf, &wire("ns.example.com."));
        assert_eq!(read(&buf, at), "ns.example.com.");
        assert_eq!(buf.len() - at, wire("ns.example.com.").len());
    }

    #[test]
    fn forgotten_positions_are_not_pointed_to() {
        let mut buf = message(&wire("a.test."));
        let mut t = Table::new(true);
        let keep = buf.len();
        t.write_name(&mut buf, &wire("ns.other.example."));
        buf.truncate(keep);
        t.forget_from(keep);
        assert_eq!(t.len(), 2, "only the question's two labels remain");
        t.write_name(&mut buf, &wire("ns.other.example."));
        assert_eq!(read(&buf, keep), "ns.other.example.");
        assert_eq!(buf.len() - keep, wire("ns.other.example.").len());
    }

    #[test]
    fn soa_and_mx_rdata_compress_their_names_only() {
        let mut buf = message(&wire("example.com."));
        let mut t = Table::new(true);
        let mut soa = wire("ns.example.com.");
        soa.extend(wire("hostmaster.example.com."));
        soa.extend_from_slice(&[0; 20]);
        let at = buf.len();
        assert!(rdata(&mut t, &mut buf, 6, &soa));
        assert_eq!(buf.len() - at, 3 + 2 + 11 + 2 + 20);
        let mut mx = vec![0, 10];
        mx.extend(wire("mx.example.com."));
        let at = buf.len();
        assert!(rdata(&mut t, &mut buf, 15, &mx));
        assert_eq!(&buf[at..], b"\x00\x0a\x02mx\xc0\x0c");
        let mut srv = vec![0, 1, 0, 2, 0, 3];
        srv.extend(wire("sip.example.org."));
        let at = buf.len();
        assert!(rdata(&mut t, &mut buf, 33, &srv));
        assert_eq!(&buf[at..], &srv[..], "SRV targets stay whole");
        let after = buf.len();
        t.write_name(&mut buf, &wire("sip.example.org."));
        assert_eq!(&buf[after..], &(0xc000 | (at + 6) as u16).to_be_bytes());
        assert!(
            !rdata(&mut t, &mut buf, 16, b"\x03txt"),
            "other types are not written"
        );
    }
}
