//! What every subcommand does with the user's input: bad input is an error of its
//! own kind (exit code 2), failures are read in the `mqtt5:0x87` syntax.

use std::fmt;
use std::path::Path;

use serde_json::Value;
use tether_host::syntax::parse_failure;
use tether_host::{ConfigError, Failure};

/// Bad input from the user: exit code 2, like a usage error.
#[derive(Debug)]
pub struct BadInput(String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

pub fn config_error(path: &Path, e: &ConfigError) -> anyhow::Error {
    bad_input(format!(
        "invalid configuration in {}: {}: {}",
        path.display(),
        e.field,
        e.message
    ))
}

pub fn parse_failure_arg(
    text: &str,
    retry_after_ms: Option<u64>,
    server_reference: Option<&str>,
) -> anyhow::Result<Failure> {
    let mut failure = parse_failure(text).map_err(|e| bad_input(e.to_string()))?;
    failure.retry_after_ms = retry_after_ms;
    failure.server_reference = server_reference.map(str::to_string);
    Ok(failure)
}

pub fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("{} is not valid JSON: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::input::BadInput;

    #[test]
    fn bad_failures_are_bad_input_with_a_clear_message() {
        let e = parse_failure_arg("mqtt5:0x1FF", None, None).unwrap_err();
        assert!(e.is::<BadInput>());
        assert!(
            e.to_string().contains("MQTT 5 reason code \"0x1FF\""),
            "{e}"
        );
        let e = parse_failure_arg("wifi:down", None, None).unwrap_err();
        assert!(
            e.to_string().contains("unknown failure family \"wifi\""),
            "{e}"
        );
    }

    #[test]
    fn hints_are_attached() {
        let f = parse_failure_arg("http:429", Some(5000), Some("hub-b")).unwrap();
        assert_eq!(f.retry_after_ms, Some(5000));
        assert_eq!(f.server_reference.as_deref(), Some("hub-b"));
    }
}
