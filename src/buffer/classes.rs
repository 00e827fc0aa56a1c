//! Size-class arithmetic: which class serves a request, and which class a
//! buffer coming back belongs to now.
//!
//! Class `i` holds buffers of `1 << (min_shift + i)` bytes. Both directions
//! are one `leading_zeros` (an `lzcnt`/`clz` instruction) and a subtraction,
//! with no branch on the size: `get` runs this on every call.

/// The class layout of a [`BufferPool`](crate::BufferPool): `len` classes,
/// powers of two from `min_size` to `max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SizeClasses {
    /// log2 of the smallest class's size.
    min_shift: u32,
    /// log2 of the largest class's size; `min_shift <= max_shift < usize::BITS - 1`.
    max_shift: u32,
}

impl SizeClasses {
    /// Classes `1 << min_shift ..= 1 << max_shift`.
    pub(crate) fn new(min_shift: u32, max_shift: u32) -> Self {
        assert!(min_shift <= max_shift && max_shift < usize::BITS - 1);
        SizeClasses {
            min_shift,
            max_shift,
        }
    }

    /// Number of classes.
    pub(crate) fn len(self) -> usize {
        (self.max_shift - self.min_shift + 1) as usize
    }

    /// Buffer capacity of class `class` (`class < len()`).
    #[inline(always)]
    pub(crate) fn size(self, class: usize) -> usize {
        1 << (self.min_shift as usize + class)
    }

    pub(crate) fn min_size(self) -> usize {
        1 << self.min_shift
    }

    pub(crate) fn max_size(self) -> usize {
        1 << self.max_shift
    }

    /// The smallest class whose buffers hold `min_capacity` bytes; `len()` or
    /// more when the request is above the largest class.
    #[inline(always)]
    pub(crate) fn for_request(self, min_capacity: usize) -> usize {
        // The class size is 2^ceil(log2(n)), and ceil(log2(n)) is the bit
        // length of n - 1. Or-ing in the smallest class's mask lifts every
        // request below it (including 0) to the smallest class's bit length,
        // so the subtraction below never wraps: no branch on the size.
        let mask = (1usize << self.min_shift) - 1;
        let rounded = min_capacity.saturating_sub(1) | mask;
        (usize::BITS - rounded.leading_zeros() - self.min_shift) as usize
    }

    /// The class a buffer of `capacity` bytes belongs to: the largest class
    /// not above its capacity. `None` below the smallest class and above
    /// the largest (a buffer that grew past the top class is not kept).
    #[inline(always)]
    pub(crate) fn for_capacity(self, capacity: usize) -> Option<usize> {
        // floor(log2(c)) is the bit length of c, minus one. Below the smallest
        // class (including 0) the subtractions wrap to a huge index, which the
        // range check rejects together with the classes above the top.
        let floor = (usize::BITS - 1).wrapping_sub(capacity.leading_zeros());
        let class = floor.wrapping_sub(self.min_shift) as usize;
        (class < self.len() && capacity <= self.max_size()).then_some(class)
    }
}

#[cfg(test)]
mod tests {
    use super::SizeClasses;

    /// The branch-free formulas against the obvious loops, at every size
    /// around every class boundary, for several layouts (including a
    /// one-byte smallest class, where the mask is empty).
    #[test]
    fn formulas_match_the_definition() {
        for (min_shift, max_shift) in [(0, 0), (0, 5), (3, 3), (8, 22), (12, 30)] {
            let classes = SizeClasses::new(min_shift, max_shift);
            let sizes: Vec<usize> = (0..classes.len()).map(|i| classes.size(i)).collect();
            let mut probes = vec![0, 1, 2, 3, usize::MAX, usize::MAX / 2, usize::MAX / 2 + 2];
            for &s in &sizes {
                probes.extend([s - 1, s, s + 1, 2 * s - 1, 2 * s, 2 * s + 1]);
            }
            for n in probes {
                let want = sizes.iter().position(|&s| s >= n).unwrap_or(sizes.len());
                let got = classes.for_request(n).min(sizes.len());
                assert_eq!(got, want, "request {n} in {min_shift}..={max_shift}");
                let want = (n <= classes.max_size())
                    .then(|| sizes.iter().rposition(|&s| s <= n))
                    .flatten();
                assert_eq!(classes.for_capacity(n), want, "capacity {n}");
            }
        }
    }
}
