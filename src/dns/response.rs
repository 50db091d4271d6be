//! The response writer: header, question, records and OPT appended to a reused buffer.

use super::compress::{self, Table};
use super::edns::{OPTION_COOKIE, OPTION_NSID};
use super::query::{Ecs, TYPE_OPT};
use super::rr::RrTail;

/// Response codes we send (values above 15 go partly into the OPT record).
pub mod rcode {
    pub const NOERROR: u16 = 0;
    pub const FORMERR: u16 = 1;
    pub const SERVFAIL: u16 = 2;
    pub const NXDOMAIN: u16 = 3;
    pub const NOTIMP: u16 = 4;
    pub const REFUSED: u16 = 5;
    pub const BADVERS: u16 = 16;

    /// The mnemonic of a response code, as dig prints it.
    pub fn name(code: u16) -> &'static str {
        match code {
            NOERROR => "NOERROR",
            FORMERR => "FORMERR",
            SERVFAIL => "SERVFAIL",
            NXDOMAIN => "NXDOMAIN",
            NOTIMP => "NOTIMP",
            REFUSED => "REFUSED",
            BADVERS => "BADVERS",
            _ => "OTHER",
        }
    }
}

/// The UDP payload size we advertise and never exceed (DNS flag day 2020).
pub const OUR_PAYLOAD: u16 = 1232;

/// The owner name of a record: a compression pointer into the message, or literal wire bytes.
#[derive(Clone, Copy)]
pub enum Owner<'a> {
    Ptr(u16),
    Name(&'a [u8]),
}

/// The OPT record of a reply. Its options are written in this order: ECS, COOKIE, NSID.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptReply<'a> {
    pub dnssec_ok: bool,
    /// The Compact Answers OK flag (RFC 9824 §5), echoed to a DO query that set it.
    pub compact_ok: bool,
    /// Echoed client subnet and the scope prefix we answer with.
    pub ecs: Option<(Ecs, u8)>,
    /// COOKIE option data: the client cookie and our server cookie.
    pub cookie: Option<[u8; 24]>,
    /// Our name server identifier, for a query that asked for it.
    pub nsid: Option<&'a [u8]>,
}

impl OptReply<'_> {
    /// An OPT with no options (error replies).
    pub fn bare(dnssec_ok: bool) -> Self {
        OptReply {
            dnssec_ok,
            ..OptReply::default()
        }
    }

    /// Bytes the OPT record takes in the reply, options included: what to keep free when
    /// deciding whether more records fit under the size limit.
    pub fn wire_len(&self) -> usize {
        11 + self.ecs.map_or(0, |(e, _)| 8 + e.addr_len())
            + self.cookie.map_or(0, |c| 4 + c.len())
            + self.nsid.map_or(0, |n| 4 + n.len())
    }
}

/// Which header fields of the query a reply copies.
#[derive(Debug, Clone, Copy)]
pub struct ReplyHeader {
    pub id: u16,
    pub opcode: u8,
    pub rd: bool,
    pub cd: bool,
}

/// Writes one response into `buf` (cleared first). Sections must be written in order.
pub struct Writer<'b> {
    buf: &'b mut Vec<u8>,
    question_end: usize,
    counts: [u16; 4],
    names: Table,
}

const AN: usize = 1;
const NS: usize = 2;
const AR: usize = 3;

/// A section of the message that records go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Answer = AN as isize,
    Authority = NS as isize,
    Additional = AR as isize,
}

/// A point in a message being written, to go back to.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    len: usize,
    counts: [u16; 4],
}

impl<'b> Writer<'b> {
    /// Starts a response: a header to be finished later, then the question if any.
    pub fn new(buf: &'b mut Vec<u8>, h: ReplyHeader, question: Option<&[u8]>) -> Self {
        buf.clear();
        buf.extend_from_slice(&h.id.to_be_bytes());
        buf.push(0x80 | (h.opcode << 3) | h.rd as u8);
        buf.push((h.cd as u8) << 4);
        buf.extend_from_slice(&[0; 8]);
        if let Some(q) = question {
            buf.extend_from_slice(q);
        }
        let question_end = buf.len();
        Writer {
            buf,
            question_end,
            counts: [question.is_some() as u16, 0, 0, 0],
            names: Table::new(question.is_some()),
        }
    }

