//! The parts of an answer that point elsewhere: the name being answered (question or CNAME
//! target) and the referral at a zone cut.

use super::response::{Owner, Section, Writer};
use super::signed::{Denial, Signer};
use crate::dns::query::TYPE_DS;
use crate::snapshot::{Delegation, Snapshot, Zone};

/// A name being answered: its wire bytes and, when it is the question name, the offset of
/// the question in the message (so owners can be compression pointers).
pub(super) struct At<'a> {
    pub name: &'a [u8],
    pub base: Option<u16>,
}

impl<'a> At<'a> {
    /// The owner for the suffix of the name that starts `off` bytes in.
    pub fn owner(&self, off: usize) -> Owner<'a> {
        match self.base {
            Some(base) => Owner::Ptr(base + off as u16),
            None => Owner::Name(&self.name[off..]),
        }
    }
}

/// The zone cut a referral is for: how its name is written, the name, the parent zone.
pub(super) struct Cut<'a> {
    pub owner: Owner<'a>,
    pub name: &'a [u8],
    pub zone: &'a Zone,
}

/// A referral (RFC 1034 §4.3.2 step 3b): the cut's NS RRset in AUTHORITY, with DO the
/// signed DS RRset or the NSEC proving there is none (RFC 4035 §3.1.4), then the glue of
/// the name servers below the cut, which must fit (RFC 9471: else `finish` truncates),
/// then sibling glue as far as it fits.
pub(super) fn refer(
    w: &mut Writer<'_>,
    cut: &Cut<'_>,
    d: &Delegation,
    signer: Option<&mut Signer<'_>>,
    snap: &Snapshot,
    limit: usize,
    reserve: usize,
) {
    for r in &d.ns.records {
        w.authority(cut.owner, &r.0);
    }
    // An unsigned parent has nothing to prove about the child.
    if let Some(s) = signer.filter(|_| cut.zone.dnssec.is_some()) {
        match &d.ds {
            Some(ds) => {
                ds.records.iter().for_each(|r| w.authority(cut.owner, &r.0));
                s.rrsigs_of(
                    w,
                    Section::Authority,
                    cut.owner,
                    cut.name,
                    cut.zone,
                    &ds.records,
                );
            }
            None => s.deny(
                w,
                cut.owner,
                cut.name,
                snap,
                cut.zone,
                Denial::NoDs,
                TYPE_DS,
            ),
        }
    }
    for g in &d.glue {
        w.additional(g.owner.as_bytes(), &g.records);
    }
    for g in &d.sibling {
        if !w.additional_if_fits(g.owner.as_bytes(), &g.records, limit, reserve) {
            break;
        }
    }
}
