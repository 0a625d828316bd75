//! The `phase` spread of an exponential curve: every device walks the same curve,
//! each at its own random phase, so a fleet's retries are spread evenly over time.
//!
//! With `initial-ms` i, `multiplier` m and `max-ms` W, the curve in time is
//!
//! ```text
//! T(x) = i * (1 + (m^x - 1) / (m - 1))       (T(0) = i, T(k) - T(k-1) = i * m^(k-1))
//! ```
//!
//! until its slope `T'(x) = i * ln(m) * m^x / (m - 1)` reaches W, and a straight line
//! of slope W from there on (`x0`, where the slopes meet). A device draws its phase
//! u, uniform in `[0, 1)`, once per outage, and makes retry k at `T(k - 1 + u)` after
//! the first failure: the first retry in `[i, 2i)`, then the steps of the ordinary
//! curve (`i * m^(k-1)`) each scaled by `m^u`, and once the curve is flat exactly one
//! retry every W.
//!
//! Why: a fleet that dropped at once makes its retries at `N / T'(T^-1(t))` per
//! second at time t, a smooth curve that falls as the outage goes on and settles at
//! N / W, never above it, with no bursts (full jitter starts every step at once and
//! settles at 2N / W); and once flat, every device comes back within W of any moment,
//! so a hub that returns sees every device within one period. Delays never exceed W.
//!
//! All arithmetic is integer: fixed point with 32 fraction bits ("Q32") in `u128`,
//! `log2` by repeated squaring and `exp2` from a table of `2^(2^-j)`.
#![forbid(unsafe_code)]

use core::cell::OnceCell;

use crate::types::Millis;

/// 1.0 in Q32.
const ONE: u128 = 1 << 32;
/// ln 2 in Q32.
const LN2_Q32: u128 = 2_977_044_472;

/// `2^(2^-j)` for j = 1..=32 in Q62, rounded to nearest.
const EXP2_TABLE: [u64; 32] = [
    0x5A82_7999_FCEF_3242,
    0x4C1B_F828_C6DC_54B8,
    0x45CA_E0F1_F545_EB73,
    0x42D5_61B3_E624_3D8A,
    0x4166_C34C_5615_D0EC,
    0x40B2_68F9_DE01_83BA,
    0x4058_F6A7_ECCC_D5B6,
    0x402C_6BE9_6AF2_FB58,
    0x4016_321B_6870_27A8,
    0x400B_1817_8BA3_3B14,
    0x4005_8BCE_4101_47E8,
    0x4002_C5D7_BFF7_1DAF,
    0x4001_62E8_07EE_7E5B,
    0x4000_B173_0DF6_A524,
    0x4000_58B9_497B_8152,
    0x4000_2C5C_955D_D701,
    0x4000_162E_46D6_F26C,
    0x4000_0B17_2275_7B1B,
    0x4000_058B_90FD_3E0C,
    0x4000_02C5_C86F_3F26,
    0x4000_0162_E433_C79B,
    0x4000_00B1_7218_EDD0,
    0x4000_0058_B90C_3968,
    0x4000_002C_5C86_0D54,
    0x4000_0016_2E43_02D2,
    0x4000_000B_1721_8073,
    0x4000_0005_8B90_BFFC,
    0x4000_0002_C5C8_5FEF,
    0x4000_0001_62E4_2FF3,
    0x4000_0000_B172_17F9,
    0x4000_0000_58B9_0BFC,
    0x4000_0000_2C5C_85FE,
];

/// 1.0 in Q62.
#[cfg(test)]
const ONE_Q62: u128 = 1 << 62;

