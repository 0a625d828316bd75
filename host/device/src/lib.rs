//! The tether device runtime: the component's commands carried out over a real
//! network, and what the network does fed back in as inputs.
//!
//! - [`mqtt`]: a [`Transport`](tether_host::Transport) over `rumqttc` (MQTT 3.1.1 and 5,
//!   plain or TLS). One client and one event-loop task per link; the task stops at
//!   the link's first error, so `rumqttc` never reconnects on its own: every wait
//!   is the component's. Errors become the contract's [`Failure`](tether_host::Failure)
//!   with their detail (CONNACK code, MQTT 5 reason code, I/O error kind, TLS,
//!   keep-alive lost).
//! - [`provisioning`]: a [`Provisioner`](tether_host::Provisioner) speaking the Azure DPS
//!   register / operation-status exchange over HTTPS or MQTT, with registration
//!   tokens minted by the component (symmetric key, group key) or an X.509
//!   client certificate.
//! - [`credentials`]: a [`CredentialSource`](tether_host::CredentialSource) that fetches
//!   a fresh token with a lifetime from a token service.
//! - [`device`]: the tokio event loop. Results of those tasks and the component's
//!   `wake-at` deadlines go in as inputs; the commands they produce go out. It
//!   decides nothing.
//! - [`config`]: the device file of `tether run --config device.json`.
//! - [`console`]: a device run from a terminal (`tether run`, `tether-device run`):
//!   the connection-string device file, the printing loop, the accounting.
//!
//! Everything here needs a tokio runtime: the implementations spawn tasks. The
//! embedding library is used without its compiler (`default-features = false`), so
//! this crate does not itself pull in Cranelift; the application picks.

pub mod config;
pub mod console;
pub mod credentials;
pub mod device;
pub(crate) mod http;
pub mod mqtt;
pub mod outbox;
pub mod profile;
pub mod provisioning;
pub mod settings;

use std::io;

use tether_host::{Credential, Failure, FailureKind, NetworkError, ProvisioningResult};

/// A result coming back from the network, addressed to one of the component's
/// inputs.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    /// `on-opened(link)`.
    Opened(u64),
    /// `on-failed(link, failure)`.
    Failed(u64, Failure),
    /// `on-closed(link, failure)`.
    Closed(u64, Failure),
    /// `on-acked(message)`.
    Acked(u64),
    /// `on-refused(message, failure)`: a PUBACK with a reason from 0x80.
    Refused(u64, Failure),
    /// `on-provisioned(result)`.
    Provisioned(ProvisioningResult),
    /// `on-credential(result)`.
    Credential(Result<Credential, Failure>),
    /// A message arrived on a subscription (for the application, not the
    /// component).
    Received {
        /// Its topic.
        topic: String,
        /// Its payload.
        payload: Vec<u8>,
    },
}

/// Where the tasks send their results.
pub(crate) type InputSender = tokio::sync::mpsc::UnboundedSender<Input>;

/// A failure with no server hints.
pub(crate) fn plain(kind: FailureKind) -> Failure {
    Failure {
        kind,
        retry_after_ms: None,
        server_reference: None,
    }
}

/// A network-level failure.
pub(crate) fn net(error: NetworkError) -> Failure {
    plain(FailureKind::Network(error))
}

/// The contract's name for an I/O error, by its kind.
pub fn io_failure(e: &io::Error) -> NetworkError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => NetworkError::Refused,
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => NetworkError::Reset,
        K::TimedOut | K::WouldBlock => NetworkError::Timeout,
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable => {
            NetworkError::Unreachable
        }
        K::InvalidData if is_tls(e) => NetworkError::Tls,
        _ if is_tls(e) => NetworkError::Tls,
        _ => NetworkError::Closed,
    }
}

/// Whether an I/O error carries a TLS failure (tokio-rustls wraps them).
fn is_tls(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// Split `host:port` (the port defaults to `default_port`). `None` when the address
/// has no usable host or port: no hub can answer there.
pub fn split_address(address: &str, default_port: u16) -> Option<(String, u16)> {
    let address = address.trim();
    if address.is_empty() || address.contains('/') || address.contains(char::is_whitespace) {
        return None;
    }
    // [v6]:port
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => {
            let port: u16 = port.parse().ok()?;
            (port != 0).then(|| (host.to_string(), port))
        }
        Some(_) => None,
        None => Some((address.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_or_are_refused() {
        assert_eq!(
            split_address("127.0.0.1:1883", 8883),
            Some(("127.0.0.1".into(), 1883))
        );
        assert_eq!(
            split_address("hub.example", 8883),
            Some(("hub.example".into(), 8883))
        );
        assert_eq!(split_address("[::1]:99", 1), Some(("::1".into(), 99)));
        assert_eq!(split_address("hub:notaport", 1), None);
        assert_eq!(split_address("hub:0", 1), None);
        assert_eq!(split_address("", 1), None);
        assert_eq!(split_address("mqtt://hub:1883", 1), None);
    }

    #[test]
    fn io_errors_keep_their_kind() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(io_failure(&e), NetworkError::Refused);
        let e = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(io_failure(&e), NetworkError::Reset);
        let e = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        assert_eq!(io_failure(&e), NetworkError::Tls);
        let e = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(io_failure(&e), NetworkError::Closed);
    }
}
