//! Answers in the CHAOS class, as BIND, Knot and NSD give them (RFC 4892 §2.3): `id.server.`
//! and `hostname.bind.` with the server's identity (the `--nsid` text, so a fleet tells
//! which node answered), `version.server.` and `version.bind.` with gslbd's version (unless
//! `--hide-version`). Built once at start: the query path copies a ready record.

use super::query::{CLASS_CH, TYPE_TXT};

/// The CHAOS TXT records this server gives, as record tails (type, class, TTL, RDATA).
#[derive(Debug, Clone, Default)]
pub struct Chaos {
    identity: Option<Box<[u8]>>,
    version: Option<Box<[u8]>>,
}

/// `id.server.` and `hostname.bind.` in wire form.
const IDENTITY_NAMES: [&[u8]; 2] = [b"\x02id\x06server\x00", b"\x08hostname\x04bind\x00"];
/// `version.server.` and `version.bind.` in wire form.
const VERSION_NAMES: [&[u8]; 2] = [b"\x07version\x06server\x00", b"\x07version\x04bind\x00"];

/// This build's version text.
pub const VERSION: &str = concat!("gslbd ", env!("CARGO_PKG_VERSION"));

impl Chaos {
    /// Answers `identity` (at most 255 bytes; longer is cut) and `version` when given.
    pub fn new(identity: Option<&[u8]>, version: Option<&str>) -> Chaos {
        Chaos {
            identity: identity.map(txt_tail),
            version: version.map(|v| txt_tail(v.as_bytes())),
        }
    }

    /// The TXT record tail for `qname` (lowercased wire form), when this server answers it.
    pub fn find(&self, qname: &[u8]) -> Option<&[u8]> {
        if IDENTITY_NAMES.contains(&qname) {
            self.identity.as_deref()
        } else if VERSION_NAMES.contains(&qname) {
            self.version.as_deref()
        } else {
            None
        }
    }
}

/// A CH TXT record tail holding `text` as one string, TTL 0.
fn txt_tail(text: &[u8]) -> Box<[u8]> {
    let text = &text[..text.len().min(255)];
    let mut t = Vec::with_capacity(11 + text.len());
    t.extend_from_slice(&TYPE_TXT.to_be_bytes());
    t.extend_from_slice(&CLASS_CH.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&(text.len() as u16 + 1).to_be_bytes());
    t.push(text.len() as u8);
    t.extend_from_slice(text);
    t.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_their_records() {
        let c = Chaos::new(Some(b"ns1.fra"), Some(VERSION));
        let id = c.find(b"\x02id\x06server\x00").unwrap();
        assert_eq!(c.find(b"\x08hostname\x04bind\x00").unwrap(), id);
        assert_eq!(&id[..10], &[0, 16, 0, 3, 0, 0, 0, 0, 0, 8]);
        assert_eq!(&id[10..], b"\x07ns1.fra");
        let v = c.find(b"\x07version\x04bind\x00").unwrap();
        assert_eq!(&v[11..], VERSION.as_bytes());
        assert!(c.find(b"\x07authors\x04bind\x00").is_none());
        let quiet = Chaos::new(None, None);
        assert!(quiet.find(b"\x02id\x06server\x00").is_none());
        assert!(quiet.find(b"\x07version\x06server\x00").is_none());
        let long = Chaos::new(Some(&[b'x'; 300]), None);
        assert_eq!(long.find(b"\x02id\x06server\x00").unwrap().len(), 10 + 256);
    }
}
