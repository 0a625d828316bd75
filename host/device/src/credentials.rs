//! The credential source: a fresh token with a lifetime from a token service.
//!
//! `renew` sends `POST {endpoint}/identity/devices/{device-id}/token` and expects
//! 200 `{secret, lifetimeMs}`. This stands in for a device minting a SAS token from
//! its key: the provisioning emulator ([`tether_emulators`]) answers it, and
//! answers 401 once the device's key has been revoked. The answer goes back as
//! `on-credential`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::config::CredentialSettings;
use super::http::request;
use super::{Input, InputSender};
use tether_host::{Credential, CredentialSource};

/// The [`CredentialSource`] over HTTP. Needs a tokio runtime.
#[derive(Debug)]
pub struct TokenSource {
    settings: CredentialSettings,
    /// The device the next token is for: the configured one, else the device id
    /// of the latest `open` (which follows the assignment).
    device_id: Arc<Mutex<Option<String>>>,
    inputs: InputSender,
}

impl TokenSource {
    pub(crate) fn new(
        settings: CredentialSettings,
        device_id: Arc<Mutex<Option<String>>>,
        inputs: InputSender,
    ) -> Self {
        Self {
            settings,
            device_id,
            inputs,
        }
    }
}

impl CredentialSource for TokenSource {
    fn renew(&mut self) {
        let device = self
            .settings
            .device_id
            .clone()
            .or_else(|| self.device_id.lock().ok().and_then(|d| d.clone()));
        let inputs = self.inputs.clone();
        let endpoint = self.settings.endpoint.clone();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        tokio::spawn(async move {
            let result = match device {
                None => Err(super::plain(tether_host::FailureKind::Application(
                    tether_host::ApplicationError::DeviceNotFound,
                ))),
                Some(device) => {
                    let url = format!("{endpoint}/identity/devices/{device}/token");
                    match request(hyper::Method::POST, &url, None, timeout).await {
                        Ok(r) if r.status == 200 => token(&r.body)
                            .ok_or_else(|| super::http::Response { status: 500, ..r }.failure()),
                        Ok(r) => Err(r.failure()),
                        Err(f) => Err(f),
                    }
                }
            };
            let _ = inputs.send(Input::Credential(result));
        });
    }
}

fn token(body: &Value) -> Option<Credential> {
    Some(Credential {
        secret: body.get("secret")?.as_str()?.to_string(),
        lifetime_ms: body.get("lifetimeMs").and_then(Value::as_u64),
    })
}
