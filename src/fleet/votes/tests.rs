//! The quorum over other nodes' votes, their expiry, and their encoding.

use super::*;

const NOW: u64 = 1_800_000_000_000;
const HORIZON: u64 = 15_000;

fn set() -> ProbeSet {
    ProbeSet::new([10, 20, 30])
}

/// `votes`: (node, up on probe 20, age in ms), all on `set()`.
fn fleet(votes: &[(&str, bool, u64)]) -> Votes {
    let mut v = Votes::default();
    for (node, up, age_ms) in votes {
        v.set_probes(node, set());
        v.set_votes(
            node,
            NodeVotes::new(NOW - age_ms, &set(), |i| i != 1 || *up),
        );
    }
    v
}

fn up(v: &mut Votes, own: bool) -> bool {
    v.tally("a", &set(), &[HORIZON; 3], NOW)[1].quorum_up(own)
}

#[test]
fn one_of_three_down_stays_up_two_of_three_down_goes() {
    assert!(
        up(&mut fleet(&[("b", true, 0), ("c", true, 1000)]), false),
        "1 of 3 down"
    );
    assert!(
        !up(&mut fleet(&[("b", false, 0), ("c", true, 0)]), false),
        "2 of 3 down"
    );
    assert!(
        !up(&mut fleet(&[("b", false, 0), ("c", false, 0)]), true),
        "2 of 3 down, this node not"
    );
}

#[test]
fn votes_older_than_three_intervals_stop_counting() {
    // b and c say down, but c's last word is 15.001 s old (3 × 5 s).
    let mut v = fleet(&[("b", false, 0), ("c", false, HORIZON + 1)]);
    assert!(
        up(&mut v, true),
        "1 of 2 counted votes down: not more than half"
    );
    assert_eq!(
        v.votes_on("a", &set(), 1, HORIZON, NOW),
        [("b".into(), false, true), ("c".into(), false, false)]
    );
    let mut v = fleet(&[("b", false, 0), ("c", false, HORIZON)]);
    assert!(!up(&mut v, true), "exactly 3 intervals still counts");
}

#[test]
fn alone_or_unreadable_a_node_trusts_itself() {
    assert!(!up(&mut Votes::default(), false));
    assert!(up(&mut Votes::default(), true));
    let mut v = fleet(&[("b", true, 0)]);
    // c votes on a set whose ids it has not published: not counted.
    let other = ProbeSet::new([1, 2]);
    v.set_votes("c", NodeVotes::new(NOW, &other, |_| false));
    assert!(up(&mut v, false), "b up, a down: not more than half");
    v.remove("b");
    assert!(!up(&mut v, false), "b forgotten");
    // Our own published votes, read back from the bucket, are not counted twice.
    v.set_probes("a", set());
    v.set_votes("a", NodeVotes::new(NOW, &set(), |_| true));
    assert!(!up(&mut v, false));
}

#[test]
fn a_node_with_another_set_counts_on_the_probes_both_have() {
    // b reloaded a configuration with probe 20 and a new probe 25, without 10 and 30.
    let mut v = Votes::default();
    let theirs = ProbeSet::new([20, 25]);
    v.set_probes("b", theirs.clone());
    v.set_votes("b", NodeVotes::new(NOW, &theirs, |i| i == 1)); // 20 down, 25 up
    v.set_probes("c", set());
    v.set_votes("c", NodeVotes::new(NOW, &set(), |i| i != 1)); // 20 down
    let t = v.tally("a", &set(), &[HORIZON; 3], NOW);
    assert_eq!(t[0], Tally { up: 1, down: 0 }, "10: c only");
    assert_eq!(t[1], Tally { up: 0, down: 2 }, "20: b and c");
    assert!(!t[1].quorum_up(true));
    // b's old set is kept: votes on it still read until its new set arrives.
    let newer = ProbeSet::new([20, 25, 30]);
    v.set_probes("b", newer.clone());
    assert_eq!(v.tally("a", &set(), &[HORIZON; 3], NOW)[1].down, 2);
    v.set_votes("b", NodeVotes::new(NOW, &newer, |_| true));
    assert_eq!(
        v.tally("a", &set(), &[HORIZON; 3], NOW)[2],
        Tally { up: 2, down: 0 }
    );
}

#[test]
fn votes_round_trip_and_garbage_is_refused() {
    let s = ProbeSet::new(0..130);
    let v = NodeVotes::new(NOW, &s, |i| i % 3 == 0);
    let b = v.encode();
    assert_eq!(b.len(), 21 + 3 * 8);
    let back = NodeVotes::decode(&b).unwrap();
    assert_eq!(back, v);
    assert!((0..130).all(|i| back.up(i) == (i % 3 == 0)));
    assert!(!back.up(130));
    assert_eq!(NodeVotes::decode(&b[..b.len() - 1]), None);
    assert_eq!(NodeVotes::decode(&[1; 30]), None, "version 1");
    let mut bad = b.clone();
    *bad.last_mut().unwrap() = 0xff;
    assert_eq!(NodeVotes::decode(&bad), None, "bits past the end");
    // 10,000 probes: 1.27 kB.
    let big = ProbeSet::new(0..10_000);
    assert_eq!(
        NodeVotes::new(NOW, &big, |_| true).encode().len(),
        21 + 157 * 8
    );
}

#[test]
fn a_heartbeat_that_repeats_the_votes_changes_nothing() {
    let mut v = Votes::default();
    let s = set();
    assert!(
        v.set_votes("b", NodeVotes::new(NOW, &s, |_| true)),
        "a new node"
    );
    assert!(
        !v.set_votes("b", NodeVotes::new(NOW + 1000, &s, |_| true)),
        "same bits"
    );
    assert!(
        v.set_votes("b", NodeVotes::new(NOW + 2000, &s, |i| i != 2)),
        "a flip"
    );
    // Its time still moves on: the vote is fresh.
    assert_eq!(v.nodes(), [("b".to_string(), NOW + 2000, 3)]);
}
