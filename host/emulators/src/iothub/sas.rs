//! SAS token checks, done here independently of the component: the emulator plays
//! the service, so it parses and verifies tokens with its own code (hmac + sha2 +
//! base64), never with the component that minted them.
//!
//! `SharedAccessSignature sr={url-encoded resource URI}&sig={url-encoded
//! signature}&se={expiry}[&skn={policy}]`, fields in any order; signature =
//! base64(HMAC-SHA256(key, sr-as-sent + "\n" + se)).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha2::Sha256;

/// A SAS token, split into its fields (the signature stays opaque).
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken {
    /// `sr` exactly as sent (still URL-encoded): what was signed.
    pub sr_raw: String,
    /// `sr` URL-decoded: the resource URI.
    pub resource: String,
    /// The signature bytes (`sig`, URL- and base64-decoded).
    signature: Vec<u8>,
    /// `se`: the expiry, Unix seconds.
    pub expiry: u64,
    /// `skn`: a shared access policy name, when present.
    pub key_name: Option<String>,
}

impl std::fmt::Debug for SasToken {
    // The signature is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasToken")
            .field("resource", &self.resource)
            .field("expiry", &self.expiry)
            .field("key_name", &self.key_name)
            .finish_non_exhaustive()
    }
}

/// Why a password is not a well-formed SAS token; names the field, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Parse `text` as a SAS token.
///
/// # Errors
/// [`Malformed`] naming the first field that is missing, repeated or not decodable.
pub fn parse(text: &str) -> Result<SasToken, Malformed> {
    let fields = text
        .strip_prefix("SharedAccessSignature ")
        .ok_or(Malformed("SharedAccessSignature prefix"))?;
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in fields.split('&') {
        let (key, value) = pair.split_once('=').ok_or(Malformed("field=value"))?;
        let slot = match key {
            "sr" => &mut sr,
            "sig" => &mut sig,
            "se" => &mut se,
            "skn" => &mut skn,
            _ => return Err(Malformed("unknown field")),
        };
        if slot.replace(value).is_some() {
            return Err(Malformed("repeated field"));
        }
    }
    let sr_raw = sr.ok_or(Malformed("sr"))?;
    let resource = percent_decode_str(sr_raw)
        .decode_utf8()
        .map_err(|_| Malformed("sr"))?
        .into_owned();
    let sig = percent_decode_str(sig.ok_or(Malformed("sig"))?)
        .decode_utf8()
        .map_err(|_| Malformed("sig"))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(sig.as_bytes())
        .map_err(|_| Malformed("sig"))?;
    let expiry = se
        .ok_or(Malformed("se"))?
        .parse::<u64>()
        .map_err(|_| Malformed("se"))?;
    let key_name = skn
        .map(|s| percent_decode_str(s).decode_utf8().map(|c| c.into_owned()))
        .transpose()
        .map_err(|_| Malformed("skn"))?;
    Ok(SasToken {
        sr_raw: sr_raw.to_string(),
        resource,
        signature,
        expiry,
        key_name,
    })
}

impl SasToken {
    /// Whether the signature is `key`'s over `sr` as sent and `se`
    /// (constant-time comparison).
    pub fn signed_with(&self, key: &[u8]) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            return false;
        };
        mac.update(self.sr_raw.as_bytes());
        mac.update(b"\n");
        mac.update(self.expiry.to_string().as_bytes());
        mac.verify_slice(&self.signature).is_ok()
    }
}

/// Whether resource URI `resource` names `host/devices/{device}[/modules/{module}]`
/// (the host compared without case, as DNS names are; ids exactly).
pub fn names_identity(resource: &str, host: &str, device: &str, module: Option<&str>) -> bool {
    let Some((res_host, path)) = resource.split_once('/') else {
        return false;
    };
    let expected = match module {
        Some(m) => format!("devices/{device}/modules/{m}"),
        None => format!("devices/{device}"),
    };
    res_host.eq_ignore_ascii_case(host) && path == expected
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // The published vector of the Azure IoT Node SDK
    // (common/core/test/_shared_access_signature_test.js): resource `uri`, key
    // base64("password"), expiry 12345.
    const NODE_SDK_VECTOR: &str =
        "SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345";

    #[test]
    fn the_node_sdk_vector_verifies_with_its_key_and_not_another() {
        let t = parse(NODE_SDK_VECTOR).unwrap();
        assert_eq!(t.resource, "uri");
        assert_eq!(t.expiry, 12345);
        assert!(t.signed_with(b"password"));
        assert!(!t.signed_with(b"passwore"));
    }

    #[test]
    fn fields_come_in_any_order_and_a_changed_expiry_breaks_the_signature() {
        let t = parse("SharedAccessSignature se=12345&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&sr=uri")
            .unwrap();
        assert!(t.signed_with(b"password"));
        let t = parse("SharedAccessSignature se=12346&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&sr=uri")
            .unwrap();
        assert!(!t.signed_with(b"password"));
    }

    #[test]
    fn malformed_tokens_name_the_field() {
        assert_eq!(
            parse("sr=a&sig=b&se=1"),
            Err(Malformed("SharedAccessSignature prefix"))
        );
        assert_eq!(
            parse("SharedAccessSignature sr=a&se=1"),
            Err(Malformed("sig"))
        );
        assert_eq!(
            parse("SharedAccessSignature sr=a&sig=AA==&se=x"),
            Err(Malformed("se"))
        );
        assert_eq!(
            parse("SharedAccessSignature sr=a&sr=b&sig=AA==&se=1"),
            Err(Malformed("repeated field"))
        );
    }

    #[test]
    fn resource_uris_compare_decoded_with_the_host_case_folded() {
        // azure-sdk-for-c's format examples: `sr=myiothub.azure-devices.net%2Fdevices%2Fmy_device`.
        let t =
            parse("SharedAccessSignature sr=MyHub.example%2Fdevices%2Fmy_device&sig=AA%3D%3D&se=1")
                .unwrap();
        assert!(names_identity(
            &t.resource,
            "myhub.example",
            "my_device",
            None
        ));
        assert!(!names_identity(
            &t.resource,
            "myhub.example",
            "My_device",
            None
        ));
        assert!(!names_identity(
            &t.resource,
            "other.example",
            "my_device",
            None
        ));
        assert!(!names_identity(
            &t.resource,
            "myhub.example",
            "my_device",
            Some("m")
        ));
        assert!(names_identity("h/devices/d/modules/m", "h", "d", Some("m")));
    }
}
