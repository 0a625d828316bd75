//! A storm scenario: the fleet, the outage, the hub and the provisioning service,
//! as one JSON document (`examples/scenarios/*.json`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use tether_host::Failure;
use tether_host::syntax::parse_failure;

/// What a refusal tells the device about when to come back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetryAfter {
    /// Nothing: the device falls back on its own curve.
    #[default]
    None,
    /// The time of the device's place in the queue: every refusal takes the next
    /// free slot (one per `1 / capacity` seconds) after the current second, and is
    /// told how long until that slot, rounded up to the granularity.
    Queue,
    /// Always the same value, `retry-after-ms`.
    Fixed,
}

/// What the hub's refusals carry, as `tether simulate --hints` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hints {
    /// MQTT 3.1.1 CONNACK 3 (server unavailable), nothing else.
    None,
    /// MQTT 5 0x9F (connection rate exceeded) with a retry-after from the hub's
    /// queue.
    RetryAfter,
    /// MQTT 5 0x9F (connection rate exceeded), no retry-after.
    ReasonCode,
}

impl Hints {
    /// Set `hub`'s refusal and retry-after to these hints.
    pub fn apply(self, hub: &mut HubModel) {
        let (refusal, retry_after) = match self {
            Hints::None => ("mqtt311:3", RetryAfter::None),
            Hints::RetryAfter => ("mqtt5:0x9F", RetryAfter::Queue),
            Hints::ReasonCode => ("mqtt5:0x9F", RetryAfter::None),
        };
        hub.refusal = refusal.into();
        hub.retry_after = retry_after;
    }

    /// The name on the command line and in grid labels.
    pub fn name(self) -> &'static str {
        match self {
            Hints::None => "none",
            Hints::RetryAfter => "retry-after",
            Hints::ReasonCode => "reason-code",
        }
    }
}

/// The hub: a connection rate limit, and what it answers.
///
/// # Defaults
/// 2,000 connections admitted per second (in whole seconds counted from the
/// hub's return), answers after 100 ms plus up to 20 ms of network jitter;
/// refusals are MQTT 3.1.1 CONNACK 3 (server unavailable) with no retry-after;
/// retry-after values in whole seconds; refusals cost the hub nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct HubModel {
    /// Connections admitted per second; `null` for no limit.
    pub capacity_per_s: Option<u32>,
    /// Latency of every answer.
    pub latency_ms: u64,
    /// Up to this much more latency, uniformly (the network's jitter).
    pub latency_jitter_ms: u64,
    /// The failure an attempt beyond the capacity gets (`tether classify` syntax).
    pub refusal: String,
    /// The hint a refusal carries.
    pub retry_after: RetryAfter,
    /// The value of a `fixed` retry-after.
    pub retry_after_ms: u64,
    /// Retry-after values are rounded up to a multiple of this (HTTP's
    /// `Retry-After` counts whole seconds).
    pub retry_after_granularity_ms: u64,
    /// The hub's work for a refused attempt, as a share of an admission's (a
    /// refused TLS handshake still costs it): work beyond a second's capacity
    /// carries into the next seconds, which admit less. 0 to 1000.
    pub refusal_cost: f64,
}

impl Default for HubModel {
    fn default() -> Self {
        Self {
            capacity_per_s: Some(2_000),
            latency_ms: 100,
            latency_jitter_ms: 20,
            refusal: "mqtt311:3".into(),
            retry_after: RetryAfter::None,
            retry_after_ms: 10_000,
            retry_after_granularity_ms: 1_000,
            refusal_cost: 0.0,
        }
    }
}

/// The outage: every link drops at t = 0 and the hub is unreachable for a while.
///
/// # Defaults
/// 60 s; links drop with `net:reset`; attempts meanwhile fail with `net:refused`
/// after 100 ms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Outage {
    /// How long the hub is gone.
    pub duration_ms: u64,
    /// What the devices see when their link drops.
    pub drop: String,
    /// What an attempt during the outage gets.
    pub failure: String,
    /// How long that takes.
    pub latency_ms: u64,
}

impl Default for Outage {
    fn default() -> Self {
        Self {
            duration_ms: 60_000,
            drop: "net:reset".into(),
            failure: "net:refused".into(),
            latency_ms: 100,
        }
    }
}

