//! The publish queue: messages waiting for a link, the in-flight window, the hub's
//! refusals of single messages, and the rule that every accepted message ends as
//! exactly one outcome.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Command, Connection, State, deadline};
use crate::classify::refusals::{MessageVerdict, refusal_row};
use crate::config::{MAX_REFUSAL_BACKOFF_MS, WhenFull};
use crate::types::{Failure, InputError, Instant, MessageFailure, Millis, Outcome, PublishError};

/// An accepted message, queued or in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Message {
    id: u64,
    topic: String,
    payload: Vec<u8>,
    deadline: Option<Instant>,
    /// Times the hub refused it so far.
    refusals: u32,
    /// A refused message waits in the queue until then before it is sent again.
    not_before: Option<Instant>,
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
        self.flush(now, out);
        self.finish(now, out);
        Ok(())
    }

    /// The hub refused `message`: by the refusal table, queue it to be sent again
    /// after the refusal backoff (until `max-refusals` refusals), or end it now.
    pub fn on_refused(
        &mut self,
        now: Instant,
        message: u64,
        failure: &Failure,
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
        let row = refusal_row(failure);
        if let Some(mut m) = self.in_flight.remove(pos) {
            m.refusals = m.refusals.saturating_add(1);
            let spent = m.refusals >= self.config.queue.max_refusals;
            if row.verdict == MessageVerdict::Fail || spent {
                out.push(Command::Outcome {
                    message: m.id,
                    outcome: Outcome::Failed(row.failure),
                });
            } else {
                m.not_before = Some(deadline(now, refusal_backoff(self, m.refusals)));
                // The queue stays in the order messages were accepted.
                let at = self.queue.partition_point(|q| q.id < m.id);
                self.queue.insert(at, m);
            }
        }
        self.expire_messages(now, out);
        self.flush(now, out);
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
            refusals: 0,
            not_before: None,
        });
        self.flush(now, out);
        self.finish(now, out);
        Ok(id)
    }

    /// Send queued messages, oldest first, while the link is up and the window has
    /// room; a refused message only once its wait is over.
    pub(super) fn flush(&mut self, now: Instant, out: &mut Vec<Command>) {
        let State::Connected { link, .. } = self.state else {
            return;
        };
        let window = usize::try_from(self.config.queue.max_in_flight).unwrap_or(usize::MAX);
        while self.in_flight.len() < window {
            let Some(next) = self
                .queue
                .iter()
                .position(|m| m.not_before.is_none_or(|t| now >= t))
            else {
                break;
            };
            let Some(mut m) = self.queue.remove(next) else {
                break;
            };
            m.not_before = None;
            out.push(Command::Send {
                link,
                message: m.id,
                topic: m.topic.clone(),
                payload: m.payload.clone(),
            });
            self.in_flight.push_back(m);
        }
    }

    /// Unacknowledged messages go back to the queue, which stays in the order the
    /// messages were accepted, to be sent again on the next link (at least once:
    /// the hub may see duplicates).
    pub(super) fn requeue_in_flight(&mut self) {
        // A resent refused message may be in flight after newer ones.
        let mut back: Vec<Message> = self.in_flight.drain(..).collect();
        back.sort_by_key(|m| m.id);
        let older = match (back.last(), self.queue.front()) {
            (Some(newest), Some(first)) => newest.id < first.id,
            _ => true,
        };
        if older {
            // The usual case: everything in flight was accepted before the queue.
            while let Some(m) = back.pop() {
                self.queue.push_front(m);
            }
        } else {
            // Refused messages waiting in the queue are older than some in flight.
            back.extend(self.queue.drain(..));
            back.sort_by_key(|m| m.id);
            self.queue = back.into();
        }
    }

    /// Fail every message past its `operation-timeout-ms`, oldest first.
    pub(super) fn expire_messages(&mut self, now: Instant, out: &mut Vec<Command>) {
        let mut expired: Vec<u64> = Vec::new();
        for list in [&mut self.in_flight, &mut self.queue] {
            list.retain(|m| {
                let overdue = m.deadline.is_some_and(|d| now >= d);
                if overdue {
                    expired.push(m.id);
                }
                !overdue
            });
        }
        // A refused message waiting in the queue can be older than one in flight.
        expired.sort_unstable();
        for message in expired {
            out.push(Command::Outcome {
                message,
                outcome: Outcome::Failed(MessageFailure::OperationTimeout),
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

    /// The earliest message deadline, if any message has one; while a link is up
    /// and the window has room, also the end of the earliest refused message's
    /// wait (then every queued message whose wait is over has been sent).
    pub(super) fn next_message_deadline(&self) -> Option<Instant> {
        let window = usize::try_from(self.config.queue.max_in_flight).unwrap_or(usize::MAX);
        let room = matches!(self.state, State::Connected { .. }) && self.in_flight.len() < window;
        let resend = self
            .queue
            .iter()
            .filter(|_| room)
            .filter_map(|m| m.not_before);
        self.queue
            .iter()
            .chain(self.in_flight.iter())
            .filter_map(|m| m.deadline)
            .chain(resend)
            .min()
    }
}

/// The wait after a message's `refusals`th refusal: `refusal-backoff-ms`, doubled
/// for each earlier refusal, at most [`MAX_REFUSAL_BACKOFF_MS`].
fn refusal_backoff(c: &Connection, refusals: u32) -> Millis {
    let doublings = refusals.saturating_sub(1).min(16);
    c.config
        .queue
        .refusal_backoff_ms
        .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
        .min(MAX_REFUSAL_BACKOFF_MS)
}
