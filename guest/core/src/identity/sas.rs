//! Shared access signatures: `SharedAccessSignature sr=..&sig=..&se=..[&skn=..]`.
//!
//! The signature is base64(HMAC-SHA256(base64-decode(key), sr + "\n" + se)), where
//! `sr` is the percent-encoded resource URI exactly as it appears in the token.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

use crate::types::ConfigError;

/// The key name DPS expects in a device's registration token.
pub const DPS_KEY_NAME: &str = "registration";

/// What the SDKs leave unencoded: RFC 3986's unreserved characters. Everything else
/// is `%XX` with upper-case hex, as the service signs it.
pub(super) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one URI component.
pub(super) fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).collect()
}

/// A key's bytes, or an error naming `field` (never showing the value).
pub(super) fn decode_key(field: &str, key: &str) -> Result<Vec<u8>, ConfigError> {
    if key.is_empty() {
        return Err(ConfigError::new(field, "is empty"));
    }
    match STANDARD.decode(key) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        Ok(_) => Err(ConfigError::new(field, "decodes to no bytes")),
        Err(_) => Err(ConfigError::new(field, "is not valid base64")),
    }
}

/// base64(HMAC-SHA256(key, message)).
fn sign(key: &[u8], message: &[u8]) -> Result<String, ConfigError> {
    // HMAC takes keys of any length; the error arm only satisfies the type.
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| ConfigError::new("key", "cannot be used as an HMAC key"))?;
    mac.update(message);
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// A SAS token for `resource_uri` signed with `key` (base64), valid until `expiry`
/// (Unix seconds), with `skn={key_name}` when a key name is given.
pub fn sas_token(
    resource_uri: &str,
    key: &str,
    key_name: Option<&str>,
    expiry: u64,
) -> Result<String, ConfigError> {
    if resource_uri.is_empty() {
        return Err(ConfigError::new("resource-uri", "is empty"));
    }
    if key_name.is_some_and(str::is_empty) {
        return Err(ConfigError::new("key-name", "is empty"));
    }
    let key = decode_key("key", key)?;
    let sr = encode(resource_uri);
    let signature = sign(&key, format!("{sr}\n{expiry}").as_bytes())?;
    let mut token = format!(
        "SharedAccessSignature sr={sr}&sig={}&se={expiry}",
        encode(&signature)
    );
    if let Some(name) = key_name {
        token.push_str("&skn=");
        token.push_str(&encode(name));
    }
    Ok(token)
}

/// The resource a device (or module) token is for: `{host}/devices/{device}` or
/// `{host}/devices/{device}/modules/{module}`.
pub fn hub_resource_uri(host_name: &str, device_id: &str, module_id: Option<&str>) -> String {
    match module_id {
        Some(module) => format!("{host_name}/devices/{device_id}/modules/{module}"),
        None => format!("{host_name}/devices/{device_id}"),
    }
}

/// The resource a DPS registration token is for: `{id scope}/registrations/{id}`.
pub fn dps_resource_uri(id_scope: &str, registration_id: &str) -> String {
    format!("{id_scope}/registrations/{registration_id}")
}

/// A DPS registration token (`skn=registration`) for `registration_id` in
/// `id_scope`, signed with the enrollment's (or the derived) device key.
pub fn dps_token(
    id_scope: &str,
    registration_id: &str,
    key: &str,
    expiry: u64,
) -> Result<String, ConfigError> {
    if id_scope.is_empty() {
        return Err(ConfigError::new("id-scope", "is empty"));
    }
    if registration_id.is_empty() {
        return Err(ConfigError::new("registration-id", "is empty"));
    }
    sas_token(
        &dps_resource_uri(id_scope, registration_id),
        key,
        Some(DPS_KEY_NAME),
        expiry,
    )
}

/// A group enrollment's device key: base64(HMAC-SHA256(group key, registration id)).
pub fn derive_device_key(group_key: &str, registration_id: &str) -> Result<String, ConfigError> {
    if registration_id.is_empty() {
        return Err(ConfigError::new("registration-id", "is empty"));
    }
    let key = decode_key("group-key", group_key)?;
    sign(&key, registration_id.as_bytes())
}
