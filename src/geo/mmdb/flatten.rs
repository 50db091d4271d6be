//! Flattening a MaxMind DB: reading its search tree directly and turning every network with
//! data into prefix-table entries over interned records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use maxminddb::{MaxMindDbError, Reader};
use rustc_hash::FxHashMap;

use super::{FlatRecord, ALIAS};
use crate::geo::prefix_table::PrefixTable;

/// The search tree of an opened file, read directly (`maxminddb` does not expose nodes).
struct Tree<'a> {
    buf: &'a [u8],
    node_count: usize,
    record_size: u16,
}

impl<'a> Tree<'a> {
    fn new(buf: &'a [u8], metadata: &maxminddb::Metadata) -> Result<Self, MaxMindDbError> {
        let node_count = metadata.node_count as usize;
        let record_size = metadata.record_size;
        if !matches!(record_size, 24 | 28 | 32) {
            return Err(MaxMindDbError::invalid_database(format!(
                "unsupported record size {record_size}"
            )));
        }
        let tree_len = node_count
            .checked_mul(usize::from(record_size) / 4)
            .filter(|&n| n <= buf.len())
            .ok_or_else(|| MaxMindDbError::invalid_database("search tree larger than the file"))?;
        Ok(Tree {
            buf: &buf[..tree_len],
            node_count,
            record_size,
        })
    }

    /// Child `bit` (0 or 1) of internal node `node` (`node < node_count`).
    fn child(&self, node: usize, bit: usize) -> usize {
        let b = self.buf;
        let be = |o: usize, n: usize| b[o..o + n].iter().fold(0, |v, &x| v << 8 | x as usize);
        match self.record_size {
            24 => be(node * 6 + bit * 3, 3),
            28 => {
                let o = node * 7;
                let nibble = b[o + 3] as usize;
                if bit == 0 {
                    (nibble & 0xF0) << 20 | be(o, 3)
                } else {
                    (nibble & 0x0F) << 24 | be(o + 4, 3)
                }
            }
            _ => be(node * 8 + bit * 4, 4),
        }
    }
}

/// A data leaf of the walk: the network `start/len` (in the walked family) and its pointer.
#[derive(Clone, Copy)]
struct Leaf {
    start: u128,
    len: u8,
    ptr: usize,
}

/// What the walker does at an internal node.
enum Step {
    Descend,
    Skip,
}

/// Depth-first walk from `root` (at `depth`, address `start`) over a `bits`-bit space,
/// reporting data leaves in address order. `at_node` may skip a subtree. `budget` bounds the
/// internal nodes visited, so a corrupt tree with shared subtrees cannot blow up.
fn walk(
    tree: &Tree<'_>,
    root: (usize, u128, u8),
    bits: u8,
    budget: &mut usize,
    mut at_node: impl FnMut(usize, u128, u8) -> Step,
    mut leaf: impl FnMut(Leaf) -> Result<(), MaxMindDbError>,
) -> Result<(), MaxMindDbError> {
    let mut stack = vec![root];
    while let Some((node, start, depth)) = stack.pop() {
        if node > tree.node_count {
            leaf(Leaf {
                start,
                len: depth,
                ptr: node,
            })?;
            continue;
        }
        if node == tree.node_count {
            continue;
        }
        if let Step::Skip = at_node(node, start, depth) {
            continue;
        }
        if depth >= bits {
            return Err(MaxMindDbError::invalid_database(
                "search tree deeper than the address length",
            ));
        }
        *budget = budget.checked_sub(1).ok_or_else(|| {
            MaxMindDbError::invalid_database("search tree has more paths than nodes")
        })?;
        let right = start | 1 << (bits - 1 - depth);
        stack.push((tree.child(node, 1), right, depth + 1));
        stack.push((tree.child(node, 0), start, depth + 1));
    }
    Ok(())
}

/// State of one open: interned records and the entries for the prefix table.
pub(super) struct Builder<'a, R: FlatRecord> {
    /// Record id by data pointer, so each data record is decoded once.
    by_ptr: FxHashMap<usize, u32>,
    by_key: FxHashMap<R::Key<'a>, u32>,
    records: Vec<R>,
    /// Data ranges `(first, last, id)` in address order, adjacent equal ids merged.
    v4: Vec<(u128, u128, u32)>,
    v6: Vec<(u128, u128, u32)>,
    /// IPv6 alias prefixes `(start, len)`.
    aliases: Vec<(u128, u8)>,
}

