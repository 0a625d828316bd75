//! The CONNECT check: what IoT Hub verifies before it answers CONNACK 0.
//!
//! - client id `{deviceId}` or `{deviceId}/{moduleId}`;
//! - user name `{hostname}/{deviceId}[/{moduleId}]/?api-version={v}[&...]`, the host
//!   name this hub's and `v` one the hub knows (Azure docs, "Communicate with an IoT
//!   hub using the MQTT protocol", Using the MQTT protocol directly; older C SDKs
//!   send `{hostname}/{deviceId}/api-version=...` without the `?`, as their logs in
//!   Azure/azure-iot-sdk-c issue #373 show, and that form is accepted too);
//! - a password that is a SAS token for this identity on this hub, signed with one
//!   of its keys and not expired; or, for an X.509 identity, a client certificate
//!   with the registered thumbprint or chaining to the registered CA with the
//!   device id as its common name.
//!
//! Every refusal but the protocol version is CONNACK 5 (not authorized): that is
//! what the hub answers to a wrong key, an unknown device and a user name without
//! an api-version alike (CONNACK traces in Azure/azure-iot-sdk-c issues #373 and
//! #806, Azure/azure-umqtt-c issue #11, Azure/iot-hub-device-update issue #660).
//! An MQTT version other than 3.1.1 gets CONNACK 1 (unacceptable protocol version,
//! MQTT 3.1.1 section 3.2.2.3): the hub speaks 3.1.1 only.

use std::sync::Arc;

use rumqttc::mqttbytes::v4::Connect;
use rustls::pki_types::{CertificateDer, UnixTime};
use sha2::Digest as _;

use super::registry::{Credential, IdentityId, Registry};
use super::sas;

/// The api-versions the emulator knows: the current one and the older ones the
/// Azure device SDKs send (azure-iot-sdk-c, azure-sdk-for-c, the Node, Python,
/// Java and C# SDKs over the years).
pub const API_VERSIONS: &[&str] = &[
    "2016-11-14",
    "2017-06-30",
    "2017-11-08-preview",
    "2018-06-30",
    "2019-03-30",
    "2019-10-01",
    "2020-05-31-preview",
    "2020-09-30",
    "2021-04-12",
];

/// CONNACK return codes (MQTT 3.1.1 table 3.1).
pub const CONNACK_PROTOCOL: u8 = 1;
/// Not authorized.
pub const CONNACK_NOT_AUTHORIZED: u8 = 5;
/// Server unavailable (the broker behind the emulator is down).
pub const CONNACK_UNAVAILABLE: u8 = 3;

/// A refused CONNECT: the CONNACK code and the counter it adds to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The CONNACK return code sent.
    pub code: u8,
    /// The reason, a counter name (see [`super::Counters`]).
    pub reason: &'static str,
}

fn refuse(reason: &'static str) -> Refusal {
    Refusal {
        code: CONNACK_NOT_AUTHORIZED,
        reason,
    }
}

/// An accepted CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// Who connected.
    pub id: IdentityId,
    /// When the link must close (the SAS token's `se`), Unix seconds; none for X.509.
    pub expiry: Option<u64>,
}

/// What the TLS handshake proved about the client.
#[derive(Debug, Clone, Default)]
pub struct Peer {
    /// The client's certificate chain, end entity first (its possession of the key
    /// was checked in the handshake), if it sent one.
    pub certificates: Vec<CertificateDer<'static>>,
}

