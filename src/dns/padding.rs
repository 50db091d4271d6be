//! EDNS(0) padding of answers over the encrypted transports: a query that carries the Padding
//! option (RFC 7830) gets its answer padded to a multiple of 468 bytes (RFC 8467 §4.1), so
//! the size of an encrypted answer tells less about the name.

/// The Padding option code (RFC 7830).
const OPTION_PADDING: u16 = 12;
const TYPE_OPT: u16 = 41;
/// Answers are padded to a multiple of this (RFC 8467 §4.1, block-length padding).
const BLOCK: usize = 468;

/// Skips a (possibly compressed) name at `at`; where the next field starts.
fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *msg.get(at)? as usize;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return Some(at + 2),
            l if l & 0xC0 == 0 => at += 1 + l,
            _ => return None,
        }
    }
}

fn u16_at(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

/// Calls `f(type, offset of RDLENGTH, end of RDATA)` for each record after the question;
/// `None` when the message is cut short or malformed.
fn each_record(msg: &[u8], mut f: impl FnMut(u16, usize, usize)) -> Option<()> {
    let count = |i: usize| u16_at(msg, 4 + 2 * i).map(usize::from);
    let (qd, records) = (count(0)?, count(1)? + count(2)? + count(3)?);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    for _ in 0..records {
        at = skip_name(msg, at)?;
        let rtype = u16_at(msg, at)?;
        let rdlen_at = at + 8;
        let end = rdlen_at + 2 + usize::from(u16_at(msg, rdlen_at)?);
        if end > msg.len() {
            return None;
        }
        f(rtype, rdlen_at, end);
        at = end;
    }
    Some(())
}

/// Whether the query's OPT record carries the Padding option.
fn asks_for_padding(query: &[u8]) -> bool {
    let mut asks = false;
    each_record(query, |rtype, rdlen_at, end| {
        let mut at = rdlen_at + 2;
        while rtype == TYPE_OPT && at + 4 <= end {
            let (Some(code), Some(len)) = (u16_at(query, at), u16_at(query, at + 2)) else {
                break;
            };
            asks |= code == OPTION_PADDING;
            at += 4 + usize::from(len);
        }
    });
    asks
}

/// Pads `reply` (the answer to `query`, without length prefix) when the query asked for it:
/// a Padding option appended to its OPT record, which the response writer puts last. Replies
/// without OPT, or that would pass 64 KiB, are left as they are.
pub fn pad_reply(query: &[u8], reply: &mut Vec<u8>) {
    if !asks_for_padding(query) {
        return;
    }
    let mut last = None;
    if each_record(reply, |rtype, rdlen_at, end| {
        last = Some((rtype, rdlen_at, end))
    })
    .is_none()
    {
        return;
    }
    let Some((TYPE_OPT, rdlen_at, end)) = last else {
        return;
    };
    if end != reply.len() {
        return;
    }
    let unpadded = reply.len() + 4;
    let padded = unpadded.div_ceil(BLOCK) * BLOCK;
    let rdlen = usize::from(u16_at(reply, rdlen_at).unwrap_or(0)) + padded - reply.len();
    if padded > usize::from(u16::MAX) || rdlen > usize::from(u16::MAX) {
        return;
    }
    let fill = padded - unpadded;
    reply[rdlen_at..rdlen_at + 2].copy_from_slice(&(rdlen as u16).to_be_bytes());
    reply.extend_from_slice(&OPTION_PADDING.to_be_bytes());
    reply.extend_from_slice(&(fill as u16).to_be_bytes());
    reply.resize(padded, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    fn message(padding: bool) -> Message {
        let mut m = Message::query();
        m.add_query(Query::query(
            Name::from_ascii("www.example.com.").unwrap(),
            RecordType::A,
        ));
        let mut e = Edns::new();
        e.set_max_payload(1232);
        if padding {
            e.options_mut()
                .insert(EdnsOption::Unknown(OPTION_PADDING, vec![0; 20]));
        }
        m.set_edns(e);
        m
    }

    fn reply() -> Vec<u8> {
        let mut r = message(false);
        r.add_answer(Record::from_rdata(
            Name::from_ascii("www.example.com.").unwrap(),
            30,
            RData::A("192.0.2.1".parse().unwrap()),
        ));
        r.to_vec().unwrap()
    }

    #[test]
    fn a_padded_query_gets_a_reply_padded_to_468_bytes_that_still_decodes() {
        let query = message(true).to_vec().unwrap();
        let mut out = reply();
        let before = Message::from_vec(&out).unwrap();
        pad_reply(&query, &mut out);
        assert_eq!(out.len(), 468);
        let after = Message::from_vec(&out).unwrap();
        assert_eq!(after.answers, before.answers);
        let edns = after.edns.as_ref().unwrap();
        assert!(edns.option(EdnsCode::Padding).is_some(), "{edns:?}");
        assert_eq!(edns.max_payload(), 1232);
    }

    #[test]
    fn a_query_without_padding_or_garbage_leaves_the_reply_alone() {
        let plain = reply();
        for query in [message(false).to_vec().unwrap(), vec![0xff; 5], vec![]] {
            let mut out = plain.clone();
            pad_reply(&query, &mut out);
            assert_eq!(out, plain);
        }
        // A reply whose last record is not OPT is not touched.
        let query = message(true).to_vec().unwrap();
        let mut no_opt = Message::query();
        no_opt.add_query(Query::query(Name::root(), RecordType::A));
        let mut out = no_opt.to_vec().unwrap();
        let copy = out.clone();
        pad_reply(&query, &mut out);
        assert_eq!(out, copy);
    }
}
