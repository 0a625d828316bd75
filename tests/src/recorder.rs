//! The far end of the numbered stream: a subscriber on the broker (rumqttc, MQTT
//! 3.1.1, QoS 1) that counts how many times each sequence number arrived, for the
//! no-lost-messages accounting.
//!
//! ```no_run
//! use std::collections::BTreeSet;
//! use std::time::Duration;
//! use tether_tests::broker::Broker;
//! use tether_tests::recorder::Recorder;
//!
//! let broker = Broker::start()?;
//! let recorder = Recorder::start(&broker.address(), "tether/stream")?; // subscribed
//! // ... the device publishes "1", "2", "3 any text" ... to tether/stream (QoS 1) ...
//! let record = recorder.wait_until(Duration::from_secs(10), |r| r.received() >= 3)?;
//! let accepted: BTreeSet<u64> = (1..=3).collect();   // what the device accepted
//! let failed = BTreeSet::new();                       // what it reported failed
//! let account = record.account(&accepted, &failed);
//! assert_eq!((account.lost.len(), account.unexpected), (0, 0), "{account}");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A payload's sequence number is the decimal number it starts with (`17`, or `17
//! anything`); a payload that does not start with a digit, or whose number does not
//! fit a `u64`, is kept as unexpected.
//!
//! The recorder connects straight to the broker (not through the fault proxy) with
//! `clean_session = false` and a 600 s keep-alive, so a paused broker does not make
//! it drop and messages queued while it reconnects are kept. It subscribes again
//! after every CONNACK, since a restarted broker (`persistence false`) has forgotten
//! it: after [`Broker::restart`](crate::broker::Broker::restart), wait with
//! [`Recorder::wait_subscribed`] before letting the device publish, or a message the
//! broker accepts before the subscription is back has nobody to go to. Messages a
//! killed broker had accepted but not yet passed on are lost with it: that is the
//! broker's guarantee without persistence, and the accounting shows it.
//!
//! The recorder runs on its own small tokio runtime (one worker thread), so plain
//! `#[test]` functions and async tests alike can use it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, ErrorKind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, SubscribeReasonCode};
use tokio::runtime::Runtime;

/// How long [`Recorder::start`] waits for the first subscription.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// The recorder's keep-alive: long, so that a paused broker does not make it drop.
const KEEP_ALIVE: Duration = Duration::from_secs(600);

/// A subscriber counting the numbered stream; see the [module docs](self).
#[derive(Debug)]
pub struct Recorder {
    runtime: Option<Runtime>,
    topic: String,
    record: Arc<Mutex<Record>>,
}

/// What the recorder has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// For each sequence number, how many times it arrived (at least once).
    pub counts: BTreeMap<u64, u32>,
    /// Payloads that carry no sequence number, as received.
    pub unparsed: Vec<Vec<u8>>,
    /// Connections made (CONNACKs received).
    pub connections: u64,
    /// Subscriptions granted (SUBACKs with a success code).
    pub subscriptions: u64,
    /// The last connection error, if any (the recorder retries every 20 ms).
    pub last_error: Option<String>,
}

/// The stream's accounting: every accepted message is delivered, reported failed,
/// or lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Messages the device accepted.
    pub accepted: usize,
    /// Accepted messages that arrived at least once.
    pub delivered: usize,
    /// Extra copies: arrivals beyond the first, over all numbers.
    pub duplicated: u64,
    /// Messages the device reported failed.
    pub failed: usize,
    /// Messages reported failed that arrived all the same (at-least-once: the broker
    /// had it when the device gave up on it).
    pub failed_but_arrived: BTreeSet<u64>,
    /// Accepted, not delivered, not reported failed.
    pub lost: BTreeSet<u64>,
    /// Arrivals nobody accepted: numbers never accepted plus payloads without a
    /// number.
    pub unexpected: usize,
}

impl fmt::Display for Accounting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "accepted {} / delivered {} / duplicated {} / failed {} / lost {} / unexpected {}",
            self.accepted,
            self.delivered,
            self.duplicated,
            self.failed,
            self.lost.len(),
            self.unexpected
        )?;
        if !self.lost.is_empty() {
            write!(f, " (lost: {:?})", self.lost)?;
        }
        if !self.failed_but_arrived.is_empty() {
            write!(f, " (failed but arrived: {:?})", self.failed_but_arrived)?;
        }
        Ok(())
    }
}

impl Record {
    /// Every sequence number that arrived.
    pub fn delivered(&self) -> BTreeSet<u64> {
        self.counts.keys().copied().collect()
    }

    /// The numbers that arrived more than once, with their arrival counts.
    pub fn duplicated(&self) -> BTreeMap<u64, u32> {
        self.counts
            .iter()
            .filter(|&(_, &n)| n > 1)
            .map(|(&seq, &n)| (seq, n))
            .collect()
    }

    /// Arrivals beyond the first, over all numbers.
    pub fn duplicates(&self) -> u64 {
        self.counts
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .fold(0, u64::saturating_add)
    }

    /// Every arrival, numbered or not.
    pub fn received(&self) -> u64 {
        self.counts
            .values()
            .map(|&n| u64::from(n))
            .fold(self.unparsed.len() as u64, u64::saturating_add)
    }

    /// Account for the stream, given the numbers the device `accepted` and those it
    /// reported `failed`.
    pub fn account(&self, accepted: &BTreeSet<u64>, failed: &BTreeSet<u64>) -> Accounting {
        let arrived = self.delivered();
        Accounting {
            accepted: accepted.len(),
            delivered: accepted.intersection(&arrived).count(),
            duplicated: self.duplicates(),
            failed: failed.len(),
            failed_but_arrived: failed.intersection(&arrived).copied().collect(),
            lost: accepted
                .iter()
                .filter(|seq| !arrived.contains(seq) && !failed.contains(seq))
                .copied()
                .collect(),
            unexpected: arrived
                .difference(accepted)
                .count()
                .saturating_add(self.unparsed.len()),
        }
    }
}