/// `log2(v)` for `v` in Q32 (`v > 0`), in Q32, to within 2^-30. `log2(0)` is
/// taken as `log2` of the smallest positive value. The mantissa is squared in
/// `u64` (Q31), which wasm does natively.
fn log2_q32(v: u128) -> i128 {
    let v = v.max(1);
    let msb = 127_u32.saturating_sub(v.leading_zeros());
    // The mantissa, normalised to [1, 2) in Q31.
    let y128 = if msb >= 31 {
        v >> msb.saturating_sub(31)
    } else {
        v << 31_u32.saturating_sub(msb)
    };
    let mut y = u64::try_from(y128).unwrap_or(u64::MAX);
    let mut frac: i128 = 0;
    for bit in (0..32).rev() {
        y = y.saturating_mul(y) >> 31;
        if y >= 1 << 32 {
            y >>= 1;
            frac |= 1 << bit;
        }
    }
    let whole = i128::from(msb).saturating_sub(32);
    whole.saturating_mul(1 << 32).saturating_add(frac)
}

/// `2^e` for `e` in Q32, in Q32. Saturates far beyond anything a delay needs
/// (exponents of 64 and more give 2^64). The exact reference for [`exp2_int`].
#[cfg(test)]
fn exp2_q32(e: u128) -> u128 {
    let whole = e >> 32;
    if whole >= 64 {
        return ONE << 64;
    }
    let frac = e & (ONE - 1);
    let mut r: u128 = ONE_Q62;
    for (j, factor) in EXP2_TABLE.iter().enumerate() {
        if frac & (1 << (31_usize.saturating_sub(j))) != 0 {
            r = r.saturating_mul(u128::from(*factor)) >> 62;
        }
    }
    // Q62 * 2^whole, to Q32: shift by whole - 30.
    let shift = u32::try_from(whole).unwrap_or(64);
    if shift >= 30 {
        r << shift.saturating_sub(30)
    } else {
        r >> 30_u32.saturating_sub(shift)
    }
}

/// `a * b / c`, saturating, with `c = 0` giving the maximum.
fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    a.saturating_mul(b).checked_div(c).unwrap_or(u128::MAX)
}

/// `2^(e / 2^32)` as an integer (rounded to nearest), for `e` in Q32 below
/// `63 * 2^32`; saturates above. Only `u64` arithmetic: this is the hot path.
fn exp2_int(e: u64) -> u64 {
    let whole = e >> 32;
    if whole >= 63 {
        return u64::MAX;
    }
    // 2^frac in Q31, from the table's top 31 bits (Q62 >> 31).
    let mut r: u64 = 1 << 31;
    for (j, factor) in EXP2_TABLE.iter().enumerate() {
        if e & (1 << (31_usize.saturating_sub(j))) != 0 {
            r = r.saturating_mul(factor >> 31) >> 31;
        }
    }
    let whole = u32::try_from(whole).unwrap_or(63);
    if whole >= 31 {
        r.checked_shl(whole.saturating_sub(31)).unwrap_or(u64::MAX)
    } else {
        r.saturating_add(1 << (30_u32.saturating_sub(whole))) >> (31_u32.saturating_sub(whole))
    }
}

/// One exponential curve's constants for the phase spread, computed once (with
/// `u128` logarithms) so that each delay costs a comparison, an `exp2` and a few
/// `u64` operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PhaseCurve {
    // The curve's `initial` and `max` as bare milliseconds: everything below is
    // fixed-point arithmetic on them.
    initial: u64,
    permille: u32,
    max: u64,
    /// log2(m) in Q32 (0 for m = 1).
    l: u64,
    /// log2(initial * 2^16) in Q32: `i * m^x` in Q16 is `2^(li + x * l)`.
    li: u64,
    /// x0 in Q32, where the slope reaches `max` (`u64::MAX`: never).
    x0: u64,
    /// T(x0) in Q16 ms (saturating: only absurd curves reach 2^48 ms).
    t_x0: u64,
}

