//! The virtual-time kernel the three simulators share (`Sim`, `dst`, `fleet`): a
//! [`World`] says what its events are and what one event does, the [`EventQueue`]
//! orders the events, and [`run`] / [`step`] deliver them. Nothing sleeps: time is
//! the time of the event being delivered.
//!
//! The queue is a calendar: a ring of one bucket per millisecond (its length a
//! parameter: 2^16 ms for a storm's millions of events in the next minute, less for
//! one device), a bitmap of the buckets in use, a heap for events further out than
//! the ring reaches, and a heap for events pushed for a time already passed (a
//! world whose clock jumped ahead of its queue). Events come out by time, then in
//! the order they were pushed, exactly, wherever they waited: pushing one is a
//! `Vec::push`, and a millisecond's events leave their bucket together.

use std::cell::Cell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

/// A world in virtual time: its events, its queue, and what an event does.
pub trait World {
    /// What happens at a moment of virtual time.
    type Event;
    /// What stops a run.
    type Error;

    /// The world's queue. [`handle`](Self::handle) pushes new events onto it.
    fn queue(&mut self) -> &mut EventQueue<Self::Event>;

    /// Asked by [`run`] before each event: `false` ends the run (a budget spent),
    /// an error aborts it. By default every event is delivered.
    fn proceed(&mut self) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// Deliver `event`, due at `at_ms`.
    fn handle(&mut self, at_ms: u64, event: Self::Event) -> Result<(), Self::Error>;
}

/// How far [`run`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// Until no event is left.
    Idle,
    /// Every event due at or before this time.
    Through(u64),
    /// Every event due before this time.
    Before(u64),
}

impl Until {
    fn admits(self, at_ms: u64) -> bool {
        match self {
            Until::Idle => true,
            Until::Through(end) => at_ms <= end,
            Until::Before(end) => at_ms < end,
        }
    }
}

/// Why [`run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// No event is left.
    Idle,
    /// The next event is due after the run's end.
    End,
    /// The world's [`World::proceed`] ended the run.
    World,
}

/// Deliver the earliest event. `false` when nothing is scheduled.
pub fn step<W: World + ?Sized>(world: &mut W) -> Result<bool, W::Error> {
    let Some((at_ms, event)) = world.queue().pop() else {
        return Ok(false);
    };
    world.handle(at_ms, event)?;
    Ok(true)
}

/// Deliver events in order, while they are due within `until` and the world lets
/// the run go on.
pub fn run<W: World + ?Sized>(world: &mut W, until: Until) -> Result<Stopped, W::Error> {
    loop {
        let Some(at_ms) = world.queue().peek_time() else {
            return Ok(Stopped::Idle);
        };
        if !until.admits(at_ms) {
            return Ok(Stopped::End);
        }
        if !world.proceed()? {
            return Ok(Stopped::World);
        }
        step(world)?;
    }
}

/// An event waiting in one of the heaps, ordered by (time, push order).
#[derive(Debug)]
struct Keyed<E> {
    at: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Keyed<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl<E> Eq for Keyed<E> {}

impl<E> PartialOrd for Keyed<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Keyed<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// log2 of the ring's length when none is given: 2^10 ms, about a second.
pub const DEFAULT_RING_BITS: u32 = 10;

/// Events ordered by time, then by the order they were pushed in. See the
/// [module docs](self).
///
/// Invariants: every event in `past` is due before `now`; `current` holds events
/// due at `now`, pushed before anything in the bucket of `now`; the ring holds
/// events due in `now..now + ring`; `far` the ones beyond, moved into the ring as
/// `now` reaches them (before any later push for their time).
#[derive(Debug)]
pub struct EventQueue<E> {
    bits: u32,
    /// The time of the last bucket taken; the ring starts here.
    now: u64,
    buckets: Vec<Vec<E>>,
    used: Vec<u64>,
    current: VecDeque<E>,
    far: BinaryHeap<Reverse<Keyed<E>>>,
    past: BinaryHeap<Reverse<Keyed<E>>>,
    seq: u64,
    len: usize,
    /// Events in the ring and in `far`.
    ahead: usize,
    /// The earliest time in the ring and `far`, once known (`None`: scan again).
    earliest: Cell<Option<u64>>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue with a ring of 2^[`DEFAULT_RING_BITS`] ms.
    pub fn new() -> Self {
        Self::with_ring_bits(DEFAULT_RING_BITS)
    }

    /// An empty queue with a ring of 2^`bits` ms (`bits` is kept within 6..=24).
    pub fn with_ring_bits(bits: u32) -> Self {
        let bits = bits.clamp(6, 24);
        let ring = 1_usize << bits;
        let mut buckets = Vec::new();
        buckets.resize_with(ring, Vec::new);
        Self {
            bits,
            now: 0,
            buckets,
            used: vec![0; ring >> 6],
            current: VecDeque::new(),
            far: BinaryHeap::new(),
            past: BinaryHeap::new(),
            seq: 0,
            len: 0,
            ahead: 0,
            earliest: Cell::new(None),
        }
    }

