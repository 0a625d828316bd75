//! The provisioning client: the Azure DPS device registration exchange, over
//! HTTPS (REST, API version [`API_VERSION`]) or over MQTT ([`mqtt`], API version
//! [`MQTT_API_VERSION`]).
//!
//! - `register`: `PUT {endpoint}/{idScope}/registrations/{registrationId}/register`
//!   with `{"registrationId": ...}` answers 202 `{operationId, status: "assigning"}`
//!   with `Retry-After` (seconds), or 200 when already decided.
//! - `poll`: `GET {endpoint}/{idScope}/registrations/{registrationId}/operations/{operationId}`
//!   answers 202 again, or 200 `{status: "assigned", registrationState:
//!   {assignedHub, deviceId, ...}}`, or 200 with status `failed` / `disabled`.
//! - Any other status is a failure with the status, the body's six-digit
//!   `errorCode` (`{"errorCode": 401002, "trackingId", "message", "timestampUtc"}`)
//!   and the `Retry-After` (401, 404, 429, 5xx...).
//!
//! Both requests carry `Authorization: SharedAccessSignature sr={idScope}%2Fregistrations%2F{registrationId}&sig=...&se=...&skn=registration`
//! for key attestation, minted by the component ([`auth::Signer`]); X.509
//! attestation presents the certificate in the TLS handshake instead. For
//! symmetric keys DPS hands back no credential: the device signs its own hub
//! tokens. The answer goes back as `on-provisioned`; what to do about it is the
//! component's business.

mod auth;
pub mod mqtt;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::http::{Extras, Response, send};
use super::{Input, InputSender};
pub use auth::{Signer, client_config};
pub use settings::{Attestation, DpsTransport, ProvisioningSettings, Secret, parse_settings};
use tether_host::{
    ApplicationError, Assignment, Credential, FailureKind, Pending, Provisioner,
    ProvisioningResult, Runtime,
};

/// The REST API version the requests name.
pub const API_VERSION: &str = "2021-06-01";

/// The API version of the MQTT user name.
pub const MQTT_API_VERSION: &str = "2019-03-31";

/// The [`Provisioner`] for DPS. Needs a tokio runtime.
pub struct DpsClient {
    settings: ProvisioningSettings,
    inputs: InputSender,
    signer: Option<Signer>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for DpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpsClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl DpsClient {
    /// A client for `settings`, reporting to `inputs`. Loads the TLS files and
    /// makes the signer now, so a bad file or key is a start-up error.
    ///
    /// # Errors
    /// A file that does not load or a key the component refuses (named by field).
    pub(crate) fn new(
        runtime: &Runtime,
        settings: ProvisioningSettings,
        inputs: InputSender,
    ) -> anyhow::Result<Self> {
        let tls = if settings.authority().1 {
            Some(client_config(&settings)?)
        } else {
            None
        };
        let signer = Signer::new(runtime, &settings)?;
        Ok(Self {
            settings,
            inputs,
            signer,
            tls,
        })
    }

    /// A client outside a device loop (tools, tests): its results arrive on the
    /// returned receiver, one per `register` or `poll`. Needs a tokio runtime.
    ///
    /// # Errors
    /// As [`DpsClient::new`].
    pub fn standalone(
        runtime: &Runtime,
        settings: ProvisioningSettings,
    ) -> anyhow::Result<(
        Self,
        tokio::sync::mpsc::UnboundedReceiver<ProvisioningResult>,
    )> {
        let (inputs, mut from_tasks) = tokio::sync::mpsc::unbounded_channel();
        let (results, out) = tokio::sync::mpsc::unbounded_channel();
        let client = Self::new(runtime, settings, inputs)?;
        tokio::spawn(async move {
            while let Some(input) = from_tasks.recv().await {
                if let Input::Provisioned(r) = input
                    && results.send(r).is_err()
                {
                    break;
                }
            }
        });
        Ok((client, out))
    }

    fn base(&self) -> String {
        format!(
            "{}/{}/registrations/{}",
            self.settings.endpoint, self.settings.id_scope, self.settings.registration_id
        )
    }

    /// A fresh token, or the failure to report when the component refuses.
    fn token(&mut self) -> Result<Option<String>, ProvisioningResult> {
        match &mut self.signer {
            None => Ok(None),
            Some(s) => s.token().map(Some).ok_or_else(|| {
                ProvisioningResult::Failed(super::plain(FailureKind::Application(
                    ApplicationError::Unauthorized,
                )))
            }),
        }
    }

    fn start(&mut self, operation: Option<String>) {
        let token = match self.token() {
            Ok(t) => t,
            Err(failed) => {
                let _ = self.inputs.send(Input::Provisioned(failed));
                return;
            }
        };
        let inputs = self.inputs.clone();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        let tls = self.tls.clone();
        if self.settings.transport == DpsTransport::Mqtt {
            let settings = self.settings.clone();
            tokio::spawn(async move {
                let result = match tls {
                    Some(tls) => mqtt::exchange(&settings, tls, token, operation).await,
                    None => ProvisioningResult::Failed(super::plain(FailureKind::Application(
                        ApplicationError::BadEndpoint,
                    ))),
                };
                let _ = inputs.send(Input::Provisioned(result));
            });
            return;
        }
        let (method, url, body) = match &operation {
            None => (
                hyper::Method::PUT,
                format!("{}/register?api-version={API_VERSION}", self.base()),
                Some(serde_json::json!({ "registrationId": self.settings.registration_id })),
            ),
            Some(op) => (
                hyper::Method::GET,
                format!("{}/operations/{op}?api-version={API_VERSION}", self.base()),
                None,
            ),
        };
        tokio::spawn(async move {
            let extras = Extras {
                body: body.as_ref(),
                authorization: token.as_deref(),
                tls: tls.as_ref(),
                timeout,
            };
            let result = match send(method, &url, extras).await {
                Ok(response) => answer(&response),
                Err(failure) => ProvisioningResult::Failed(failure),
            };
            let _ = inputs.send(Input::Provisioned(result));
        });
    }
}

impl Provisioner for DpsClient {
    fn register(&mut self) {
        self.start(None);
    }

