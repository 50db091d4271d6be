//! Fleet-wide drains in the `gslbd_drains` bucket: a drained address is a key (who drained
//! it and when as its value), an undrain deletes the key.

use std::collections::BTreeSet;
use std::net::IpAddr;

use async_nats::jetstream::kv;
use futures_util::StreamExt;

use super::member::Member;
use super::state::now_ms;

/// The bucket key of an address: NATS keys take no `:`, so IPv6 colons become `-`.
pub fn key(addr: IpAddr) -> String {
    addr.to_string().replace(':', "-")
}

/// The address a key stands for; `None` for a key gslbd did not write.
pub fn addr(key: &str) -> Option<IpAddr> {
    key.replace('-', ":").parse().ok()
}

/// Publishes the drains and undrains made through this node and not yet published.
pub async fn push(bucket: &kv::Store, member: &dyn Member, node: &str) -> Result<(), String> {
    for (addr, drained) in member.pending_drains() {
        if drained {
            let value = serde_json::json!({ "by": node, "at_ms": now_ms() }).to_string();
            bucket
                .put(key(addr), value.into())
                .await
                .map_err(|e| format!("publishing the drain of {addr}: {e}"))?;
        } else {
            bucket
                .delete(key(addr))
                .await
                .map_err(|e| format!("publishing the undrain of {addr}: {e}"))?;
        }
        member.drain_published(addr, drained);
        tracing::info!(target_addr = %addr, drained, "fleet: drain published");
    }
    Ok(())
}

/// Every address the bucket holds drained.
pub async fn list(bucket: &kv::Store) -> Result<BTreeSet<IpAddr>, String> {
    let mut keys = bucket
        .keys()
        .await
        .map_err(|e| format!("listing drains: {e}"))?;
    let mut all = BTreeSet::new();
    while let Some(k) = keys.next().await {
        let k = k.map_err(|e| format!("listing drains: {e}"))?;
        match addr(&k) {
            Some(a) => {
                all.insert(a);
            }
            None => tracing::debug!(key = %k, "fleet: not a drain key; ignored"),
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_for_both_families() {
        for a in ["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "::"] {
            let a: IpAddr = a.parse().unwrap();
            let k = key(a);
            assert!(
                k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
                "{k}"
            );
            assert_eq!(addr(&k), Some(a));
        }
        assert_eq!(addr("a-b"), None);
    }
}
