//! Random configurations, and the values they mean once defaults are applied.
//!
//! A [`Spec`] is what the simulator wrote into the configuration document: every
//! optional field is `None` when left out. [`Spec::effective`] applies the defaults
//! documented in the README (not the component's code), so the checker judges the
//! component by the documentation.

use serde_json::{Map, Value, json};

use super::rng::SimRng;

/// The largest duration a configuration may hold.
pub const MAX_MS: u64 = 1_000_000_000_000;

/// The `kind` of a policy, with its formula fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum KindSpec {
    Exponential {
        initial_ms: Option<u64>,
        /// Thousandths: 2000 is a multiplier of 2.
        multiplier_permille: Option<u32>,
        max_ms: Option<u64>,
        jitter: Option<JitterSpec>,
        first_immediate: Option<bool>,
    },
    Fixed {
        interval_ms: Option<u64>,
        first_ms: Option<u64>,
    },
    Linear {
        initial_ms: Option<u64>,
        step_ms: Option<u64>,
        max_ms: Option<u64>,
    },
    Immediate,
    Random {
        min_ms: Option<u64>,
        max_ms: Option<u64>,
    },
    DecorrelatedJitter {
        base_ms: Option<u64>,
        max_ms: Option<u64>,
    },
    NoRetry,
    /// A preset by name (`azure-c`, `grpc`...).
    Preset(&'static str),
}

/// An exponential curve's jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum JitterSpec {
    Full,
    Equal,
    None,
    Symmetric(Option<u8>),
    Upward(Option<u8>),
    /// Each device at its own phase of the curve (`jitter: "phase"`).
    Phase,
}

/// The presets' names.
pub const PRESETS: [&str; 7] = [
    "azure-c",
    "azure-dotnet",
    "azure-java",
    "azure-node",
    "azure-python",
    "grpc",
    "aws-crt",
];

/// The policy limits, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct LimitsSpec {
    pub max_attempts: Option<u32>,
    pub retry_timeout_ms: Option<u64>,
    pub max_delay_ms: Option<u64>,
    pub min_interval_ms: Option<u64>,
    pub reset_after_ms: Option<u64>,
    pub retry_after_min_ms: Option<u64>,
    pub retry_after_max_ms: Option<u64>,
}

/// The `policy` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicySpec {
    /// The kind and its formula.
    pub kind: KindSpec,
    /// The limits.
    pub limits: LimitsSpec,
    /// A plain throttled curve, when one is written.
    pub throttled: Option<KindSpec>,
}

/// The `provisioning` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ProvisioningSpec {
    pub reprovision_after: Option<u32>,
    pub retry_after_min_ms: Option<u64>,
    pub retry_after_max_ms: Option<u64>,
    pub poll_default_ms: Option<u64>,
}

/// The `credential` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CredentialSpec {
    pub renewable: Option<bool>,
    pub renew_at_percent: Option<u8>,
    pub secret: Option<String>,
    pub lifetime_ms: Option<u64>,
}

/// The `queue` object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct QueueSpec {
    pub capacity: Option<u32>,
    pub max_in_flight: Option<u32>,
    pub operation_timeout_ms: Option<u64>,
    /// `Some(true)`: `reject`; `Some(false)`: `drop-oldest`.
    pub reject: Option<bool>,
    pub max_payload_bytes: Option<u32>,
    pub max_refusals: Option<u32>,
    pub refusal_backoff_ms: Option<u64>,
}

/// A whole configuration document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Spec {
    pub seed: u64,
    pub hub: Option<String>,
    pub device_id: Option<String>,
    pub provisioning: Option<ProvisioningSpec>,
    pub credential: Option<CredentialSpec>,
    pub policy: Option<PolicySpec>,
    pub queue: Option<QueueSpec>,
    pub takeover_retries: Option<u32>,
}

/// The configuration's meaning, every default applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Effective {
    pub hub: Option<String>,
    pub device_id: Option<String>,
    pub provisioning: Option<EffectiveProvisioning>,
    pub renewable: bool,
    pub renew_at_percent: u64,
    pub secret: Option<String>,
    pub lifetime_ms: Option<u64>,
    pub no_retry: bool,
    pub max_attempts: Option<u32>,
    pub retry_timeout_ms: Option<u64>,
    pub max_delay_ms: u64,
    pub min_interval_ms: u64,
    pub reset_after_ms: u64,
    pub retry_after_min_ms: u64,
    pub retry_after_max_ms: u64,
    pub capacity: u64,
    pub max_in_flight: u64,
    pub operation_timeout_ms: Option<u64>,
    pub reject_when_full: bool,
    pub max_payload_bytes: u64,
    pub max_refusals: u32,
    pub refusal_backoff_ms: u64,
    pub takeover_retries: u32,
}

