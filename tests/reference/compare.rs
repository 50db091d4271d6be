//! The differential verdict: two replies to one query must be the same DNS message, checked
//! three ways (hickory-decoded messages, their re-encoding, and the raw bytes with name
//! compression expanded), and are reported raw-identical or not.

use std::fmt::Write;

use hickory_proto::op::Message;

/// How two replies agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Neither side replies.
    BothDrop,
    /// The same message; `raw_identical` when even the bytes are.
    Same { raw_identical: bool },
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn show(label: &str, bytes: &[u8]) -> String {
    match Message::from_vec(bytes) {
        Ok(m) => format!("{label}: {}\n{m}", hex(bytes)),
        Err(e) => format!("{label}: {} (undecodable: {e})", hex(bytes)),
    }
}

/// Compares the handler's reply (`got`) with the reference's (`want`) to `query`.
pub fn compare(query: &[u8], got: Option<&[u8]>, want: Option<&[u8]>) -> Result<Agreement, String> {
    let context = |what: &str, extra: String| {
        let q = match Message::from_vec(query) {
            Ok(m) => format!("{m}"),
            Err(e) => format!("(hickory cannot decode it: {e})"),
        };
        format!("{what}\nquery: {}\n{q}\n{extra}", hex(query))
    };
    let (got, want) = match (got, want) {
        (None, None) => return Ok(Agreement::BothDrop),
        (Some(g), None) => return Err(context("only the handler replies", show("handler", g))),
        (None, Some(w)) => return Err(context("only the reference replies", show("reference", w))),
        (Some(g), Some(w)) => (g, w),
    };
    let both = || format!("{}\n{}", show("handler", got), show("reference", want));
    let got_msg = Message::from_vec(got)
        .map_err(|e| context(&format!("the handler's reply does not decode: {e}"), both()))?;
    let want_msg = Message::from_vec(want).expect("the reference's reply decodes");
    if got_msg != want_msg {
        return Err(context("the replies differ", both()));
    }
    let (got_again, want_again) = (got_msg.to_vec(), want_msg.to_vec());
    if got_again.as_ref().ok() != want_again.as_ref().ok() || got_again.is_err() {
        return Err(context("the replies encode differently", both()));
    }
    match (expand(got), expand(want)) {
        (Some(g), Some(w)) if g == w => {}
        (g, w) => {
            let detail = format!(
                "expanded handler:   {}\nexpanded reference: {}",
                g.as_deref().map_or("-".into(), hex),
                w.as_deref().map_or("-".into(), hex)
            );
            return Err(context(
                "the replies differ beyond name compression",
                format!("{}\n{detail}", both()),
            ));
        }
    }
    Ok(Agreement::Same {
        raw_identical: got == want,
    })
}

/// The message with every compression pointer replaced by the labels it points to (letter
/// case kept) and RDLENGTHs adjusted: what remains once name compression, the one legitimate
/// freedom between two encoders, is taken out. `None` when the message cannot be walked.
pub fn expand(msg: &[u8]) -> Option<Vec<u8>> {
    let mut out = msg.get(..12)?.to_vec();
    let count = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]) as usize;
    let mut at = 12;
    for _ in 0..count(4) {
        at = name(msg, at, &mut out)?;
        out.extend_from_slice(msg.get(at..at + 4)?);
        at += 4;
    }
    for _ in 0..count(6) + count(8) + count(10) {
        at = name(msg, at, &mut out)?;
        let fixed = msg.get(at..at + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let end = at + 10 + u16::from_be_bytes([fixed[8], fixed[9]]) as usize;
        let rdata_start = at + 10;
        msg.get(rdata_start..end)?;
        out.extend_from_slice(&fixed[..8]);
        let mut rdata = Vec::new();
        // Names in RDATA that an encoder may compress: NS, CNAME, PTR (one name), SOA (two
        // names then 20 bytes), MX (preference then a name), SRV (6 bytes then a name).
        let (skip, names) = match rtype {
            2 | 5 | 12 => (0, 1),
            6 => (0, 2),
            15 => (2, 1),
            33 => (6, 1),
            _ => (0, 0),
        };
        let mut r = rdata_start;
        rdata.extend_from_slice(msg.get(r..r + skip)?);
        r += skip;
        for _ in 0..names {
            r = name(msg, r, &mut rdata)?;
        }
        if r > end {
            return None;
        }
        rdata.extend_from_slice(&msg[r..end]);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
        at = end;
    }
    (at == msg.len()).then_some(out)
}

/// Appends the name at `at` to `out` uncompressed; returns the position after it.
fn name(msg: &[u8], mut at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let mut resume = None;
    for _ in 0..128 {
        let len = *msg.get(at)? as usize;
        match len {
            0 => {
                out.push(0);
                return Some(resume.unwrap_or(at + 1));
            }
            1..=63 => {
                out.extend_from_slice(msg.get(at..at + 1 + len)?);
                at += 1 + len;
            }
            0xc0..=0xff => {
                let target = (len & 0x3f) << 8 | *msg.get(at + 1)? as usize;
                resume.get_or_insert(at + 2);
                at = target;
            }
            _ => return None,
        }
    }
    None
}
