//! Fleet-wide settings made by hand, beyond target drains: one bucket per kind (shifts,
//! pool drains), one key per setting with its JSON value; removing a setting deletes its
//! key. Made through any node, published when NATS is reachable (pending until then), and
//! watched by every node.

use std::collections::BTreeMap;

use async_nats::jetstream::kv;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// How one kind of setting is keyed in its bucket.
pub struct Kind<K> {
    /// What it is, for messages: `shift`, `pool drain`.
    pub what: &'static str,
    pub key: fn(&K) -> String,
    /// `None` for a key gslbd did not write.
    pub parse_key: fn(&str) -> Option<K>,
}

/// Publishes `pending` (changes made through this node), telling `published` of each one
/// now in the bucket.
pub async fn push<K: std::fmt::Debug, V: Serialize>(
    bucket: &kv::Store,
    kind: &Kind<K>,
    pending: Vec<(K, Option<V>)>,
    published: impl Fn(&K, &Option<V>),
) -> Result<(), String> {
    for (k, v) in pending {
        let key = (kind.key)(&k);
        match &v {
            Some(value) => {
                let body = serde_json::to_vec(value).expect("serialisable");
                bucket
                    .put(key, body.into())
                    .await
                    .map_err(|e| format!("publishing the {} of {k:?}: {e}", kind.what))?;
            }
            None => {
                bucket
                    .delete(key)
                    .await
                    .map_err(|e| format!("publishing the removal of {} {k:?}: {e}", kind.what))?;
            }
        }
        published(&k, &v);
        tracing::info!(what = kind.what, key = ?k, set = v.is_some(), "fleet: setting published");
    }
    Ok(())
}

/// Every setting the bucket holds.
pub async fn list<K: Ord, V: DeserializeOwned>(
    bucket: &kv::Store,
    kind: &Kind<K>,
) -> Result<BTreeMap<K, V>, String> {
    let mut keys = bucket
        .keys()
        .await
        .map_err(|e| format!("listing {}s: {e}", kind.what))?;
    let mut names = Vec::new();
    while let Some(k) = keys.next().await {
        names.push(k.map_err(|e| format!("listing {}s: {e}", kind.what))?);
    }
    let mut all = BTreeMap::new();
    for name in names {
        let Some(k) = (kind.parse_key)(&name) else {
            tracing::debug!(key = %name, what = kind.what, "fleet: not a key of ours; ignored");
            continue;
        };
        let value = bucket
            .get(name.as_str())
            .await
            .map_err(|e| format!("reading {} {name}: {e}", kind.what))?;
        // Deleted between the listing and the read: not there.
        if let Some(v) = value.and_then(|b| serde_json::from_slice(&b).ok()) {
            all.insert(k, v);
        }
    }
    Ok(all)
}

/// What a watched entry says: the setting of a key, or its removal; `None` for an entry
/// that is not ours or does not read.
pub fn change<K, V: DeserializeOwned>(kind: &Kind<K>, e: &kv::Entry) -> Option<(K, Option<V>)> {
    let k = (kind.parse_key)(&e.key)?;
    match e.operation {
        kv::Operation::Put => match serde_json::from_slice(&e.value) {
            Ok(v) => Some((k, Some(v))),
            Err(err) => {
                tracing::debug!(key = %e.key, error = %err, what = kind.what, "fleet: unreadable value ignored");
                None
            }
        },
        kv::Operation::Delete | kv::Operation::Purge => Some((k, None)),
    }
}
