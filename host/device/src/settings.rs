//! The device file's shared vocabulary: its error type and the `mqtt` section's
//! settings. A leaf module, so the file reader (`config`) and the service
//! profiles (`profile`) both use it without importing each other.

use std::fmt;
use std::path::PathBuf;

/// An invalid device file: the field and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The field's path, for example `mqtt.version`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FileError {}

/// A [`FileError`]. A message that would repeat a key or token (a connection
/// string or a SAS token given where something else was expected) keeps only what
/// was expected: the device file fuzz target found such echoes.
pub(crate) fn err(field: &str, message: impl Into<String>) -> FileError {
    let message = message.into();
    const SECRETS: [&str; 3] = ["SharedAccessKey=", "SharedAccessSignature sr=", "sig="];
    let message = if SECRETS.iter().any(|s| message.contains(s)) {
        let expected = message
            .find("got ")
            .map_or("", |at| message.get(..at).unwrap_or(""));
        format!("{expected}got a value holding a key or token (not shown)")
    } else {
        message
    };
    FileError {
        field: field.to_string(),
        message,
    }
}

/// The MQTT protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MqttVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.
    V5,
}

/// How the transport presents the credential the component hands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialFormat {
    /// The credential is the MQTT password; the user name is `mqtt.username` (or
    /// the device id).
    Password,
    /// The credential is `USER:PASSWORD`: a token that names its own user, as the
    /// provisioning emulator hands them out (several may be valid at once).
    UserPassword,
}

/// The `mqtt` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqttSettings {
    /// `version`: 3 (3.1.1; 4 is accepted too) or 5. Default 5.
    pub version: MqttVersion,
    /// `keep-alive-s`: the keep-alive interval. Default 30. A lost ping is seen
    /// about two intervals after the peer stops answering.
    pub keep_alive_s: u16,
    /// `connect-timeout-s`: TCP, TLS and CONNACK together. Default 10.
    pub connect_timeout_s: u64,
    /// `port`: for a hub given without one (a connection string's `HostName`, a
    /// DPS assignment). Default 8883 with TLS, 1883 without.
    pub port: Option<u16>,
    /// `transport`: `"websockets"` carries MQTT over WebSockets (`wss://` with
    /// TLS) at `websocket_path`; default `"tcp"`.
    pub websockets: bool,
    /// `websocket-path`: default `/mqtt`; IoT Hub's is `/$iothub/websocket`.
    pub websocket_path: String,
    /// Whether the link is TLS: a `tls` section, or a profile that requires it.
    pub tls: bool,
    /// `tls.ca-file`: a PEM file of the CA that signed the broker's certificate;
    /// without it the system's roots are trusted.
    pub tls_ca_file: Option<PathBuf>,
    /// `tls.cert-file` and `tls.key-file`: the device's X.509 certificate chain and
    /// private key (PEM), presented to the server.
    pub client_cert: Option<ClientCert>,
    /// `username`: default the device id.
    pub username: Option<String>,
    /// `client-id`: default the device id.
    pub client_id: Option<String>,
    /// `credential-format`: `password` (default) or `user:password`.
    pub credential_format: CredentialFormat,
}

/// A client certificate and its key, as PEM files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate chain, the device's own first.
    pub cert_file: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

impl Default for MqttSettings {
    fn default() -> Self {
        Self {
            version: MqttVersion::V5,
            keep_alive_s: 30,
            connect_timeout_s: 10,
            port: None,
            websockets: false,
            websocket_path: "/mqtt".to_string(),
            tls: false,
            tls_ca_file: None,
            client_cert: None,
            username: None,
            client_id: None,
            credential_format: CredentialFormat::Password,
        }
    }
}