    fn ring(&self) -> u64 {
        1_u64 << self.bits
    }

    fn mask(&self) -> u64 {
        self.ring().wrapping_sub(1)
    }

    fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Schedule `event` at `at_ms`. A time already passed keeps its place: the event
    /// comes out before everything due later.
    pub fn push(&mut self, at_ms: u64, event: E) {
        self.len = self.len.saturating_add(1);
        if at_ms < self.now {
            let seq = self.next_seq();
            self.past.push(Reverse(Keyed {
                at: at_ms,
                seq,
                event,
            }));
            return;
        }
        self.ahead = self.ahead.saturating_add(1);
        if let Some(t) = self.earliest.get() {
            self.earliest.set(Some(t.min(at_ms)));
        }
        if at_ms.saturating_sub(self.now) < self.ring() {
            self.put(at_ms, event);
        } else {
            let seq = self.next_seq();
            self.far.push(Reverse(Keyed {
                at: at_ms,
                seq,
                event,
            }));
        }
    }

    fn put(&mut self, at_ms: u64, event: E) {
        let slot = at_ms & self.mask();
        if let Some(bucket) = self.buckets.get_mut(slot as usize) {
            bucket.push(event);
        }
        if let Some(word) = self.used.get_mut((slot >> 6) as usize) {
            *word |= 1 << (slot & 63);
        }
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        if let Some(Reverse(k)) = self.past.pop() {
            self.len = self.len.saturating_sub(1);
            return Some((k.at, k.event));
        }
        if self.current.is_empty() {
            let t = self.earliest_ahead()?;
            self.take(t);
        }
        let event = self.current.pop_front()?;
        self.len = self.len.saturating_sub(1);
        Some((self.now, event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        if let Some(Reverse(k)) = self.past.peek() {
            return Some(k.at);
        }
        if !self.current.is_empty() {
            return Some(self.now);
        }
        self.earliest_ahead()
    }

    /// How many events are scheduled.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The earliest time in the ring and the far heap.
    fn earliest_ahead(&self) -> Option<u64> {
        if self.ahead == 0 {
            return None;
        }
        if let Some(t) = self.earliest.get() {
            return Some(t);
        }
        let far = self.far.peek().map(|Reverse(k)| k.at);
        let t = match (self.next_near(), far) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.earliest.set(t);
        t
    }

    /// The earliest used bucket, as a time: scan the bitmap from `now` around the
    /// ring once.
    fn next_near(&self) -> Option<u64> {
        let start = self.now & self.mask();
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
                let ahead = slot.wrapping_sub(start) & self.mask();
                return Some(self.now.saturating_add(ahead));
            }
        }
        None
    }

