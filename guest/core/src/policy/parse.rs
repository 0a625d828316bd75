//! Reading the JSON `policy` object into a validated [`PolicyConfig`]; every
//! error names the offending field's path.

use alloc::format;
use alloc::string::String;
use serde_json::Value;

use crate::json::Obj;
use crate::types::{ConfigError, Millis};

use super::formula::{
    DECORRELATED_BASE_MS, DECORRELATED_MAX_MS, DEFAULT_JITTER_PERCENT, Exponential,
    FIXED_INTERVAL_MS, Formula, Jitter, LINEAR_INITIAL_MS, LINEAR_MAX_MS, LINEAR_STEP_MS,
    RANDOM_MAX_MS, RANDOM_MIN_MS,
};
use super::presets::NodeCurve;
use super::{Kind, Limits, MAX_MS, PLUGIN_NAME_MAX, PLUGIN_PARAMS_MAX, PluginSpec, PolicyConfig};

const MIN_MULTIPLIER_PERMILLE: u32 = 1_000;
const MAX_MULTIPLIER_PERMILLE: u32 = 10_000;
const DEFAULT_QUARANTINE_AFTER: u32 = 3;
const MAX_QUARANTINE_AFTER: u32 = 1_000;

/// Every field that parameterises a formula (as opposed to a limit). Presets and
/// `no-retry` refuse them all.
const FORMULA_FIELDS: [&str; 11] = [
    "initial-ms",
    "multiplier",
    "max-ms",
    "jitter",
    "jitter-percent",
    "first-immediate",
    "interval-ms",
    "first-ms",
    "step-ms",
    "min-ms",
    "base-ms",
];

/// Every limit field. The nested `throttled` curve refuses them all.
pub(super) const LIMIT_FIELDS: [&str; 8] = [
    "max-attempts",
    "retry-timeout-ms",
    "max-delay-ms",
    "min-interval-ms",
    "reset-after-ms",
    "retry-after-min-ms",
    "retry-after-max-ms",
    "throttled",
];

pub(super) const PLAIN_NAMES: [&str; 6] = [
    "exponential",
    "fixed",
    "linear",
    "immediate",
    "random",
    "decorrelated-jitter",
];

const KIND_NAMES: [&str; 14] = [
    "exponential",
    "fixed",
    "linear",
    "immediate",
    "random",
    "decorrelated-jitter",
    "no-retry",
    "azure-c",
    "azure-dotnet",
    "azure-java",
    "azure-node",
    "azure-python",
    "grpc",
    "aws-crt",
];

/// Every value the `kind` field accepts: the plain kinds, `no-retry`, then the
/// presets (the same names as [`preset_names`](super::preset_names)).
pub fn kind_names() -> &'static [&'static str] {
    &KIND_NAMES
}

/// What the `kind` field selected.
#[derive(Clone, Copy)]
enum Sel {
    Plain(Plain),
    Preset(&'static str, Formula),
    NoRetry,
    Custom,
}

#[derive(Clone, Copy)]
enum Plain {
    Exponential,
    Fixed,
    Linear,
    Immediate,
    Random,
    DecorrelatedJitter,
}

/// Which curve is being parsed: the throttled curve has its own exponential
/// defaults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Normal,
    Throttled,
}

fn select(name: &str) -> Option<Sel> {
    Some(match name {
        "exponential" => Sel::Plain(Plain::Exponential),
        "fixed" => Sel::Plain(Plain::Fixed),
        "linear" => Sel::Plain(Plain::Linear),
        "immediate" => Sel::Plain(Plain::Immediate),
        "random" => Sel::Plain(Plain::Random),
        "decorrelated-jitter" => Sel::Plain(Plain::DecorrelatedJitter),
        "no-retry" => Sel::NoRetry,
        "azure-c" => Sel::Preset("azure-c", Formula::AzureC),
        "azure-dotnet" => Sel::Preset("azure-dotnet", Formula::AzureDotnet),
        "azure-java" => Sel::Preset("azure-java", Formula::AzureJava),
        "azure-node" => Sel::Preset("azure-node", Formula::AzureNode(NodeCurve::NORMAL)),
        "azure-python" => Sel::Preset("azure-python", Formula::AzurePython),
        "grpc" => Sel::Preset("grpc", Formula::Grpc),
        "aws-crt" => Sel::Preset("aws-crt", Formula::AwsCrt),
        "custom" => Sel::Custom,
        _ => return None,
    })
}

