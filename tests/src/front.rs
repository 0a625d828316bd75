//! A rate-limiting front for a broker: what a hub's load balancer does in a storm.
//! It admits at most C new MQTT connections per second and refuses the rest with
//! an MQTT 3.1.1 CONNACK 3 (server unavailable), and it keeps a record of every
//! attempt. `tests/real_storm.rs` puts it in front of mosquitto to check the fleet
//! simulator (`tether_sim::fleet`) on a real network.
//!
//! ```no_run
//! use tether_tests::broker::Broker;
//! use tether_tests::front::Front;
//!
//! let mut broker = Broker::start()?;
//! let front = Front::start(&broker.address(), 100)?; // 100 admissions a second
//! let device_address = front.address();              // the devices connect here
//! // ... every device connects (the front admits them all until the first down) ...
//! let drop = front.set_down();                        // the hub is gone
//! broker.restart()?;                                  // which drops every link
//! let back = front.set_up();                          // the rate limit starts here
//! let attempts = front.attempts();                    // one per CONNECT seen
//! # let _ = (device_address, drop, back, attempts);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! It models the simulator's hub (`world.rs` there), not a guess at it:
//! - **Admission** is counted in whole seconds from the moment of [`Front::set_up`]
//!   (the hub's return): each second admits the first C CONNECTs it sees and
//!   refuses every other one, with nothing carried into the next second (the
//!   simulator's gate with no refusal cost). Not a token bucket.
//! - **While the hub is down** (from [`Front::set_down`] to [`Front::set_up`]) a
//!   CONNECT gets a TCP reset: the device's attempt fails at the network level, as
//!   the simulator's outage attempts do. The front does not try the broker then.
//! - **A link ends** when either end closes it. When the broker's side ends (the
//!   broker was killed) the front resets the device's side, so every device sees
//!   its link reset at once: the simulator's hub-side drop.
//! - Before the first [`Front::set_down`] every CONNECT is admitted (the fleet's
//!   first connection is not the storm).
//!
//! Every CONNECT the front reads is one [`Attempt`], with the time the front read
//! it and what it answered. Times are microseconds since the UNIX epoch, taken from
//! a monotonic clock anchored to the wall clock once, so that another process on
//! the machine doing the same (the device fleet) can be compared with it.
//!
//! The front runs on its own tokio runtime (two worker threads); its methods never
//! block on it. Dropping it closes everything. Plain MQTT only (it reads the
//! CONNECT), 3.1.1 or 5 (the refusal is 3.1.1's).

use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;

/// How long a device may take to send its CONNECT once its TCP connection is up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The listen backlog: a storm's burst must not overflow it (a dropped SYN costs
/// the device a second before it is sent again, a delay the simulator knows
/// nothing of). The kernel caps it at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

/// The largest CONNECT the front reads (a device's is a few hundred bytes).
const MAX_CONNECT: usize = 64 * 1024;

/// CONNACK, remaining length 2, no session present, return code 3 (server
/// unavailable).
const CONNACK_SERVER_UNAVAILABLE: [u8; 4] = [0x20, 0x02, 0x00, 0x03];

/// What the front answered one CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Passed on to the broker.
    Admitted,
    /// Over the second's capacity: CONNACK 3 and closed.
    Refused,
    /// The hub was down: reset.
    Down,
    /// Admitted, but the broker could not be reached: reset.
    Unreachable,
}

/// One CONNECT the front read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// When the front read it, in microseconds since the UNIX epoch.
    pub at_us: u64,
    /// What it answered.
    pub answer: Answer,
}

/// The front; see the [module docs](self).
#[derive(Debug)]
pub struct Front {
    runtime: Option<Runtime>,
    address: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    /// Admissions a second once the hub is back.
    capacity: u32,
    clock: Clock,
    /// The hub's state and the record, under one lock so that the record is in
    /// the order the gate saw the attempts.
    state: Mutex<State>,
    /// Links carried to the broker now.
    links: AtomicUsize,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    attempts: Vec<Attempt>,
    /// When links ended from the broker's side.
    hub_ends: Vec<u64>,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Before the first outage: everything is admitted.
    Open,
    /// The hub is gone.
    Down,
    /// The hub is up and admits `capacity` a second, counted from `origin`.
    Limited(Gate),
}

