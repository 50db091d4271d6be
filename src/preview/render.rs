//! The reload preview as text, one line per change and a summary:
//!
//! ```text
//! www.example.com. A 10.128.0.0/9 (8388608 addresses) office → default
//! mail.example.com. A changed
//! summary: 1 range moves for 1 name/type (8388608 IPv4 addresses, 0 IPv6 /64s); 0 names/types added, 0 removed, 1 changed
//! ```

use std::fmt::{self, Write};

use super::{Change, Preview, RangeMove};

/// The whole preview as text.
pub fn text(p: &Preview) -> String {
    let mut out = String::new();
    if !p.changed {
        out.push_str(
            "no changes: every client keeps its pool; no name is added, removed or changed\n",
        );
        return out;
    }
    for pm in &p.pools {
        for r in &pm.ranges {
            let _ = writeln!(out, "{} {} {}", pm.name, pm.rtype, Range(r));
        }
    }
    for n in &p.names {
        let change = match n.change {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        };
        let _ = write!(out, "{} {} {change}", n.name, n.rtype);
        if !n.detail.is_empty() {
            let _ = write!(out, " ({})", n.detail.join("; "));
        }
        out.push('\n');
    }
    let t = &p.totals;
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "summary: {} for {} ({} IPv4 addresses, {} IPv6 /64s); {} added, {} removed, {} changed",
        plural(t.moved.ranges, "range moves", "ranges move"),
        plural(t.names_moved as u64, "name/type", "names/types"),
        t.moved.ipv4_addresses,
        t.moved.ipv6_slash64s,
        plural(t.names_added as u64, "name/type", "names/types"),
        t.names_removed,
        t.names_changed,
    );
    out
}

/// `10.128.0.0/9 (8388608 addresses) office → default`: one CIDR block when the range is
/// exactly one, else `first-last`; IPv6 ranges of a /64 or more count /64s.
struct Range<'a>(&'a RangeMove);

impl fmt::Display for Range<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        match &r.cidrs[..] {
            [one] => write!(f, "{one}")?,
            _ => write!(f, "{}-{}", r.start, r.end)?,
        }
        let c = &r.count;
        if r.family == "ipv4" {
            write!(f, " ({} addresses)", c.ipv4_addresses)?;
        } else if c.ipv6_slash64s > 1 {
            write!(f, " ({} /64s)", c.ipv6_slash64s)?;
        } else {
            write!(f, " ({} addresses)", c.ipv6_addresses)?;
        }
        let pool = |p: &Option<String>| p.clone().unwrap_or_else(|| "NODATA".into());
        write!(f, " {} → {}", pool(&r.from), pool(&r.to))
    }
}