/// Read a `policy` object (found at `path`, for example `"policy"`) into a
/// validated [`PolicyConfig`]. Every error names the offending field's path; unknown
/// fields are refused.
pub fn parse_policy(v: &Value, path: &str) -> Result<PolicyConfig, ConfigError> {
    let mut o = Obj::new(v, path)?;
    let kind = match read_kind(&mut o)? {
        Sel::Custom => return parse_custom(o),
        Sel::NoRetry => {
            refuse_formula_fields(v, &o, "kind \"no-retry\" has no formula parameters")?;
            Kind::NoRetry
        }
        Sel::Preset(name, formula) => {
            refuse_formula_fields(
                v,
                &o,
                &format!(
                    "preset \"{name}\" has a fixed formula; only limits ({}) may be set",
                    LIMIT_FIELDS.join(", ")
                ),
            )?;
            Kind::Retry(formula)
        }
        Sel::Plain(plain) => Kind::Retry(read_formula(&mut o, plain, Ctx::Normal)?),
    };
    let limits = read_limits(&mut o, &kind)?;
    let throttled_path = o.field_path("throttled");
    let throttled = match o.get("throttled") {
        Some(t) => read_throttled(t, &throttled_path)?,
        None => match kind {
            Kind::Retry(Formula::AzureNode(_)) => Formula::AzureNode(NodeCurve::THROTTLED),
            _ => Formula::Exponential(Exponential::THROTTLED_DEFAULT),
        },
    };
    o.finish()?;
    Ok(PolicyConfig {
        kind,
        throttled,
        limits,
        plugin: None,
        curves: Default::default(),
    })
}

/// Kind `custom`: a plugin, its `params`, a built-in `fallback` without limits,
/// and the limits of the whole policy next to them.
fn parse_custom(mut o: Obj) -> Result<PolicyConfig, ConfigError> {
    let plugin = match o.str("plugin")? {
        None => {
            return Err(o.error(
                "plugin",
                "kind \"custom\" needs the plugin component to run (a path to a .wasm file)",
            ));
        }
        Some("") => return Err(o.error("plugin", "must not be empty")),
        Some(p) if p.len() > PLUGIN_NAME_MAX => {
            return Err(o.error(
                "plugin",
                format!("must be at most {PLUGIN_NAME_MAX} bytes, got {}", p.len()),
            ));
        }
        Some(p) => String::from(p),
    };
    let params = match o.get("params") {
        None => String::from("{}"),
        Some(v @ Value::Object(_)) => serde_json::to_string(v)
            .map_err(|_| o.error("params", "could not be written back as JSON"))?,
        Some(other) => {
            return Err(o.error(
                "params",
                format!("expected an object, got {}", crate::json::describe(other)),
            ));
        }
    };
    if params.len() > PLUGIN_PARAMS_MAX {
        return Err(o.error(
            "params",
            format!(
                "must be at most {PLUGIN_PARAMS_MAX} bytes as compact JSON, got {}",
                params.len()
            ),
        ));
    }
    let quarantine_after = o
        .u32_in("quarantine-after", 1, MAX_QUARANTINE_AFTER)?
        .unwrap_or(DEFAULT_QUARANTINE_AFTER);
    let fallback_path = o.field_path("fallback");
    let fallback = match o.get("fallback") {
        None => PolicyConfig::default(),
        Some(f) => {
            if let Some(map) = f.as_object() {
                let limits = LIMIT_FIELDS.iter().filter(|l| **l != "throttled");
                if let Some(field) = limits.clone().find(|l| map.contains_key(**l)) {
                    return Err(ConfigError::new(
                        crate::json::join(&fallback_path, field),
                        "limits apply to the whole custom policy: set them next to \"plugin\", not inside the fallback",
                    ));
                }
                if map.get("kind").and_then(Value::as_str) == Some("custom") {
                    return Err(ConfigError::new(
                        crate::json::join(&fallback_path, "kind"),
                        "the fallback must be a built-in policy, not another plugin",
                    ));
                }
            }
            parse_policy(f, &fallback_path)?
        }
    };
    let limits = read_limits(&mut o, &fallback.kind)?;
    o.finish()?;
    Ok(PolicyConfig {
        kind: fallback.kind,
        throttled: fallback.throttled,
        limits,
        plugin: Some(PluginSpec {
            plugin,
            params,
            quarantine_after,
        }),
        curves: Default::default(),
    })
}

fn read_kind(o: &mut Obj) -> Result<Sel, ConfigError> {
    let Some(name) = o.str("kind")? else {
        return Ok(Sel::Plain(Plain::Exponential));
    };
    select(name).ok_or_else(|| {
        o.error(
            "kind",
            format!(
                "unknown kind {}; expected one of: {}, custom",
                crate::json::quoted(name),
                KIND_NAMES.join(", ")
            ),
        )
    })
}

/// Refuse formula parameters where the formula is fixed, naming the first one.
fn refuse_formula_fields(v: &Value, o: &Obj, message: &str) -> Result<(), ConfigError> {
    let Some(map) = v.as_object() else {
        return Ok(());
    };
    // Even a null is refused here: the field cannot mean anything for this kind.
    match FORMULA_FIELDS.iter().find(|f| map.contains_key(**f)) {
        Some(field) => Err(o.error(field, message)),
        None => Ok(()),
    }
}

