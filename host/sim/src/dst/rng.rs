//! The simulator's own random stream: SplitMix64, seeded by the simulation seed.
//!
//! It is separate from the component's jitter generator on purpose: the world's
//! choices (faults, latencies, configurations) and the component's choices (jitter)
//! are both functions of the seed, but neither can steer the other.

/// A small seeded generator (SplitMix64). Same seed, same draws, on every platform.
#[derive(Clone, Debug)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed ^ 0x7e7e_5eed_d57d_0001,
        }
    }

    /// The next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[0, n)`; 0 when `n` is 0. The modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64().checked_rem(n).unwrap_or(0)
    }

    /// A value in `[lo, hi]` (bounds in either order).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        match hi.saturating_sub(lo).checked_add(1) {
            Some(span) => lo.saturating_add(self.below(span)),
            None => self.next_u64(),
        }
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// One element of a non-empty slice (`None` for an empty one).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(items.len()).unwrap_or(u64::MAX);
        let i = usize::try_from(self.below(n)).unwrap_or(0);
        items.get(i)
    }

    /// A duration with a wide spread: mostly small, sometimes typical, rarely huge.
    /// `edge` values (0, 1, the largest) come up now and then.
    pub fn duration_ms(&mut self, typical_max: u64, huge_max: u64) -> u64 {
        match self.below(20) {
            0 => 0,
            1 => 1,
            2 => huge_max,
            3..=5 => self.range(0, 100),
            6..=16 => self.range(0, typical_max),
            _ => self.range(typical_max, huge_max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_ranges_hold() {
        let (mut a, mut b) = (SimRng::new(9), SimRng::new(9));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let v = a.range(5, 9);
            assert!((5..=9).contains(&v));
            assert_eq!(v, b.range(5, 9));
        }
        assert_eq!(a.below(0), 0);
        assert_eq!(a.pick::<u8>(&[]), None);
        let full = a.range(0, u64::MAX);
        let _ = full;
    }
}
