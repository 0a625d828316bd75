//! The common case: one instance running one connection.

use crate::bindings::types::{
    Credential, Failure, InputError, ProvisioningResult, PublishError, StatusChange, SubscribeError,
};
use crate::clock::{Clock, Entropy};
use crate::error::Result;
use crate::instance::{Conn, Instance, Step};
use crate::runtime::Runtime;

/// The common case: one instance running one connection.
///
/// The methods are those of [`Instance`] without the [`Conn`] argument.
#[derive(Debug)]
pub struct Device {
    instance: Instance,
    conn: Conn,
}

impl Device {
    /// A fresh instance of `runtime` running one connection configured by `config`
    /// (JSON); [`Error::Config`](crate::Error::Config) names a field that is wrong.
    pub fn new(
        runtime: &Runtime,
        config: &str,
        clock: impl Clock + 'static,
        entropy: Entropy,
    ) -> Result<Self> {
        let instance = runtime.instantiate(clock, entropy)?;
        Self::with_instance(instance, config)
    }

    /// A connection configured by `config` in an existing instance.
    pub fn with_instance(mut instance: Instance, config: &str) -> Result<Self> {
        let conn = instance.create_connection(config)?;
        Ok(Self { instance, conn })
    }

    /// The instance, for the stateless decisions or for more connections.
    pub fn instance(&mut self) -> &mut Instance {
        &mut self.instance
    }

    /// The connection's handle.
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// See [`Instance::start`].
    pub fn start(&mut self) -> Result<Step<Result<(), InputError>>> {
        self.instance.start(&self.conn)
    }

    /// See [`Instance::on_opened`].
    pub fn on_opened(&mut self, link: u64) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_opened(&self.conn, link)
    }

    /// See [`Instance::on_failed`].
    pub fn on_failed(
        &mut self,
        link: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_failed(&self.conn, link, failure)
    }

    /// See [`Instance::on_closed`].
    pub fn on_closed(
        &mut self,
        link: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_closed(&self.conn, link, failure)
    }

    /// See [`Instance::on_acked`].
    pub fn on_acked(&mut self, message: u64) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_acked(&self.conn, message)
    }

    /// See [`Instance::on_refused`].
    pub fn on_refused(
        &mut self,
        message: u64,
        failure: &Failure,
    ) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_refused(&self.conn, message, failure)
    }

    /// See [`Instance::on_provisioned`].
    pub fn on_provisioned(
        &mut self,
        result: &ProvisioningResult,
    ) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_provisioned(&self.conn, result)
    }

    /// See [`Instance::on_credential`].
    pub fn on_credential(
        &mut self,
        result: Result<&Credential, &Failure>,
    ) -> Result<Step<Result<(), InputError>>> {
        self.instance.on_credential(&self.conn, result)
    }

    /// See [`Instance::on_wake`].
    pub fn on_wake(&mut self) -> Result<Step<()>> {
        self.instance.on_wake(&self.conn)
    }

    /// See [`Instance::publish`].
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<Step<Result<u64, PublishError>>> {
        self.instance.publish(&self.conn, topic, payload)
    }

    /// See [`Instance::subscribe`].
    pub fn subscribe(&mut self, filter: &str) -> Result<Step<Result<(), SubscribeError>>> {
        self.instance.subscribe(&self.conn, filter)
    }

    /// See [`Instance::stop`].
    pub fn stop(&mut self) -> Result<Step<()>> {
        self.instance.stop(&self.conn)
    }

    /// See [`Instance::current_status`].
    pub fn current_status(&mut self) -> Result<StatusChange> {
        self.instance.current_status(&self.conn)
    }

    /// See [`Instance::next_wake`].
    pub fn next_wake(&mut self) -> Result<Option<u64>> {
        self.instance.next_wake(&self.conn)
    }

    /// See [`Instance::pending_messages`].
    pub fn pending_messages(&mut self) -> Result<u32> {
        self.instance.pending_messages(&self.conn)
    }
}