fn read_throttled(v: &Value, path: &str) -> Result<Formula, ConfigError> {
    let mut t = Obj::new(v, path)?;
    if let Some(map) = v.as_object()
        && let Some(field) = LIMIT_FIELDS.iter().find(|f| map.contains_key(**f))
    {
        return Err(t.error(
            field,
            "limits apply to the whole policy: set them next to \"throttled\", not inside it",
        ));
    }
    let formula = match read_kind(&mut t)? {
        Sel::Plain(plain) => read_formula(&mut t, plain, Ctx::Throttled)?,
        Sel::Preset(..) | Sel::NoRetry | Sel::Custom => {
            return Err(t.error(
                "kind",
                format!(
                    "the throttled curve must be one of: {}; presets and no-retry are not allowed",
                    PLAIN_NAMES.join(", ")
                ),
            ));
        }
    };
    t.finish()?;
    Ok(formula)
}

/// An optional duration, at most [`MAX_MS`].
fn ms(o: &mut Obj, field: &'static str) -> Result<Option<Millis>, ConfigError> {
    match o.u64(field)? {
        Some(v) if v > MAX_MS.as_ms() => Err(o.error(
            field,
            format!("must be at most {MAX_MS} ms (about 31 years), got {v}"),
        )),
        other => Ok(other.map(Millis::from_ms)),
    }
}

/// An optional duration that must be at least 1 ms when present.
fn positive_ms(o: &mut Obj, field: &'static str, why: &str) -> Result<Option<Millis>, ConfigError> {
    match ms(o, field)? {
        Some(Millis::ZERO) => Err(o.error(field, format!("must be at least 1 ms; {why}"))),
        other => Ok(other),
    }
}

/// A lower and an upper bound that must be in order, each with its default. The
/// error names the field the user wrote: the upper one, unless only the lower one
/// was set.
fn ordered(
    o: &Obj,
    lo: (&str, Option<Millis>, Millis),
    hi: (&str, Option<Millis>, Millis),
) -> Result<(Millis, Millis), ConfigError> {
    let (lo_name, lo_set, lo_default) = lo;
    let (hi_name, hi_set, hi_default) = hi;
    let lo_value = lo_set.unwrap_or(lo_default);
    let hi_value = hi_set.unwrap_or(hi_default);
    if lo_value <= hi_value {
        return Ok((lo_value, hi_value));
    }
    let note = |set: Option<Millis>| if set.is_some() { "" } else { ", the default" };
    let message = format!(
        "{hi_name} ({hi_value}{}) must not be less than {lo_name} ({lo_value}{})",
        note(hi_set),
        note(lo_set)
    );
    let field = if hi_set.is_some() || lo_set.is_none() {
        hi_name
    } else {
        lo_name
    };
    Err(o.error(field, message))
}

fn read_formula(o: &mut Obj, plain: Plain, ctx: Ctx) -> Result<Formula, ConfigError> {
    Ok(match plain {
        Plain::Exponential => Formula::Exponential(read_exponential(o, ctx)?),
        Plain::Fixed => Formula::Fixed {
            interval_ms: ms(o, "interval-ms")?.unwrap_or(FIXED_INTERVAL_MS),
            first_ms: ms(o, "first-ms")?,
        },
        Plain::Linear => {
            let initial = ms(o, "initial-ms")?;
            let step_ms = ms(o, "step-ms")?.unwrap_or(LINEAR_STEP_MS);
            let max = ms(o, "max-ms")?;
            let (initial_ms, max_ms) = ordered(
                o,
                ("initial-ms", initial, LINEAR_INITIAL_MS),
                ("max-ms", max, LINEAR_MAX_MS),
            )?;
            Formula::Linear {
                initial_ms,
                step_ms,
                max_ms,
            }
        }
        Plain::Immediate => Formula::Immediate,
        Plain::Random => {
            let min = ms(o, "min-ms")?;
            let max = ms(o, "max-ms")?;
            let (min_ms, max_ms) = ordered(
                o,
                ("min-ms", min, RANDOM_MIN_MS),
                ("max-ms", max, RANDOM_MAX_MS),
            )?;
            Formula::Random { min_ms, max_ms }
        }
        Plain::DecorrelatedJitter => {
            let base = positive_ms(o, "base-ms", "use kind \"immediate\" for no wait")?;
            let max = ms(o, "max-ms")?;
            let (base_ms, max_ms) = ordered(
                o,
                ("base-ms", base, DECORRELATED_BASE_MS),
                ("max-ms", max, DECORRELATED_MAX_MS),
            )?;
            Formula::DecorrelatedJitter { base_ms, max_ms }
        }
    })
}

