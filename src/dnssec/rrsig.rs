//! RRSIG records (RFC 4034 §3): the data a signature covers, in canonical form, and the
//! record itself.

use super::key::{Key, SIGNATURE_LEN};
use super::TYPE_RRSIG;

/// Signatures are valid from this long before they are made (clock skew of validators).
pub const INCEPTION_BEFORE: u32 = 3600;
/// Signatures are valid this long after they are made.
pub const VALIDITY: u32 = 7 * 86400;
/// A signature is made anew when less than this much of its validity is left.
pub const REFRESH_BEFORE_END: u32 = 2 * 86400;

/// One RRset to sign: owner and RDATA in canonical form (lowercase names, uncompressed;
/// gslbd stores names lowercase, so its RDATA is canonical as it is).
pub struct RrsetToSign<'a> {
    pub owner: &'a [u8],
    pub rtype: u16,
    pub ttl: u32,
    /// RDATA of every record, sorted and without duplicates (`canonical_order`).
    pub rdatas: &'a [&'a [u8]],
}

/// Puts RDATA in canonical order (RFC 4034 §6.3: as left-justified octet strings) and drops
/// duplicates; returns how many are left.
pub fn canonical_order(rdatas: &mut [&[u8]]) -> usize {
    rdatas.sort_unstable();
    let mut n = 0;
    for i in 0..rdatas.len() {
        if n == 0 || rdatas[i] != rdatas[n - 1] {
            rdatas[n] = rdatas[i];
            n += 1;
        }
    }
    n
}

/// The Labels field for `owner` (RFC 4034 §3.1.3): labels not counting the root, nor a
/// leading `*`.
pub fn labels(owner: &[u8]) -> u8 {
    let mut n = 0u8;
    let mut i = 0;
    while i < owner.len() && owner[i] != 0 {
        n += 1;
        i += owner[i] as usize + 1;
    }
    if owner.starts_with(b"\x01*") {
        n -= 1;
    }
    n
}

/// Makes the RRSIG of `set` by `key` for zone `signer` at `now` (seconds since the epoch,
/// mod 2^32) and appends the record without its owner (TYPE .. RDATA) to `out`. `scratch`
/// holds the signed data.
pub fn append_rrsig(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    set: &RrsetToSign<'_>,
    key: &Key,
    signer: &[u8],
    now: u32,
) {
    let inception = now.wrapping_sub(INCEPTION_BEFORE);
    let expiration = now.wrapping_add(VALIDITY);
    let rdata_at = out.len() + 10;
    out.extend_from_slice(&TYPE_RRSIG.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&set.ttl.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&set.rtype.to_be_bytes());
    out.push(key.algorithm.number());
    out.push(labels(set.owner));
    out.extend_from_slice(&set.ttl.to_be_bytes());
    out.extend_from_slice(&expiration.to_be_bytes());
    out.extend_from_slice(&inception.to_be_bytes());
    out.extend_from_slice(&key.tag.to_be_bytes());
    out.extend_from_slice(signer);
    scratch.clear();
    scratch.extend_from_slice(&out[rdata_at..]);
    for rdata in set.rdatas {
        scratch.extend_from_slice(set.owner);
        scratch.extend_from_slice(&set.rtype.to_be_bytes());
        scratch.extend_from_slice(&1u16.to_be_bytes());
        scratch.extend_from_slice(&set.ttl.to_be_bytes());
        scratch.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        scratch.extend_from_slice(rdata);
    }
    out.extend_from_slice(&key.sign(scratch));
    let rdlength = (out.len() - rdata_at) as u16;
    out[rdata_at - 2..rdata_at].copy_from_slice(&rdlength.to_be_bytes());
}

/// Bytes of an RRSIG record's tail (TYPE .. RDATA) for zone `signer`.
pub fn tail_len(signer: &[u8]) -> usize {
    10 + 18 + signer.len() + SIGNATURE_LEN
}

#[cfg(test)]
mod tests;
