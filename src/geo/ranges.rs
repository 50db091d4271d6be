//! `Ranges`: sorted disjoint address ranges covering one whole address space, each carrying an
//! id, with a first-level index and the ECS scope of each answer.

/// An address-sized unsigned integer key.
pub(super) trait Key: Copy + Ord + std::fmt::Debug {
    /// The last address of the space, widened.
    const MAX: u128;
    /// Truncating conversion from the build-time representation.
    fn from_u128(v: u128) -> Self;
    /// Length of the shortest aligned block containing `self` that excludes `other`
    /// (`self != other`): one more than the number of leading bits they share.
    fn split_len(self, other: Self) -> u8;
    /// `self - 1`; only called for non-zero range starts.
    fn pred(self) -> Self;
    /// The top 16 bits: the bucket of the first-level index.
    fn top16(self) -> usize;
    /// The first key of bucket `b` (`b < 65536`).
    fn bucket_start(b: usize) -> Self;
}

macro_rules! impl_key {
    ($t:ty) => {
        impl Key for $t {
            const MAX: u128 = <$t>::MAX as u128;
            fn from_u128(v: u128) -> Self {
                v as $t
            }
            fn split_len(self, other: Self) -> u8 {
                // The value is at most the bit width (128), so it always fits a u8.
                ((self ^ other).leading_zeros() + 1) as u8
            }
            fn pred(self) -> Self {
                self - 1
            }
            fn top16(self) -> usize {
                (self >> (<$t>::BITS - 16)) as usize
            }
            fn bucket_start(b: usize) -> Self {
                (b as $t) << (<$t>::BITS - 16)
            }
        }
    };
}
impl_key!(u32);
impl_key!(u128);

/// Sorted disjoint ranges covering one whole address space; range `i` is
/// `starts[i] ..= starts[i + 1] - 1` (the last one runs to the end of the space).
#[derive(Debug, Clone)]
pub(super) struct Ranges<K> {
    /// (start, match set id), sorted by start: the set id sits next to the start the search
    /// lands on, so it comes with the same cache line.
    pub(super) ranges: Box<[(K, u32)]>,
    /// First-level index for large tables: `index[b]` is the range holding the first
    /// address of bucket `b` (top 16 bits), so a lookup binary-searches only the few ranges
    /// of its bucket instead of the whole table (one or two cache misses instead of ~20).
    pub(super) index: Box<[u32]>,
}

/// Tables with fewer ranges than this are searched directly.
pub(super) const INDEX_MIN_RANGES: usize = 256;

impl<K: Key> Ranges<K> {
    pub(super) fn new(starts: Vec<K>, set_ids: Vec<u32>) -> Self {
        let index = if starts.len() >= INDEX_MIN_RANGES {
            let mut index = Vec::with_capacity(65537);
            let mut i = 0usize;
            for b in 0..65536usize {
                let first = K::bucket_start(b);
                while i + 1 < starts.len() && starts[i + 1] <= first {
                    i += 1;
                }
                index.push(i as u32);
            }
            index.push((starts.len() - 1) as u32);
            index.into_boxed_slice()
        } else {
            Box::default()
        };
        Ranges {
            ranges: starts.into_iter().zip(set_ids).collect(),
            index,
        }
    }

    /// The id of the range holding `a`, and the length of the widest aligned block around
    /// `a` inside that range.
    #[inline]
    pub(super) fn find(&self, a: K) -> (u32, u8) {
        let i = if self.index.is_empty() {
            // `starts[0]` is always 0, so the partition point is at least 1.
            self.ranges.partition_point(|r| r.0 <= a) - 1
        } else {
            let b = a.top16();
            let lo = self.index[b] as usize;
            let hi = self.index[b + 1] as usize;
            // The range holding `a` is among lo..=hi, and starts[lo] <= a.
            lo + self.ranges[lo + 1..=hi].partition_point(|r| r.0 <= a)
        };
        let mut scope = 0;
        if i > 0 {
            scope = a.split_len(self.ranges[i].0.pred());
        }
        if let Some(&(next, _)) = self.ranges.get(i + 1) {
            scope = scope.max(a.split_len(next));
        }
        (self.ranges[i].1, scope)
    }
}

impl<K: Key> Ranges<K> {
    /// Every range as (first, last, id), in address order: together they cover the space
    /// exactly once.
    pub(super) fn spans(&self) -> impl Iterator<Item = (K, K, u32)> + '_ {
        self.ranges.iter().enumerate().map(|(i, &(start, id))| {
            let end = match self.ranges.get(i + 1) {
                Some(&(next, _)) => next.pred(),
                None => K::from_u128(K::MAX),
            };
            (start, end, id)
        })
    }
}