impl PhaseCurve {
    /// The constants of the curve `initial` x `permille / 1000` capped at `max`.
    pub(crate) fn new(initial: Millis, permille: u32, max: Millis) -> Self {
        let (initial, max) = (initial.as_ms(), max.as_ms());
        let i = u128::from(initial.max(1));
        let w = u128::from(max.max(initial).max(1));
        let p = u128::from(permille.max(1000));
        let li = u64::try_from(log2_q32(i.saturating_mul(ONE) << 16)).unwrap_or(0);
        let mut c = Self {
            initial,
            permille,
            max,
            l: 0,
            li,
            x0: u64::MAX,
            t_x0: 0,
        };
        if p == 1000 {
            // m = 1: a line of slope i <= W, flat from the start when i == W.
            if i >= w {
                c.x0 = 0;
                c.t_x0 = initial.saturating_mul(1 << 16);
            }
            return c;
        }
        let l = u128::try_from(log2_q32(mul_div(p, ONE, 1000)))
            .unwrap_or(0)
            .max(1);
        let ln_m = mul_div(l, LN2_Q32, ONE).max(1);
        // m^x0 = W (m - 1) / (i ln m), at least 1 since ln m <= m - 1 and i <= W.
        let r = mul_div(
            w.saturating_mul(p.saturating_sub(1000)),
            ONE.saturating_mul(ONE),
            i.saturating_mul(1000).saturating_mul(ln_m),
        )
        .max(ONE);
        let lr = u128::try_from(log2_q32(r)).unwrap_or(0);
        let x0 = mul_div(lr, ONE, l);
        // T(x0) = i (1 + (m^x0 - 1) / (m - 1)), in Q32 ms, then ms.
        let geo = mul_div(r.saturating_sub(ONE), 1000, p.saturating_sub(1000));
        let t_x0 = i.saturating_mul(ONE.saturating_add(geo));
        c.l = u64::try_from(l).unwrap_or(u64::MAX);
        c.x0 = u64::try_from(x0).unwrap_or(u64::MAX);
        c.t_x0 = u64::try_from(t_x0.saturating_add(1 << 15) >> 16).unwrap_or(u64::MAX);
        c
    }

    /// Whether these are the constants of that curve.
    pub(crate) fn is_for(&self, initial: Millis, permille: u32, max: Millis) -> bool {
        (self.initial, self.permille, self.max) == (initial.as_ms(), permille, max.as_ms())
    }

    /// `i * m^x` in Q16 ms, for x (Q32) on the geometric part.
    fn g_q16(&self, x: u64) -> u64 {
        let e = (u128::from(x).saturating_mul(u128::from(self.l))) >> 32;
        exp2_int(self.li.saturating_add(u64::try_from(e).unwrap_or(u64::MAX)))
    }

    /// `T(x) - i` in Q16 ms, on the geometric part: `(i m^x - i) / (m - 1)`.
    fn rise_q16(&self, x: u64) -> u64 {
        if self.l == 0 {
            // m = 1: T(x) = i (1 + x).
            let i = u128::from(self.initial);
            return u64::try_from((i.saturating_mul(u128::from(x))) >> 16).unwrap_or(u64::MAX);
        }
        let g = self.g_q16(x);
        let i = self.initial.saturating_mul(1 << 16);
        g.saturating_sub(i)
            .saturating_mul(1000)
            .checked_div(u64::from(self.permille.saturating_sub(1000)))
            .unwrap_or(u64::MAX)
    }

    /// The delay before retry `k` (1 for the first) of a device at phase `u` (a
    /// fraction of 2^32): `T(k - 1 + u) - T(k - 2 + u)`, with `T(-1 + u)` taken
    /// as 0, never more than `max`.
    pub(crate) fn delay(&self, k: u32, u: u32) -> Millis {
        Millis::from_ms(self.delay_ms(k, u))
    }

