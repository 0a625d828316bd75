//! The single-device simulator's events, queued in the kernel's
//! [`EventQueue`](crate::kernel::EventQueue).

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::EventQueue;

    fn drain(queue: &mut EventQueue<Event>) -> Vec<(u64, Event)> {
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