impl<'a, R: FlatRecord> Builder<'a, R> {
    pub(super) fn build<S: AsRef<[u8]>>(
        reader: &'a Reader<S>,
        buf: &[u8],
    ) -> Result<(PrefixTable<u32>, Vec<R>), MaxMindDbError> {
        let metadata = reader.metadata();
        let tree = Tree::new(buf, metadata)?;
        let mut b = Builder::<R> {
            by_ptr: FxHashMap::default(),
            by_key: FxHashMap::default(),
            records: Vec::new(),
            v4: Vec::new(),
            v6: Vec::new(),
            aliases: Vec::new(),
        };
        // Every internal node is visited once in a tree; allow some slack for writers
        // that share subtrees.
        let mut budget = tree.node_count.saturating_mul(4).saturating_add(1024);
        if metadata.ip_version == 4 {
            walk(
                &tree,
                (0, 0, 0),
                32,
                &mut budget,
                |_, _, _| Step::Descend,
                |l| b.leaf(reader, l, true),
            )?;
            return Ok(b.finish());
        }
        if metadata.ip_version != 6 {
            return Err(MaxMindDbError::invalid_database(format!(
                "unsupported ip_version {}",
                metadata.ip_version
            )));
        }
        // The IPv4 subtree: where `maxminddb` starts IPv4 lookups (`::/96`, or the leaf
        // above it when the tree ends earlier).
        let mut v4_root = 0;
        let mut v4_depth = 0;
        while v4_depth < 96 && v4_root < tree.node_count {
            v4_root = tree.child(v4_root, 0);
            v4_depth += 1;
        }
        let subtree = v4_depth == 96 && v4_root < tree.node_count;
        walk(
            &tree,
            (v4_root, 0, 0),
            32,
            &mut budget,
            |_, _, _| Step::Descend,
            |l| b.leaf(reader, l, true),
        )?;
        let mut aliases = Vec::new();
        walk(
            &tree,
            (0, 0, 0),
            128,
            &mut budget,
            |node, start, depth| {
                if depth >= 96 && start >> 32 == 0xFFFF {
                    // ::ffff:0:0/96: IPv4-mapped lookups are IPv4 lookups.
                    return Step::Skip;
                }
                if subtree && node == v4_root && depth <= 96 {
                    aliases.push((start, depth));
                    return Step::Skip;
                }
                Step::Descend
            },
            |l| {
                if l.len >= 96 && l.start >> 32 == 0xFFFF {
                    return Ok(());
                }
                b.leaf(reader, l, false)
            },
        )?;
        b.aliases = aliases;
        Ok(b.finish())
    }

    /// Interns the record of a data leaf and appends its range.
    fn leaf<S: AsRef<[u8]>>(
        &mut self,
        reader: &'a Reader<S>,
        l: Leaf,
        v4: bool,
    ) -> Result<(), MaxMindDbError> {
        let id = match self.by_ptr.get(&l.ptr) {
            Some(&id) => id,
            None => {
                let id = self.decode(reader, l, v4)?;
                self.by_ptr.insert(l.ptr, id);
                id
            }
        };
        if id == 0 {
            return Ok(());
        }
        let bits = if v4 { 32 } else { 128 };
        let last = l.start | host_mask(bits, l.len);
        let ranges = if v4 { &mut self.v4 } else { &mut self.v6 };
        match ranges.last_mut() {
            Some(r) if r.2 == id && r.1.checked_add(1) == Some(l.start) => r.1 = last,
            _ => ranges.push((l.start, last, id)),
        }
        Ok(())
    }

    /// Decodes the record a leaf points to (looking up its first address, which resolves
    /// and bounds-checks the pointer) and interns it; 0 for an empty record.
    fn decode<S: AsRef<[u8]>>(
        &mut self,
        reader: &'a Reader<S>,
        l: Leaf,
        v4: bool,
    ) -> Result<u32, MaxMindDbError> {
        let addr = if v4 {
            IpAddr::V4(Ipv4Addr::from(l.start as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(l.start))
        };
        let found = reader.lookup(addr)?;
        // Data pointers count from the end of the tree plus the 16-byte separator.
        let node_count = reader.metadata().node_count as usize;
        if found.offset() != l.ptr.checked_sub(node_count + 16) {
            return Err(MaxMindDbError::invalid_database(format!(
                "search tree walk and lookup disagree at {addr}"
            )));
        }
        let key = R::decode(&found).map_err(|e| with_network(e, addr, l.len))?;
        if R::is_empty(&key) {
            return Ok(0);
        }
        if let Some(&id) = self.by_key.get(&key) {
            return Ok(id);
        }
        self.records.push(R::from_key(key));
        let id = u32::try_from(self.records.len())
            .ok()
            .filter(|&id| id != ALIAS)
            .ok_or_else(|| MaxMindDbError::invalid_database("too many distinct records"))?;
        self.by_key.insert(key, id);
        Ok(id)
    }

    fn finish(self) -> (PrefixTable<u32>, Vec<R>) {
        let mut entries: Vec<(IpNet, u32)> =
            Vec::with_capacity(self.v4.len() + self.v6.len() + self.aliases.len());
        for &(first, last, id) in &self.v4 {
            for_each_cidr(first, last, 32, |start, len| {
                let net = Ipv4Net::new(Ipv4Addr::from(start as u32), len).expect("len <= 32");
                entries.push((IpNet::V4(net), id));
            });
        }
        for &(first, last, id) in &self.v6 {
            for_each_cidr(first, last, 128, |start, len| {
                let net = Ipv6Net::new(Ipv6Addr::from(start), len).expect("len <= 128");
                entries.push((IpNet::V6(net), id));
            });
        }
        for &(start, len) in &self.aliases {
            let net = Ipv6Net::new(Ipv6Addr::from(start), len).expect("len <= 96");
            entries.push((IpNet::V6(net), ALIAS));
        }
        (PrefixTable::new(entries), self.records)
    }
}

/// Adds the network whose record failed to decode to the error message.
fn with_network(e: MaxMindDbError, addr: IpAddr, len: u8) -> MaxMindDbError {
    MaxMindDbError::decoding(format!("record of network {addr}/{len}: {e}"))
}

/// The host bits of a `len`-bit prefix in a `bits`-bit space.
fn host_mask(bits: u8, len: u8) -> u128 {
    let host = u32::from(bits - len);
    if host == 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// Splits `first..=last` into the fewest aligned blocks, in address order. Any aligned
/// block inside the range lies inside one of them, so scopes are not narrowed.
fn for_each_cidr(mut first: u128, last: u128, bits: u8, mut f: impl FnMut(u128, u8)) {
    loop {
        let align = first.trailing_zeros().min(u32::from(bits)) as u8;
        let mut len = bits - align;
        while first | host_mask(bits, len) > last {
            len += 1;
        }
        f(first, len);
        let end = first | host_mask(bits, len);
        if end >= last {
            return;
        }
        first = end + 1;
    }
}