    /// [`delay`](Self::delay) in bare milliseconds.
    fn delay_ms(&self, k: u32, u: u32) -> u64 {
        let (i, w) = (self.initial, self.max.max(self.initial));
        let u = u64::from(u);
        // The straight line's part of a step ending at x_hi, W (x_hi - x0), in Q16.
        let line = |x_hi: u64| {
            let q = u128::from(w).saturating_mul(u128::from(x_hi.saturating_sub(self.x0)));
            u64::try_from(q >> 16).unwrap_or(u64::MAX)
        };
        let ms = |q16: u64| q16.saturating_add(1 << 15) >> 16;
        let i_q16 = i.saturating_mul(1 << 16);
        if k <= 1 {
            let t = if u <= self.x0 {
                i_q16.saturating_add(self.rise_q16(u))
            } else {
                self.t_x0.saturating_add(line(u))
            };
            return ms(t).min(w);
        }
        let lo = u64::from(k.saturating_sub(2))
            .saturating_mul(1 << 32)
            .saturating_add(u);
        if lo >= self.x0 {
            // Both ends on the straight line.
            return w;
        }
        let hi = lo.saturating_add(1 << 32);
        let d = if hi <= self.x0 {
            // Both ends on the geometric part: T(x + 1) - T(x) = i * m^x.
            if self.l == 0 {
                i
            } else {
                self.g_q16(lo).saturating_add(1 << 15) >> 16
            }
        } else {
            // Straddling x0: the rest of the geometric part, then the line.
            let t_lo = i_q16.saturating_add(self.rise_q16(lo));
            ms(self.t_x0.saturating_sub(t_lo).saturating_add(line(hi)))
        };
        d.min(w)
    }
}

/// The delay before retry `k` of a device at phase `u` on the curve `initial` x
/// `permille / 1000` capped at `max` (see [`PhaseCurve::delay`]), all in bare
/// milliseconds so the tests' expectations stay plain numbers.
#[cfg(test)]
pub(crate) fn delay(initial_ms: u64, multiplier_permille: u32, max_ms: u64, k: u32, u: u32) -> u64 {
    PhaseCurve::new(
        Millis::from_ms(initial_ms),
        multiplier_permille,
        Millis::from_ms(max_ms),
    )
    .delay(k, u)
    .as_ms()
}

/// A schedule's phase state: the outage's phase, drawn at its first delay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PhaseState {
    pub(crate) u: Option<u32>,
}

/// The constants of one of a policy's phase curves, worked out at first use. They
/// depend on the curve alone, so they live with the policy, shared by every
/// schedule that runs it, rather than in each connection.
#[derive(Clone, Default)]
pub(crate) struct CurveCache(OnceCell<PhaseCurve>);

// A cache is not part of what a policy is: two policies with the same curves are
// equal whether or not either has been used.
impl PartialEq for CurveCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CurveCache {}

impl core::fmt::Debug for CurveCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("..")
    }
}