    fn poll(&mut self, operation_id: &str) {
        // The operation id goes into a path: refuse one that would leave it.
        if operation_id.is_empty()
            || !operation_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        {
            let _ = self
                .inputs
                .send(Input::Provisioned(ProvisioningResult::Failed(
                    super::plain(FailureKind::Application(ApplicationError::BadEndpoint)),
                )));
            return;
        }
        self.start(Some(operation_id.to_string()));
    }
}

/// The contract's reading of a DPS answer.
pub(crate) fn answer(r: &Response) -> ProvisioningResult {
    let status = r.body.get("status").and_then(Value::as_str);
    match (r.status, status) {
        (200, Some("assigned")) => match assignment(&r.body) {
            Some(a) => ProvisioningResult::Assigned(a),
            // An assignment without a hub is a broken answer.
            None => ProvisioningResult::Failed(
                Response {
                    status: 500,
                    ..clone_meta(r)
                }
                .failure(),
            ),
        },
        (200 | 202, Some("assigning" | "unassigned") | None)
            if r.body.get("operationId").and_then(Value::as_str).is_some() =>
        {
            ProvisioningResult::Pending(Pending {
                operation_id: r
                    .body
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                retry_after_ms: r.retry_after_ms,
            })
        }
        // A registration that ended in "failed" or "disabled" carries its own
        // six-digit error code (status = code / 1000, as azure-sdk-for-c's
        // `_az_iot_status_from_extended_status` reads it).
        (200, Some(ended)) => {
            let code = r
                .body
                .pointer("/registrationState/errorCode")
                .and_then(Value::as_u64);
            match code {
                None if ended == "disabled" => {
                    let mut failure = r.failure();
                    failure.kind = FailureKind::Application(ApplicationError::DeviceDisabled);
                    ProvisioningResult::Failed(failure)
                }
                code => {
                    let code = code.unwrap_or(500_000);
                    let status = u16::try_from(code / 1000).unwrap_or(500);
                    let body = serde_json::json!({ "errorCode": code });
                    ProvisioningResult::Failed(
                        Response {
                            status,
                            retry_after_ms: r.retry_after_ms,
                            body,
                        }
                        .failure(),
                    )
                }
            }
        }
        _ => ProvisioningResult::Failed(r.failure()),
    }
}

fn clone_meta(r: &Response) -> Response {
    Response {
        status: r.status,
        retry_after_ms: r.retry_after_ms,
        body: r.body.clone(),
    }
}

fn assignment(body: &Value) -> Option<Assignment> {
    let state = body.get("registrationState")?;
    let hub = state.get("assignedHub")?.as_str()?.to_string();
    let device_id = state.get("deviceId")?.as_str()?.to_string();
    let credential = state.get("credential").and_then(|c| {
        Some(Credential {
            secret: c.get("secret")?.as_str()?.to_string(),
            lifetime_ms: c.get("lifetimeMs").and_then(Value::as_u64),
        })
    });
    Some(Assignment {
        hub,
        device_id,
        credential,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use tether_host::{FailureKind, HttpFailure, ProtocolError};

    fn response(status: u16, retry_after_ms: Option<u64>, body: Value) -> Response {
        Response {
            status,
            retry_after_ms,
            body,
        }
    }

    #[test]
    fn a_202_is_pending_with_its_retry_after() {
        let r = response(
            202,
            Some(3000),
            serde_json::json!({"operationId": "op-1", "status": "assigning"}),
        );
        assert_eq!(
            answer(&r),
            ProvisioningResult::Pending(Pending {
                operation_id: "op-1".into(),
                retry_after_ms: Some(3000)
            })
        );
    }

    #[test]
    fn an_assignment_carries_hub_device_and_credential() {
        let r = response(
            200,
            None,
            serde_json::json!({"operationId": "op-1", "status": "assigned", "registrationState": {
                "assignedHub": "127.0.0.1:1883", "deviceId": "d1",
                "credential": {"secret": "d1.1:abc", "lifetimeMs": 60000}}}),
        );
        let ProvisioningResult::Assigned(a) = answer(&r) else {
            panic!("not assigned");
        };
        assert_eq!(a.hub, "127.0.0.1:1883");
        assert_eq!(a.credential.unwrap().lifetime_ms, Some(60000));
    }

    #[test]
    fn errors_keep_status_code_and_retry_after() {
        let r = response(429, Some(5000), serde_json::json!({"errorCode": 429001}));
        let ProvisioningResult::Failed(f) = answer(&r) else {
            panic!("not failed");
        };
        assert_eq!(
            f.kind,
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 429,
                hub_code: Some(429001)
            }))
        );
        assert_eq!(f.retry_after_ms, Some(5000));
    }

