//! The provisioning client: the Azure DPS device registration exchange over HTTP.
//!
//! - `register`: `PUT {endpoint}/{id-scope}/registrations/{registration-id}/register`
//!   answers 202 `{operationId, status: "assigning"}` with `Retry-After`, or 200
//!   when already assigned.
//! - `poll`: `GET {endpoint}/{id-scope}/registrations/{registration-id}/operations/{operationId}`
//!   answers 202 again, or 200 `{status: "assigned", registrationState:
//!   {assignedHub, deviceId, credential?}}`.
//! - Any other status is a failure with the status, the body's six-digit
//!   `errorCode` and the `Retry-After` (401, 403, 404, 429, 5xx...).
//!
//! The answer goes back as `on-provisioned`; what to do about it is the
//! component's business.

use std::time::Duration;

use serde_json::Value;

use super::config::ProvisioningSettings;
use super::http::{Response, request};
use super::{Input, InputSender};
use tether_host::{Assignment, Credential, Pending, Provisioner, ProvisioningResult};

/// The API version the requests name.
pub const API_VERSION: &str = "2021-06-01";

/// The [`Provisioner`] over HTTP. Needs a tokio runtime.
#[derive(Debug)]
pub struct DpsClient {
    settings: ProvisioningSettings,
    inputs: InputSender,
}

impl DpsClient {
    pub(crate) fn new(settings: ProvisioningSettings, inputs: InputSender) -> Self {
        Self { settings, inputs }
    }

    fn base(&self) -> String {
        format!(
            "{}/{}/registrations/{}",
            self.settings.endpoint, self.settings.id_scope, self.settings.registration_id
        )
    }

    fn spawn(&self, method: hyper::Method, url: String, body: Option<Value>) {
        let inputs = self.inputs.clone();
        let timeout = Duration::from_millis(self.settings.timeout_ms);
        tokio::spawn(async move {
            let result = match request(method, &url, body.as_ref(), timeout).await {
                Ok(response) => answer(&response),
                Err(failure) => ProvisioningResult::Failed(failure),
            };
            let _ = inputs.send(Input::Provisioned(result));
        });
    }
}

impl Provisioner for DpsClient {
    fn register(&mut self) {
        let url = format!("{}/register?api-version={API_VERSION}", self.base());
        let body = serde_json::json!({ "registrationId": self.settings.registration_id });
        self.spawn(hyper::Method::PUT, url, Some(body));
    }

    fn poll(&mut self, operation_id: &str) {
        let url = format!(
            "{}/operations/{operation_id}?api-version={API_VERSION}",
            self.base()
        );
        self.spawn(hyper::Method::GET, url, None);
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
        // error code; report it as that HTTP status.
        (200, Some(_)) => {
            let code = r
                .body
                .pointer("/registrationState/errorCode")
                .and_then(Value::as_u64)
                .unwrap_or(403_000);
            let status = u16::try_from(code / 1000).unwrap_or(403);
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
}
