//! What the component asks of its host: one [`Command`] per import call.

use crate::bindings::types::{DecisionEvent, Outcome, PluginFaultReport, StatusChange};

/// One import call the component made: something the host must do or know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `transport.open`: open link `link` to `hub`, then report `on-opened` or
    /// `on-failed`.
    Open {
        /// The link number to report back with.
        link: u64,
        /// The hub address.
        hub: String,
        /// The device identity, when known.
        device_id: Option<String>,
        /// The credential's secret to present, when there is one.
        credential: Option<String>,
    },
    /// `transport.send`: send a message on an open link, then report `on-acked`
    /// (or `on-refused`).
    Send {
        /// The open link.
        link: u64,
        /// The message id to acknowledge with.
        message: u64,
        /// The topic.
        topic: String,
        /// The payload.
        payload: Vec<u8>,
    },
    /// `transport.subscribe`: subscribe to topic filters (QoS 1) on an open link.
    Subscribe {
        /// The open link.
        link: u64,
        /// The filters.
        filters: Vec<String>,
    },
    /// `transport.close`: close a link; no more reports about it are expected.
    Close {
        /// The link to close.
        link: u64,
    },
    /// `provisioning.register`: start a registration, answer with `on-provisioned`.
    Register,
    /// `provisioning.poll`: poll a pending registration, answer with `on-provisioned`.
    Poll {
        /// The pending operation.
        operation_id: String,
    },
    /// `credentials.renew`: produce a fresh credential, answer with `on-credential`.
    Renew,
    /// `events.status-changed`.
    Status(StatusChange),
    /// `events.decided`.
    Decided(DecisionEvent),
    /// `events.message-outcome`: the one outcome of an accepted message.
    Outcome {
        /// The message.
        message: u64,
        /// Its outcome.
        outcome: Outcome,
    },
    /// `events.wake-at`: call `on-wake` at or after this monotonic instant (ns).
    WakeAt(u64),
    /// `events.plugin-fault`: the custom policy's plugin failed a decision and
    /// the fallback decided (the connection carries on).
    PluginFault(PluginFaultReport),
}
