//! The key-value buckets gslbd keeps in NATS JetStream, created when missing, and the
//! deadline every bucket operation runs under.

use std::time::Duration;

use async_nats::jetstream::{self, kv};

/// A bucket operation that takes longer than this counts as NATS being unreachable.
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// One bucket: its name, what it holds, and how long a value lives without being written
/// again (`None`: until deleted).
pub struct Bucket {
    pub name: &'static str,
    pub description: &'static str,
    pub max_age: Option<Duration>,
}

/// Every node's latest health votes, one key per node; a node silent for a minute is
/// forgotten.
pub const VOTES: Bucket = Bucket {
    name: "gslbd_votes",
    description: "gslbd: each node's health votes",
    max_age: Some(Duration::from_secs(60)),
};

/// The fleet's drains: one key per drained address; an undrain deletes it.
pub const DRAINS: Bucket = Bucket {
    name: "gslbd_drains",
    description: "gslbd: the fleet's drained targets",
    max_age: None,
};

/// The fleet's gradual shifts: one key per shifted address, the ramp as its value.
pub const SHIFTS: Bucket = Bucket {
    name: "gslbd_shifts",
    description: "gslbd: the fleet's gradual shifts of targets",
    max_age: None,
};

/// The fleet's drained pools: one key per drained pool (`<record>.<pool>`).
pub const POOL_DRAINS: Bucket = Bucket {
    name: "gslbd_pool_drains",
    description: "gslbd: the fleet's drained pools",
    max_age: None,
};

/// Every node's description: version, configuration generation and fingerprint; a node
/// silent for ten minutes is forgotten.
pub const NODES: Bucket = Bucket {
    name: "gslbd_nodes",
    description: "gslbd: each node's version and loaded configuration",
    max_age: Some(Duration::from_secs(600)),
};

/// Runs `f` under `OP_TIMEOUT`.
pub async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(OP_TIMEOUT, f)
        .await
        .map_err(|_| "NATS did not answer in time".to_string())?
}

/// Opens `bucket`, creating it when missing: one value per key (history 1), replicated on
/// up to 3 servers of the cluster. The bucket's stream is created as the KV convention has
/// it (`KV_<bucket>` over `$KV.<bucket>.>`) rather than through the client's
/// `create_key_value`, which first reads account limits in a form NATS 2.9 (Debian 12) does
/// not answer.
pub async fn open(js: &jetstream::Context, bucket: &Bucket) -> Result<kv::Store, String> {
    let name = bucket.name;
    if let Ok(b) = js.get_key_value(name).await {
        return Ok(b);
    }
    let mut last = String::new();
    for replicas in [3, 1] {
        let config = jetstream::stream::Config {
            name: format!("KV_{name}"),
            description: Some(bucket.description.into()),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: 1,
            max_age: bucket.max_age.unwrap_or_default(),
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: replicas,
            ..Default::default()
        };
        match js.create_stream(config).await {
            Ok(_) => break,
            Err(e) => last = e.to_string(),
        }
    }
    // Created now, or by another node meanwhile.
    js.get_key_value(name)
        .await
        .map_err(|e| format!("cannot open the {name} bucket: {e}; creating it: {last}"))
}
