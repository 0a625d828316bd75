//! Field-path-aware reading of configuration JSON.
//!
//! serde_json parses the document into a `Value`; these helpers then read it field
//! by field so that every error names the exact path (`policy.throttled.max-ms`),
//! unknown fields are refused rather than ignored, and no input can panic.
#![forbid(unsafe_code)]

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use serde_json::{Map, Value};

use crate::types::ConfigError;

/// Parse a whole document; the root must be an object.
pub fn parse_root(text: &str) -> Result<Value, ConfigError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ConfigError::new("(document)", format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ConfigError::new(
            "(document)",
            format!("expected a JSON object, got {}", kind(&value)),
        ));
    }
    Ok(value)
}

/// A human name for a JSON value's type.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Join a parent path and a field name.
pub fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_string()
    } else {
        format!("{parent}.{field}")
    }
}

/// An object being read, which remembers the fields taken so that `finish` can
/// refuse the rest.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
    seen: BTreeSet<&'static str>,
}

impl<'a> Obj<'a> {
    /// Read `value` (found at `path`) as an object.
    pub fn new(value: &'a Value, path: &str) -> Result<Self, ConfigError> {
        match value {
            Value::Object(map) => Ok(Self {
                map,
                path: path.to_string(),
                seen: BTreeSet::new(),
            }),
            other => Err(ConfigError::new(
                display_path(path),
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    /// The object's own path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The path of one of its fields.
    pub fn field_path(&self, field: &str) -> String {
        join(&self.path, field)
    }

    /// The raw value of a field; `null` counts as absent.
    pub fn get(&mut self, field: &'static str) -> Option<&'a Value> {
        self.seen.insert(field);
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    /// An error about one of its fields.
    pub fn error(&self, field: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.field_path(field), message)
    }

    /// An optional non-negative integer.
    pub fn u64(&mut self, field: &'static str) -> Result<Option<u64>, ConfigError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                self.error(
                    field,
                    format!("expected a non-negative integer, got {}", describe(v)),
                )
            }),
        }
    }

    /// An optional integer within `[min, max]`.
    pub fn u64_in(
        &mut self,
        field: &'static str,
        min: u64,
        max: u64,
    ) -> Result<Option<u64>, ConfigError> {
        match self.u64(field)? {
            Some(n) if n < min || n > max => {
                Err(self.error(field, format!("must be between {min} and {max}, got {n}")))
            }
            other => Ok(other),
        }
    }

    /// An optional `u32` within `[min, max]`.
    pub fn u32_in(
        &mut self,
        field: &'static str,
        min: u32,
        max: u32,
    ) -> Result<Option<u32>, ConfigError> {
        let v = self.u64_in(field, u64::from(min), u64::from(max))?;
        // In range by the check above, so the conversion cannot fail.
        Ok(v.and_then(|n| u32::try_from(n).ok()))
    }

    /// An optional number (integer or fraction), for ratios such as a multiplier.
    pub fn number(&mut self, field: &'static str) -> Result<Option<f64>, ConfigError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                self.error(field, format!("expected a number, got {}", describe(v)))
            }),
        }
    }

    /// An optional boolean.
    pub fn bool(&mut self, field: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| {
                self.error(
                    field,
                    format!("expected true or false, got {}", describe(v)),
                )
            }),
        }
    }

    /// An optional string.
    pub fn str(&mut self, field: &'static str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(field) {
            None => Ok(None),
            Some(v) => v.as_str().map(Some).ok_or_else(|| {
                self.error(field, format!("expected a string, got {}", describe(v)))
            }),
        }
    }

    /// An optional nested object.
    pub fn object(&mut self, field: &'static str) -> Result<Option<Obj<'a>>, ConfigError> {
        let path = self.field_path(field);
        match self.get(field) {
            None => Ok(None),
            Some(v) => Obj::new(v, &path).map(Some),
        }
    }

    /// Refuse any field that was not read: a misspelt field must not be silently
    /// ignored.
    pub fn finish(self) -> Result<(), ConfigError> {
        for key in self.map.keys() {
            if !self.seen.contains(key.as_str()) {
                let expected: alloc::vec::Vec<&str> = self.seen.iter().copied().collect();
                // A field name is echoed back as a path; a huge one is cut.
                let name = if key.len() > 64 {
                    quoted(key)
                } else {
                    key.clone()
                };
                return Err(ConfigError::new(
                    join(&self.path, &name),
                    format!("unknown field; expected one of: {}", expected.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "(document)".to_string()
    } else {
        path.to_string()
    }
}

/// A string for an error message: quoted, escaped, and cut after 40 characters so
/// that a megabyte of garbage does not come back as a megabyte of error.
pub fn quoted(s: &str) -> String {
    const KEEP: usize = 40;
    match s.char_indices().nth(KEEP) {
        None => format!("\"{}\"", s.escape_debug()),
        Some((cut, _)) => format!(
            "\"{}...\" ({} bytes)",
            s.get(..cut).unwrap_or_default().escape_debug(),
            s.len()
        ),
    }
}

/// A short rendering of a bad value for an error message.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", quoted(s)),
        other => kind(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn unknown_fields_are_named() {
        let v = parse_root(r#"{"a": 1, "typo": 2}"#).unwrap();
        let mut o = Obj::new(&v, "").unwrap();
        assert_eq!(o.u64("a").unwrap(), Some(1));
        let e = o.finish().unwrap_err();
        assert_eq!(e.field, "typo");
    }

    #[test]
    fn wrong_types_name_the_path() {
        let v = parse_root(r#"{"policy": {"initial-ms": "fast"}}"#).unwrap();
        let mut root = Obj::new(&v, "").unwrap();
        let mut p = root.object("policy").unwrap().unwrap();
        let e = p.u64("initial-ms").unwrap_err();
        assert_eq!(e.field, "policy.initial-ms");
        assert!(e.message.contains("non-negative integer"), "{}", e.message);
        let e = p.u64_in("initial-ms", 0, 1).unwrap_err();
        assert_eq!(e.field, "policy.initial-ms");
    }

    #[test]
    fn negative_and_fractional_numbers_are_refused() {
        for doc in [r#"{"n": -1}"#, r#"{"n": 1.5}"#, r#"{"n": 1e400}"#] {
            let Ok(v) = parse_root(doc) else { continue };
            let mut o = Obj::new(&v, "").unwrap();
            assert!(o.u64("n").is_err(), "{doc}");
        }
    }

    #[test]
    fn non_objects_and_garbage_are_refused() {
        assert_eq!(parse_root("[1]").unwrap_err().field, "(document)");
        assert_eq!(parse_root("{").unwrap_err().field, "(document)");
        assert_eq!(parse_root("").unwrap_err().field, "(document)");
    }
}
