//! Fleet-aware spreading: what a device does with what its operator knows.
//!
//! Without knowledge of the fleet a policy can only guess how many devices will
//! come back at once. An operator who knows the fleet's size N and the hub's
//! admission rate C can tell every device: then each device keeps one slot in a
//! period `P = h * N / C` and retries only in its slot (`u * P`, `u * P + P`, ...
//! after the drop, u its phase in `[0, 1)`). A fleet that dropped together then
//! arrives at `C / h` per second, in the first second as in the hundredth, and
//! after an outage of any length every device has tried within one period of the
//! hub's return: the peak stays under the capacity and t99 within `h` of the floor
//! (`outage + N / C`).
//!
//! The phase is the device's number in the fleet (`index / N`: exact slots) when
//! the operator gives one, else a random draw per outage. Random phases arrive as
//! a Poisson stream, whose busiest second over a long storm is about `4.5 sqrt(λ)`
//! above its mean λ, so without an index the headroom h grows for a small hub
//! until that busiest second stays within 1.15 C (100/s: h = 1.34; 2,000/s and
//! up: the minimum, 1.02).
//!
//! An outage that began like a failure of the device's own network (a keep-alive
//! timeout, an unreachable network, a failed name lookup) uses `local-share` of
//! the period: the operator's bound on the share of the fleet that loses its own
//! network at once (1 by default: no assumption, the same slots as a hub-side
//! drop). The devices of a local drop are whichever share the failed network, so
//! their numbers are scattered and that period always has the random phases'
//! headroom; the outage keeps it when the hub then refuses the device.
#![forbid(unsafe_code)]

use crate::json::Obj;
use crate::types::{ConfigError, Millis};

/// Headroom with exact slots: a margin for latency jitter and for slots that
/// straddle the hub's seconds.
const NUMBERED_HEADROOM_PERMILLE: u64 = 1_020;
/// The busiest second allowed with random phases, in permille of the capacity.
const BUSIEST_SECOND_PERMILLE: u64 = 1_150;
/// How many standard deviations above the mean the busiest second is taken to be,
/// in tenths (a storm of up to 10^4 s of arrivals).
const BUSIEST_SIGMAS_TENTHS: u64 = 45;
/// Parts per million in one.
const PPM: u64 = 1_000_000;

/// The `fleet` section: what the operator knows.
///
/// # Defaults
/// `index` absent (random phases); `local-share` 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetConfig {
    /// Devices in the fleet.
    pub devices: u32,
    /// New connections the hub admits per second.
    pub admissions_per_s: u32,
    /// This device's number in `[0, devices)`, for exact slots.
    pub index: Option<u32>,
    /// The share of the fleet that may lose its own network at once, in ppm.
    pub local_share_ppm: u32,
}

/// Read the `fleet` object. `max_delay` is the policy's `max-delay-ms`: a period
/// longer than that could never be waited for, so it is refused here.
pub fn parse_fleet(mut o: Obj, max_delay: Millis) -> Result<FleetConfig, ConfigError> {
    let devices = o
        .u32_in("devices", 1, u32::MAX)?
        .ok_or_else(|| o.error("devices", "is needed: how many devices the fleet has"))?;
    let admissions_per_s = o
        .u32_in("admissions-per-s", 1, 10_000_000)?
        .ok_or_else(|| {
            o.error(
                "admissions-per-s",
                "is needed: how many new connections the hub admits per second",
            )
        })?;
    let index = o.u32_in("index", 0, u32::MAX)?;
    if let Some(i) = index
        && i >= devices
    {
        return Err(o.error(
            "index",
            alloc::format!("must be below devices ({devices}), got {i}"),
        ));
    }
    let local_share_ppm = match o.number("local-share")? {
        None => PPM as u32,
        Some(s) if s > 0.0 && s <= 1.0 => {
            // Rounded to the nearest ppm (no_std has no `round`), at least 1.
            ((s * PPM as f64 + 0.5) as u32).max(1)
        }
        Some(s) => {
            return Err(o.error(
                "local-share",
                alloc::format!("must be above 0 and at most 1, got {s}"),
            ));
        }
    };
    o.finish()?;
    let fleet = FleetConfig {
        devices,
        admissions_per_s,
        index,
        local_share_ppm,
    };
    let period = Slots::new(&fleet).period(false);
    if period > max_delay {
        return Err(ConfigError::new(
            "fleet",
            alloc::format!(
                "{devices} devices at {admissions_per_s} per second need a period of {} ms, \
                 longer than policy.max-delay-ms ({} ms); raise max-delay-ms",
                period.as_ms(),
                max_delay.as_ms()
            ),
        ));
    }
    Ok(fleet)
}

