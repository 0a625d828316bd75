//! A long life in virtual time: one device (the real component) through 90 days
//! ([`tether_sim::soak`]): a message a minute, a fault every five minutes or so
//! (link resets, keep-alive losses with opens timing out, hub outages of up to
//! three minutes, MQTT 5 server-busy with retry-after), tokens lasting 75 minutes
//! and renewed every hour.
//!
//! Measured every virtual day: the component's linear memory, its queue, the
//! soak's own structures, and the live bytes of this process's heap (a counting
//! global allocator: everything the host side allocates, wasmtime included;
//! this binary runs this one test, so nothing else allocates meanwhile). Asserts:
//! after a one-day warm-up, no day ends with more linear memory than the warm
//! point, nor with more heap than the warm point plus [`HEAP_SLACK`]; the queue
//! never holds more than an outage's worth of messages; every accepted message
//! ends as exactly one outcome (the stop fails the last few with `client-close`);
//! the device never gives up; a renewal every hour. `TETHER_SOAK_DAYS` changes the
//! length (at least 4).
//!
//! ```sh
//! cargo test -p tether-tests --test long_life -- --nocapture
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use tether_sim::soak::{Figures, Soak, SoakPlan};

/// A heap that counts its live bytes.
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes allocated and not yet freed.
    pub static LIVE: AtomicUsize = AtomicUsize::new(0);

    /// The system allocator, counting.
    pub struct Counting;

    // SAFETY: every call goes to `System` unchanged; the counters only add and
    // subtract the sizes of what it allocated and freed.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract is passed on to System.
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            }
            p
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                LIVE.fetch_add(layout.size(), Ordering::Relaxed);
            }
            p
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: as above.
            unsafe { System.dealloc(ptr, layout) };
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as above.
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
                LIVE.fetch_add(new_size, Ordering::Relaxed);
            }
            p
        }
    }

    /// Live heap bytes now.
    pub fn live() -> usize {
        LIVE.load(Ordering::Relaxed)
    }
}

#[global_allocator]
static HEAP: counting::Counting = counting::Counting;

const DAY_MS: u64 = 86_400_000;
/// Heap growth allowed after the warm-up: the kernel queue's buckets and the
/// instance's reused buffers settle at their high-water marks over the first
/// days; a leak of even a few bytes per message (129,600 of them) or per fault
/// (25,000) is past this long before day 90.
const HEAP_SLACK: usize = 64 * 1024;
/// Messages an outage can queue: the longest outage (3 min plus the retry
/// delay, up to 55 s) at a message a minute, with room.
const QUEUE_BOUND: u32 = 10;

struct Sample {
    day: u64,
    heap: usize,
    figures: Figures,
}

fn row(label: &str, s: &Sample) -> String {
    let f = &s.figures;
    format!(
        "| {label} (day {}) | {} | {} | {} | {} | {} | {} | {} | {} |",
        s.day,
        f.linear_memory_bytes,
        s.heap,
        f.queued,
        f.scheduled,
        f.accepted,
        f.delivered,
        f.faults,
        f.renewals
    )
}

#[test]
fn ninety_days_of_faults_renewals_and_messages_leave_memory_flat() {
    let days = std::env::var("TETHER_SOAK_DAYS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(90, |d: u64| d.max(4));
    let runtime = tether_tests::runtime();
    let plan = SoakPlan::default();
    let mut soak = Soak::new(runtime, plan.clone()).unwrap();
    soak.run_until(60 * 60_000).unwrap();
    let start = Sample {
        day: 0,
        heap: counting::live(),
        figures: soak.figures().unwrap(),
    };
    let mut samples = Vec::new();
    let mut max_queued = 0;
    for day in 1..=days {
        soak.run_until(day * DAY_MS).unwrap();
        let figures = soak.figures().unwrap();
        max_queued = max_queued.max(figures.queued);
        samples.push(Sample {
            day,
            heap: counting::live(),
            figures,
        });
    }
    soak.stop().unwrap();
    // Less than a minute: the next message would find the connection stopped.
    soak.run_until(days * DAY_MS + 59_000).unwrap();
    let after_stop = soak.figures().unwrap();

    let warm = &samples[0];
    let middle = &samples[samples.len() / 2];
    let end = samples.last().unwrap();
    println!(
        "| moment | linear memory (bytes) | host heap (bytes) | queued | events scheduled | \
         accepted | delivered | faults | renewals |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!("{}", row("start, 1 h", &start));
    println!("{}", row("warm", warm));
    println!("{}", row("middle", middle));
    println!("{}", row("end", end));
    let heap_max = samples.iter().map(|s| s.heap).max().unwrap();
    let memory_max = samples
        .iter()
        .map(|s| s.figures.linear_memory_bytes)
        .max()
        .unwrap();
    println!(
        "{days} days: {} messages accepted, {} delivered, {} failed {:?}, {} refused, {} faults, \
         {} opens, {} renewals, {} status changes; largest queue {max_queued}; heap after the \
         warm-up at most {heap_max} bytes (+{} over day 1), linear memory at most {memory_max}",
        after_stop.accepted,
        after_stop.delivered,
        after_stop.failed_total(),
        after_stop.failed,
        after_stop.refused,
        after_stop.faults,
        after_stop.opens,
        after_stop.renewals,
        after_stop.status_changes,
        heap_max.saturating_sub(warm.heap),
    );

    // Flat: no day after the warm-up ends above it.
    for s in &samples {
        assert!(
            s.figures.linear_memory_bytes <= warm.figures.linear_memory_bytes,
            "linear memory grew to {} bytes on day {} (day 1: {})",
            s.figures.linear_memory_bytes,
            s.day,
            warm.figures.linear_memory_bytes
        );
        assert!(
            s.heap <= warm.heap + HEAP_SLACK,
            "the heap grew to {} bytes on day {} (day 1: {}, slack {HEAP_SLACK})",
            s.heap,
            s.day,
            warm.heap
        );
        assert!(s.figures.hub_links <= 2, "day {}: {:?}", s.day, s.figures);
        assert!(s.figures.scheduled <= 16, "day {}: {:?}", s.day, s.figures);
    }
    assert!(max_queued <= QUEUE_BOUND, "the queue held {max_queued}");
    // Every message accounted: one outcome each, nothing waiting after the stop.
    assert_eq!(after_stop.extra_outcomes, 0, "{after_stop:?}");
    assert_eq!(after_stop.waiting, 0, "{after_stop:?}");
    assert_eq!(after_stop.queued, 0, "{after_stop:?}");
    assert_eq!(
        after_stop.accepted,
        after_stop.delivered + after_stop.failed_total(),
        "{after_stop:?}"
    );
    assert_eq!(after_stop.refused, 0, "{after_stop:?}");
    let minutes = days * 24 * 60;
    assert_eq!(
        after_stop.accepted,
        minutes * 60_000 / plan.message_every_ms,
        "a message a minute"
    );
    // Only the stop fails messages: the queue never overflowed, nothing expired.
    assert!(
        after_stop.failed.keys().all(|why| *why == "client-close"),
        "{:?}",
        after_stop.failed
    );
    assert_eq!(after_stop.disconnected, 0, "the device never gave up");
    assert!(
        u64::from(after_stop.renewals) >= days * 24 - 1,
        "a renewal an hour: {}",
        after_stop.renewals
    );
    assert!(
        after_stop.faults >= days * DAY_MS / plan.fault_every_ms * 9 / 10,
        "{}",
        after_stop.faults
    );
}
