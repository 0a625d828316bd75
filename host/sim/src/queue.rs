//! Events and the queue that orders them. The queue is the one virtual-time queue
//! of the single-device simulator and of DST (each with its own event type); the
//! fleet simulator keeps a calendar queue instead, for a million devices.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use tether_host::{Credential, Failure, ProvisioningResult};

/// Something that happens at a moment of virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The application starts the connection.
    Start,
    /// The application stops the connection.
    Stop,
    /// The application publishes a message.
    Publish {
        /// The topic.
        topic: String,
        /// The payload.
        payload: Vec<u8>,
    },
    /// A deadline the component asked for with `wake-at`.
    Wake,
    /// The hub accepts link `link`. Delivered only if the hub still has the link
    /// opening (not closed by the component meanwhile).
    Opened {
        /// The link.
        link: u64,
    },
    /// The hub refuses link `link`. Delivered only if the link is still opening.
    Failed {
        /// The link.
        link: u64,
        /// Why.
        failure: Failure,
    },
    /// The hub closes open link `link`. Delivered only if the link is open.
    Closed {
        /// The link.
        link: u64,
        /// Why.
        failure: Failure,
    },
    /// The hub acknowledges message `message` sent on `link`. Delivered only if
    /// that link is still open (an ack cannot outlive its link).
    Acked {
        /// The link the message went out on.
        link: u64,
        /// The message.
        message: u64,
    },
    /// The hub drops whatever link is open (nothing happens if none is).
    HubDrop {
        /// Why.
        failure: Failure,
    },
    /// The provisioning service answers.
    Provisioned(ProvisioningResult),
    /// The credential source answers.
    Credential(Result<Credential, Failure>),
}

#[derive(Debug)]
struct Queued<E> {
    at_ms: u64,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Queued<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl<E> Eq for Queued<E> {}

impl<E> PartialOrd for Queued<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Queued<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at_ms, self.seq).cmp(&(other.at_ms, other.seq))
    }
}

/// Events ordered by time, then by the order they were scheduled in: two events
/// at the same millisecond come out first-in, first-out.
#[derive(Debug)]
pub struct EventQueue<E = Event> {
    heap: BinaryHeap<Reverse<Queued<E>>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Schedule `event` at `at_ms`.
    pub fn push(&mut self, at_ms: u64, event: E) {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        self.heap.push(Reverse(Queued { at_ms, seq, event }));
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(u64, E)> {
        self.heap.pop().map(|Reverse(q)| (q.at_ms, q.event))
    }

    /// The time of the earliest event.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse(q)| q.at_ms)
    }

    /// How many events are scheduled.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(queue: &mut EventQueue) -> Vec<(u64, Event)> {
        std::iter::from_fn(|| queue.pop()).collect()
    }

    #[test]
    fn queue_orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.push(300, Event::Stop);
        q.push(100, Event::Opened { link: 1 });
        q.push(200, Event::Wake);
        q.push(100, Event::Opened { link: 2 });
        q.push(0, Event::Start);
        q.push(100, Event::Opened { link: 3 });
        assert_eq!(q.len(), 6);
        assert_eq!(q.peek_time(), Some(0));
        assert_eq!(
            drain(&mut q),
            vec![
                (0, Event::Start),
                (100, Event::Opened { link: 1 }),
                (100, Event::Opened { link: 2 }),
                (100, Event::Opened { link: 3 }),
                (200, Event::Wake),
                (300, Event::Stop),
            ]
        );
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn queue_keeps_fifo_order_across_interleaved_pushes_and_pops() {
        let mut q = EventQueue::new();
        q.push(50, Event::Opened { link: 1 });
        q.push(10, Event::Start);
        assert_eq!(q.pop(), Some((10, Event::Start)));
        // Pushed later at the same time as a waiting event: comes out after it.
        q.push(50, Event::Opened { link: 2 });
        q.push(40, Event::Wake);
        assert_eq!(
            drain(&mut q),
            vec![
                (40, Event::Wake),
                (50, Event::Opened { link: 1 }),
                (50, Event::Opened { link: 2 }),
            ]
        );
    }
}
