//! A calendar queue: one bucket per millisecond in a ring, a bitmap of the buckets
//! in use, and a heap for the few events further out than the ring reaches.
//!
//! A storm puts millions of events within a few minutes, most of them in the next
//! minute; pushing one is a `Vec::push`, and taking a millisecond's events is
//! taking its bucket. Events of one millisecond come out in the order they were
//! pushed.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// log2 of the ring's length: 2^16 ms, about 65 s ahead.
const RING_BITS: u32 = 16;
const RING: u64 = 1 << RING_BITS;
const MASK: u64 = RING - 1;
const WORDS: usize = (RING / 64) as usize;

struct Far<T> {
    at: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Far<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<T> Eq for Far<T> {}

impl<T> PartialOrd for Far<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Far<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Events keyed by millisecond. Time only moves forward: an event pushed for a
/// time already passed is due now.
pub(crate) struct Calendar<T> {
    /// Nothing earlier than this is left.
    now: u64,
    buckets: Vec<Vec<T>>,
    used: Vec<u64>,
    far: BinaryHeap<Reverse<Far<T>>>,
    seq: u64,
    len: usize,
}

impl<T> Calendar<T> {
    /// An empty calendar at time 0.
    pub(crate) fn new() -> Self {
        let mut buckets = Vec::new();
        buckets.resize_with(usize::try_from(RING).unwrap_or(usize::MAX), Vec::new);
        Self {
            now: 0,
            buckets,
            used: vec![0; WORDS],
            far: BinaryHeap::new(),
            seq: 0,
            len: 0,
        }
    }

    /// How many events are waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Schedule `item` at `at` (now, if `at` has passed).
    pub(crate) fn push(&mut self, at: u64, item: T) {
        let at = at.max(self.now);
        self.len = self.len.saturating_add(1);
        if at.saturating_sub(self.now) < RING {
            self.put(at, item);
        } else {
            self.seq = self.seq.wrapping_add(1);
            self.far.push(Reverse(Far {
                at,
                seq: self.seq,
                item,
            }));
        }
    }

    fn put(&mut self, at: u64, item: T) {
        let slot = at & MASK;
        if let Some(bucket) = self.buckets.get_mut(slot as usize) {
            bucket.push(item);
        }
        if let Some(word) = self.used.get_mut((slot >> 6) as usize) {
            *word |= 1 << (slot & 63);
        }
    }

    /// The time of the earliest event.
    pub(crate) fn next_time(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let near = self.next_near();
        let far = self.far.peek().map(|Reverse(f)| f.at);
        match (near, far) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The earliest used bucket, as a time: scan the bitmap from `now` around the
    /// ring once.
    fn next_near(&self) -> Option<u64> {
        let start = self.now & MASK;
        let first_word = (start >> 6) as usize;
        let words = self.used.len();
        for i in 0..=words {
            let index = first_word.wrapping_add(i).checked_rem(words).unwrap_or(0);
            let mut word = self.used.get(index).copied().unwrap_or(0);
            if i == 0 {
                // Bits before `now` in the first word belong to the far end of the
                // ring; they are seen on the way round.
                word &= u64::MAX << (start & 63);
            } else if i == words {
                word &= !(u64::MAX << (start & 63));
            }
            if word != 0 {
                let slot = (index as u64)
                    .wrapping_mul(64)
                    .wrapping_add(u64::from(word.trailing_zeros()));
                let ahead = slot.wrapping_sub(start) & MASK;
                return Some(self.now.saturating_add(ahead));
            }
        }
        None
    }

    /// Move to `t` (no event may be left before it) and take the events due at `t`,
    /// in the order they were pushed. `spare` is an empty vector whose allocation
    /// becomes the bucket's.
    pub(crate) fn take(&mut self, t: u64, spare: Vec<T>) -> Vec<T> {
        if t > self.now {
            self.now = t;
            // Bring in what the ring now reaches.
            while let Some(Reverse(f)) = self.far.peek() {
                if f.at.saturating_sub(self.now) >= RING {
                    break;
                }
                if let Some(Reverse(f)) = self.far.pop() {
                    self.put(f.at, f.item);
                }
            }
        }
        let slot = t & MASK;
        if let Some(word) = self.used.get_mut((slot >> 6) as usize) {
            *word &= !(1 << (slot & 63));
        }
        let taken = match self.buckets.get_mut(slot as usize) {
            Some(bucket) => std::mem::replace(bucket, spare),
            None => spare,
        };
        self.len = self.len.saturating_sub(taken.len());
        taken
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing
    )]
    use super::*;

    fn drain(c: &mut Calendar<u32>) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some(t) = c.next_time() {
            for item in c.take(t, Vec::new()) {
                out.push((t, item));
            }
        }
        out
    }

    #[test]
    fn events_come_out_by_time_then_push_order() {
        let mut c = Calendar::new();
        c.push(5, 1);
        c.push(3, 2);
        c.push(5, 3);
        c.push(RING * 3 + 7, 4);
        c.push(RING + 2, 5);
        c.push(0, 6);
        assert_eq!(c.len(), 6);
        assert_eq!(
            drain(&mut c),
            vec![
                (0, 6),
                (3, 2),
                (5, 1),
                (5, 3),
                (RING + 2, 5),
                (RING * 3 + 7, 4)
            ]
        );
        assert_eq!(c.len(), 0);
        assert_eq!(c.next_time(), None);
    }

    #[test]
    fn pushing_while_draining_and_wrapping_the_ring() {
        let mut c: Calendar<u32> = Calendar::new();
        let mut t = 0;
        let mut seen = Vec::new();
        c.push(0, 0);
        // Each event schedules the next a little less than the ring ahead, so the
        // ring wraps many times; one event at the same time is handled at once.
        while let Some(now) = c.next_time() {
            assert!(now >= t);
            t = now;
            for item in c.take(now, Vec::new()) {
                seen.push((now, item));
                if item < 20 {
                    c.push(now + RING - 1 - u64::from(item), item + 1);
                }
                if item == 5 {
                    c.push(now, 100);
                }
            }
        }
        assert_eq!(seen.len(), 22);
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(seen.contains(&(seen[5].0, 100)));
        // A past time is due now.
        c.push(3, 7);
        assert_eq!(c.next_time(), Some(t));
    }

    #[test]
    fn far_events_keep_their_order_among_near_ones() {
        let mut c = Calendar::new();
        c.push(RING + 10, 1);
        c.push(RING + 10, 2);
        c.push(20, 0);
        assert_eq!(c.next_time(), Some(20));
        let _ = c.take(20, Vec::new());
        // The far events are in the ring now; a later push at their time comes last.
        c.push(RING + 10, 3);
        assert_eq!(
            drain(&mut c),
            vec![(RING + 10, 1), (RING + 10, 2), (RING + 10, 3)]
        );
    }
}
