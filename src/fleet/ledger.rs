//! A ledger of settings made by hand (drains, pool drains, shifts): what holds on this node
//! now, and which of its own changes the fleet has not been told of yet (NATS unreachable),
//! so they are published when it is back and win over older fleet state meanwhile.

use std::collections::BTreeMap;

/// Key → value settings, and the changes (`None`: removed) still to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger<K, V> {
    now: BTreeMap<K, V>,
    pending: BTreeMap<K, Option<V>>,
}

impl<K, V> Default for Ledger<K, V> {
    fn default() -> Self {
        Ledger {
            now: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone, V: Clone + PartialEq> Ledger<K, V> {
    /// A ledger holding `now`, with `pending` still to be published.
    pub fn from_parts(now: BTreeMap<K, V>, pending: BTreeMap<K, Option<V>>) -> Self {
        Ledger { now, pending }
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.now.get(k)
    }

    pub fn contains(&self, k: &K) -> bool {
        self.now.contains_key(k)
    }

    pub fn is_empty(&self) -> bool {
        self.now.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.now.iter()
    }

    /// Sets (`Some`) or removes (`None`) `k` here and now; `fleet`: also remembers the
    /// change for the fleet.
    pub fn set(&mut self, k: K, v: Option<V>, fleet: bool) {
        self.put(k.clone(), v.clone());
        if fleet {
            self.pending.insert(k, v);
        }
    }

    /// Removes `k` here only (nothing to tell the fleet: e.g. a finished restore). True when
    /// it was held.
    pub fn forget(&mut self, k: &K) -> bool {
        !self.pending.contains_key(k) && self.now.remove(k).is_some()
    }

    /// What is still to be published.
    pub fn pending(&self) -> Vec<(K, Option<V>)> {
        self.pending
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// That change of `k` is in the fleet's bucket now. True when it was pending.
    pub fn published(&mut self, k: &K, v: &Option<V>) -> bool {
        if self.pending.get(k) == Some(v) {
            self.pending.remove(k);
            true
        } else {
            false
        }
    }

    /// The fleet's settings replace this node's, except what this node has still to
    /// publish. True when anything changed.
    pub fn replace(&mut self, fleet: BTreeMap<K, V>) -> bool {
        let mut next = fleet;
        for (k, v) in &self.pending {
            match v {
                Some(v) => next.insert(k.clone(), v.clone()),
                None => next.remove(k),
            };
        }
        let changed = next != self.now;
        self.now = next;
        changed
    }

    /// One change from the fleet; this node's own unpublished change of the same key wins
    /// (it is published next, so the fleet ends up agreeing). True when anything changed.
    pub fn apply(&mut self, k: K, v: Option<V>) -> bool {
        if self.pending.contains_key(&k) || self.now.get(&k) == v.as_ref() {
            return false;
        }
        self.put(k, v);
        true
    }

    fn put(&mut self, k: K, v: Option<V>) {
        match v {
            Some(v) => self.now.insert(k, v),
            None => self.now.remove(&k),
        };
    }

    /// The held settings and the pending changes, to save.
    pub fn parts(&self) -> (&BTreeMap<K, V>, &BTreeMap<K, Option<V>>) {
        (&self.now, &self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_unpublished_changes_win_until_published() {
        let mut l: Ledger<u32, &str> = Ledger::default();
        l.set(1, Some("a"), true);
        l.set(2, Some("b"), false);
        assert_eq!(l.pending(), [(1, Some("a"))]);
        // The fleet holds another setting and not ours yet: ours stays, 2 goes.
        assert!(l.replace([(3, "c")].into()));
        let all: Vec<u32> = l.iter().map(|(k, _)| *k).collect();
        assert_eq!(all, [1, 3]);
        // Someone removes ours elsewhere before ours is out: ours wins.
        assert!(!l.apply(1, None));
        assert!(!l.published(&1, &Some("other")));
        assert!(l.published(&1, &Some("a")));
        assert!(l.pending().is_empty());
        // From now on the fleet decides.
        assert!(l.apply(1, Some("z")));
        assert!(!l.apply(1, Some("z")), "no change");
        assert!(l.apply(1, None));
        assert!(!l.contains(&1));
        // A pending removal holds against the fleet's listing too.
        l.set(3, None, true);
        assert!(!l.replace([(3, "c")].into()));
        assert!(!l.forget(&3));
        assert!(l.replace(BTreeMap::new()) || l.is_empty());
    }

    #[test]
    fn forget_is_local_and_skips_pending_keys() {
        let mut l: Ledger<u32, u8> = Ledger::default();
        l.set(1, Some(1), false);
        l.set(2, Some(2), true);
        assert!(l.forget(&1));
        assert!(!l.forget(&2));
        assert!(l.pending().len() == 1 && l.contains(&2) && !l.contains(&1));
    }
}