/// The provisioning service (DPS): devices configured with it register again
/// after `reprovision-after` failed reconnects, and each registration costs.
///
/// # Defaults
/// 1,000 registrations a minute (about 17 per second: one DPS unit), answers after
/// 500 ms; refusals are HTTP 429 with the queue's retry-after; a registration
/// costs 0.1 (currency units per 1,000: DPS bills per operation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Provisioning {
    /// Registrations admitted per second; `null` for no limit.
    pub capacity_per_s: Option<u32>,
    /// Latency of every answer.
    pub latency_ms: u64,
    /// The failure a registration beyond the capacity gets.
    pub refusal: String,
    /// The hint a refusal carries.
    pub retry_after: RetryAfter,
    /// The value of a `fixed` retry-after.
    pub retry_after_ms: u64,
    /// Cost of one accepted registration.
    pub cost_per_registration: f64,
    /// The device's `provisioning` configuration section.
    pub device_config: Value,
}

impl Default for Provisioning {
    fn default() -> Self {
        Self {
            capacity_per_s: Some(17),
            latency_ms: 500,
            refusal: "http:429".into(),
            retry_after: RetryAfter::Queue,
            retry_after_ms: 2_000,
            cost_per_registration: 0.0001,
            device_config: Value::Object(serde_json::Map::new()),
        }
    }
}

/// One policy to run the storm with: a name for the table and a `policy` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// The name in the table, the JSON and the chart.
    pub name: String,
    /// The `policy` object of each device's configuration, handed to the
    /// component unchanged.
    pub policy: Value,
    /// Give every device a `fleet` section: the operator's knowledge of the
    /// fleet (its size and the hub's admission rate, from the scenario).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<FleetSpec>,
}

/// What an operator tells its devices about the fleet, for a fleet-aware
/// policy; the fleet's size and the hub's rate come from the scenario.
///
/// # Defaults
/// Not numbered; the component's `local-share` (1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FleetSpec {
    /// Every device knows its number in the fleet (`fleet.index`).
    pub numbered: bool,
    /// `fleet.local-share`: the largest share of the fleet that loses its own
    /// network at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_share: Option<f64>,
}

impl PolicySpec {
    /// A named policy.
    pub fn new(name: impl Into<String>, policy: Value) -> Self {
        Self {
            name: name.into(),
            policy,
            fleet: None,
        }
    }

    /// A named policy whose devices know the fleet.
    pub fn fleet_aware(name: impl Into<String>, policy: Value, fleet: FleetSpec) -> Self {
        Self {
            fleet: Some(fleet),
            ..Self::new(name, policy)
        }
    }
}

/// tether's default policy, by name: an empty `policy` object.
pub const DEFAULT_POLICY_NAME: &str = "tether default";

/// The policies compared by default: tether's default, tether 0.1's default (for
/// the record), every preset, capped exponential without jitter as the Paho
/// clients do, and a fixed second as mqtt.js does.
pub fn comparison() -> Vec<PolicySpec> {
    let mut specs = vec![
        PolicySpec::new(DEFAULT_POLICY_NAME, serde_json::json!({})),
        PolicySpec::new(
            "tether 0.1 default",
            serde_json::json!({"kind": "exponential", "initial-ms": 1000, "multiplier": 2,
                               "max-ms": 60000, "jitter": "full",
                               "retry-after-min-ms": 1000, "retry-after-max-ms": 600000,
                               "throttled": {"kind": "exponential", "initial-ms": 5000,
                                             "multiplier": 2, "max-ms": 120000,
                                             "jitter": "equal"}}),
        ),
    ];
    for name in crate::fleet::PRESETS {
        specs.push(PolicySpec::new(name, serde_json::json!({ "kind": name })));
    }
    specs.push(PolicySpec::new(
        "paho (1-128 s, no jitter)",
        serde_json::json!({"kind": "exponential", "initial-ms": 1000, "max-ms": 128000, "jitter": "none"}),
    ));
    specs.push(PolicySpec::new(
        "mqtt.js (fixed 1 s)",
        serde_json::json!({"kind": "fixed", "interval-ms": 1000}),
    ));
    specs
}