impl PhaseState {
    /// The delay before retry `k` on the curve, with this outage's phase (drawn
    /// by `draw` if there is none yet); `cache` holds the curve's constants.
    pub(crate) fn delay(
        &mut self,
        cache: &CurveCache,
        curve: (Millis, u32, Millis),
        k: u32,
        draw: impl FnOnce() -> u32,
    ) -> Millis {
        let u = *self.u.get_or_insert_with(draw);
        let (initial_ms, multiplier_permille, max_ms) = curve;
        let c = match cache.0.get() {
            Some(c) if c.is_for(initial_ms, multiplier_permille, max_ms) => *c,
            Some(_) => PhaseCurve::new(initial_ms, multiplier_permille, max_ms),
            None => *cache
                .0
                .get_or_init(|| PhaseCurve::new(initial_ms, multiplier_permille, max_ms)),
        };
        c.delay(k, u)
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;
    use alloc::vec::Vec;

    /// An integer square root, for checking the table.
    fn isqrt(n: u128) -> u128 {
        if n < 2 {
            return n;
        }
        let mut x = n;
        let mut y = x.div_ceil(2);
        while y < x {
            x = y;
            y = (x + n / x) / 2;
        }
        x
    }

    #[test]
    fn the_table_is_successive_square_roots_of_two() {
        let mut want = isqrt(2 * ONE_Q62 * ONE_Q62);
        for (j, &v) in EXP2_TABLE.iter().enumerate() {
            let diff = (u128::from(v)).abs_diff(want);
            assert!(diff <= 2, "entry {j}: {v:#x} vs {want:#x}");
            want = isqrt(want * ONE_Q62);
        }
    }

    #[test]
    fn log2_and_exp2_agree_with_floating_point() {
        for v in [1_u128, 2, 3, 10, 1000, 2500, 123_456_789, 1 << 40] {
            let got = log2_q32(v * ONE) as f64 / 4_294_967_296.0;
            let want = (v as f64).log2();
            assert!((got - want).abs() < 2e-9, "log2({v}) = {got}, want {want}");
        }
        let half = log2_q32(ONE / 2);
        assert_eq!(half, -(1 << 32));
        for e in [0.0_f64, 0.5, 1.0, 1.3, 3.25, 10.25, 40.0] {
            let q = (e * 4_294_967_296.0) as u128;
            let got = exp2_q32(q) as f64 / 4_294_967_296.0;
            let want = e.exp2();
            assert!(
                (got / want - 1.0).abs() < 1e-8,
                "2^{e} = {got}, want {want}"
            );
        }
    }

    /// The curve in floating point, for comparison.
    fn reference(i: f64, m: f64, w: f64, k: u32, u: f64) -> f64 {
        let t0 = |x: f64| i * (1.0 + (m.powf(x) - 1.0) / (m - 1.0));
        let x0 = (w * (m - 1.0) / (i * m.ln())).ln().max(0.0) / m.ln();
        let t = |x: f64| {
            if x <= x0 {
                t0(x)
            } else {
                t0(x0) + w * (x - x0)
            }
        };
        if k == 1 {
            t(u)
        } else {
            t(f64::from(k) - 1.0 + u) - t(f64::from(k) - 2.0 + u)
        }
    }

    #[test]
    fn delays_follow_the_curve() {
        for (i, permille, w) in [
            (1000_u64, 3000_u32, 60_000_u64),
            (1000, 2000, 60_000),
            (500, 2500, 45_000),
            (5000, 2000, 30_000),
            (100, 1001, 10_000),
            (1000, 10_000, 1_000_000),
        ] {
            let m = f64::from(permille) / 1000.0;
            for k in 1..40_u32 {
                for u32_u in [0_u32, 1 << 30, 1 << 31, 3 << 30, u32::MAX] {
                    let u = f64::from(u32_u) / 4_294_967_296.0;
                    let got = delay(i, permille, w, k, u32_u) as f64;
                    let want = reference(i as f64, m, w as f64, k, u).min(w as f64);
                    assert!(
                        (got - want).abs() <= 1.0 + want * 1e-6,
                        "i={i} m={m} w={w} k={k} u={u}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_first_retry_lies_in_initial_to_twice_initial_and_nothing_exceeds_the_cap() {
        for u in [0_u32, 12345, 1 << 31, u32::MAX] {
            let d = delay(1000, 3000, 60_000, 1, u);
            assert!((1000..=2000).contains(&d), "{d}");
            for k in [2, 5, 10, 100, 10_000, u32::MAX] {
                assert!(delay(1000, 3000, 60_000, k, u) <= 60_000);
            }
            assert_eq!(delay(1000, 3000, 60_000, u32::MAX, u), 60_000);
            assert_eq!(delay(1000, 1000, 60_000, 7, u), 1000);
        }
        // Extreme but valid inputs neither panic nor overflow.
        let big = 1_000_000_000_000;
        for (i, p, w) in [
            (1, 10_000, big),
            (big, 10_000, big),
            (1, 1001, big),
            (big, 1000, big),
        ] {
            for k in [1, 2, 3, 1000, u32::MAX] {
                assert!(delay(i, p, w, k, u32::MAX) <= w.max(i.saturating_mul(2)));
            }
        }
    }

    #[test]
    fn a_fleet_at_every_phase_retries_evenly_once_the_curve_is_flat() {
        // 1000 devices at evenly spaced phases: count retries per 10 s window
        // between 100 s and 400 s; each window sees about 1000 * 10 / 60.
        let mut times = Vec::new();
        for d in 0..1000_u64 {
            let u = u32::try_from(d * (1 << 32) / 1000).unwrap();
            let mut t = 0;
            for k in 1..30 {
                t += delay(1000, 3000, 60_000, k, u);
                times.push(t);
            }
        }
        for w in 10..40 {
            let n = times
                .iter()
                .filter(|&&t| t >= w * 10_000 && t < (w + 1) * 10_000)
                .count();
            assert!((150..=183).contains(&n), "window {w}: {n}");
        }
    }
}