    /// Move to `t`, the earliest time ahead, and make its bucket `current` (which
    /// is empty; its allocation becomes the bucket's).
    fn take(&mut self, t: u64) {
        self.earliest.set(None);
        if t > self.now {
            self.now = t;
            // Bring in what the ring now reaches, in (time, push order).
            while let Some(Reverse(k)) = self.far.peek() {
                if k.at.saturating_sub(self.now) >= self.ring() {
                    break;
                }
                if let Some(Reverse(k)) = self.far.pop() {
                    self.put(k.at, k.event);
                }
            }
        }
        let slot = t & self.mask();
        if let Some(word) = self.used.get_mut((slot >> 6) as usize) {
            *word &= !(1 << (slot & 63));
        }
        let spare = Vec::from(std::mem::take(&mut self.current));
        let taken = match self.buckets.get_mut(slot as usize) {
            Some(bucket) => std::mem::replace(bucket, spare),
            None => spare,
        };
        self.ahead = self.ahead.saturating_sub(taken.len());
        self.current = VecDeque::from(taken);
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

    const RING: u64 = 1 << 16;

    fn drain<E>(q: &mut EventQueue<E>) -> Vec<(u64, E)> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    #[test]
    fn events_come_out_by_time_then_push_order() {
        let mut q = EventQueue::with_ring_bits(16);
        q.push(5, 1);
        q.push(3, 2);
        q.push(5, 3);
        q.push(RING * 3 + 7, 4);
        q.push(RING + 2, 5);
        q.push(0, 6);
        assert_eq!(q.len(), 6);
        assert_eq!(q.peek_time(), Some(0));
        assert_eq!(
            drain(&mut q),
            vec![
                (0, 6),
                (3, 2),
                (5, 1),
                (5, 3),
                (RING + 2, 5),
                (RING * 3 + 7, 4)
            ]
        );
        assert!(q.is_empty());
        assert_eq!(q.peek_time(), None);
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn pushing_while_draining_and_wrapping_the_ring() {
        let mut q: EventQueue<u32> = EventQueue::with_ring_bits(16);
        let mut t = 0;
        let mut seen = Vec::new();
        q.push(0, 0);
        // Each event schedules the next a little less than the ring ahead, so the
        // ring wraps many times; one event at the same time is handled at once.
        while let Some((now, item)) = q.pop() {
            assert!(now >= t);
            t = now;
            seen.push((now, item));
            if item < 20 {
                q.push(now + RING - 1 - u64::from(item), item + 1);
            }
            if item == 5 {
                q.push(now, 100);
            }
        }
        assert_eq!(seen.len(), 22);
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
        assert_eq!(seen[6], (seen[5].0, 100));
    }

    #[test]
    fn far_events_keep_their_order_among_near_ones() {
        let mut q = EventQueue::with_ring_bits(16);
        q.push(RING + 10, 1);
        q.push(RING + 10, 2);
        q.push(20, 0);
        assert_eq!(q.pop(), Some((20, 0)));
        // The far events are in the ring now; a later push at their time comes last.
        q.push(RING + 10, 3);
        assert_eq!(
            drain(&mut q),
            vec![(RING + 10, 1), (RING + 10, 2), (RING + 10, 3)]
        );
    }

    #[test]
    fn a_past_time_keeps_its_place_before_what_is_due_later() {
        let mut q = EventQueue::with_ring_bits(6);
        q.push(100, 'a');
        q.push(100, 'b');
        assert_eq!(q.pop(), Some((100, 'a')));
        // Pushed for times before 100, after it was reached: out first, by time,
        // then push order; then the rest of 100, then a push at 100 made now.
        q.push(100, 'c');
        q.push(40, 'd');
        q.push(30, 'e');
        q.push(40, 'f');
        assert_eq!(q.peek_time(), Some(30));
        assert_eq!(q.len(), 5);
        assert_eq!(
            drain(&mut q),
            vec![(30, 'e'), (40, 'd'), (40, 'f'), (100, 'b'), (100, 'c')]
        );
    }

    /// The queue against the plain definition (a heap of (time, push order)), over
    /// random pushes and pops with every ring size, times near and far, and pushes
    /// for times already passed.
    #[test]
    fn matches_a_heap_of_time_and_push_order() {
        for bits in [6, 8, 10, 16] {
            let mut rng = 0x2545_F491_4F6C_DD1D_u64 ^ u64::from(bits);
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let mut q = EventQueue::with_ring_bits(bits);
            let mut reference = BinaryHeap::new();
            let mut seq = 0_u64;
            let mut clock = 0_u64;
            for _ in 0..20_000 {
                let r = next();
                if r % 3 == 0 {
                    let got = q.pop();
                    let want = reference.pop().map(|Reverse((at, _, id))| (at, id));
                    assert_eq!(got, want, "ring 2^{bits}");
                    if let Some((at, _)) = got {
                        clock = clock.max(at);
                    }
                } else {
                    let at = match (r >> 8) % 8 {
                        0 => clock,
                        1 => clock.saturating_sub((r >> 16) % 500),
                        2..=4 => clock + (r >> 16) % 200,
                        5 | 6 => clock + (r >> 16) % 5_000,
                        _ => clock + (r >> 16) % 1_000_000,
                    };
                    seq += 1;
                    q.push(at, seq);
                    reference.push(Reverse((at, seq, seq)));
                }
                assert_eq!(q.len(), reference.len());
                assert_eq!(
                    q.peek_time(),
                    reference.peek().map(|Reverse((at, _, _))| *at)
                );
            }
            let rest: Vec<_> = std::iter::from_fn(|| reference.pop())
                .map(|Reverse((at, _, id))| (at, id))
                .collect();
            assert_eq!(drain(&mut q), rest, "ring 2^{bits}");
        }
    }

    struct Counter {
        queue: EventQueue<u32>,
        seen: Vec<(u64, u32)>,
        budget: u32,
    }

    impl World for Counter {
        type Event = u32;
        type Error = String;
        fn queue(&mut self) -> &mut EventQueue<u32> {
            &mut self.queue
        }
        fn proceed(&mut self) -> Result<bool, String> {
            self.budget = self.budget.checked_sub(1).ok_or("budget spent")?;
            Ok(true)
        }
        fn handle(&mut self, at: u64, event: u32) -> Result<(), String> {
            self.seen.push((at, event));
            if event < 5 {
                self.queue.push(at + 10, event + 1);
            }
            Ok(())
        }
    }

    #[test]
    fn run_delivers_within_its_bound_and_stops_when_the_world_says() {
        let mut w = Counter {
            queue: EventQueue::new(),
            seen: Vec::new(),
            budget: 100,
        };
        w.queue.push(0, 0);
        assert_eq!(run(&mut w, Until::Before(20)), Ok(Stopped::End));
        assert_eq!(w.seen, [(0, 0), (10, 1)]);
        assert_eq!(run(&mut w, Until::Through(30)), Ok(Stopped::End));
        assert_eq!(w.seen.len(), 4);
        w.budget = 1;
        assert_eq!(run(&mut w, Until::Idle), Err("budget spent".into()));
        assert_eq!(w.seen.len(), 5);
        assert_eq!(step(&mut w), Ok(true));
        assert_eq!(run(&mut w, Until::Idle), Ok(Stopped::Idle));
        assert_eq!(w.seen.last(), Some(&(50, 5)));
        assert_eq!(step(&mut w), Ok(false));
    }
}