/// Headroom h in permille: the exact-slot margin with an index, else enough that
/// the busiest second of random phases stays within 1.15 C.
pub fn headroom_permille(admissions_per_s: u32, numbered: bool) -> u64 {
    if numbered {
        return NUMBERED_HEADROOM_PERMILLE;
    }
    let c = u64::from(admissions_per_s);
    // The largest mean λ with `100 λ + 450 sqrt(λ) <= 115 C`, by bisection (the
    // left side grows with λ), tested without a root as `(450)^2 λ <= (115 C -
    // 100 λ)^2`: integers only, the same on every host.
    let fits = |lambda: u64| {
        let room = i128::from(c.saturating_mul(BUSIEST_SECOND_PERMILLE / 10))
            .saturating_sub(i128::from(lambda.saturating_mul(100)));
        let sigma = i128::from(BUSIEST_SIGMAS_TENTHS.saturating_mul(10));
        room >= 0
            && sigma
                .saturating_mul(sigma)
                .saturating_mul(i128::from(lambda))
                <= room.saturating_mul(room)
    };
    let (mut lo, mut hi) = (0u64, c);
    while lo < hi {
        let mid = lo.saturating_add(hi.saturating_sub(lo).saturating_add(1) / 2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid.saturating_sub(1);
        }
    }
    let lambda = lo.max(1);
    c.saturating_mul(1000)
        .div_ceil(lambda)
        .max(NUMBERED_HEADROOM_PERMILLE)
}

/// A device's slots: the periods for a hub-side and a local drop, and its fixed
/// phase when it has a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slots {
    hub_period: Millis,
    local_period: Millis,
    /// `index / devices` in Q32, when the device has a number.
    phase: Option<u32>,
}

impl Slots {
    /// The slots of a device of `fleet`.
    pub fn new(fleet: &FleetConfig) -> Self {
        let period = |h: u64| {
            u64::from(fleet.devices)
                .saturating_mul(h)
                .div_ceil(u64::from(fleet.admissions_per_s).max(1))
                .max(1)
        };
        let hub = period(headroom_permille(
            fleet.admissions_per_s,
            fleet.index.is_some(),
        ));
        // The devices of a local drop are whichever share the failed network:
        // their numbers are scattered over the fleet, so their phases are as
        // random as drawn ones and need the same headroom.
        let local = u128::from(period(headroom_permille(fleet.admissions_per_s, false)))
            .saturating_mul(u128::from(fleet.local_share_ppm))
            .div_ceil(u128::from(PPM));
        let phase = fleet.index.map(|i| {
            let q = (u128::from(i) << 32)
                .checked_div(u128::from(fleet.devices))
                .unwrap_or(0);
            u32::try_from(q).unwrap_or(u32::MAX)
        });
        Self {
            hub_period: Millis::from_ms(hub),
            local_period: Millis::from_ms(u64::try_from(local).unwrap_or(hub).max(1)),
            phase,
        }
    }

    /// The period for a drop of the device's own network (`local`) or any other.
    pub fn period(&self, local: bool) -> Millis {
        if local {
            self.local_period
        } else {
            self.hub_period
        }
    }

    /// The device's fixed phase (Q32), if it has a number.
    pub fn fixed_phase(&self) -> Option<u32> {
        self.phase
    }

    /// The wait from `elapsed` (since the outage's first failure) to the device's
    /// next slot strictly after it, at phase `u` (Q32).
    pub fn delay(&self, local: bool, elapsed: Millis, u: u32) -> Millis {
        let p = u128::from(self.period(local).as_ms().max(1));
        let offset = (p.saturating_mul(u128::from(u))) >> 32;
        let e = u128::from(elapsed.as_ms());
        let next = if e < offset {
            offset
        } else {
            // The first slot after `e`: offset + j p with j = (e - offset) / p + 1.
            let j = e
                .saturating_sub(offset)
                .checked_div(p)
                .unwrap_or(0)
                .saturating_add(1);
            offset.saturating_add(j.saturating_mul(p))
        };
        Millis::from_ms(u64::try_from(next.saturating_sub(e)).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing
    )]
    use super::*;
    use crate::json;