    // Bodies as DPS sends them (the REST reference's DeviceRegistrationResult, and
    // the sample azure-sdk-for-c quotes in az_iot_provisioning_client.c).
    #[test]
    fn a_real_assignment_carries_no_credential() {
        let r = response(
            200,
            None,
            serde_json::json!({"operationId": "4.d0a6.1", "status": "assigned",
                "registrationState": {"x509": {}, "registrationId": "paho-sample-device1",
                    "createdDateTimeUtc": "2020-04-10T03:11:13.0276997Z",
                    "assignedHub": "contoso.azure-devices.net", "deviceId": "paho-sample-device1",
                    "status": "assigned", "substatus": "initialAssignment",
                    "lastUpdatedDateTimeUtc": "2020-04-10T03:11:13.2096201Z",
                    "etag": "IjYxMDA4ZDQ2LTAwMDAtMDEwMC0wMDAwLTVlOGZlM2QxMDAwMCI="}}),
        );
        let ProvisioningResult::Assigned(a) = answer(&r) else {
            panic!("not assigned");
        };
        assert_eq!(a.hub, "contoso.azure-devices.net");
        assert_eq!(a.device_id, "paho-sample-device1");
        assert!(a.credential.is_none());
    }

    #[test]
    fn failed_and_disabled_registrations_are_failures() {
        // `failed` with its own errorCode: status = code / 1000.
        let r = response(
            200,
            None,
            serde_json::json!({"operationId": "op", "status": "failed",
                "registrationState": {"registrationId": "d1", "status": "failed",
                    "errorCode": 400207, "errorMessage": "Custom allocation failed"}}),
        );
        let ProvisioningResult::Failed(f) = answer(&r) else {
            panic!("not failed");
        };
        assert_eq!(
            f.kind,
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 400,
                hub_code: Some(400207)
            }))
        );
        let r = response(
            200,
            None,
            serde_json::json!({"operationId": "op", "status": "disabled",
                "registrationState": {"registrationId": "d1", "status": "disabled"}}),
        );
        let ProvisioningResult::Failed(f) = answer(&r) else {
            panic!("not failed");
        };
        assert_eq!(
            f.kind,
            FailureKind::Application(ApplicationError::DeviceDisabled)
        );
    }

    #[test]
    fn an_error_body_keeps_its_code_and_tracking_id() {
        // As DPS answered in Azure/azure-iot-sdk-c#2575.
        let r = response(
            401,
            None,
            serde_json::json!({"errorCode": 401002, "trackingId": "701c9c8f-e467-47d8-8a01-c805a19ab22a",
                "message": "Unauthorized", "timestampUtc": "2024-02-08T18:13:04.331944Z"}),
        );
        let ProvisioningResult::Failed(f) = answer(&r) else {
            panic!("not failed");
        };
        assert_eq!(
            f.kind,
            FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: 401,
                hub_code: Some(401002)
            }))
        );
        assert_eq!(
            f.server_reference.as_deref(),
            Some("701c9c8f-e467-47d8-8a01-c805a19ab22a")
        );
    }
}
