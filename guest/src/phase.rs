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
const ONE_Q62: u128 = 1 << 62;

/// `log2(v)` for `v` in Q32 (`v > 0`), in Q32, rounded down. `log2(0)` is taken
/// as `log2` of the smallest positive value.
fn log2_q32(v: u128) -> i128 {
    let v = v.max(1);
    let msb = 127_u32.saturating_sub(v.leading_zeros());
    // Normalise to [1, 2) in Q62.
    let mut y = if msb >= 62 {
        v >> msb.saturating_sub(62)
    } else {
        v << 62_u32.saturating_sub(msb)
    };
    let mut frac: i128 = 0;
    for bit in (0..32).rev() {
        y = y.saturating_mul(y) >> 62;
        if y >= 2 * ONE_Q62 {
            y >>= 1;
            frac |= 1 << bit;
        }
    }
    let whole = i128::from(msb).saturating_sub(32);
    whole.saturating_mul(1 << 32).saturating_add(frac)
}

/// `2^e` for `e` in Q32, in Q32. Saturates far beyond anything a delay needs
/// (exponents of 64 and more give 2^64).
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

/// Milliseconds from a Q32 value, rounded to nearest, saturating.
fn to_ms(q: u128) -> Millis {
    u64::try_from(q.saturating_add(ONE >> 1) >> 32).unwrap_or(u64::MAX)
}

/// The delay before retry `k` (1 for the first) of a device at phase `u` (a
/// fraction of 2^32): `T(k - 1 + u) - T(k - 2 + u)`, with `T(-1 + u)` taken as 0.
///
/// `initial_ms <= max_ms` and a multiplier of at least 1 are the parser's
/// guarantees; the result never exceeds `max_ms` except for the first retry,
/// which lies in `[initial, 2 * initial)` and so within `max_ms` whenever
/// `initial_ms <= max_ms / 2`.
pub(crate) fn delay(
    initial_ms: Millis,
    multiplier_permille: u32,
    max_ms: Millis,
    k: u32,
    u: u32,
) -> Millis {
    let i = u128::from(initial_ms.max(1));
    let w = u128::from(max_ms.max(initial_ms).max(1));
    let u = u128::from(u);
    let p = u128::from(multiplier_permille.max(1000));
    if p == 1000 {
        // m = 1: T(x) = i * (1 + x), a line of slope i <= W.
        return if k <= 1 {
            to_ms(i.saturating_mul(ONE.saturating_add(u)))
        } else {
            initial_ms
        };
    }
    // log2(m) and ln(m) in Q32.
    let l = u128::try_from(log2_q32(mul_div(p, ONE, 1000))).unwrap_or(0).max(1);
    let ln_m = mul_div(l, LN2_Q32, ONE).max(1);
    // m^x0 = W (m - 1) / (i ln m): where the curve's slope reaches W. At least 1,
    // since ln m <= m - 1 and i <= W.
    let r = mul_div(
        w.saturating_mul(p.saturating_sub(1000)),
        ONE.saturating_mul(ONE),
        i.saturating_mul(1000).saturating_mul(ln_m),
    )
    .max(ONE);
    // (m^x - 1) / (m - 1) in Q32, for m^x in Q32.
    let geo = |mx: u128| mul_div(mx.saturating_sub(ONE), 1000, p.saturating_sub(1000));
    // m^x for x in Q32.
    let pow = |x: u128| exp2_q32(mul_div(x, l, ONE));
    // x0 in Q32 (only needed where a step straddles it).
    let x0 = || {
        let lg = u128::try_from(log2_q32(r)).unwrap_or(0);
        mul_div(lg, ONE, l)
    };
    // T(x0) in Q32 ms.
    let t_x0 = || i.saturating_mul(ONE.saturating_add(geo(r)));
    if k <= 1 {
        let mu = pow(u);
        let t = if mu <= r {
            i.saturating_mul(ONE.saturating_add(geo(mu)))
        } else {
            t_x0().saturating_add(w.saturating_mul(u.saturating_sub(x0())))
        };
        return to_ms(t).min(max_ms.max(initial_ms));
    }
    let lo = u128::from(k.saturating_sub(2)).saturating_mul(ONE).saturating_add(u);
    let m_lo = pow(lo);
    if m_lo >= r {
        // Both ends on the straight line.
        return max_ms;
    }
    let m_hi = m_lo.saturating_mul(p) / 1000;
    let d = if m_hi <= r {
        // Both ends on the geometric part: T(x + 1) - T(x) = i * m^x.
        i.saturating_mul(m_lo)
    } else {
        // Straddling x0: the rest of the geometric part, then the line.
        let x0 = x0();
        let hi = lo.saturating_add(ONE);
        let geometric = mul_div(i, r.saturating_sub(m_lo).saturating_mul(1000), p - 1000);
        geometric.saturating_add(w.saturating_mul(hi.saturating_sub(x0)))
    };
    to_ms(d).min(max_ms)
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
        let mut y = (x + 1) / 2;
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
            assert!((got - want).abs() < 1e-8, "log2({v}) = {got}, want {want}");
        }
        let half = log2_q32(ONE / 2);
        assert_eq!(half, -(1 << 32));
        for e in [0.0_f64, 0.5, 1.0, 1.321928, 3.3219, 10.25, 40.0] {
            let q = (e * 4_294_967_296.0) as u128;
            let got = exp2_q32(q) as f64 / 4_294_967_296.0;
            let want = e.exp2();
            assert!((got / want - 1.0).abs() < 1e-8, "2^{e} = {got}, want {want}");
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
        for (i, p, w) in [(1, 10_000, big), (big, 10_000, big), (1, 1001, big), (big, 1000, big)] {
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
            let n = times.iter().filter(|&&t| t >= w * 10_000 && t < (w + 1) * 10_000).count();
            assert!((150..=183).contains(&n), "window {w}: {n}");
        }
    }
}
