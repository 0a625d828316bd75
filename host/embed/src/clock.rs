//! Time and entropy: the two ambient inputs the component reads through imports.
//!
//! The component never reads a clock or a random source of its own: it calls
//! `wasi:clocks/monotonic-clock.now` and, only when a configuration gives no `seed`,
//! `wasi:random/random.get-random-u64`. The host answers those from a [`Clock`] and an
//! [`Entropy`], so a test swaps in a [`VirtualClock`] and a fixed seed and gets the
//! same decisions every run.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Nanoseconds in a millisecond: the WIT `instant` is in nanoseconds, durations in
/// milliseconds.
pub const NS_PER_MS: u64 = 1_000_000;

/// A monotonic clock, read by the component through `monotonic-clock.now`.
///
/// Readings are nanoseconds from an arbitrary origin and never go backwards.
pub trait Clock: Send {
    /// The current reading, in nanoseconds.
    fn now_ns(&self) -> u64;

    /// The time of day in nanoseconds since the Unix epoch, read by the component
    /// through `wall-clock.now` only to set the expiry of a token it mints. The
    /// system's by default.
    fn wall_ns(&self) -> u64 {
        system_wall_ns()
    }
}

/// Where a [`VirtualClock`]'s time of day starts, in seconds since the Unix epoch
/// (2023-11-14): the wall clock of every conformance vector and simulation, so
/// minted tokens are the same bytes in every host.
pub const VIRTUAL_EPOCH_S: u64 = 1_700_000_000;

/// The system's time of day, nanoseconds since the Unix epoch (0 before it).
pub fn system_wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The real monotonic clock: nanoseconds since this value was created.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock that reads 0 now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl SystemClock {
    /// The moment at which this clock reads `ns`: where a `wake-at` deadline falls
    /// on tokio's timer. `None` when it is too far away to represent.
    pub fn instant_at(&self, ns: u64) -> Option<Instant> {
        self.origin.checked_add(std::time::Duration::from_nanos(ns))
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to: the time base of tests and simulations.
///
/// Cloning gives another handle on the same time, so a test keeps one handle and
/// hands the other to the [`Runtime`](crate::Runtime). It starts at 0. Setting it
/// backwards is ignored: a monotonic clock never goes back.
#[derive(Clone, Default)]
pub struct VirtualClock {
    ns: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock reading 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current reading in milliseconds (rounded down).
    pub fn now_ms(&self) -> u64 {
        self.now_ns() / NS_PER_MS
    }

    /// Move to `ms` milliseconds. Earlier times than the current one are ignored.
    pub fn set_ms(&self, ms: u64) {
        self.set_ns(ms.saturating_mul(NS_PER_MS));
    }

    /// Move to `ns` nanoseconds. Earlier times than the current one are ignored.
    pub fn set_ns(&self, ns: u64) {
        self.ns.fetch_max(ns, Ordering::SeqCst);
    }

    /// Move forward by `ms` milliseconds.
    pub fn advance_ms(&self, ms: u64) {
        let step = ms.saturating_mul(NS_PER_MS);
        // A single atomic update: concurrent advances both count.
        let _ = self
            .ns
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(step))
            });
    }
}

impl Clock for VirtualClock {
    fn now_ns(&self) -> u64 {
        self.ns.load(Ordering::SeqCst)
    }

    /// [`VIRTUAL_EPOCH_S`] plus the virtual time.
    fn wall_ns(&self) -> u64 {
        VIRTUAL_EPOCH_S
            .saturating_mul(1_000_000_000)
            .saturating_add(self.now_ns())
    }
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VirtualClock({} ns)", self.now_ns())
    }
}

/// Where `wasi:random/random.get-random-u64` gets its answers.
///
/// The component asks for entropy only to seed a connection whose configuration
/// has no `seed`, so that the devices of a fleet do not back off in lockstep. Tests
/// use [`Entropy::fixed`] (or put a `seed` in the configuration) to pin the jitter.
pub struct Entropy {
    source: Box<dyn FnMut() -> u64 + Send>,
}

impl Entropy {
    /// Seeded from the operating system (through std's randomly keyed hasher),
    /// different in every process.
    pub fn os() -> Self {
        Self::fixed(RandomState::new().hash_one(0x7e7e_u64))
    }

    /// A fixed sequence (SplitMix64 from `seed`): the same answers every run.
    pub fn fixed(seed: u64) -> Self {
        let mut state = seed;
        Self::from_fn(move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            splitmix64(state)
        })
    }

    /// Any source of `u64`s.
    pub fn from_fn(source: impl FnMut() -> u64 + Send + 'static) -> Self {
        Self {
            source: Box::new(source),
        }
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        (self.source)()
    }
}

impl fmt::Debug for Entropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Entropy")
    }
}

/// The SplitMix64 output function (Steele, Lea and Flood).
fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_is_shared_and_monotonic() {
        let a = VirtualClock::new();
        let b = a.clone();
        a.set_ms(1500);
        assert_eq!(b.now_ms(), 1500);
        assert_eq!(b.now_ns(), 1_500_000_000);
        b.advance_ms(250);
        assert_eq!(a.now_ms(), 1750);
        a.set_ms(10);
        assert_eq!(a.now_ms(), 1750, "a monotonic clock never goes back");
    }

    #[test]
    fn fixed_entropy_repeats_and_os_entropy_varies() {
        let (mut a, mut b) = (Entropy::fixed(7), Entropy::fixed(7));
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        assert_ne!(first.first(), first.get(1));
        assert_ne!(Entropy::os().next_u64(), Entropy::os().next_u64());
    }
}
