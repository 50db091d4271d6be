//! The link to NATS: connects (and reconnects with backoff), opens the buckets, publishes
//! this node's votes, drains and description, and follows every other node's. NATS is never
//! on the query path: what arrives here only changes the health view the next time it is
//! built.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures_util::StreamExt;

use super::bucket::{self, timed, OP_TIMEOUT};
use super::drains;
use super::follow::Follow;
use super::member::Member;
use super::nodes::NodeInfo;
use super::probe_set::ProbeSet;
use super::settings;
use super::state::{now_ms, FleetState};
use super::votes::NodeVotes;
use super::{pool_drains, shifts};

/// Reconnection backoff: doubles from the first to the last. Short, so a node rejoins
/// within a second or so of NATS coming back.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
];
/// How often a node republishes its description when nothing changed.
const DESCRIBE_EVERY: Duration = Duration::from_secs(60);
/// Changed votes arriving within this of each other make one new health view, not one each.
const REBUILD_AFTER: Duration = Duration::from_millis(20);
/// Heartbeats that repeat a node's votes rebuild nothing; the view is rebuilt this often
/// anyway, so votes that stopped coming expire from it (3 probe intervals) on time.
const REBUILD_EVERY: Duration = Duration::from_secs(1);
/// The suffix of the key holding a node's probe set (`<node>.ids`) beside its votes.
const IDS: &str = ".ids";
/// How often the watches are checked against their buckets (see `follow`): a lost watch
/// is noticed within two of these.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Runs the link until the process ends.
pub async fn run(state: Arc<FleetState>, member: Arc<dyn Member>) {
    let mut attempt = 0usize;
    loop {
        match session(&state, &member).await {
            Ok(()) => attempt = 0,
            Err(Ended::WatchLost(bucket)) => {
                // NATS answers; only the watch is gone. Rejoin at once, keeping the fleet
                // view meanwhile (the votes in it expire on their own if the rejoin fails).
                tracing::warn!(
                    bucket,
                    "fleet: the watch on a bucket stopped delivering (its consumer is gone \
                     on NATS's side); rejoining"
                );
                attempt = 0;
                continue;
            }
            Err(Ended::Unreachable(e)) => {
                if attempt == 0 || state.connected() {
                    tracing::warn!(error = %e, "fleet: NATS unreachable; answering from this node's own probes");
                } else {
                    tracing::debug!(error = %e, "fleet: still no NATS");
                }
            }
        }
        if state.connected.swap(false, Ordering::Relaxed) {
            member.fleet_changed();
        }
        tokio::time::sleep(BACKOFF[attempt.min(BACKOFF.len() - 1)]).await;
        attempt += 1;
    }
}