fn read_exponential(o: &mut Obj, ctx: Ctx) -> Result<Exponential, ConfigError> {
    let defaults = match ctx {
        Ctx::Normal => Exponential::DEFAULT,
        Ctx::Throttled => Exponential::THROTTLED_DEFAULT,
    };
    let initial = positive_ms(o, "initial-ms", "use kind \"immediate\" for no wait")?;
    let multiplier_permille = read_multiplier(o)?.unwrap_or(defaults.multiplier_permille);
    let max = ms(o, "max-ms")?;
    let (initial_ms, max_ms) = ordered(
        o,
        ("initial-ms", initial, defaults.initial_ms),
        ("max-ms", max, defaults.max_ms),
    )?;
    let jitter_name = o.str("jitter")?;
    let percent = o
        .u64_in("jitter-percent", 0, 100)?
        .map(|p| u8::try_from(p).unwrap_or(100));
    let spread = percent.unwrap_or(DEFAULT_JITTER_PERCENT);
    let jitter = match jitter_name {
        None => defaults.jitter,
        Some("full") => Jitter::Full,
        Some("equal") => Jitter::Equal,
        Some("none") => Jitter::None,
        Some("symmetric") => Jitter::Symmetric { percent: spread },
        Some("upward") => Jitter::Upward { percent: spread },
        Some("phase") => Jitter::Phase,
        Some(other) => {
            return Err(o.error(
                "jitter",
                format!(
                    "unknown jitter {}; expected one of: full, equal, none, symmetric, upward, phase",
                    crate::json::quoted(other)
                ),
            ));
        }
    };
    if percent.is_some() && !matches!(jitter, Jitter::Symmetric { .. } | Jitter::Upward { .. }) {
        return Err(o.error(
            "jitter-percent",
            "applies only to jitter \"symmetric\" or \"upward\"",
        ));
    }
    let first_immediate = o
        .bool("first-immediate")?
        .unwrap_or(defaults.first_immediate);
    Ok(Exponential {
        initial_ms,
        multiplier_permille,
        max_ms,
        jitter,
        first_immediate,
    })
}

/// The multiplier is the one fractional field: read as a JSON number, checked, and
/// stored in thousandths so that no float survives parsing.
fn read_multiplier(o: &mut Obj) -> Result<Option<u32>, ConfigError> {
    let Some(m) = o.number("multiplier")? else {
        return Ok(None);
    };
    let lo = f64::from(MIN_MULTIPLIER_PERMILLE) / 1000.0;
    let hi = f64::from(MAX_MULTIPLIER_PERMILLE) / 1000.0;
    if !(lo..=hi).contains(&m) {
        return Err(o.error(
            "multiplier",
            format!("must be between {lo} and {hi}, got {m}"),
        ));
    }
    // In [1000.5, 10000.5] by the check above, so the cast neither saturates nor
    // loses anything but the sub-permille digits, which are documented as rounded.
    let permille = (m * 1000.0 + 0.5) as u32;
    Ok(Some(
        permille.clamp(MIN_MULTIPLIER_PERMILLE, MAX_MULTIPLIER_PERMILLE),
    ))
}

fn read_limits(o: &mut Obj, kind: &Kind) -> Result<Limits, ConfigError> {
    let defaults = Limits::default_for(kind);
    let max_attempts = match o.u64("max-attempts")? {
        None => None,
        Some(0) => {
            return Err(o.error(
                "max-attempts",
                "must be at least 1; omit it for no limit, or use kind \"no-retry\" never to retry",
            ));
        }
        Some(n) => Some(u32::try_from(n).map_err(|_| {
            o.error(
                "max-attempts",
                format!("must be at most {}, got {n}", u32::MAX),
            )
        })?),
    };
    let retry_timeout_ms = positive_ms(
        o,
        "retry-timeout-ms",
        "omit it for no limit (0 does not mean unlimited here)",
    )?;
    let max_delay_ms = ms(o, "max-delay-ms")?.unwrap_or(defaults.max_delay_ms);
    let min_interval_ms = ms(o, "min-interval-ms")?.unwrap_or(defaults.min_interval_ms);
    let reset_after_ms = ms(o, "reset-after-ms")?.unwrap_or(defaults.reset_after_ms);
    let ra_min = ms(o, "retry-after-min-ms")?;
    let ra_max = ms(o, "retry-after-max-ms")?;
    let (retry_after_min_ms, retry_after_max_ms) = ordered(
        o,
        ("retry-after-min-ms", ra_min, defaults.retry_after_min_ms),
        ("retry-after-max-ms", ra_max, defaults.retry_after_max_ms),
    )?;
    Ok(Limits {
        max_attempts,
        retry_timeout_ms,
        max_delay_ms,
        min_interval_ms,
        reset_after_ms,
        retry_after_min_ms,
        retry_after_max_ms,
    })
}
