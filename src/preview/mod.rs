//! Reload preview (spec §11): what a new configuration would change for clients, without
//! applying it. Per GSLB name and type, the client address ranges whose answering pool (the
//! pool that answers with every target up and nothing drained) moves, old → new; and the
//! names and types added, removed or changed.
//!
//! Ranges come from the compiled region maps ([`ranges`]), not from sampling addresses,
//! and pools from the selector's own pool-order walk ([`crate::select::order`]).
//! `gslbd diff` and `POST /v1/reload?dry_run=1` print the same [`Preview`]; [`render`]
//! writes it for people.

mod count;
mod names;
pub mod ranges;
pub mod render;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use serde::Serialize;

use crate::config::{self, Paths, Problems};
use crate::dns::query::TYPE_AAAA;
use crate::snapshot::Snapshot;
pub use count::{Count, Wide};
pub use names::{Change, NameChange};
use ranges::{Move, Side};

/// What applying a configuration would change (the JSON of `gslbd diff --json` and of
/// `POST /v1/reload?dry_run=1`; the README documents the schema).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Whether anything changes: a client range moves or a name is added, removed or changed.
    pub changed: bool,
    /// Per GSLB name and type (present in both configurations), the ranges that move; only
    /// names and types with at least one.
    pub pools: Vec<PoolMoves>,
    /// Names and types added, removed or changed, static and GSLB.
    pub names: Vec<NameChange>,
    pub totals: Totals,
}

/// The client ranges whose answering pool moves for one GSLB name and type.
#[derive(Debug, Clone, Serialize)]
pub struct PoolMoves {
    /// The owner name, e.g. `www.example.com.`.
    pub name: String,
    /// `A` or `AAAA`: the queried type.
    #[serde(rename = "type")]
    pub rtype: &'static str,
    /// The GSLB record the name uses in the new configuration.
    pub record: String,
    pub ranges: Vec<RangeMove>,
    pub totals: Count,
}

/// One client address range and its move.
#[derive(Debug, Clone, Serialize)]
pub struct RangeMove {
    /// The clients' address family: `ipv4` or `ipv6` (not the queried type).
    pub family: &'static str,
    pub start: IpAddr,
    pub end: IpAddr,
    /// The same range as the fewest CIDR blocks.
    pub cidrs: Vec<String>,
    /// The pool answering these clients now, `null` for NODATA.
    pub from: Option<String>,
    /// The pool answering them after the change, `null` for NODATA.
    pub to: Option<String>,
    #[serde(flatten)]
    pub count: Count,
}

/// Sums over every name and type.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    #[serde(flatten)]
    pub moved: Count,
    /// Name/type pairs with at least one range that moves.
    pub names_moved: usize,
    pub names_added: usize,
    pub names_removed: usize,
    pub names_changed: usize,
}

/// Why a preview could not be made: a configuration has problems (as `gslbd check` lists
/// them).
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("the configuration to compare ({0}) is not valid")]
    New(String, Problems),
    #[error("the configuration to compare against ({0}) is not valid")]
    Old(String, Problems),
}

impl PreviewError {
    pub fn problems(&self) -> &Problems {
        match self {
            PreviewError::New(_, p) | PreviewError::Old(_, p) => p,
        }
    }
}

fn describe(p: &Paths) -> String {
    format!("--zones {} --geo {}", p.zones.display(), p.geo.display())
}

/// Loads both configurations (each as `gslbd check` and a reload would) and compares them.
pub fn diff_paths(new: &Paths, old: &Paths) -> Result<Preview, PreviewError> {
    let new_snap = config::load(new).map_err(|p| PreviewError::New(describe(new), p))?;
    let old_snap = config::load(old).map_err(|p| PreviewError::Old(describe(old), p))?;
    Ok(compare(&old_snap, &new_snap))
}

/// What serving `new` instead of `old` changes.
pub fn compare(old: &Snapshot, new: &Snapshot) -> Preview {
    let (oi, ni) = (names::inventory(old), names::inventory(new));
    let names = names::changes(&oi, &ni);
    // Names sharing a record pair share its moves: compute each pair once.
    let mut memo: HashMap<(usize, usize, bool), Vec<Move>> = HashMap::new();
    let mut pools = Vec::new();
    for (key, held) in &ni {
        let (Some(names::Held::Gslb(o)), names::Held::Gslb(n)) = (oi.get(key), held) else {
            continue;
        };
        let v6 = key.1 == TYPE_AAAA;
        let moves = memo
            .entry((o.rec as *const _ as usize, n.rec as *const _ as usize, v6))
            .or_insert_with(|| {
                ranges::moves(
                    Side {
                        snap: old,
                        rec: o.rec,
                    },
                    Side {
                        snap: new,
                        rec: n.rec,
                    },
                    v6,
                )
            });
        if moves.is_empty() {
            continue;
        }
        let ranges: Vec<RangeMove> = moves.iter().map(range_move).collect();
        let mut totals = Count::default();
        for r in &ranges {
            totals.add(&r.count);
        }
        pools.push(PoolMoves {
            name: key.0.clone(),
            rtype: if v6 { "AAAA" } else { "A" },
            record: n.rec.name.clone(),
            ranges,
            totals,
        });
    }
    let mut totals = Totals {
        names_moved: pools.len(),
        ..Totals::default()
    };
    for p in &pools {
        totals.moved.add(&p.totals);
    }
    for n in &names {
        match n.change {
            Change::Added => totals.names_added += 1,
            Change::Removed => totals.names_removed += 1,
            Change::Changed => totals.names_changed += 1,
        }
    }
    Preview {
        changed: !pools.is_empty() || !names.is_empty(),
        pools,
        names,
        totals,
    }
}

fn addr(v6: bool, a: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        IpAddr::V4(Ipv4Addr::from(a as u32))
    }
}

fn range_move(m: &Move) -> RangeMove {
    let v6 = m.v6_clients;
    RangeMove {
        family: if v6 { "ipv6" } else { "ipv4" },
        start: addr(v6, m.first),
        end: addr(v6, m.last),
        cidrs: cidrs(v6, m.first, m.last)
            .iter()
            .map(IpNet::to_string)
            .collect(),
        from: m.from.clone(),
        to: m.to.clone(),
        count: Count::range(v6, m.first, m.last),
    }
}

/// `first..=last` as the fewest CIDR blocks, in order.
pub fn cidrs(v6: bool, mut first: u128, last: u128) -> Vec<IpNet> {
    let bits: u32 = if v6 { 128 } else { 32 };
    let ones = |k: u32| {
        if k >= 128 {
            u128::MAX
        } else {
            (1u128 << k) - 1
        }
    };
    let mut out = Vec::new();
    loop {
        // The largest aligned block starting at `first` that ends by `last`.
        let mut k = first.trailing_zeros().min(bits);
        while first | ones(k) > last {
            k -= 1;
        }
        let net = IpNet::new(addr(v6, first), (bits - k) as u8).expect("prefix within the family");
        out.push(net);
        let end = first | ones(k);
        if end >= last {
            return out;
        }
        first = end + 1;
    }
}

#[cfg(test)]
mod tests;