/// The provisioning section's meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct EffectiveProvisioning {
    pub reprovision_after: u32,
    pub retry_after_min_ms: u64,
    pub retry_after_max_ms: u64,
    pub poll_default_ms: u64,
}

impl Spec {
    /// The smallest valid configuration: a hub and a seed.
    pub fn minimal(seed: u64) -> Self {
        Self {
            seed,
            hub: Some("hub-a".into()),
            device_id: None,
            provisioning: None,
            credential: None,
            policy: None,
            queue: None,
            takeover_retries: None,
        }
    }

    /// A random valid configuration.
    pub fn generate(rng: &mut SimRng) -> Self {
        let seed = rng.next_u64();
        let provisioning = rng.chance(450).then(|| gen_provisioning(rng));
        // Without provisioning a hub is required; with it, a cached hub is optional.
        let hub = if provisioning.is_none() || rng.coin() {
            Some(
                (*rng
                    .pick(&["hub-a", "hub-b.example:8883"])
                    .unwrap_or(&"hub-a"))
                .to_string(),
            )
        } else {
            None
        };
        let device_id = rng.chance(500).then(|| "sensor-17".to_string());
        let credential = rng.chance(700).then(|| gen_credential(rng));
        let policy = rng.chance(900).then(|| gen_policy(rng));
        let queue = rng.chance(800).then(|| gen_queue(rng));
        // Taken from the seed, not drawn, so that the draws of every other field
        // and of the world stay as they were.
        let takeover_retries = seed
            .is_multiple_of(3)
            .then(|| u32::try_from(seed / 3 % 4).unwrap_or(0));
        Self {
            seed,
            hub,
            device_id,
            provisioning,
            credential,
            policy,
            queue,
            takeover_retries,
        }
    }

    /// The configuration document.
    pub fn to_json(&self) -> String {
        let mut doc = Map::new();
        doc.insert("seed".into(), json!(self.seed));
        put(&mut doc, "hub", self.hub.clone());
        put(&mut doc, "device-id", self.device_id.clone());
        if let Some(p) = &self.provisioning {
            let mut o = Map::new();
            put(&mut o, "reprovision-after", p.reprovision_after);
            put(&mut o, "retry-after-min-ms", p.retry_after_min_ms);
            put(&mut o, "retry-after-max-ms", p.retry_after_max_ms);
            put(&mut o, "poll-default-ms", p.poll_default_ms);
            doc.insert("provisioning".into(), Value::Object(o));
        }
        if let Some(c) = &self.credential {
            let mut o = Map::new();
            put(&mut o, "renewable", c.renewable);
            put(&mut o, "renew-at-percent", c.renew_at_percent);
            put(&mut o, "secret", c.secret.clone());
            put(&mut o, "lifetime-ms", c.lifetime_ms);
            doc.insert("credential".into(), Value::Object(o));
        }
        if let Some(p) = &self.policy {
            let mut o = Map::new();
            kind_fields(&mut o, &p.kind);
            let l = &p.limits;
            put(&mut o, "max-attempts", l.max_attempts);
            put(&mut o, "retry-timeout-ms", l.retry_timeout_ms);
            put(&mut o, "max-delay-ms", l.max_delay_ms);
            put(&mut o, "min-interval-ms", l.min_interval_ms);
            put(&mut o, "reset-after-ms", l.reset_after_ms);
            put(&mut o, "retry-after-min-ms", l.retry_after_min_ms);
            put(&mut o, "retry-after-max-ms", l.retry_after_max_ms);
            if let Some(t) = &p.throttled {
                let mut t_obj = Map::new();
                kind_fields(&mut t_obj, t);
                o.insert("throttled".into(), Value::Object(t_obj));
            }
            doc.insert("policy".into(), Value::Object(o));
        }
        if let Some(q) = &self.queue {
            let mut o = Map::new();
            put(&mut o, "capacity", q.capacity);
            put(&mut o, "max-in-flight", q.max_in_flight);
            put(&mut o, "operation-timeout-ms", q.operation_timeout_ms);
            put(
                &mut o,
                "when-full",
                q.reject
                    .map(|r| if r { "reject" } else { "drop-oldest" }.to_string()),
            );
            put(&mut o, "max-payload-bytes", q.max_payload_bytes);
            put(&mut o, "max-refusals", q.max_refusals);
            put(&mut o, "refusal-backoff-ms", q.refusal_backoff_ms);
            doc.insert("queue".into(), Value::Object(o));
        }
        if let Some(n) = self.takeover_retries {
            doc.insert("takeover-retries".into(), n.into());
        }
        Value::Object(doc).to_string()
    }

