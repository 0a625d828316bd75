//! One instance of the component, and the handles to the resources it holds.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::Engine as DeviceBindings;
use crate::bindings::types::{
    Classification, Credential, Decision, Failure, InputError, ProvisioningResult, PublishError,
    StatusChange, SubscribeError,
};
use crate::clock::{Clock, Entropy, SystemClock};
use crate::command::Command;
use crate::error::{Error, Result};
use crate::plugin::{PluginStats, SharedLoader, plugin_of};
use crate::runtime::Runtime;
use crate::state::HostState;

/// What one input produced: the component's own answer, and the import calls it
/// made while handling the input, in order.
///
/// The commands are the host's work list: execute them after the call, never from
/// inside it (imports never call back into the component).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use = "the commands are what the component asked the host to do"]
pub struct Step<T> {
    /// The component's answer (for inputs: `Err` when the input was not taken,
    /// which changes nothing).
    pub result: T,
    /// The import calls made during the input.
    pub commands: Vec<Command>,
}

impl<T> Step<T> {
    /// The answer and the commands.
    pub fn into_parts(self) -> (T, Vec<Command>) {
        (self.result, self.commands)
    }
}

// Instances are made here rather than in `runtime`, so that `runtime` need not
// know `Instance`.
impl Runtime {
    /// A fresh instance whose `now` reads `clock` and whose entropy comes from
    /// `entropy`.
    pub fn instantiate(&self, clock: impl Clock + 'static, entropy: Entropy) -> Result<Instance> {
        let (engine, pre, plugins) = self.parts();
        let mut store = Store::new(engine, HostState::new(clock, entropy));
        store.limiter(|state| state.memory_meter() as &mut dyn wasmtime::ResourceLimiter);
        let device = pre
            .instantiate(&mut store)
            .map_err(Error::wasm("instantiating the tether component"))?;
        Ok(Instance::new(store, device, Arc::clone(plugins)))
    }

    /// A fresh instance on the real monotonic clock with entropy from the OS.
    pub fn instantiate_real(&self) -> Result<Instance> {
        self.instantiate(SystemClock::new(), Entropy::os())
    }
}

/// A `connection` resource living in one [`Instance`].
///
/// A handle is only meaningful to the instance that created it; passing it to
/// another instance gives an error, not a wrong answer. Give it back with
/// [`Instance::drop_connection`] when done (or drop the whole instance).
#[derive(Debug, PartialEq, Eq)]
pub struct Conn {
    handle: ResourceAny,
}

/// A `retry-schedule` resource living in one [`Instance`]: a retry policy with its
/// state. Give it back with [`Instance::drop_schedule`] when done.
#[derive(Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    handle: ResourceAny,
}

/// One instance of the tether component, with its own store.
///
/// An instance hosts any number of connections (and retry schedules); they share
/// the instance's clock and entropy. Every method is one call into the component:
/// inputs return a [`Step`] with the commands the call made, queries return the
/// value. An [`Error::Config`] is the component's verdict on a document; any other
/// `Err` means the host or the component is broken (a trap, a handle from another
/// instance), and after a trap the instance refuses every further call. An input
/// the connection did not take is the `Err` inside its [`Step`], which still
/// carries the commands the call made.
///
/// Call order for a connection: [`create_connection`](Self::create_connection),
/// [`start`](Self::start), then the `on_*` inputs as the world answers the
/// commands, [`on_wake`](Self::on_wake) at or after every [`Command::WakeAt`]
/// deadline (early or extra calls do nothing), [`stop`](Self::stop) at the end.
pub struct Instance {
    store: Store<HostState>,
    device: DeviceBindings,
    plugins: SharedLoader,
}

impl Instance {
    pub(crate) fn new(
        store: Store<HostState>,
        device: DeviceBindings,
        plugins: SharedLoader,
    ) -> Self {
        Self {
            store,
            device,
            plugins,
        }
    }

    /// What the plugin `name` (as a configuration names it) has cost in this
    /// instance: decisions, faults, instantiations, fuel. `None` if not loaded.
    pub fn plugin_stats(&self, name: &str) -> Option<PluginStats> {
        self.store.data().plugins().stats(name)
    }

