//! The probes a node votes on, in the one order every node with the same configuration
//! shares (sorted probe ids), so that a node's votes travel as one bit per probe and the
//! ids themselves only when the set changes.

use std::net::IpAddr;

use crate::gslb::CheckSpec;

/// A probe's identity across the fleet: the same address checked the same way has the same
/// id on every node with the same configuration (the first 8 bytes of a SHA-256 of both).
pub fn probe_id(addr: IpAddr, check: &CheckSpec) -> u64 {
    let text = serde_json::to_string(&(addr, check)).expect("serialisable");
    first_u64(text.as_bytes())
}

fn first_u64(bytes: &[u8]) -> u64 {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    u64::from_be_bytes(d.as_ref()[..8].try_into().expect("8 bytes"))
}

/// Format version of the encoded set.
const VERSION: u8 = 2;

/// Sorted, distinct probe ids and their digest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeSet {
    ids: Vec<u64>,
    digest: u64,
}

impl ProbeSet {
    pub fn new(ids: impl IntoIterator<Item = u64>) -> ProbeSet {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let bytes: Vec<u8> = ids.iter().flat_map(|i| i.to_be_bytes()).collect();
        ProbeSet {
            digest: first_u64(&bytes),
            ids,
        }
    }

    /// Identifies the set: two nodes with the same digest order their bits alike.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Where `id` is in the set.
    pub fn position(&self, id: u64) -> Option<usize> {
        self.ids.binary_search(&id).ok()
    }

    /// Version, digest, count, then the ids: 8 bytes a probe, published when the set changes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + 8 * self.ids.len());
        out.push(VERSION);
        out.extend_from_slice(&self.digest.to_be_bytes());
        out.extend_from_slice(&(self.ids.len() as u32).to_be_bytes());
        for id in &self.ids {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out
    }

    /// Reads `encode`'s output; `None` for anything else (another version, a torn value, a
    /// digest that does not match the ids).
    pub fn decode(b: &[u8]) -> Option<ProbeSet> {
        if b.len() < 13 || b[0] != VERSION {
            return None;
        }
        let digest = u64::from_be_bytes(b[1..9].try_into().ok()?);
        let n = u32::from_be_bytes(b[9..13].try_into().ok()?) as usize;
        if b.len() - 13 != n.checked_mul(8)? {
            return None;
        }
        let set = ProbeSet::new(
            b[13..]
                .chunks_exact(8)
                .map(|c| u64::from_be_bytes(c.try_into().expect("8 bytes"))),
        );
        (set.digest == digest && set.len() == n).then_some(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sets_are_ordered_and_round_trip() {
        let s = ProbeSet::new([9, 3, 7, 3]);
        assert_eq!(s.ids(), [3, 7, 9]);
        assert_eq!(s.position(7), Some(1));
        assert_eq!(s.position(8), None);
        assert_eq!(s.digest(), ProbeSet::new([7, 9, 3]).digest());
        assert_ne!(s.digest(), ProbeSet::new([3, 7]).digest());
        let b = s.encode();
        assert_eq!(b.len(), 13 + 24);
        assert_eq!(ProbeSet::decode(&b), Some(s));
        assert_eq!(ProbeSet::decode(&b[..b.len() - 1]), None);
        let mut bad = b.clone();
        bad[20] ^= 1;
        assert_eq!(ProbeSet::decode(&bad), None, "digest mismatch");
    }

    #[test]
    fn probe_ids_depend_on_address_and_check_only() {
        let spec = |port| CheckSpec {
            kind: crate::gslb::CheckKind::Tcp,
            port,
            path: String::new(),
            host: None,
            expect: vec![],
            body_contains: None,
            insecure: false,
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
        };
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(probe_id(a, &spec(80)), probe_id(a, &spec(80)));
        assert_ne!(probe_id(a, &spec(80)), probe_id(a, &spec(81)));
        assert_ne!(probe_id(a, &spec(80)), probe_id(b, &spec(80)));
    }
}