/// A storm: N devices connected to one hub lose their links at once; the hub comes
/// back after the outage and admits a limited number of connections per second.
///
/// # Defaults
/// 100,000 devices, seed 1, the [`Outage`], [`HubModel`] defaults, no provisioning,
/// a horizon of 4 h of virtual time, and the [`comparison`] policies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct Scenario {
    /// A name for the report.
    pub name: String,
    /// What the scenario shows, for the report.
    pub description: String,
    /// How many devices.
    pub devices: u32,
    /// Seeds every device's jitter (device `i` gets its own seed from it) and the
    /// network's latency jitter.
    pub seed: u64,
    /// The outage.
    pub outage: Outage,
    /// The hub.
    pub hub: HubModel,
    /// The provisioning service, when the devices use one.
    pub provisioning: Option<Provisioning>,
    /// Stop the simulation at this virtual time even if devices are still out.
    pub horizon_ms: u64,
    /// The policies to compare; absent: the [`comparison`].
    pub policies: Option<Vec<PolicySpec>>,
    /// The whole fleet the devices belong to, when only some of it drops (a
    /// local drop); absent: `devices`. A fleet-aware policy is told this size,
    /// and numbered devices get distinct numbers drawn from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<u32>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "storm".into(),
            description: String::new(),
            devices: 100_000,
            seed: 1,
            outage: Outage::default(),
            hub: HubModel::default(),
            provisioning: None,
            horizon_ms: 4 * 3_600_000,
            policies: None,
            fleet: None,
        }
    }
}

/// A failure word that does not parse, with the field it came from.
fn failure_field(field: &str, text: &str) -> anyhow::Result<Failure> {
    parse_failure(text).map_err(|e| anyhow::anyhow!("{field}: {e}"))
}

/// The scenario's failure words, parsed.
#[derive(Clone, Debug)]
pub(crate) struct Failures {
    pub(crate) drop: Failure,
    pub(crate) outage: Failure,
    pub(crate) refusal: Failure,
    pub(crate) provisioning_refusal: Failure,
}

