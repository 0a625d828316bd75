//! The host's side of the world, behind traits so tests swap implementations.
//!
//! Each trait mirrors one import interface of the contract. The component's import
//! calls arrive as [`Command`]s in a [`Step`](crate::Step); a [`Driver`] hands each
//! one to the implementation of its interface. Implementations start work and
//! return at once; results go back to the component later, through the
//! connection's inputs (`on_opened`, `on_provisioned`...), from the host's own loop.
//!
//! A real host implements these over MQTT, HTTP and its event loop; the
//! `tether-sim` crate implements them over virtual time.

use crate::bindings::types::{DecisionEvent, Outcome, PluginFaultReport, StatusChange};
use crate::command::Command;

/// `transport`: links to the hub.
pub trait Transport {
    /// Open link `link`; report `on_opened(link)` or `on_failed(link, ..)` later.
    fn open(&mut self, link: u64, hub: &str, device_id: Option<&str>, credential: Option<&str>);
    /// Send message `message` on link `link`; report `on_acked(message)` (or
    /// `on_refused(message, ..)` for a refusal) later.
    fn send(&mut self, link: u64, message: u64, topic: &str, payload: &[u8]);
    /// Close link `link`; no further reports about it.
    fn close(&mut self, link: u64);
    /// Subscribe to `filters` (QoS 1) on open link `link`. A transport without
    /// inbound messages has nothing to subscribe: the default does nothing.
    fn subscribe(&mut self, link: u64, filters: &[String]) {
        let _ = (link, filters);
    }
}

/// `provisioning`: the provisioning service client.
pub trait Provisioner {
    /// Start a registration; report `on_provisioned` later.
    fn register(&mut self);
    /// Poll a pending registration; report `on_provisioned` later.
    fn poll(&mut self, operation_id: &str);
}

/// `credentials`: where fresh credentials come from.
pub trait CredentialSource {
    /// Produce a fresh credential; report `on_credential` later.
    fn renew(&mut self);
}

/// `events`: what the connection tells the application and the event loop.
pub trait Observer {
    /// The status changed.
    fn status_changed(&mut self, change: &StatusChange);
    /// The connection decided its next step.
    fn decided(&mut self, decision: &DecisionEvent);
    /// An accepted message has its one outcome.
    fn message_outcome(&mut self, message: u64, outcome: &Outcome);
    /// Call `on_wake` at or after `deadline_ns` (monotonic nanoseconds).
    fn wake_at(&mut self, deadline_ns: u64);
    /// The custom policy's plugin failed a decision; the fallback decided (and
    /// the plugin may now be quarantined). The connection carries on.
    fn plugin_fault(&mut self, fault: &PluginFaultReport);
}

/// A provisioner for hub-only devices. The component never calls it when the
/// configuration has no provisioning section; it counts calls so a test can check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoProvisioning {
    /// Calls received (a bug in the component if not zero).
    pub calls: u32,
}

impl Provisioner for NoProvisioning {
    fn register(&mut self) {
        self.calls = self.calls.saturating_add(1);
    }

    fn poll(&mut self, _operation_id: &str) {
        self.calls = self.calls.saturating_add(1);
    }
}

/// A credential source for devices whose credential is not `renewable`. The
/// component never calls it then; it counts calls so a test can check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoCredentials {
    /// Calls received (a bug in the component if not zero).
    pub calls: u32,
}

impl CredentialSource for NoCredentials {
    fn renew(&mut self) {
        self.calls = self.calls.saturating_add(1);
    }
}

/// Routes commands to the implementations of the import interfaces.
///
/// ```no_run
/// # use tether_host::{Driver, Step, Transport, Provisioner, CredentialSource, Observer};
/// # fn demo(step: Step<()>, t: &mut dyn Transport, p: &mut dyn Provisioner,
/// #         c: &mut dyn CredentialSource, o: &mut dyn Observer) {
/// let mut driver = Driver { transport: t, provisioner: p, credentials: c, observer: o };
/// driver.dispatch(step.commands);
/// # }
/// ```
pub struct Driver<'a> {
    /// Receives `open`, `send`, `close`.
    pub transport: &'a mut dyn Transport,
    /// Receives `register`, `poll`.
    pub provisioner: &'a mut dyn Provisioner,
    /// Receives `renew`.
    pub credentials: &'a mut dyn CredentialSource,
    /// Receives status changes, decisions, outcomes and wake-up deadlines.
    pub observer: &'a mut dyn Observer,
}

impl Driver<'_> {
    /// Hand every command, in order, to its implementation.
    pub fn dispatch(&mut self, commands: impl IntoIterator<Item = Command>) {
        for command in commands {
            self.dispatch_one(&command);
        }
    }

    /// Hand one command to its implementation.
    pub fn dispatch_one(&mut self, command: &Command) {
        match command {
            Command::Open {
                link,
                hub,
                device_id,
                credential,
            } => self
                .transport
                .open(*link, hub, device_id.as_deref(), credential.as_deref()),
            Command::Send {
                link,
                message,
                topic,
                payload,
            } => self.transport.send(*link, *message, topic, payload),
            Command::Subscribe { link, filters } => self.transport.subscribe(*link, filters),
            Command::Close { link } => self.transport.close(*link),
            Command::Register => self.provisioner.register(),
            Command::Poll { operation_id } => self.provisioner.poll(operation_id),
            Command::Renew => self.credentials.renew(),
            Command::Status(change) => self.observer.status_changed(change),
            Command::Decided(decision) => self.observer.decided(decision),
            Command::Outcome { message, outcome } => {
                self.observer.message_outcome(*message, outcome)
            }
            Command::WakeAt(deadline) => self.observer.wake_at(*deadline),
            Command::PluginFault(fault) => self.observer.plugin_fault(fault),
        }
    }
}

impl std::fmt::Debug for Driver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Driver")
    }
}
