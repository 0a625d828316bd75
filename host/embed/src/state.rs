//! The store data: what the component's imports do on this host.
//!
//! Every import is answered at once and never calls back into the component: the
//! clock and entropy imports return a value, and every other import becomes a
//! [`Command`] pushed onto an outbox. After each call into the component the
//! [`Instance`](crate::Instance) drains the outbox and hands the commands to the
//! caller, in the order the component made them. Executing them (opening a link,
//! scheduling a wake-up) is the caller's business, later, outside the component.

use crate::bindings::tether::reconnect::{
    credentials, events, policy_plugins, provisioning, transport, types as wit,
};
use crate::bindings::types::{DecisionEvent, Outcome, PluginFaultReport, StatusChange};
use crate::clock::{Clock, Entropy};
use crate::command::Command;
use crate::plugin::PluginSet;

/// The data of every store that runs the component: the clock, the entropy source,
/// and the outbox of commands made by the call in progress.
pub struct HostState {
    clock: Box<dyn Clock>,
    entropy: Entropy,
    outbox: Vec<Command>,
    /// An empty vector with capacity, handed back by
    /// [`Instance::recycle`](crate::Instance::recycle), to become the next outbox.
    spare: Vec<Command>,
    memory: MemoryMeter,
    plugins: PluginSet,
}

/// Counts the component's linear memory as it grows (a wasmtime
/// [`ResourceLimiter`](wasmtime::ResourceLimiter) that refuses nothing), so that a
/// host can tell what its connections cost.
#[derive(Debug, Default)]
pub(crate) struct MemoryMeter {
    linear_bytes: usize,
}

impl wasmtime::ResourceLimiter for MemoryMeter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.linear_bytes = self
            .linear_bytes
            .saturating_add(desired.saturating_sub(current));
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl HostState {
    /// State reading `clock` and `entropy`.
    pub fn new(clock: impl Clock + 'static, entropy: Entropy) -> Self {
        Self {
            clock: Box::new(clock),
            entropy,
            outbox: Vec::new(),
            spare: Vec::new(),
            memory: MemoryMeter::default(),
            plugins: PluginSet::default(),
        }
    }

    /// The plugins loaded for this instance's connections.
    pub(crate) fn plugins(&self) -> &PluginSet {
        &self.plugins
    }

    /// The plugins, to load more.
    pub(crate) fn plugins_mut(&mut self) -> &mut PluginSet {
        &mut self.plugins
    }

    /// The meter the store reports memory growth to.
    pub(crate) fn memory_meter(&mut self) -> &mut MemoryMeter {
        &mut self.memory
    }

    /// The component's linear memory, in bytes (all its memories together).
    pub fn linear_memory_bytes(&self) -> usize {
        self.memory.linear_bytes
    }

    /// The host's clock reading, in nanoseconds (`monotonic-clock.now`).
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    /// The host's time of day, in nanoseconds since the Unix epoch
    /// (`wall-clock.now`).
    pub fn wall_ns(&self) -> u64 {
        self.clock.wall_ns()
    }

    /// The next entropy value (`random.get-random-u64`).
    pub(crate) fn random_u64(&mut self) -> u64 {
        self.entropy.next_u64()
    }

    /// Take the commands made so far.
    pub(crate) fn drain(&mut self) -> Vec<Command> {
        let spare = std::mem::take(&mut self.spare);
        std::mem::replace(&mut self.outbox, spare)
    }

    /// Keep `commands`' allocation for the next outbox.
    pub(crate) fn recycle(&mut self, mut commands: Vec<Command>) {
        commands.clear();
        if commands.capacity() > self.spare.capacity() {
            self.spare = commands;
        }
    }

    /// Forget anything left over from a call that trapped.
    pub(crate) fn clear(&mut self) {
        self.outbox.clear();
    }
}

impl std::fmt::Debug for HostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostState")
            .field("now_ns", &self.now_ns())
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

impl transport::Host for HostState {
    fn open(
        &mut self,
        link: u64,
        hub: String,
        device_id: Option<String>,
        credential: Option<String>,
    ) {
        self.outbox.push(Command::Open {
            link,
            hub,
            device_id,
            credential,
        });
    }

    fn send(&mut self, link: u64, message: u64, topic: String, payload: Vec<u8>) {
        self.outbox.push(Command::Send {
            link,
            message,
            topic,
            payload,
        });
    }

    fn subscribe(&mut self, link: u64, filters: Vec<String>) {
        self.outbox.push(Command::Subscribe { link, filters });
    }

    fn close(&mut self, link: u64) {
        self.outbox.push(Command::Close { link });
    }
}

impl provisioning::Host for HostState {
    fn register(&mut self) {
        self.outbox.push(Command::Register);
    }

    fn poll(&mut self, operation_id: String) {
        self.outbox.push(Command::Poll { operation_id });
    }
}

impl credentials::Host for HostState {
    fn renew(&mut self) {
        self.outbox.push(Command::Renew);
    }
}

impl wit::Host for HostState {}

impl events::Host for HostState {
    fn status_changed(&mut self, change: StatusChange) {
        self.outbox.push(Command::Status(change));
    }

    fn decided(&mut self, decision: DecisionEvent) {
        self.outbox.push(Command::Decided(decision));
    }

    fn message_outcome(&mut self, message: u64, outcome: Outcome) {
        self.outbox.push(Command::Outcome { message, outcome });
    }

    fn wake_at(&mut self, deadline: u64) {
        self.outbox.push(Command::WakeAt(deadline));
    }

    fn plugin_fault(&mut self, fault: PluginFaultReport) {
        self.outbox.push(Command::PluginFault(fault));
    }
}

impl policy_plugins::Host for HostState {
    fn decide(
        &mut self,
        plugin: String,
        input: policy_plugins::PluginInput,
    ) -> policy_plugins::PluginAnswer {
        self.plugins.decide(&plugin, &input)
    }
}