impl Scenario {
    /// Read a scenario document. Unknown fields are refused.
    pub fn from_json(text: &str) -> anyhow::Result<Self> {
        let scenario: Self = serde_json::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Check what serde cannot: the failure words, and numbers that make no sense.
    pub fn validate(&self) -> anyhow::Result<()> {
        let _ = self.failures()?;
        anyhow::ensure!(self.devices > 0, "devices: must be at least 1");
        anyhow::ensure!(
            self.fleet.is_none_or(|f| f >= self.devices),
            "fleet: must be at least devices ({}), the devices that drop are part of it",
            self.devices
        );
        if let Some(p) = self.policies.iter().flatten().find(|p| p.fleet.is_some()) {
            anyhow::ensure!(
                self.hub.capacity_per_s.is_some(),
                "policy {:?} is fleet-aware: hub.capacity-per-s must be given (its devices are told it)",
                p.name
            );
            if let Some(share) = p.fleet.and_then(|f| f.local_share) {
                anyhow::ensure!(
                    share > 0.0 && share <= 1.0,
                    "policy {:?}: fleet.local-share must be above 0 and at most 1",
                    p.name
                );
            }
        }
        anyhow::ensure!(
            self.hub.capacity_per_s != Some(0),
            "hub.capacity-per-s: must be at least 1 (null for no limit)"
        );
        anyhow::ensure!(
            self.hub.latency_ms > 0 && self.outage.latency_ms > 0,
            "hub.latency-ms and outage.latency-ms: must be at least 1 ms"
        );
        anyhow::ensure!(
            (0.0..=1000.0).contains(&self.hub.refusal_cost),
            "hub.refusal-cost: must be between 0 and 1000 (a share of an admission's work)"
        );
        anyhow::ensure!(
            self.hub.retry_after_granularity_ms > 0,
            "hub.retry-after-granularity-ms: must be at least 1"
        );
        if let Some(p) = &self.provisioning {
            anyhow::ensure!(
                p.capacity_per_s != Some(0),
                "provisioning.capacity-per-s: must be at least 1 (null for no limit)"
            );
            anyhow::ensure!(
                p.latency_ms > 0,
                "provisioning.latency-ms: must be at least 1 ms"
            );
            anyhow::ensure!(
                p.device_config.is_object(),
                "provisioning.device-config: must be an object"
            );
        }
        if let Some(policies) = &self.policies {
            anyhow::ensure!(!policies.is_empty(), "policies: must not be empty");
        }
        Ok(())
    }

    pub(crate) fn failures(&self) -> anyhow::Result<Failures> {
        let provisioning_refusal = match &self.provisioning {
            Some(p) => failure_field("provisioning.refusal", &p.refusal)?,
            None => failure_field("provisioning.refusal", "http:429")?,
        };
        Ok(Failures {
            drop: failure_field("outage.drop", &self.outage.drop)?,
            outage: failure_field("outage.failure", &self.outage.failure)?,
            refusal: failure_field("hub.refusal", &self.hub.refusal)?,
            provisioning_refusal,
        })
    }

    /// The policies this scenario compares.
    pub fn policy_specs(&self) -> Vec<PolicySpec> {
        self.policies.clone().unwrap_or_else(comparison)
    }

    /// The best any policy can do: the outage, then every device admitted at the
    /// hub's full rate (`outage + N / C`), in seconds.
    pub fn floor_s(&self) -> f64 {
        let outage = self.outage.duration_ms as f64 / 1000.0;
        match self.hub.capacity_per_s {
            Some(c) => outage + f64::from(self.devices) / f64::from(c),
            None => outage,
        }
    }

    /// The device configuration of device `index` (seed `seed`) under `spec`.
    pub(crate) fn device_config(&self, spec: &PolicySpec, seed: u64, index: u32) -> String {
        let mut doc = serde_json::json!({ "hub": HUB, "seed": seed, "policy": spec.policy });
        let Some(map) = doc.as_object_mut() else {
            return doc.to_string();
        };
        if let Some(p) = &self.provisioning {
            map.insert("provisioning".into(), p.device_config.clone());
        }
        if let Some(f) = spec.fleet {
            let mut fleet = serde_json::json!({
                "devices": self.fleet_size(),
                "admissions-per-s": self.hub.capacity_per_s,
            });
            if let Some(o) = fleet.as_object_mut() {
                if f.numbered {
                    o.insert("index".into(), self.fleet_number(index).into());
                }
                if let Some(share) = f.local_share {
                    o.insert("local-share".into(), share.into());
                }
            }
            map.insert("fleet".into(), fleet);
        }
        doc.to_string()
    }

    /// The whole fleet's size.
    pub fn fleet_size(&self) -> u32 {
        self.fleet.unwrap_or(self.devices).max(self.devices)
    }

    /// Device `index`'s number in the whole fleet: itself when the whole fleet
    /// drops; otherwise distinct numbers spread at random over the fleet (a
    /// seeded permutation of `[0, fleet)`), as a local drop takes whichever
    /// devices share the failed network, not the first ones.
    pub(crate) fn fleet_number(&self, index: u32) -> u32 {
        let n = self.fleet_size();
        if n == self.devices {
            return index;
        }
        permute(index, n, self.seed)
    }
}

/// The hub's address in the devices' configurations and assignments.
pub(crate) const HUB: &str = "hub";

/// A bijection of `[0, n)` keyed by `key`, for `i < n`: a bijection of the
/// enclosing power of two (odd multiplier, xor-shifts, an added constant), walked
/// until it lands below `n` (at most a few steps on average, since the power of
/// two is less than twice `n`).
pub(crate) fn permute(i: u32, n: u32, key: u64) -> u32 {
    let bits = u64::from(n.max(2)).next_power_of_two().trailing_zeros();
    let mask = (1u64 << bits).wrapping_sub(1);
    let k = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut x = u64::from(i);
    loop {
        // Per round: the key's bits that pick the odd multiplier and the addend.
        for (mul, add) in [(0u32, 7u32), (8, 23), (16, 39)] {
            x = x.wrapping_mul(k.wrapping_shr(mul) | 1) & mask;
            x ^= x.wrapping_shr((bits / 2).max(1));
            x = x.wrapping_add(k.wrapping_shr(add)) & mask;
        }
        if x < u64::from(n) {
            return u32::try_from(x).unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fleet_numbers_are_a_permutation_of_the_fleet() {
        for n in [1u32, 2, 3, 7, 1000, 1024, 1025, 10_000] {
            for key in [0u64, 1, 0xDEAD_BEEF] {
                let mut seen: Vec<u32> = (0..n).map(|i| permute(i, n, key)).collect();
                seen.sort_unstable();
                assert!(seen.iter().copied().eq(0..n), "n {n}, key {key}");
            }
        }
        // A local drop's devices get scattered numbers, not the first ones.
        let s = Scenario {
            devices: 100,
            fleet: Some(1000),
            ..Scenario::default()
        };
        let numbers: Vec<u32> = (0..100).map(|i| s.fleet_number(i)).collect();
        assert!(numbers.iter().any(|&n| n >= 500), "{numbers:?}");
        assert!(numbers.iter().all(|&n| n < 1000));
        let whole = Scenario {
            devices: 100,
            ..Scenario::default()
        };
        assert_eq!(whole.fleet_number(42), 42);
    }
}
