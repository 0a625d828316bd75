//! The publish queue: messages waiting for a link, the in-flight window, and the
//! rule that every accepted message ends as exactly one outcome.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Command, Connection, State, deadline};
use crate::config::WhenFull;
use crate::types::{InputError, Instant, MessageFailure, Outcome, PublishError};

/// An accepted message, queued or in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Message {
    id: u64,
    topic: String,
    payload: Vec<u8>,
    deadline: Option<Instant>,
}

impl Connection {
    /// Messages accepted and still without an outcome.
    pub fn pending_messages(&self) -> usize {
        self.queue.len().saturating_add(self.in_flight.len())
    }

    /// The hub acknowledged `message`.
    pub fn on_acked(
        &mut self,
        now: Instant,
        message: u64,
        out: &mut Vec<Command>,
    ) -> Result<(), InputError> {
        if self.state == State::Stopped {
            return Err(InputError::Stopped);
        }
        let pos = self
            .in_flight
            .iter()
            .position(|m| m.id == message)
            .ok_or(InputError::UnknownMessage)?;
        if let Some(m) = self.in_flight.remove(pos) {
            out.push(Command::Outcome {
                message: m.id,
                outcome: Outcome::Delivered,
            });
        }
        self.expire_messages(now, out);
        self.flush(out);
        self.finish(now, out);
        Ok(())
    }

    /// Queue a message. Once accepted it ends as exactly one outcome.
    pub fn publish(
        &mut self,
        now: Instant,
        topic: &str,
        payload: &[u8],
        out: &mut Vec<Command>,
    ) -> Result<u64, PublishError> {
        if self.state == State::Stopped {
            return Err(PublishError::Stopped);
        }
        if topic.is_empty() {
            return Err(PublishError::EmptyTopic);
        }
        let max = usize::try_from(self.config.queue.max_payload_bytes).unwrap_or(usize::MAX);
        if payload.len() > max {
            return Err(PublishError::PayloadTooLarge);
        }
        let capacity = usize::try_from(self.config.queue.capacity).unwrap_or(usize::MAX);
        if self.pending_messages() >= capacity {
            match self.config.queue.when_full {
                WhenFull::Reject => return Err(PublishError::QueueFull),
                WhenFull::DropOldest => match self.queue.pop_front() {
                    Some(old) => out.push(Command::Outcome {
                        message: old.id,
                        outcome: Outcome::Failed(MessageFailure::QueueFull),
                    }),
                    // Everything is in flight: nothing may be dropped safely.
                    None => return Err(PublishError::QueueFull),
                },
            }
        }
        let id = self.next_message;
        self.next_message = self.next_message.saturating_add(1);
        self.queue.push_back(Message {
            id,
            topic: topic.into(),
            payload: payload.to_vec(),
            deadline: self
                .config
                .queue
                .operation_timeout_ms
                .map(|t| deadline(now, t)),
        });
        self.flush(out);
        self.finish(now, out);
        Ok(id)
    }

    /// Send queued messages while the link is up and the window has room.
    pub(super) fn flush(&mut self, out: &mut Vec<Command>) {
        let State::Connected { link, .. } = self.state else {
            return;
        };
        let window = usize::try_from(self.config.queue.max_in_flight).unwrap_or(usize::MAX);
        while self.in_flight.len() < window {
            let Some(m) = self.queue.pop_front() else {
                break;
            };
            out.push(Command::Send {
                link,
                message: m.id,
                topic: m.topic.clone(),
                payload: m.payload.clone(),
            });
            self.in_flight.push_back(m);
        }
    }

    /// Unacknowledged messages go back to the front of the queue, in order, to be
    /// sent again on the next link (at least once: the hub may see duplicates).
    pub(super) fn requeue_in_flight(&mut self) {
        while let Some(m) = self.in_flight.pop_back() {
            self.queue.push_front(m);
        }
    }

    /// Fail every message past its `operation-timeout-ms`, in flight first.
    pub(super) fn expire_messages(&mut self, now: Instant, out: &mut Vec<Command>) {
        for list in [&mut self.in_flight, &mut self.queue] {
            list.retain(|m| {
                let expired = m.deadline.is_some_and(|d| now >= d);
                if expired {
                    out.push(Command::Outcome {
                        message: m.id,
                        outcome: Outcome::Failed(MessageFailure::OperationTimeout),
                    });
                }
                !expired
            });
        }
    }

    /// Fail every accepted message with `why`: those in flight first, then the queue.
    pub(super) fn fail_all(&mut self, why: MessageFailure, out: &mut Vec<Command>) {
        self.requeue_in_flight();
        for m in self.queue.drain(..) {
            out.push(Command::Outcome {
                message: m.id,
                outcome: Outcome::Failed(why),
            });
        }
    }

    /// The earliest message deadline, if any message has one.
    pub(super) fn next_message_deadline(&self) -> Option<Instant> {
        self.queue
            .iter()
            .chain(self.in_flight.iter())
            .filter_map(|m| m.deadline)
            .min()
    }
}
