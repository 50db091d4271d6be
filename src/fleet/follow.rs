//! Whether a bucket watch still follows its bucket. A watch is a consumer on one NATS
//! server; when that consumer is lost (its server restarted, a cluster re-electing its
//! leaders just after this node joined) the client notices only after two missed idle
//! heartbeats, 10 s, and meanwhile drains and votes silently stop arriving. The link
//! therefore compares, once a second, the bucket's last sequence with what the watch has
//! delivered: entries that were in the bucket at one check and still have not arrived at
//! the next mean the watch is gone, and the link rejoins (reading every bucket again).

/// What one watch has delivered, against what its bucket held at the last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    /// The highest revision (stream sequence) the watch has delivered, or the bucket's last
    /// sequence when the watch started with only the changes from then on.
    seen: u64,
    /// The bucket's last sequence at the previous check, when the watch had not yet
    /// delivered it.
    owed: Option<u64>,
}

impl Follow {
    /// A watch started when its bucket's last sequence was `last`, delivering only later
    /// changes; for a watch that delivers every key's latest value first, 0.
    pub fn from(last: u64) -> Follow {
        Follow {
            seen: last,
            owed: None,
        }
    }

    /// The watch delivered the entry with this revision.
    pub fn saw(&mut self, revision: u64) {
        self.seen = self.seen.max(revision);
    }

    /// A check: the bucket's last sequence is `last` and it holds `messages` messages now.
    /// False when the watch still owes what the previous check saw in the bucket.
    ///
    /// An empty bucket's last message has expired (buckets drop their oldest messages
    /// first, and a newer value of a key only ever removes older ones), so a watch cannot
    /// owe it.
    pub fn check(&mut self, last: u64, messages: u64) -> bool {
        let behind = self.owed.is_some_and(|owed| self.seen < owed);
        self.owed = (messages > 0 && last > self.seen).then_some(last);
        !behind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_keeping_up_with_a_busy_bucket_follows() {
        // Every check finds a newer entry than delivered (another node's heartbeat just
        // landed), but what the previous check saw has always arrived since.
        let mut f = Follow::from(0);
        f.saw(10);
        assert!(f.check(12, 5));
        f.saw(12);
        f.saw(13);
        assert!(f.check(15, 5));
        f.saw(15);
        assert!(f.check(15, 5));
        assert!(f.check(15, 5));
    }

    #[test]
    fn a_watch_owing_an_entry_for_a_whole_check_does_not_follow() {
        let mut f = Follow::from(7);
        assert!(f.check(7, 3), "nothing new");
        assert!(f.check(8, 3), "a drain just landed: not owed yet");
        assert!(!f.check(8, 3), "still not delivered a check later");
        // A partial delivery is still behind what was owed.
        let mut f = Follow::from(7);
        assert!(f.check(9, 3));
        f.saw(8);
        assert!(!f.check(9, 3));
    }

    #[test]
    fn an_expired_last_entry_is_not_owed() {
        // Votes expire: a silent fleet's bucket ends empty with its last sequence past
        // anything a watch started later can deliver.
        let mut f = Follow::from(0);
        assert!(f.check(40, 0));
        assert!(f.check(40, 0));
        assert!(f.check(40, 0));
    }
}
