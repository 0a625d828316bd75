//! Registration SAS tokens, checked as the service checks them, independently of
//! the component that mints them.
//!
//! `SharedAccessSignature sr={url-encoded resource}&sig={url-encoded base64
//! signature}&se={expiry, Unix seconds}&skn=registration`, where the signature is
//! base64(HMAC-SHA256(base64-decode(key), "{sr as sent}\n{se}")) and the resource
//! is `{idScope}/registrations/{registrationId}` (azure-sdk-for-c
//! `az_iot_provisioning_client_sas_get_signature`; the DPS docs "Control access
//! to DPS with SAS tokens"). An enrollment group's device key is
//! base64(HMAC-SHA256(base64-decode(group key), registrationId)).

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a token was refused (for the emulator's log; the device gets 401002).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not `SharedAccessSignature k=v&...` with sr, sig and se.
    Malformed,
    /// `skn` is not `registration`.
    KeyName,
    /// `sr` names another resource.
    Resource,
    /// `se` is not in the future.
    Expired,
    /// The signature does not match the key.
    Signature,
}

/// The fields of a token, as sent.
#[derive(Debug)]
struct Fields<'a> {
    sr: &'a str,
    sig: &'a str,
    se: &'a str,
    skn: Option<&'a str>,
}

fn fields(token: &str) -> Option<Fields<'_>> {
    let rest = token.trim().strip_prefix("SharedAccessSignature ")?;
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in rest.split('&') {
        let (k, v) = pair.split_once('=')?;
        let slot = match k {
            "sr" => &mut sr,
            "sig" => &mut sig,
            "se" => &mut se,
            "skn" => &mut skn,
            _ => return None,
        };
        if slot.replace(v).is_some() {
            return None;
        }
    }
    Some(Fields {
        sr: sr?,
        sig: sig?,
        se: se?,
        skn,
    })
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// The signature of `text` under `key` (base64), or `None` for a key that is not
/// base64.
pub fn sign(key: &str, text: &str) -> Option<Vec<u8>> {
    let key = B64.decode(key).ok()?;
    let mut mac = HmacSha256::new_from_slice(&key).ok()?;
    mac.update(text.as_bytes());
    Some(mac.finalize().into_bytes().to_vec())
}

/// An enrollment group's device key for `registration_id`.
pub fn derive_device_key(group_key: &str, registration_id: &str) -> Option<String> {
    sign(group_key, registration_id).map(|mac| B64.encode(mac))
}

/// Check `token` for `{id_scope}/registrations/{registration_id}` under any of
/// `keys` (base64), at `now` (Unix seconds).
///
/// # Errors
/// The first rule the token breaks.
pub fn verify(
    token: &str,
    id_scope: &str,
    registration_id: &str,
    keys: &[String],
    now: u64,
) -> Result<(), Refusal> {
    let f = fields(token).ok_or(Refusal::Malformed)?;
    if f.skn != Some("registration") {
        return Err(Refusal::KeyName);
    }
    let expected = format!("{id_scope}/registrations/{registration_id}");
    if !decode(f.sr).eq_ignore_ascii_case(&expected) {
        return Err(Refusal::Resource);
    }
    let expiry: u64 = f.se.parse().map_err(|_| Refusal::Malformed)?;
    if expiry <= now {
        return Err(Refusal::Expired);
    }
    let sig = B64.decode(decode(f.sig)).map_err(|_| Refusal::Malformed)?;
    // The string to sign is the resource as the device sent it (encoded).
    let text = format!("{}\n{}", f.sr, f.se);
    for key in keys {
        let Some(k) = B64.decode(key).ok() else {
            continue;
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(&k) else {
            continue;
        };
        mac.update(text.as_bytes());
        // Constant-time comparison (hmac's verify_slice).
        if mac.verify_slice(&sig).is_ok() {
            return Ok(());
        }
    }
    Err(Refusal::Signature)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn token(key: &str, sr: &str, se: u64, skn: &str) -> String {
        let sig = B64.encode(sign(key, &format!("{sr}\n{se}")).unwrap());
        let sig: String =
            percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        format!("SharedAccessSignature sr={sr}&sig={sig}&se={se}&skn={skn}")
    }

    const KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHM=";

    #[test]
    fn a_good_token_passes_and_each_rule_is_enforced() {
        let sr = "0ne1%2Fregistrations%2Fd1";
        let keys = [KEY.to_string()];
        assert_eq!(
            verify(
                &token(KEY, sr, 200, "registration"),
                "0ne1",
                "d1",
                &keys,
                100
            ),
            Ok(())
        );
        // Lower-case escapes sign differently but still name the resource.
        let lower = "0ne1%2fregistrations%2fd1";
        assert_eq!(
            verify(
                &token(KEY, lower, 200, "registration"),
                "0ne1",
                "d1",
                &keys,
                100
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                &token(KEY, sr, 100, "registration"),
                "0ne1",
                "d1",
                &keys,
                100
            ),
            Err(Refusal::Expired)
        );
        assert_eq!(
            verify(&token(KEY, sr, 200, "owner"), "0ne1", "d1", &keys, 100),
            Err(Refusal::KeyName)
        );
        assert_eq!(
            verify(
                &token(KEY, sr, 200, "registration"),
                "0ne2",
                "d1",
                &keys,
                100
            ),
            Err(Refusal::Resource)
        );
        let other = ["b3RoZXIta2V5".to_string()];
        assert_eq!(
            verify(
                &token(KEY, sr, 200, "registration"),
                "0ne1",
                "d1",
                &other,
                100
            ),
            Err(Refusal::Signature)
        );
        assert_eq!(
            verify("Bearer x", "0ne1", "d1", &keys, 100),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn a_group_key_derives_the_documented_device_key() {
        // HMAC-SHA256 of the registration id under the decoded group key.
        let derived = derive_device_key(KEY, "d1").unwrap();
        let mut mac = HmacSha256::new_from_slice(&B64.decode(KEY).unwrap()).unwrap();
        mac.update(b"d1");
        assert_eq!(derived, B64.encode(mac.finalize().into_bytes()));
    }
}