/// Check `connect` against `registry` for hub `host` at Unix time `now`.
///
/// # Errors
/// The [`Refusal`] to answer with.
pub fn check(
    connect: &Connect,
    host: &str,
    registry: &Registry,
    peer: &Peer,
    now: u64,
) -> Result<Admitted, Refusal> {
    let login = connect.login.as_ref();
    let user = login
        .map(|l| l.username.as_str())
        .ok_or(refuse("bad-user-name"))?;
    let (user_host, id, api_version) = parse_user_name(user).ok_or(refuse("bad-user-name"))?;
    if !user_host.eq_ignore_ascii_case(host) {
        return Err(refuse("wrong-hub"));
    }
    if !API_VERSIONS.contains(&api_version) {
        return Err(refuse("api-version"));
    }
    if connect.client_id != id.client_id() {
        return Err(refuse("client-id"));
    }
    let identity = registry.get(&id).ok_or(refuse("unknown-device"))?;
    if !identity.enabled {
        return Err(refuse("device-disabled"));
    }
    match &identity.credential {
        Credential::Keys { primary, secondary } => {
            let password = login
                .map(|l| l.password.as_str())
                .filter(|p| !p.is_empty())
                .ok_or(refuse("no-password"))?;
            let token = sas::parse(password).map_err(|_| refuse("bad-token"))?;
            if token.key_name.is_some() {
                // Shared access policy tokens (`skn`) are not emulated.
                return Err(refuse("policy-token"));
            }
            if !sas::names_identity(&token.resource, host, &id.device, id.module.as_deref()) {
                return Err(refuse("wrong-resource"));
            }
            let signed = token.signed_with(primary)
                || secondary.as_deref().is_some_and(|k| token.signed_with(k));
            if !signed {
                return Err(refuse("bad-signature"));
            }
            if token.expiry <= now {
                return Err(refuse("expired"));
            }
            Ok(Admitted {
                id,
                expiry: Some(token.expiry),
            })
        }
        Credential::Thumbprint(expected) => {
            let cert = peer.certificates.first().ok_or(refuse("no-certificate"))?;
            let thumbprint: [u8; 32] = sha2::Sha256::digest(cert.as_ref()).into();
            if &thumbprint != expected {
                return Err(refuse("bad-certificate"));
            }
            if !currently_valid(cert) {
                return Err(refuse("bad-certificate"));
            }
            Ok(Admitted { id, expiry: None })
        }
        Credential::CertificateAuthority(ca) => {
            let (cert, intermediates) = peer
                .certificates
                .split_first()
                .ok_or(refuse("no-certificate"))?;
            if !chains_to(ca, cert, intermediates) || common_name(cert) != Some(id.client_id()) {
                return Err(refuse("bad-certificate"));
            }
            Ok(Admitted { id, expiry: None })
        }
    }
}

/// `{host}/{device}[/{module}]/?{query}` (or `.../api-version=...` without `?`):
/// the host, the identity and the api-version.
fn parse_user_name(user: &str) -> Option<(&str, IdentityId, &str)> {
    let (path, query) = match user.split_once("/?") {
        Some(split) => split,
        None => {
            let at = user.find("/api-version=")?;
            (user.get(..at)?, user.get(at.checked_add(1)?..)?)
        }
    };
    let mut parts = path.split('/');
    let host = parts.next().filter(|h| !h.is_empty())?;
    let device = parts.next().filter(|d| !d.is_empty())?;
    let module = parts.next();
    if parts.next().is_some() || module.is_some_and(str::is_empty) {
        return None;
    }
    let api_version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("api-version="))?;
    let id = IdentityId {
        device: device.to_string(),
        module: module.map(str::to_string),
    };
    Some((host, id, api_version))
}

/// Whether `cert` chains to `ca` (through `intermediates`) and is within its
/// validity period, as rustls's WebPKI client verifier judges it.
fn chains_to(ca: &[u8], cert: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    if roots.add(CertificateDer::from(ca.to_vec())).is_err() {
        return false;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let Ok(verifier) =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
    else {
        return false;
    };
    verifier
        .verify_client_cert(cert, intermediates, UnixTime::now())
        .is_ok()
}

fn currently_valid(cert: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(cert.as_ref()).is_ok_and(|(_, c)| c.validity().is_valid())
}

/// The subject common name of `cert`.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn user_names_parse_as_the_sdks_send_them() {
        // Azure docs: `contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12`.
        let (h, id, v) =
            parse_user_name("contoso.azure-devices.net/MyDevice01/?api-version=2021-04-12")
                .unwrap();
        assert_eq!(
            (h, id, v),
            (
                "contoso.azure-devices.net",
                IdentityId::device("MyDevice01"),
                "2021-04-12"
            )
        );
        // azure-sdk-for-c's module user name with `&os=` and `&model-id=` after it.
        let (_, id, v) = parse_user_name(
            "myiothub.azure-devices.net/my_device/my_module_id/?api-version=2020-05-31-preview&os=azrtos&model-id=dtmi%3Ax%3B1",
        )
        .unwrap();
        assert_eq!(
            (id, v),
            (
                IdentityId::module("my_device", "my_module_id"),
                "2020-05-31-preview"
            )
        );
        // The C SDK's older form (issue #373): no `?`.
        let (_, id, v) = parse_user_name(
            "h.example/dev/api-version=2016-11-14&DeviceClientType=iothubclient%2f1.1.27",
        )
        .unwrap();
        assert_eq!((id, v), (IdentityId::device("dev"), "2016-11-14"));
        // Without an api-version (azure-umqtt-c issue #11's `host/myDevice`): refused.
        assert!(parse_user_name("h.example/myDevice").is_none());
        assert!(parse_user_name("h.example/dev/?DeviceClientType=x").is_none());
        assert!(parse_user_name("h.example//?api-version=2021-04-12").is_none());
        assert!(parse_user_name("h.example/a/b/c/?api-version=2021-04-12").is_none());
    }
}
