//! The integer arithmetic the formulas and presets share: powers of two,
//! percentages and fixed-point exponentials, all saturating.

use crate::types::Millis;

/// `2^e`, saturating at `u64::MAX`.
pub(super) fn pow2(e: u32) -> u64 {
    1_u64.checked_shl(e).unwrap_or(u64::MAX)
}

/// `d * percent / 100`, saturating.
pub(super) fn percent_of(d: Millis, percent: u64) -> Millis {
    d.saturating_mul(percent)
        .checked_div(100)
        .unwrap_or(Millis::ZERO)
}

/// Fraction bits of the fixed-point factor.
const FRAC_BITS: u32 = 40;
const FIXED_ONE: u128 = 1 << FRAC_BITS;
const FIXED_HALF: u128 = 1 << (FRAC_BITS - 1);
/// The factor saturates at 2^41. Every `initial` is at least 1 and every `max` at
/// most [`MAX_MS`](super::MAX_MS) < 2^40, so a factor at the ceiling is always capped by `max`.
/// With 40 fraction bits, operands at most 2^81 overflow a u128 product only when
/// the true product is at least 2^48, past the ceiling: overflow means saturate.
const FACTOR_CAP: u128 = 1 << (41 + FRAC_BITS);

/// A rounded fixed-point product, saturating at [`FACTOR_CAP`].
fn fixed_mul(a: u128, b: u128) -> u128 {
    match a.checked_mul(b) {
        Some(p) => p
            .saturating_add(FIXED_HALF)
            .checked_shr(FRAC_BITS)
            .unwrap_or(FACTOR_CAP)
            .min(FACTOR_CAP),
        None => FACTOR_CAP,
    }
}

/// `min(initial * (permille / 1000)^n, max)` by fixed-point exponentiation by
/// squaring: at most 64 multiplications for any `n`. Rounding errors stay near
/// 2^-34 relative, far below the 0.1% a multiplier grows by at least per step, so
/// the curve is non-decreasing in `n`; multipliers that are powers of two are exact.
pub(super) fn exponential_base(initial: Millis, permille: u32, max: Millis, n: u32) -> Millis {
    let m = u128::from(permille)
        .saturating_mul(FIXED_ONE)
        .saturating_add(500)
        .checked_div(1000)
        .unwrap_or(FIXED_ONE);
    let mut factor = FIXED_ONE;
    let mut square = m;
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            factor = fixed_mul(factor, square);
        }
        e >>= 1;
        if e > 0 {
            square = fixed_mul(square, square);
        }
    }
    let d = u128::from(initial.as_ms())
        .saturating_mul(factor)
        .saturating_add(FIXED_HALF)
        .checked_shr(FRAC_BITS)
        .unwrap_or(u128::MAX);
    Millis::from_ms(u64::try_from(d).unwrap_or(u64::MAX)).min(max)
}