    fn fleet(text: &str) -> Result<FleetConfig, ConfigError> {
        let v = json::parse_root(text).unwrap();
        parse_fleet(Obj::new(&v, "fleet").unwrap(), Millis::from_ms(3_600_000))
    }

    #[test]
    fn headroom_covers_the_noise_of_random_phases_on_small_hubs() {
        // 100/s: the largest λ with λ + 4.5 sqrt(λ) <= 115 is 75.
        assert_eq!(headroom_permille(100, false), 1_334);
        assert_eq!(headroom_permille(2_000, false), 1_020);
        assert_eq!(headroom_permille(6_000, false), 1_020);
        assert_eq!(headroom_permille(100, true), 1_020);
        // A hub admitting one a second still gets a finite headroom.
        assert!(headroom_permille(1, false) >= 1_020);
    }

    #[test]
    fn a_numbered_fleet_is_spread_exactly_over_its_period() {
        // 1,000 devices at 100/s with numbers: period 10.2 s; device i at i * 10.2 ms.
        let mut per_second = [0u32; 11];
        for i in 0..1_000u32 {
            let f = FleetConfig {
                devices: 1_000,
                admissions_per_s: 100,
                index: Some(i),
                local_share_ppm: PPM as u32,
            };
            let s = Slots::new(&f);
            assert_eq!(s.period(false), Millis::from_ms(10_200));
            let d = s.delay(false, Millis::ZERO, s.fixed_phase().unwrap());
            per_second[(d.as_ms() / 1000) as usize] += 1;
        }
        assert!(
            per_second[..10].iter().all(|&n| n == 98 || n == 99),
            "{per_second:?}"
        );
    }

    #[test]
    fn the_next_slot_is_strictly_after_now_and_keeps_the_phase() {
        let f = FleetConfig {
            devices: 100,
            admissions_per_s: 10,
            index: Some(25),
            local_share_ppm: 100_000,
        };
        let s = Slots::new(&f);
        let p = s.period(false).as_ms();
        assert_eq!(p, 10_200);
        let u = s.fixed_phase().unwrap();
        let offset = p / 4;
        assert_eq!(s.delay(false, Millis::ZERO, u).as_ms(), offset);
        assert_eq!(s.delay(false, Millis::from_ms(offset), u).as_ms(), p);
        assert_eq!(
            s.delay(false, Millis::from_ms(offset + 1), u).as_ms(),
            p - 1
        );
        assert_eq!(s.delay(false, Millis::from_ms(3 * p), u).as_ms(), offset);
        // A local drop: a tenth of the period with the random phases' headroom
        // (3.334 at 10/s: 33,340 ms), the same phase.
        assert_eq!(s.period(true).as_ms(), 3_334);
        assert_eq!(s.delay(true, Millis::ZERO, u).as_ms(), 833);
    }

    #[test]
    fn bad_fleets_are_named() {
        let e = fleet(r#"{"admissions-per-s": 100}"#).unwrap_err();
        assert_eq!(e.field, "fleet.devices");
        let e = fleet(r#"{"devices": 10}"#).unwrap_err();
        assert_eq!(e.field, "fleet.admissions-per-s");
        let e = fleet(r#"{"devices": 10, "admissions-per-s": 0}"#).unwrap_err();
        assert_eq!(e.field, "fleet.admissions-per-s");
        let e = fleet(r#"{"devices": 10, "admissions-per-s": 5, "index": 10}"#).unwrap_err();
        assert_eq!(e.field, "fleet.index");
        assert!(e.message.contains("below devices (10)"), "{}", e.message);
        let e = fleet(r#"{"devices": 10, "admissions-per-s": 5, "local-share": 0}"#).unwrap_err();
        assert_eq!(e.field, "fleet.local-share");
        let e = fleet(r#"{"devices": 10, "admissions-per-s": 5, "size": 3}"#).unwrap_err();
        assert_eq!(e.field, "fleet.size");
        // 1M devices at 100/s: a period of hours, past the default 1 h cap.
        let e = fleet(r#"{"devices": 1000000, "admissions-per-s": 100}"#).unwrap_err();
        assert_eq!(e.field, "fleet");
        assert!(e.message.contains("max-delay-ms"), "{}", e.message);
        let ok = fleet(r#"{"devices": 10, "admissions-per-s": 5, "local-share": 0.25}"#).unwrap();
        assert_eq!(ok.local_share_ppm, 250_000);
    }
}