    /// The configuration's meaning, with the README's defaults.
    pub fn effective(&self) -> Effective {
        let cred = self.credential.clone().unwrap_or_default();
        let queue = self.queue.clone().unwrap_or_default();
        let kind = self.policy.as_ref().map(|p| &p.kind);
        let limits = self
            .policy
            .as_ref()
            .map(|p| p.limits.clone())
            .unwrap_or_default();
        let preset = match kind {
            Some(KindSpec::Preset(name)) => Some(*name),
            _ => None,
        };
        let capacity = u64::from(queue.capacity.unwrap_or(64));
        Effective {
            hub: self.hub.clone(),
            device_id: self.device_id.clone(),
            provisioning: self.provisioning.as_ref().map(|p| EffectiveProvisioning {
                reprovision_after: p.reprovision_after.unwrap_or(10),
                retry_after_min_ms: p.retry_after_min_ms.unwrap_or(2_000),
                retry_after_max_ms: p.retry_after_max_ms.unwrap_or(300_000),
                poll_default_ms: p.poll_default_ms.unwrap_or(2_000),
            }),
            renewable: cred.renewable.unwrap_or(false),
            renew_at_percent: u64::from(cred.renew_at_percent.unwrap_or(80)),
            secret: cred.secret,
            lifetime_ms: cred.lifetime_ms,
            no_retry: matches!(kind, Some(KindSpec::NoRetry)),
            max_attempts: limits.max_attempts,
            retry_timeout_ms: limits.retry_timeout_ms,
            max_delay_ms: limits.max_delay_ms.unwrap_or(match preset {
                Some("grpc") => 144_000,
                Some("aws-crt") => 120_000,
                _ => 3_600_000,
            }),
            min_interval_ms: limits.min_interval_ms.unwrap_or(match preset {
                Some("azure-dotnet") => 1_000,
                _ => 0,
            }),
            reset_after_ms: limits.reset_after_ms.unwrap_or(30_000),
            retry_after_min_ms: limits.retry_after_min_ms.unwrap_or(1_000),
            retry_after_max_ms: limits.retry_after_max_ms.unwrap_or(600_000),
            capacity,
            max_in_flight: queue.max_in_flight.map_or(16.min(capacity), u64::from),
            operation_timeout_ms: queue.operation_timeout_ms,
            reject_when_full: queue.reject.unwrap_or(false),
            max_payload_bytes: u64::from(queue.max_payload_bytes.unwrap_or(262_144)),
            max_refusals: queue.max_refusals.unwrap_or(5),
            refusal_backoff_ms: queue.refusal_backoff_ms.unwrap_or(1_000),
            takeover_retries: self.takeover_retries.unwrap_or(3),
        }
    }
}

fn put<T: Into<Value>>(o: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        o.insert(key.into(), v.into());
    }
}