/// The simulator's hub gate: whole seconds from `origin`, `capacity` each.
#[derive(Debug, Clone, Copy)]
struct Gate {
    capacity: u32,
    origin: Instant,
    window: u128,
    used: u32,
}

impl Gate {
    fn admit(&mut self, at: Instant) -> bool {
        let window = at.saturating_duration_since(self.origin).as_millis() / 1000;
        if window != self.window {
            self.window = window;
            self.used = 0;
        }
        if self.used < self.capacity {
            self.used = self.used.saturating_add(1);
            true
        } else {
            false
        }
    }
}

/// A monotonic clock read as microseconds since the UNIX epoch.
#[derive(Debug, Clone, Copy)]
struct Clock {
    instant: Instant,
    epoch_us: u64,
}

impl Clock {
    fn new() -> Self {
        let epoch_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        Self {
            instant: Instant::now(),
            epoch_us,
        }
    }

    fn us(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.instant).as_micros();
        self.epoch_us
            .saturating_add(u64::try_from(since).unwrap_or(u64::MAX))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Front {
    /// Start a front on a free loopback port that forwards to `upstream`
    /// (`"127.0.0.1:<port>"`) and, once the hub has been down and is back, admits
    /// `capacity` new connections a second.
    ///
    /// # Errors
    /// When `upstream` is not a socket address, `capacity` is 0, or the runtime
    /// or listener cannot be made.
    pub fn start(upstream: &str, capacity: u32) -> io::Result<Front> {
        let upstream: SocketAddr = upstream.parse().map_err(|e| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("front upstream {upstream:?} is not an ip:port address: {e}"),
            )
        })?;
        if capacity == 0 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "front capacity: must be at least 1 connection a second",
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tether-front")
            .enable_all()
            .build()?;
        let listener = {
            let _inside = runtime.enter();
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
            socket.listen(BACKLOG)?
        };
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            capacity,
            clock: Clock::new(),
            state: Mutex::new(State {
                mode: Mode::Open,
                attempts: Vec::new(),
                hub_ends: Vec::new(),
            }),
            links: AtomicUsize::new(0),
        });
        runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Front {
            runtime: Some(runtime),
            address,
            shared,
        })
    }

    /// `127.0.0.1:<port>`: where the devices connect.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// The hub is gone from now on: CONNECTs are reset. Returns the moment, in
    /// microseconds since the UNIX epoch. Open links are not touched: they end
    /// when the broker's side does.
    pub fn set_down(&self) -> u64 {
        let mut state = lock(&self.shared.state);
        state.mode = Mode::Down;
        self.shared.clock.us(Instant::now())
    }

    /// The hub is back from now on, admitting the capacity a second in whole
    /// seconds counted from this moment, which it returns (microseconds since the
    /// UNIX epoch).
    pub fn set_up(&self) -> u64 {
        let now = Instant::now();
        let mut state = lock(&self.shared.state);
        state.mode = Mode::Limited(Gate {
            capacity: self.shared.capacity,
            origin: now,
            window: 0,
            used: 0,
        });
        self.shared.clock.us(now)
    }

    /// Every CONNECT read so far, in the order the gate saw them.
    pub fn attempts(&self) -> Vec<Attempt> {
        lock(&self.shared.state).attempts.clone()
    }

    /// When links ended from the broker's side (and the front reset the device's
    /// side), in microseconds since the UNIX epoch, in order.
    pub fn hub_ends(&self) -> Vec<u64> {
        lock(&self.shared.state).hub_ends.clone()
    }

    /// Links carried to the broker now.
    pub fn links(&self) -> usize {
        self.shared.links.load(Ordering::Relaxed)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // Not `drop(runtime)`: that panics inside an async test.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // EMFILE and the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            serve(client, &shared).await;
        });
    }
}