    /// Appends one record: `tail` is TYPE, CLASS, TTL, RDLENGTH and uncompressed RDATA.
    /// Owners and the names in RDATA that may be compressed point to earlier names.
    fn record(&mut self, section: usize, owner: Owner<'_>, tail: &[u8]) {
        match owner {
            Owner::Ptr(off) => self.buf.extend_from_slice(&(0xc000 | off).to_be_bytes()),
            Owner::Name(n) => self.names.write_name(self.buf, n),
        }
        let rtype = u16::from_be_bytes([tail[0], tail[1]]);
        let rdlength_at = self.buf.len() + 8;
        self.buf.extend_from_slice(&tail[..10]);
        if compress::rdata(&mut self.names, self.buf, rtype, &tail[10..]) {
            let rdlength = (self.buf.len() - rdlength_at - 2) as u16;
            self.buf[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
        } else {
            self.buf.extend_from_slice(&tail[10..]);
        }
        self.counts[section] += 1;
    }

    /// Appends one record to `section` (sections must be written in order).
    pub fn push(&mut self, section: Section, owner: Owner<'_>, tail: &[u8]) {
        self.record(section as usize, owner, tail);
    }

    /// Where the message is now.
    pub fn mark(&self) -> Mark {
        Mark {
            len: self.buf.len(),
            counts: self.counts,
        }
    }

    /// Drops what was written since `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        self.buf.truncate(mark.len);
        self.counts = mark.counts;
        self.names.forget_from(mark.len);
    }

    /// Whether the message, with `reserve` more bytes, is within `limit`.
    pub fn fits(&self, limit: usize, reserve: usize) -> bool {
        self.buf.len() + reserve <= limit
    }

    pub fn answer(&mut self, owner: Owner<'_>, tail: &[u8]) {
        self.record(AN, owner, tail);
    }

    /// `answer` with the TTL of `tail` replaced by `ttl`.
    pub fn answer_with_ttl(&mut self, owner: Owner<'_>, tail: &[u8], ttl: u32) {
        self.record(AN, owner, tail);
        // A and AAAA RDATA is copied as it is, so the tail ends the message.
        let at = self.buf.len() - tail.len() + 4;
        self.buf[at..at + 4].copy_from_slice(&ttl.to_be_bytes());
    }

    pub fn authority(&mut self, owner: Owner<'_>, tail: &[u8]) {
        self.record(NS, owner, tail);
    }

    /// Appends one RRset to ADDITIONAL when the message, with `reserve` more bytes (the OPT
    /// still to come), stays within `limit`; otherwise leaves the message as it was.
    pub fn additional_if_fits(
        &mut self,
        owner: &[u8],
        tails: &[RrTail],
        limit: usize,
        reserve: usize,
    ) -> bool {
        let mark = self.mark();
        for t in tails {
            self.record(AR, Owner::Name(owner), &t.0);
        }
        if !self.fits(limit, reserve) {
            self.rollback(mark);
            return false;
        }
        true
    }

    /// Appends records to ADDITIONAL unconditionally (required glue: when the message gets
    /// too big, `finish` truncates it).
    pub fn additional(&mut self, owner: &[u8], tails: &[RrTail]) {
        for t in tails {
            self.record(AR, Owner::Name(owner), &t.0);
        }
    }

    pub fn answer_count(&self) -> u16 {
        self.counts[AN]
    }