fn kind_fields(o: &mut Map<String, Value>, kind: &KindSpec) {
    let name = match kind {
        KindSpec::Exponential {
            initial_ms,
            multiplier_permille,
            max_ms,
            jitter,
            first_immediate,
        } => {
            put(o, "initial-ms", *initial_ms);
            if let Some(m) = multiplier_permille {
                // Thousandths as a decimal number, written exactly (no float noise).
                let text = format!("{}.{:03}", m / 1000, m % 1000);
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    o.insert("multiplier".into(), v);
                }
            }
            put(o, "max-ms", *max_ms);
            if let Some(j) = jitter {
                let (name, percent) = match j {
                    JitterSpec::Full => ("full", None),
                    JitterSpec::Equal => ("equal", None),
                    JitterSpec::None => ("none", None),
                    JitterSpec::Symmetric(p) => ("symmetric", *p),
                    JitterSpec::Upward(p) => ("upward", *p),
                    JitterSpec::Phase => ("phase", None),
                };
                o.insert("jitter".into(), name.into());
                put(o, "jitter-percent", percent);
            }
            put(o, "first-immediate", *first_immediate);
            "exponential"
        }
        KindSpec::Fixed {
            interval_ms,
            first_ms,
        } => {
            put(o, "interval-ms", *interval_ms);
            put(o, "first-ms", *first_ms);
            "fixed"
        }
        KindSpec::Linear {
            initial_ms,
            step_ms,
            max_ms,
        } => {
            put(o, "initial-ms", *initial_ms);
            put(o, "step-ms", *step_ms);
            put(o, "max-ms", *max_ms);
            "linear"
        }
        KindSpec::Immediate => "immediate",
        KindSpec::Random { min_ms, max_ms } => {
            put(o, "min-ms", *min_ms);
            put(o, "max-ms", *max_ms);
            "random"
        }
        KindSpec::DecorrelatedJitter { base_ms, max_ms } => {
            put(o, "base-ms", *base_ms);
            put(o, "max-ms", *max_ms);
            "decorrelated-jitter"
        }
        KindSpec::NoRetry => "no-retry",
        KindSpec::Preset(name) => name,
    };
    o.insert("kind".into(), name.into());
}

/// An optional duration, drawn wide.
fn opt_ms(rng: &mut SimRng, permille: u64, typical: u64) -> Option<u64> {
    rng.chance(permille)
        .then(|| rng.duration_ms(typical, MAX_MS))
}

/// Two ordered optional bounds, each with its default.
fn ordered_pair(
    rng: &mut SimRng,
    lo_default: u64,
    hi_default: u64,
    lo_min: u64,
    typical: u64,
) -> (Option<u64>, Option<u64>) {
    let lo = rng
        .chance(500)
        .then(|| rng.duration_ms(typical, MAX_MS).max(lo_min));
    let hi = rng.chance(500).then(|| rng.duration_ms(typical, MAX_MS));
    let lo_value = lo.unwrap_or(lo_default);
    let hi_value = hi.unwrap_or(hi_default);
    // An upper bound left to its default is only trusted below 50 s, so that a
    // default that moves a little does not make the document invalid.
    let safe = hi.is_some() || lo.is_none() || lo_value <= hi_default.min(50_000);
    if lo_value <= hi_value && safe {
        return (lo, hi);
    }
    // Out of order: repair by raising the upper bound (always written then).
    (lo, Some(lo_value))
}

fn gen_kind(rng: &mut SimRng, throttled: bool) -> KindSpec {
    let choices = if throttled { 6 } else { 8 };
    match rng.below(choices) {
        0 => {
            // The README's defaults: 1 s (throttled 5 s) up to 55 s.
            let (initial_ms, max_ms) = if throttled {
                ordered_pair(rng, 5_000, 55_000, 1, 10_000)
            } else {
                ordered_pair(rng, 1_000, 55_000, 1, 10_000)
            };
            let jitter = rng.chance(600).then(|| {
                let percent = rng
                    .chance(500)
                    .then(|| u8::try_from(rng.range(0, 100)).unwrap_or(100));
                match rng.below(6) {
                    0 => JitterSpec::Full,
                    1 => JitterSpec::Equal,
                    2 => JitterSpec::None,
                    3 => JitterSpec::Symmetric(percent),
                    4 => JitterSpec::Upward(percent),
                    _ => JitterSpec::Phase,
                }
            });
            KindSpec::Exponential {
                initial_ms,
                multiplier_permille: rng
                    .chance(500)
                    .then(|| u32::try_from(rng.range(1_000, 10_000)).unwrap_or(2_000)),
                max_ms,
                jitter,
                first_immediate: rng.chance(300).then(|| rng.coin()),
            }
        }
        1 => KindSpec::Fixed {
            interval_ms: opt_ms(rng, 700, 20_000),
            first_ms: opt_ms(rng, 400, 5_000),
        },
        2 => {
            let (initial_ms, max_ms) = ordered_pair(rng, 1_000, 60_000, 0, 10_000);
            KindSpec::Linear {
                initial_ms,
                step_ms: opt_ms(rng, 600, 5_000),
                max_ms,
            }
        }
        3 => KindSpec::Immediate,
        4 => {
            let (min_ms, max_ms) = ordered_pair(rng, 0, 10_000, 0, 10_000);
            KindSpec::Random { min_ms, max_ms }
        }
        5 => {
            let (base_ms, max_ms) = ordered_pair(rng, 1_000, 60_000, 1, 10_000);
            KindSpec::DecorrelatedJitter { base_ms, max_ms }
        }
        6 => KindSpec::NoRetry,
        _ => KindSpec::Preset(rng.pick(&PRESETS).copied().unwrap_or("grpc")),
    }
}