    /// The clock reading the component sees now, in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.store.data().now_ns()
    }

    /// The size of the component's linear memory, in bytes: what this instance
    /// and the connections it hosts occupy inside the component.
    pub fn linear_memory_bytes(&self) -> usize {
        self.store.data().linear_memory_bytes()
    }

    /// Give back the command list of a [`Step`] once it has been handled, so that
    /// the next input reuses its allocation (a host running many inputs saves an
    /// allocation per input). Optional.
    pub fn recycle(&mut self, commands: Vec<Command>) {
        self.store.data_mut().recycle(commands);
    }

    /// Let this instance hold up to `limit` resources (connections and retry
    /// schedules) at once. wasmtime's default is 100,000 per store; a host that
    /// runs a large fleet in one instance raises it.
    pub fn set_max_resources(&mut self, limit: usize) {
        self.store.set_max_component_handles(limit);
    }

    /// One call into the component, and what it asked for meanwhile.
    fn input<R>(
        &mut self,
        call: impl FnOnce(&DeviceBindings, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<Step<R>> {
        self.store.data_mut().clear();
        let result = call(&self.device, &mut self.store).map_err(Error::trap)?;
        let commands = self.store.data_mut().drain();
        Ok(Step { result, commands })
    }

    /// One call into the component that makes no import calls.
    pub(crate) fn query<R>(
        &mut self,
        call: impl FnOnce(&DeviceBindings, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R> {
        let step = self.input(call)?;
        if !step.commands.is_empty() {
            return Err(Error::Contract(format!(
                "the component made import calls from a query: {:?}",
                step.commands
            )));
        }
        Ok(step.result)
    }

    // ---- decisions ----

    /// Classify one failure: level, verdict, status reason and the table row.
    pub fn classify(&mut self, failure: &Failure) -> Result<Classification> {
        self.query(|d, s| d.tether_reconnect_decisions().call_classify(s, failure))
    }

    /// The version of the component's classification table.
    pub fn table_version(&mut self) -> Result<u32> {
        self.query(|d, s| d.tether_reconnect_decisions().call_table_version(s))
    }

    /// Check a connection configuration document (JSON): [`Error::Config`] names
    /// the field that is wrong.
    pub fn validate_config(&mut self, config: &str) -> Result<()> {
        Ok(self.query(|d, s| {
            d.tether_reconnect_decisions()
                .call_validate_config(s, config)
        })??)
    }

    /// A retry schedule for a policy document (the `policy` object of a
    /// configuration, as JSON) and a jitter seed.
    pub fn create_schedule(&mut self, policy: &str, seed: u64) -> Result<RetrySchedule> {
        let handle = self.query(|d, s| {
            d.tether_reconnect_decisions()
                .retry_schedule()
                .call_create(s, policy, seed)
        })??;
        Ok(RetrySchedule { handle })
    }

    /// The schedule's decision after one more failed attempt. `failure` selects the
    /// curve (`None`: a plain recoverable failure); `elapsed_ms` is the time since
    /// the outage began (`None`: the schedule adds up its own delays).
    pub fn schedule_next(
        &mut self,
        schedule: &RetrySchedule,
        failure: Option<&Failure>,
        elapsed_ms: Option<u64>,
    ) -> Result<Decision> {
        self.query(|d, s| {
            d.tether_reconnect_decisions().retry_schedule().call_next(
                s,
                schedule.handle,
                failure,
                elapsed_ms,
            )
        })
    }

    /// How many failed attempts the schedule has counted in this outage.
    pub fn schedule_attempts(&mut self, schedule: &RetrySchedule) -> Result<u32> {
        self.query(|d, s| {
            d.tether_reconnect_decisions()
                .retry_schedule()
                .call_attempts(s, schedule.handle)
        })
    }

    /// Tell the schedule an attempt succeeded.
    pub fn schedule_connected(&mut self, schedule: &RetrySchedule) -> Result<()> {
        self.query(|d, s| {
            d.tether_reconnect_decisions()
                .retry_schedule()
                .call_connected(s, schedule.handle)
        })
    }

    /// Tell the schedule the link it made was lost after holding `held_ms`.
    pub fn schedule_dropped(&mut self, schedule: &RetrySchedule, held_ms: u64) -> Result<()> {
        self.query(|d, s| {
            d.tether_reconnect_decisions()
                .retry_schedule()
                .call_dropped(s, schedule.handle, held_ms)
        })
    }

    /// Start the schedule over.
    pub fn schedule_reset(&mut self, schedule: &RetrySchedule) -> Result<()> {
        self.query(|d, s| {
            d.tether_reconnect_decisions()
                .retry_schedule()
                .call_reset(s, schedule.handle)
        })
    }

    /// Free a schedule.
    pub fn drop_schedule(&mut self, schedule: RetrySchedule) -> Result<()> {
        schedule
            .handle
            .resource_drop(&mut self.store)
            .map_err(Error::trap)
    }

    // ---- connections ----

    /// A connection from a configuration document (JSON). An invalid document
    /// gives [`Error::Config`], naming the field.
    ///
    /// A `custom` policy's plugin is loaded into this instance first (once per
    /// plugin): a plugin that is missing, is not a `retry-policy` component,
    /// imports anything, or cannot start is an `Err` naming the plugin and what
    /// is wrong.
    pub fn create_connection(&mut self, config: &str) -> Result<Conn> {
        if let Some(plugin) = plugin_of(config) {
            self.store
                .data_mut()
                .plugins_mut()
                .load(&self.plugins, &plugin)?;
        }
        // `create` may read entropy, but makes no other import call.
        let handle = self.query(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_create(s, config)
        })??;
        Ok(Conn { handle })
    }

    /// Free a connection. It makes no import calls: stop it first to close its link
    /// and fail its queued messages.
    pub fn drop_connection(&mut self, conn: Conn) -> Result<()> {
        conn.handle
            .resource_drop(&mut self.store)
            .map_err(Error::trap)
    }

    /// Begin: provision, renew a credential or connect, as configured.
    pub fn start(&mut self, conn: &Conn) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_start(s, conn.handle)
        })
    }

    /// Link `link` is open.
    pub fn on_opened(&mut self, conn: &Conn, link: u64) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_opened(s, conn.handle, link)
        })
    }

    /// Opening link `link` failed.
    pub fn on_failed(
        &mut self,
        conn: &Conn,
        link: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection().connection().call_on_failed(
                s,
                conn.handle,
                link,
                failure,
            )
        })
    }

    /// Open link `link` was lost or closed by the server.
    pub fn on_closed(
        &mut self,
        conn: &Conn,
        link: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection().connection().call_on_closed(
                s,
                conn.handle,
                link,
                failure,
            )
        })
    }

    /// The hub acknowledged message `message`.
    pub fn on_acked(&mut self, conn: &Conn, message: u64) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_acked(s, conn.handle, message)
        })
    }

    /// The hub refused message `message` (an MQTT 5 PUBACK reason from 0x80).
    pub fn on_refused(
        &mut self,
        conn: &Conn,
        message: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_refused(s, conn.handle, message, failure)
        })
    }

    /// The provisioning service answered `register` or `poll`.
    pub fn on_provisioned(
        &mut self,
        conn: &Conn,
        result: &ProvisioningResult,
    ) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_provisioned(s, conn.handle, result)
        })
    }

    /// The credential source answered `renew`.
    pub fn on_credential(
        &mut self,
        conn: &Conn,
        result: Result<&Credential, &Failure>,
    ) -> Result<Step<Result<(), InputError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_credential(s, conn.handle, result)
        })
    }

    /// A deadline announced with [`Command::WakeAt`] may have passed. Early or extra
    /// calls do nothing.
    pub fn on_wake(&mut self, conn: &Conn) -> Result<Step<()>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_on_wake(s, conn.handle)
        })
    }

    /// Queue a message. Once accepted (an id is returned) it ends as exactly one
    /// [`Command::Outcome`].
    pub fn publish(
        &mut self,
        conn: &Conn,
        topic: &str,
        payload: &[u8],
    ) -> Result<Step<Result<u64, PublishError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection().connection().call_publish(
                s,
                conn.handle,
                topic,
                payload,
            )
        })
    }

    /// Keep `filter` subscribed on every link (a [`Command::Subscribe`] now when a
    /// link is up, and on each new link).
    pub fn subscribe(
        &mut self,
        conn: &Conn,
        filter: &str,
    ) -> Result<Step<Result<(), SubscribeError>>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_subscribe(s, conn.handle, filter)
        })
    }

    /// The filters the connection keeps subscribed.
    pub fn subscriptions(&mut self, conn: &Conn) -> Result<Vec<String>> {
        self.query(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_subscriptions(s, conn.handle)
        })
    }

    /// Close the link and stop. Queued messages fail with `client-close`.
    pub fn stop(&mut self, conn: &Conn) -> Result<Step<()>> {
        self.input(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_stop(s, conn.handle)
        })
    }

    /// The connection's current status.
    pub fn current_status(&mut self, conn: &Conn) -> Result<StatusChange> {
        self.query(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_current_status(s, conn.handle)
        })
    }

    /// The next deadline (ns) at which the connection wants `on_wake`, if any.
    pub fn next_wake(&mut self, conn: &Conn) -> Result<Option<u64>> {
        self.query(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_next_wake(s, conn.handle)
        })
    }

    /// Messages accepted and not yet given an outcome.
    pub fn pending_messages(&mut self, conn: &Conn) -> Result<u32> {
        self.query(|d, s| {
            d.tether_reconnect_connection()
                .connection()
                .call_pending_messages(s, conn.handle)
        })
    }
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("state", self.store.data())
            .finish_non_exhaustive()
    }
}