/// Read the CONNECT, answer it, and carry the link if it was admitted.
async fn serve(mut client: TcpStream, shared: &Shared) {
    let _ = client.set_nodelay(true);
    let Ok(Ok(first)) = tokio::time::timeout(CONNECT_TIMEOUT, read_packet(&mut client)).await
    else {
        return reset(client);
    };
    if first.first().is_none_or(|b| b >> 4 != 1) {
        // Not a CONNECT: not an attempt at all.
        return reset(client);
    }
    let (answer, index) = decide(shared);
    match answer {
        Answer::Down => reset(client),
        Answer::Refused => {
            let _ = client.write_all(&CONNACK_SERVER_UNAVAILABLE).await;
            let _ = client.shutdown().await;
        }
        Answer::Admitted | Answer::Unreachable => {
            // The broker's own CONNACK answers an admitted CONNECT.
            let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
                mark_unreachable(shared, index);
                return reset(client);
            };
            let _ = upstream.set_nodelay(true);
            if upstream.write_all(&first).await.is_err() {
                return reset(client);
            }
            shared.links.fetch_add(1, Ordering::Relaxed);
            let hub_side_ended = carry(&mut client, &mut upstream).await;
            shared.links.fetch_sub(1, Ordering::Relaxed);
            if hub_side_ended {
                reset(client);
                let ended = shared.clock.us(Instant::now());
                lock(&shared.state).hub_ends.push(ended);
            }
        }
    }
}

/// The gate's answer to a CONNECT read now, recorded; and the record's index.
fn decide(shared: &Shared) -> (Answer, usize) {
    let now = Instant::now();
    let mut state = lock(&shared.state);
    let answer = match &mut state.mode {
        Mode::Open => Answer::Admitted,
        Mode::Down => Answer::Down,
        Mode::Limited(gate) => {
            if gate.admit(now) {
                Answer::Admitted
            } else {
                Answer::Refused
            }
        }
    };
    let index = state.attempts.len();
    state.attempts.push(Attempt {
        at_us: shared.clock.us(now),
        answer,
    });
    (answer, index)
}

/// The broker could not be reached for admitted attempt `index`.
fn mark_unreachable(shared: &Shared, index: usize) {
    if let Some(a) = lock(&shared.state).attempts.get_mut(index) {
        a.answer = Answer::Unreachable;
    }
}

/// Carry bytes both ways until one side ends: `true` when the broker's side did,
/// `false` when the device's did.
async fn carry(client: &mut TcpStream, upstream: &mut TcpStream) -> bool {
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    tokio::select! {
        _ = tokio::io::copy(&mut upstream_read, &mut client_write) => true,
        _ = tokio::io::copy(&mut client_read, &mut upstream_write) => false,
    }
}

/// Close with a TCP RST: the device sees `ECONNRESET`.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// One whole MQTT packet: the fixed header byte, the remaining length (a variable
/// byte integer), and that many bytes.
async fn read_packet(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut packet = vec![stream.read_u8().await?];
    let mut remaining = 0usize;
    for shift in [0u32, 7, 14, 21] {
        let byte = stream.read_u8().await?;
        packet.push(byte);
        remaining |= usize::from(byte & 0x7F).checked_shl(shift).unwrap_or(0);
        if byte & 0x80 == 0 {
            break;
        }
        if shift == 21 {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                "MQTT remaining length longer than 4 bytes",
            ));
        }
    }
    if remaining > MAX_CONNECT {
        return Err(io::Error::new(
            ErrorKind::InvalidData,
            format!("an MQTT packet of {remaining} bytes where a CONNECT was expected"),
        ));
    }
    let header = packet.len();
    packet.resize(header.saturating_add(remaining), 0);
    if let Some(body) = packet.get_mut(header..) {
        stream.read_exact(body).await?;
    }
    Ok(packet)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn the_gate_admits_its_capacity_in_each_whole_second_from_its_origin() {
        let origin = Instant::now();
        let mut gate = Gate {
            capacity: 2,
            origin,
            window: 0,
            used: 0,
        };
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let admitted: Vec<bool> = [0, 10, 999, 1000, 1500, 1999, 2000, 4000]
            .iter()
            .map(|&ms| gate.admit(at(ms)))
            .collect();
        assert_eq!(admitted, [true, true, false, true, true, false, true, true]);
    }
}