/// Why a session ended.
enum Ended {
    /// NATS failed or did not answer in time.
    Unreachable(String),
    /// The watch on this bucket stopped delivering while NATS answered.
    WatchLost(&'static str),
}

impl From<String> for Ended {
    fn from(e: String) -> Ended {
        Ended::Unreachable(e)
    }
}

/// A watch on every key of `bucket`: each key's latest value first, then every change.
async fn watch(bucket: &kv::Store) -> Result<kv::Watch, String> {
    timed(async {
        bucket
            .watch_with_history(">")
            .await
            .map_err(|e| e.to_string())
    })
    .await
}

/// A watch on every key of `bucket`: only the changes from now on.
async fn watch_changes(bucket: &kv::Store) -> Result<kv::Watch, String> {
    timed(async { bucket.watch_all().await.map_err(|e| e.to_string()) }).await
}

/// The next entry of a watch, counted in its `follow`; its end or an error ends the
/// session.
fn entry(
    e: Option<Result<kv::Entry, kv::WatcherError>>,
    follow: &mut Follow,
) -> Result<kv::Entry, String> {
    let e = e.ok_or("a watch ended")?.map_err(|e| e.to_string())?;
    follow.saw(e.revision);
    Ok(e)
}

/// The bucket's last sequence and how many messages it holds, read from the server.
async fn bucket_end(bucket: &kv::Store) -> Result<(u64, u64), String> {
    let info = timed(async {
        bucket
            .stream
            .get_info()
            .await
            .map_err(|e| format!("reading the state of {}: {e}", bucket.name))
    })
    .await?;
    Ok((info.state.last_sequence, info.state.messages))
}

/// Checks every watch against its bucket; an error names the first that stopped
/// delivering.
async fn check_follows(watched: [(&kv::Store, &'static str, &mut Follow); 5]) -> Result<(), Ended> {
    for (bucket, name, follow) in watched {
        let (last, messages) = bucket_end(bucket).await?;
        if !follow.check(last, messages) {
            return Err(Ended::WatchLost(name));
        }
    }
    Ok(())
}

/// One connection: until something fails.
async fn session(state: &Arc<FleetState>, member: &Arc<dyn Member>) -> Result<(), Ended> {
    let urls: Vec<async_nats::ServerAddr> = state
        .config
        .urls
        .iter()
        .map(|u| u.parse().map_err(|e| format!("NATS URL `{u}`: {e}")))
        .collect::<Result<_, _>>()?;
    let client = tokio::time::timeout(
        OP_TIMEOUT,
        async_nats::ConnectOptions::new()
            .name(format!("gslbd {}", state.config.node))
            .connection_timeout(OP_TIMEOUT)
            // The link reconnects itself, re-reading every bucket; a client quietly
            // reconnecting underneath would leave its watches stale.
            .max_reconnects(1)
            .connect(urls),
    )
    .await
    .map_err(|_| "connect timed out".to_string())?
    .map_err(|e| format!("connect: {e}"))?;
    let js = jetstream::new(client);
    let votes = timed(bucket::open(&js, &bucket::VOTES)).await?;
    let drains = timed(bucket::open(&js, &bucket::DRAINS)).await?;
    let nodes = timed(bucket::open(&js, &bucket::NODES)).await?;
    let shifts_bucket = timed(bucket::open(&js, &bucket::SHIFTS)).await?;
    let pools_bucket = timed(bucket::open(&js, &bucket::POOL_DRAINS)).await?;
    let me = state.key();
    let node = state.config.node.as_str();
    // Watches that deliver every key's latest value first owe everything from the start.
    let mut votes_watch = watch(&votes).await?;
    let mut votes_follow = Follow::from(0);
    let mut nodes_watch = watch(&nodes).await?;
    let mut nodes_follow = Follow::from(0);
    // Drains made here while NATS could not be heard go in first; then the fleet's replace
    // this node's, and every later change arrives through the watch (started before the
    // listing, so nothing falls between the two).
    timed(drains::push(&drains, member.as_ref(), node)).await?;
    let mut drains_watch = watch_changes(&drains).await?;
    let mut drains_follow = Follow::from(bucket_end(&drains).await?.0);
    member.fleet_drains(timed(drains::list(&drains)).await?);
    // Shifts and pool drains the same way.
    timed(push_settings(&shifts_bucket, &pools_bucket, member)).await?;
    let mut shifts_watch = watch_changes(&shifts_bucket).await?;
    let mut shifts_follow = Follow::from(bucket_end(&shifts_bucket).await?.0);
    let mut pools_watch = watch_changes(&pools_bucket).await?;
    let mut pools_follow = Follow::from(bucket_end(&pools_bucket).await?.0);
    member.fleet_shifts(timed(settings::list(&shifts_bucket, &shifts::KIND)).await?);
    member.fleet_pool_drains(timed(settings::list(&pools_bucket, &pool_drains::KIND)).await?);
    let mut published = None;
    timed(publish_votes(&votes, &me, member.as_ref(), &mut published)).await?;
    timed(describe(&nodes, state)).await?;
    state.connected.store(true, Ordering::Relaxed);
    tracing::info!(node, "fleet: joined through NATS");
    member.fleet_changed();
    // Deadlines, not timers made anew each turn: other nodes' votes arriving must not
    // postpone ours.
    let now = tokio::time::Instant::now;
    let mut next_beat = now() + state.heartbeat();
    let mut next_description = now() + DESCRIBE_EVERY;
    let mut rebuild: Option<tokio::time::Instant> = None;
    let mut next_rebuild = now() + REBUILD_EVERY;
    let mut next_follow_check = now() + FOLLOW_EVERY;
    loop {
        tokio::select! {
            e = votes_watch.next() => {
                let e = entry(e, &mut votes_follow)?;
                let (node, ids) = match e.key.strip_suffix(IDS) {
                    Some(node) => (node, true),
                    None => (e.key.as_str(), false),
                };
                if node == me {
                    continue;
                }
                let mut votes = state.votes.lock().unwrap();
                let changed = match (e.operation, ids) {
                    (kv::Operation::Put, true) => match ProbeSet::decode(&e.value) {
                        Some(set) => {
                            votes.set_probes(node, set);
                            true
                        }
                        None => {
                            tracing::debug!(node, "fleet: unreadable probe set ignored");
                            false
                        }
                    },
                    (kv::Operation::Put, false) => match NodeVotes::decode(&e.value) {
                        Some(v) => votes.set_votes(node, v),
                        None => {
                            tracing::debug!(node, "fleet: unreadable votes ignored");
                            false
                        }
                    },
                    (_, false) => {
                        votes.remove(node);
                        true
                    }
                    (_, true) => false,
                };
                drop(votes);
                if changed {
                    rebuild.get_or_insert(now() + REBUILD_AFTER);
                }
            }
            _ = tokio::time::sleep_until(rebuild.unwrap_or(next_rebuild)) => {
                rebuild = None;
                next_rebuild = now() + REBUILD_EVERY;
                member.fleet_changed();
            }
            e = drains_watch.next() => {
                let e = entry(e, &mut drains_follow)?;
                match drains::addr(&e.key) {
                    Some(addr) => member.fleet_drain(addr, e.operation == kv::Operation::Put),
                    None => tracing::debug!(key = %e.key, "fleet: not a drain key; ignored"),
                }
            }
            e = shifts_watch.next() => {
                let e = entry(e, &mut shifts_follow)?;
                if let Some((addr, shift)) = settings::change(&shifts::KIND, &e) {
                    member.fleet_shift(addr, shift);
                }
            }
            e = pools_watch.next() => {
                let e = entry(e, &mut pools_follow)?;
                if let Some((key, drained)) = settings::change(&pool_drains::KIND, &e) {
                    member.fleet_pool_drain(key, drained);
                }
            }
            e = nodes_watch.next() => {
                let e = entry(e, &mut nodes_follow)?;
                let mut nodes = state.nodes.lock().unwrap();
                match e.operation {
                    kv::Operation::Put => match serde_json::from_slice::<NodeInfo>(&e.value) {
                        Ok(info) => nodes.set(&e.key, info),
                        Err(err) => tracing::debug!(node = %e.key, error = %err, "fleet: unreadable description ignored"),
                    },
                    kv::Operation::Delete | kv::Operation::Purge => nodes.remove(&e.key),
                }
            }
            _ = tokio::time::sleep_until(next_follow_check) => {
                check_follows([
                    (&votes, bucket::VOTES.name, &mut votes_follow),
                    (&drains, bucket::DRAINS.name, &mut drains_follow),
                    (&shifts_bucket, bucket::SHIFTS.name, &mut shifts_follow),
                    (&pools_bucket, bucket::POOL_DRAINS.name, &mut pools_follow),
                    (&nodes, bucket::NODES.name, &mut nodes_follow),
                ])
                .await?;
                next_follow_check = now() + FOLLOW_EVERY;
            }
            _ = tokio::time::sleep_until(next_beat) => {
                timed(publish_votes(&votes, &me, member.as_ref(), &mut published)).await?;
                next_beat = now() + state.heartbeat();
            }
            _ = state.own_changed.notified() => {
                timed(publish_votes(&votes, &me, member.as_ref(), &mut published)).await?;
                next_beat = now() + state.heartbeat();
            }
            _ = state.drains_changed.notified() => {
                timed(drains::push(&drains, member.as_ref(), node)).await?;
                timed(push_settings(&shifts_bucket, &pools_bucket, member)).await?;
            }
            _ = tokio::time::sleep_until(next_description) => {
                timed(describe(&nodes, state)).await?;
                next_description = now() + DESCRIBE_EVERY;
            }
            _ = state.loaded_changed.notified() => {
                timed(describe(&nodes, state)).await?;
                next_description = now() + DESCRIBE_EVERY;
            }
        }
    }
}

/// Publishes this node's votes, after its probe set when that is not the one last published
/// (`published`: its digest), so other nodes always have the ids before the bits.
async fn publish_votes(
    bucket: &kv::Store,
    me: &str,
    member: &dyn Member,
    published: &mut Option<u64>,
) -> Result<(), String> {
    let (set, votes) = member.own_votes();
    if *published != Some(set.digest()) {
        bucket
            .put(format!("{me}{IDS}"), set.encode().into())
            .await
            .map_err(|e| format!("publishing the probe set: {e}"))?;
        *published = Some(set.digest());
    }
    bucket
        .put(me, votes.encode().into())
        .await
        .map(|_| ())
        .map_err(|e| format!("publishing votes: {e}"))
}

/// Publishes the shifts and pool drains made through this node and not yet published.
async fn push_settings(
    shifts_bucket: &kv::Store,
    pools_bucket: &kv::Store,
    member: &Arc<dyn Member>,
) -> Result<(), String> {
    settings::push(
        shifts_bucket,
        &shifts::KIND,
        member.pending_shifts(),
        |k, v| member.shift_published(k, v),
    )
    .await?;
    settings::push(
        pools_bucket,
        &pool_drains::KIND,
        member.pending_pool_drains(),
        |k, v| member.pool_drain_published(k, v),
    )
    .await
}

/// Publishes this node's description.
async fn describe(bucket: &kv::Store, state: &FleetState) -> Result<(), String> {
    let loaded = state.loaded.lock().unwrap().clone();
    let info = NodeInfo::mine(&state.config.node, loaded, now_ms());
    let body = serde_json::to_vec(&info).expect("serialisable");
    bucket
        .put(state.key(), body.into())
        .await
        .map(|_| ())
        .map_err(|e| format!("publishing this node's description: {e}"))
}