impl Recorder {
    /// Subscribe to `topic` (wildcards allowed) on the broker at `address`
    /// (`"127.0.0.1:<port>"`, plain TCP, anonymous) and wait for the subscription.
    ///
    /// # Errors
    /// As [`Recorder::start_with`].
    pub fn start(address: &str, topic: &str) -> io::Result<Recorder> {
        Self::start_with(address, topic, |_| {})
    }

    /// Like [`Recorder::start`], letting `configure` adjust the MQTT options first
    /// (credentials, TLS); the recorder's defaults are a unique client id,
    /// `clean_session = false` and a 600 s keep-alive.
    ///
    /// # Errors
    /// When `address` is not `host:port`, the runtime cannot be made, or the
    /// subscription is not granted within 10 s (the error names the last connection
    /// error).
    pub fn start_with(
        address: &str,
        topic: &str,
        configure: impl FnOnce(&mut MqttOptions),
    ) -> io::Result<Recorder> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let (host, port) = split_address(address)?;
        let id = format!(
            "tether-recorder-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut options = MqttOptions::new(id, host, port);
        options.set_clean_session(false);
        options.set_keep_alive(KEEP_ALIVE);
        configure(&mut options);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tether-recorder")
            .enable_all()
            .build()?;
        let record = Arc::new(Mutex::new(Record::default()));
        let task_record = Arc::clone(&record);
        let filter = topic.to_string();
        let topic = topic.to_string();
        runtime.spawn(async move {
            let record = task_record;
            let (client, mut events) = AsyncClient::new(options, 64);
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let mut r = lock(&record);
                        r.connections = r.connections.saturating_add(1);
                        // Queued for the event loop; `try_` so this task never waits on
                        // itself.
                        if let Err(e) = client.try_subscribe(topic.clone(), QoS::AtLeastOnce) {
                            lock(&record).last_error = Some(format!("subscribe: {e}"));
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        let granted = ack
                            .return_codes
                            .iter()
                            .all(|c| matches!(c, SubscribeReasonCode::Success(_)));
                        let mut r = lock(&record);
                        if granted {
                            r.subscriptions = r.subscriptions.saturating_add(1);
                        } else {
                            r.last_error = Some(format!("subscription refused: {ack:?}"));
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let mut r = lock(&record);
                        match sequence(&p.payload) {
                            Some(seq) => {
                                let n = r.counts.entry(seq).or_insert(0);
                                *n = n.saturating_add(1);
                            }
                            None => r.unparsed.push(p.payload.to_vec()),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        lock(&record).last_error = Some(e.to_string());
                        // The next poll reconnects; do not spin while the broker is down.
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        });
        let recorder = Recorder {
            runtime: Some(runtime),
            topic: filter,
            record,
        };
        recorder.wait_subscribed(0, START_TIMEOUT)?;
        Ok(recorder)
    }

    /// The topic filter recorded.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// A copy of what arrived so far.
    pub fn snapshot(&self) -> Record {
        lock(&self.record).clone()
    }

    /// Wait until `done` holds for the record, and return that record.
    ///
    /// # Errors
    /// When it does not hold within `timeout` (the error shows the record).
    pub fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&Record) -> bool,
    ) -> io::Result<Record> {
        let started = Instant::now();
        loop {
            let record = self.snapshot();
            if done(&record) {
                return Ok(record);
            }
            if started.elapsed() > timeout {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the recorder did not see what was awaited within {timeout:?}: {} arrivals, \
                         numbers {:?}, {} unparsed, {} connections, {} subscriptions, last error {:?}",
                        record.received(),
                        compact(&record.delivered()),
                        record.unparsed.len(),
                        record.connections,
                        record.subscriptions,
                        record.last_error
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait until more than `after` subscriptions have been granted: pass
    /// `snapshot().subscriptions` from before a broker restart.
    ///
    /// # Errors
    /// When none is granted within `timeout`.
    pub fn wait_subscribed(&self, after: u64, timeout: Duration) -> io::Result<Record> {
        self.wait_until(timeout, |r| r.subscriptions > after)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Not `drop(runtime)`: that panics inside an async test.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The decimal number a payload starts with.
fn sequence(payload: &[u8]) -> Option<u64> {
    let digits = payload.iter().take_while(|b| b.is_ascii_digit()).count();
    let text = std::str::from_utf8(payload.get(..digits)?).ok()?;
    text.parse().ok()
}

/// Numbers as ranges (`1-40, 42`), for error messages about long streams.
fn compact(numbers: &BTreeSet<u64>) -> String {
    let mut out = Vec::new();
    let mut run: Option<(u64, u64)> = None;
    for &n in numbers {
        run = match run {
            Some((a, b)) if b.checked_add(1) == Some(n) => Some((a, n)),
            Some((a, b)) => {
                out.push(if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                });
                Some((n, n))
            }
            None => Some((n, n)),
        };
    }
    if let Some((a, b)) = run {
        out.push(if a == b {
            a.to_string()
        } else {
            format!("{a}-{b}")
        });
    }
    format!("[{}]", out.join(", "))
}

fn split_address(address: &str) -> io::Result<(String, u16)> {
    address
        .rsplit_once(':')
        .and_then(|(host, port)| Some((host.to_string(), port.parse().ok()?)))
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("recorder address {address:?} is not host:port"),
            )
        })
}

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}
