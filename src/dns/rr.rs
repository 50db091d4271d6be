//! A resource record without its owner name, pre-serialised for the answer path.

/// TYPE, CLASS (IN), TTL, RDLENGTH and RDATA of one record, ready to copy after an owner name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrTail(pub Box<[u8]>);

impl RrTail {
    pub fn new(rtype: u16, ttl: u32, rdata: &[u8]) -> Self {
        let mut v = Vec::with_capacity(10 + rdata.len());
        v.extend_from_slice(&rtype.to_be_bytes());
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        v.extend_from_slice(rdata);
        RrTail(v.into_boxed_slice())
    }

    /// The record type.
    pub fn rtype(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }

    /// The TTL.
    pub fn ttl(&self) -> u32 {
        u32::from_be_bytes([self.0[4], self.0[5], self.0[6], self.0[7]])
    }

    /// The RDATA.
    pub fn rdata(&self) -> &[u8] {
        &self.0[10..]
    }

    /// The wire length of the record once an owner of `owner_len` bytes is put before it.
    pub fn wire_len(&self, owner_len: usize) -> usize {
        owner_len + self.0.len()
    }
}