fn gen_policy(rng: &mut SimRng) -> PolicySpec {
    // No-retry is rare: it ends most runs at the first failure.
    let mut kind = gen_kind(rng, false);
    if kind == KindSpec::NoRetry && rng.coin() {
        kind = KindSpec::Immediate;
    }
    let (retry_after_min_ms, retry_after_max_ms) = ordered_pair(rng, 1_000, 600_000, 0, 20_000);
    let limits = LimitsSpec {
        max_attempts: rng.chance(300).then(|| {
            let n = rng.duration_ms(20, u64::from(u32::MAX)).max(1);
            u32::try_from(n).unwrap_or(u32::MAX)
        }),
        retry_timeout_ms: rng
            .chance(300)
            .then(|| rng.duration_ms(600_000, MAX_MS).max(1)),
        max_delay_ms: opt_ms(rng, 400, 60_000),
        min_interval_ms: opt_ms(rng, 250, 5_000),
        reset_after_ms: opt_ms(rng, 300, 60_000),
        retry_after_min_ms,
        retry_after_max_ms,
    };
    let throttled = match kind {
        KindSpec::Preset(_) | KindSpec::NoRetry => None,
        _ => rng.chance(300).then(|| gen_kind(rng, true)),
    };
    PolicySpec {
        kind,
        limits,
        throttled,
    }
}

fn gen_provisioning(rng: &mut SimRng) -> ProvisioningSpec {
    let reprovision_after = rng.chance(700).then(|| {
        let n = if rng.chance(950) {
            rng.range(1, 12)
        } else {
            u64::from(u32::MAX)
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    });
    let (retry_after_min_ms, retry_after_max_ms) = ordered_pair(rng, 2_000, 300_000, 0, 20_000);
    ProvisioningSpec {
        reprovision_after,
        retry_after_min_ms,
        retry_after_max_ms,
        poll_default_ms: opt_ms(rng, 300, 5_000),
    }
}

fn gen_credential(rng: &mut SimRng) -> CredentialSpec {
    let secret = rng.chance(500).then(|| "sas-0".to_string());
    let lifetime_ms = match &secret {
        Some(_) if rng.chance(600) => Some(rng.duration_ms(3_600_000, MAX_MS).max(1)),
        _ => None,
    };
    CredentialSpec {
        renewable: rng.chance(800).then(|| rng.chance(800)),
        renew_at_percent: rng
            .chance(300)
            .then(|| u8::try_from(rng.range(1, 99)).unwrap_or(80)),
        secret,
        lifetime_ms,
    }
}

fn gen_queue(rng: &mut SimRng) -> QueueSpec {
    let capacity = rng.chance(700).then(|| {
        let c = if rng.chance(900) {
            rng.range(1, 12)
        } else {
            rng.range(1, 1_000_000)
        };
        u32::try_from(c).unwrap_or(1)
    });
    let cap = u64::from(capacity.unwrap_or(64));
    let max_in_flight = rng
        .chance(600)
        .then(|| u32::try_from(rng.range(1, cap.min(65_535))).unwrap_or(1));
    QueueSpec {
        capacity,
        max_in_flight,
        operation_timeout_ms: opt_ms(rng, 500, 60_000).map(|t| t.max(1)),
        reject: rng.chance(600).then(|| rng.coin()),
        max_payload_bytes: rng
            .chance(300)
            .then(|| u32::try_from(rng.range(1, 64)).unwrap_or(1)),
        max_refusals: rng
            .chance(400)
            .then(|| u32::try_from(rng.range(1, 6)).unwrap_or(1)),
        refusal_backoff_ms: rng.chance(400).then(|| rng.range(0, 5_000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_json_and_defaults_follow_the_readme() {
        let e = Spec::minimal(3).effective();
        assert_eq!(
            (e.max_delay_ms, e.capacity, e.max_in_flight),
            (3_600_000, 64, 16)
        );
        let mut rng = SimRng::new(1);
        for _ in 0..200 {
            let spec = Spec::generate(&mut rng);
            let doc: Value = serde_json::from_str(&spec.to_json()).unwrap_or(Value::Null);
            assert!(doc.is_object(), "{}", spec.to_json());
        }
    }
}
