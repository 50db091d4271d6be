//! The open TCP connections and who holds them: a cap per client network (/24 for IPv4,
//! /56 for IPv6) and, when the global cap is reached, room made by closing the connection
//! that has waited longest without completing a query (never-completed ones first), as
//! Knot and NSD do, rather than refusing the newcomer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// A client network: the /24 of an IPv4 address, the /56 of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNet(u64);

impl ClientNet {
    pub fn of(ip: IpAddr) -> ClientNet {
        match ip {
            IpAddr::V4(a) => ClientNet(u64::from(u32::from(a) >> 8)),
            // The top bit tells the families apart (an IPv4 /24 fits in 24 bits).
            IpAddr::V6(a) => ClientNet((u128::from(a) >> 72) as u64 | 1 << 63),
        }
    }
}

/// One connection as the table and its task share it.
#[derive(Debug)]
pub struct Conn {
    /// Nanoseconds since the table's epoch when the connection last completed a query, or
    /// was opened; the eviction order.
    last_active: AtomicU64,
    /// Queries answered on it.
    answered: AtomicU64,
    /// Notified when the table takes the connection's place for a newcomer.
    pub evicted: Notify,
}

impl Conn {
    /// Records an answered query (one relaxed store and add; no lock).
    #[inline]
    pub fn answered(&self, table: &ConnTable) {
        self.last_active.store(table.now_ns(), Relaxed);
        self.answered.fetch_add(1, Relaxed);
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its network already holds the per-client number of connections.
    PerClient,
}

struct Entry {
    net: ClientNet,
    conn: Arc<Conn>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    conns: HashMap<u64, Entry>,
    per_net: HashMap<ClientNet, u32>,
}

/// The open connections of one TCP listener. Locked when a connection opens, closes or is
/// evicted; never per query.
pub struct ConnTable {
    max: usize,
    /// 0: no per-network cap.
    per_client: u32,
    epoch: Instant,
    inner: Mutex<Inner>,
    /// Connections closed to make room for newcomers, and refused for their network.
    pub evicted: AtomicU64,
    pub refused_per_client: AtomicU64,
}

/// A connection's place in the table; gives it back when dropped.
pub struct Admitted {
    id: u64,
    pub conn: Arc<Conn>,
    table: Arc<ConnTable>,
}

impl Admitted {
    /// Records an answered query on this connection (no lock).
    #[inline]
    pub fn answered(&self) {
        self.conn.answered(&self.table);
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

impl ConnTable {
    pub fn new(max: usize, per_client: u32) -> ConnTable {
        ConnTable {
            max: max.max(1),
            per_client,
            epoch: Instant::now(),
            inner: Mutex::new(Inner::default()),
            evicted: AtomicU64::new(0),
            refused_per_client: AtomicU64::new(0),
        }
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Open connections now.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a place for a connection from `peer`: refused when its network holds its share;
    /// at the global cap, the connection that has gone longest without completing a query
    /// (one that never completed any first) is told to close and its place is taken.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Refused> {
        let net = ClientNet::of(peer);
        let now = self.now_ns();
        let mut inner = self.inner.lock().unwrap();
        let held = inner.per_net.get(&net).copied().unwrap_or(0);
        if self.per_client > 0 && held >= self.per_client {
            self.refused_per_client.fetch_add(1, Relaxed);
            return Err(Refused::PerClient);
        }
        if inner.conns.len() >= self.max {
            self.make_room(&mut inner);
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn = Arc::new(Conn {
            last_active: AtomicU64::new(now),
            answered: AtomicU64::new(0),
            evicted: Notify::new(),
        });
        inner.conns.insert(
            id,
            Entry {
                net,
                conn: conn.clone(),
            },
        );
        *inner.per_net.entry(net).or_insert(0) += 1;
        Ok(Admitted {
            id,
            conn,
            table: self.clone(),
        })
    }

    /// At the cap: closes the connections that have gone longest without completing a
    /// query, never-completed ones first. A 32nd of the cap at a time, so a flood of
    /// newcomers costs one scan per batch rather than one per connection.
    fn make_room(&self, inner: &mut Inner) {
        let batch = (self.max / 32).max(1);
        let mut order: Vec<((bool, u64), u64)> = inner
            .conns
            .iter()
            .map(|(id, e)| {
                let done = e.conn.answered.load(Relaxed) > 0;
                ((done, e.conn.last_active.load(Relaxed)), *id)
            })
            .collect();
        if order.len() > batch {
            order.select_nth_unstable(batch - 1);
            order.truncate(batch);
        }
        for (_, id) in order {
            if let Some(e) = Self::take(inner, id) {
                e.conn.evicted.notify_one();
                self.evicted.fetch_add(1, Relaxed);
            }
        }
    }

    fn take(inner: &mut Inner, id: u64) -> Option<Entry> {
        let e = inner.conns.remove(&id)?;
        if let Some(n) = inner.per_net.get_mut(&e.net) {
            *n -= 1;
            if *n == 0 {
                inner.per_net.remove(&e.net);
            }
        }
        Some(e)
    }

    fn remove(&self, id: u64) {
        Self::take(&mut self.inner.lock().unwrap(), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_are_slash_24_and_slash_56() {
        assert_eq!(
            ClientNet::of(ip("192.0.2.1")),
            ClientNet::of(ip("192.0.2.254"))
        );
        assert_ne!(
            ClientNet::of(ip("192.0.2.1")),
            ClientNet::of(ip("192.0.3.1"))
        );
        assert_eq!(
            ClientNet::of(ip("2001:db8:0:1ff::1")),
            ClientNet::of(ip("2001:db8:0:100::2"))
        );
        assert_ne!(
            ClientNet::of(ip("2001:db8:0:100::1")),
            ClientNet::of(ip("2001:db8:0:200::1"))
        );
        // ::c000:201 (an IPv6 address whose low bits look like 192.0.2.1) is its own network.
        assert_ne!(
            ClientNet::of(ip("::c000:201")),
            ClientNet::of(ip("192.0.2.1"))
        );
    }

    #[test]
    fn a_network_holds_at_most_its_share_and_gets_places_back() {
        let t = Arc::new(ConnTable::new(100, 2));
        let a = t.admit(ip("192.0.2.1")).unwrap();
        let _b = t.admit(ip("192.0.2.2")).unwrap();
        assert_eq!(t.admit(ip("192.0.2.3")).err(), Some(Refused::PerClient));
        assert!(
            t.admit(ip("198.51.100.1")).is_ok(),
            "another network is not held back"
        );
        drop(a);
        assert!(
            t.admit(ip("192.0.2.3")).is_ok(),
            "a closed connection frees its place"
        );
        assert_eq!(t.refused_per_client.load(Relaxed), 1);
    }

    #[test]
    fn at_the_cap_the_never_completed_oldest_connection_makes_room() {
        let t = Arc::new(ConnTable::new(3, 0));
        let busy = t.admit(ip("192.0.2.1")).unwrap();
        let idle_first = t.admit(ip("198.51.100.1")).unwrap();
        let idle_second = t.admit(ip("203.0.113.1")).unwrap();
        busy.conn.answered(&t);
        // Full: the newcomer gets in, the oldest connection that never completed a query
        // is told to go.
        let newcomer = t.admit(ip("203.0.113.9")).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.evicted.load(Relaxed), 1);
        let notified = |a: &Admitted| {
            let n = a.conn.evicted.notified();
            futures_util::FutureExt::now_or_never(n).is_some()
        };
        assert!(notified(&idle_first));
        assert!(!notified(&idle_second) && !notified(&busy) && !notified(&newcomer));
        // Dropping the evicted connection's place later changes nothing.
        drop(idle_first);
        assert_eq!(t.len(), 3);
        // Only connections that completed queries left: the one idle longest goes.
        idle_second.conn.answered(&t);
        newcomer.conn.answered(&t);
        let _last = t.admit(ip("192.0.2.200")).unwrap();
        assert!(
            notified(&busy),
            "the longest idle of those that completed queries"
        );
    }
}
