//! DNSSEC: signing keys, RRSIG and NSEC records, and the signature cache of online signing.

pub mod cache;
pub mod key;
pub mod nsec;
pub mod rrsig;

use std::sync::Arc;

pub use cache::SigCache;
pub use key::{key_tag, Algorithm, Key, KeyError};

/// The keys that sign one zone, as the snapshot holds them.
#[derive(Debug, Clone)]
pub struct ZoneKeys {
    /// Every listed key: each is published in the DNSKEY RRset and signs.
    pub keys: Vec<Arc<Key>>,
}

impl ZoneKeys {
    /// Keys that sign RRsets of type `rtype`: the KSKs for DNSKEY, CDS and CDNSKEY; the ZSKs
    /// for everything else, or the KSKs when there is no ZSK (a CSK).
    pub fn signing(&self, rtype: u16) -> impl Iterator<Item = &Key> {
        let apex_keys = matches!(rtype, TYPE_DNSKEY | TYPE_CDS | TYPE_CDNSKEY);
        let has_zsk = self.keys.iter().any(|k| !k.is_ksk());
        let want_ksk = apex_keys || !has_zsk;
        self.keys
            .iter()
            .map(|k| &**k)
            .filter(move |k| k.is_ksk() == want_ksk)
    }
}

pub const TYPE_RRSIG: u16 = 46;
pub const TYPE_NSEC: u16 = 47;
pub const TYPE_DNSKEY: u16 = 48;
pub const TYPE_CDS: u16 = 59;
pub const TYPE_CDNSKEY: u16 = 60;
/// The NXNAME meta-type of compact denial (RFC 9824).
pub const TYPE_NXNAME: u16 = 128;