    fn write_opt(&mut self, opt: &OptReply<'_>, rcode: u16) {
        let b = &mut *self.buf;
        b.push(0);
        b.extend_from_slice(&TYPE_OPT.to_be_bytes());
        b.extend_from_slice(&OUR_PAYLOAD.to_be_bytes());
        b.push((rcode >> 4) as u8);
        b.push(0);
        b.push(if opt.dnssec_ok { 0x80 } else { 0 } | if opt.compact_ok { 0x40 } else { 0 });
        b.push(0);
        let rdlength_at = b.len();
        b.extend_from_slice(&[0, 0]);
        if let Some((ecs, scope)) = &opt.ecs {
            let n = ecs.addr_len();
            b.extend_from_slice(&super::query::OPTION_ECS.to_be_bytes());
            b.extend_from_slice(&((4 + n) as u16).to_be_bytes());
            b.extend_from_slice(&ecs.family.to_be_bytes());
            b.push(ecs.source_prefix);
            b.push(*scope);
            match ecs.addr {
                std::net::IpAddr::V4(a) => b.extend_from_slice(&a.octets()[..n]),
                std::net::IpAddr::V6(a) => b.extend_from_slice(&a.octets()[..n]),
            }
        }
        if let Some(cookie) = &opt.cookie {
            b.extend_from_slice(&OPTION_COOKIE.to_be_bytes());
            b.extend_from_slice(&(cookie.len() as u16).to_be_bytes());
            b.extend_from_slice(cookie);
        }
        if let Some(nsid) = opt.nsid {
            b.extend_from_slice(&OPTION_NSID.to_be_bytes());
            b.extend_from_slice(&(nsid.len() as u16).to_be_bytes());
            b.extend_from_slice(nsid);
        }
        let rdlength = (b.len() - rdlength_at - 2) as u16;
        b[rdlength_at..rdlength_at + 2].copy_from_slice(&rdlength.to_be_bytes());
        self.counts[AR] += 1;
    }

    /// Finishes the message: OPT (when the query had EDNS), flags and counts. When the
    /// result exceeds `limit` bytes, the records are dropped and TC is set instead, keeping
    /// the question and the OPT so the client retries over TCP.
    pub fn finish(
        mut self,
        rcode: u16,
        aa: bool,
        opt: Option<&OptReply<'_>>,
        limit: usize,
    ) -> bool {
        if let Some(o) = opt {
            self.write_opt(o, rcode);
        }
        let mut tc = false;
        if self.buf.len() > limit {
            tc = true;
            self.buf.truncate(self.question_end);
            self.counts[AN] = 0;
            self.counts[NS] = 0;
            self.counts[AR] = 0;
            if let Some(o) = opt {
                self.write_opt(o, rcode);
            }
        }
        let b = &mut *self.buf;
        b[2] |= ((aa as u8) << 2) | ((tc as u8) << 1);
        b[3] |= (rcode & 0x0f) as u8;
        for (i, c) in self.counts.iter().enumerate() {
            b[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
        }
        tc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OPT holds ECS, COOKIE and NSID in that order, its RDLENGTH and `wire_len` agree
    /// with what is written, and a truncated reply keeps every option.
    #[test]
    fn opt_options_are_written_counted_and_kept_when_truncated() {
        let ecs = Ecs {
            family: 1,
            source_prefix: 24,
            addr: "198.51.100.0".parse().unwrap(),
        };
        let opt = OptReply {
            dnssec_ok: true,
            compact_ok: false,
            ecs: Some((ecs, 16)),
            cookie: Some([0xcc; 24]),
            nsid: Some(b"ns1"),
        };
        let h = ReplyHeader {
            id: 1,
            opcode: 0,
            rd: false,
            cd: false,
        };
        let question = b"\x01a\x00\x00\x01\x00\x01";
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf, h, Some(question));
        for _ in 0..40 {
            w.answer(
                Owner::Ptr(12),
                &[0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1],
            );
        }
        assert!(
            w.finish(0, true, Some(&opt), 512),
            "too big for 512: truncated"
        );
        let opt_at = 12 + question.len();
        assert_eq!(buf.len(), opt_at + opt.wire_len());
        assert_eq!(&buf[6..12], &[0, 0, 0, 0, 0, 1], "only the OPT is left");
        let rdata = &buf[opt_at + 11..];
        assert_eq!(
            &buf[opt_at + 9..opt_at + 11],
            &(rdata.len() as u16).to_be_bytes()
        );
        let mut expected = vec![0, 8, 0, 7, 0, 1, 24, 16, 198, 51, 100];
        expected.extend_from_slice(&[0, 10, 0, 24]);
        expected.extend_from_slice(&[0xcc; 24]);
        expected.extend_from_slice(&[0, 3, 0, 3]);
        expected.extend_from_slice(b"ns1");
        assert_eq!(rdata, &expected[..]);
        assert_eq!(OptReply::bare(false).wire_len(), 11);
    }
}
