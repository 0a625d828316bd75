//! A fault proxy: a TCP proxy on a free loopback port in front of the broker, that
//! adds latency, blackholes traffic, resets connections, and heals. The device
//! connects to the proxy; the broker (and the [`recorder`](crate::recorder)) stay
//! directly connected, so only the device's link suffers.
//!
//! ```no_run
//! use std::time::Duration;
//! use tether_tests::broker::Broker;
//! use tether_tests::proxy::Proxy;
//!
//! let broker = Broker::start()?;
//! let proxy = Proxy::start(&broker.address())?;  // 127.0.0.1:<another port>
//! let device_address = proxy.address();           // the device connects here
//! proxy.set_latency(Duration::from_millis(300));  // each direction, every chunk
//! proxy.blackhole();                               // accept and forward nothing
//! proxy.heal();                                    // no latency, traffic flows again
//! let reset = proxy.reset()?;                      // RST every open connection
//! # let _ = (device_address, reset);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Every fault applies to the connections open now and to those made later.
//! - Latency delays each chunk read from either side by the latency set when it was
//!   read; order is kept.
//! - Blackhole stops reading and forwarding in both directions (new connections are
//!   accepted but nothing passes), like a path that drops every packet: senders fill
//!   their socket buffers, keep-alives go unanswered. Bytes already read are held,
//!   not dropped, so a stream is never corrupted: after [`Proxy::heal`] they flow on.
//!   An end that closes during the blackhole is noticed only after the heal, as the
//!   far end of a real dead path would only learn it then.
//! - Reset sets `SO_LINGER` to 0 on both sockets of every open connection and closes
//!   them: the device and the broker each get a TCP RST (`ECONNRESET`).
//! - A connection the broker refuses (broker down) is reset the same way, since the
//!   proxy has already accepted it: the device sees a reset, not a refusal.
//! - An end closing or resetting its side is passed on to the other end.
//!
//!
//! A proxy made with [`Proxy::start_mqtt5`] (for plain MQTT 5 links, no TLS) also
//! reads the packets it carries, without changing any it does not act on:
//! - it keeps the CONNECT of the latest connection ([`Proxy::connect_packet`]), so a
//!   test can [`Proxy::replay`] it later to the broker as a stale second client with
//!   the device's client id, which makes the broker take the live session over and
//!   close the device's link (MQTT 5 wants a DISCONNECT 0x8E, session taken over,
//!   first; mosquitto sends it only from 2.0.15 and closes the link plainly before);
//! - with [`Proxy::refuse_publishes`] it refuses every n-th QoS 1 PUBLISH it has not
//!   refused before, like a hub: the PUBLISH never reaches the broker, and the
//!   device gets a PUBACK with the refusal's reason code in its place. A message
//!   sent again after a refusal passes, as if the hub's quota had come back.
//!
//! The proxy runs on its own small tokio runtime (one worker thread), so plain
//! `#[test]` functions and async tests alike can use it; its methods never block on
//! that runtime. Dropping the proxy closes everything.

use std::collections::BTreeSet;
use std::io::{self, ErrorKind, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How long [`Proxy::reset`] waits for the reset connections to close.
const RESET_TIMEOUT: Duration = Duration::from_secs(5);

/// The faults in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Added to every chunk, in each direction.
    pub latency: Duration,
    /// Nothing is read or forwarded.
    pub blackhole: bool,
}

/// The fault proxy; see the [module docs](self).
#[derive(Debug)]
pub struct Proxy {
    runtime: Option<Runtime>,
    address: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    faults: watch::Sender<Faults>,
    resets: watch::Sender<u64>,
    /// Ids of the connections open now. Held while subscribing to `resets` and while
    /// bumping it, so a reset knows exactly which connections it reaches.
    open: Mutex<BTreeSet<u64>>,
    accepted: AtomicU64,
    /// Present on an MQTT 5 proxy.
    mqtt: Option<Mqtt>,
}

/// What an MQTT 5 proxy keeps and does.
#[derive(Debug, Default)]
struct Mqtt {
    /// The CONNECT packet of the latest connection, as the device sent it.
    last_connect: Mutex<Option<Vec<u8>>>,
    /// Refuse every `.0`-th QoS 1 PUBLISH with reason code `.1`.
    refuse: Mutex<Option<(u64, u8)>>,
    /// QoS 1 PUBLISHes that could have been refused (not refused before).
    candidates: AtomicU64,
    /// The payloads refused, in order (each once).
    refused: Mutex<Vec<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn open(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        // A poisoned set is still a set of ids.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Proxy {
    /// Start a proxy on a free loopback port that forwards to `upstream`
    /// (`"127.0.0.1:<port>"`).
    ///
    /// # Errors
    /// When `upstream` is not a socket address, or the runtime or listener cannot be
    /// made.
    pub fn start(upstream: &str) -> io::Result<Proxy> {
        Self::start_with(upstream, None)
    }

    /// Like [`Proxy::start`], for plain (not TLS) MQTT 5 links: the proxy also reads
    /// the packets, to capture CONNECTs and refuse PUBLISHes (see the
    /// [module docs](self)).
    ///
    /// # Errors
    /// As [`Proxy::start`].
    pub fn start_mqtt5(upstream: &str) -> io::Result<Proxy> {
        Self::start_with(upstream, Some(Mqtt::default()))
    }

    fn start_with(upstream: &str, mqtt: Option<Mqtt>) -> io::Result<Proxy> {
        let upstream: SocketAddr = upstream.parse().map_err(|e| {
            io::Error::new(
                ErrorKind::InvalidInput,
                format!("proxy upstream {upstream:?} is not an ip:port address: {e}"),
            )
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tether-proxy")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _inside = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared {
            upstream,
            faults: watch::Sender::new(Faults::default()),
            resets: watch::Sender::new(0),
            open: Mutex::new(BTreeSet::new()),
            accepted: AtomicU64::new(0),
            mqtt,
        });
        runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(Proxy {
            runtime: Some(runtime),
            address,
            shared,
        })
    }

    /// The proxy's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// `127.0.0.1:<port>`: where the device connects.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Where the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        *self.shared.faults.borrow()
    }

    /// Delay every chunk by `latency` in each direction (so a round trip gains twice
    /// that), from now on; zero removes it.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.faults.send_modify(|f| f.latency = latency);
    }

    /// Stop forwarding in both directions, on open and new connections.
    pub fn blackhole(&self) {
        self.shared.faults.send_modify(|f| f.blackhole = true);
    }

    /// Remove every fault: no latency, no blackhole. Held bytes flow on.
    pub fn heal(&self) {
        self.shared.faults.send_replace(Faults::default());
    }

    /// Reset every open connection (RST to both ends) and wait until they are closed.
    /// Returns how many were reset. Later connections are not affected.
    ///
    /// # Errors
    /// When the reset connections are not all closed within 5 s.
    pub fn reset(&self) -> io::Result<usize> {
        let targets = {
            let open = self.shared.open();
            self.shared.resets.send_modify(|n| *n = n.wrapping_add(1));
            open.clone()
        };
        let started = std::time::Instant::now();
        loop {
            let remaining = self.shared.open().intersection(&targets).count();
            if remaining == 0 {
                return Ok(targets.len());
            }
            if started.elapsed() > RESET_TIMEOUT {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "{remaining} connection(s) still open {RESET_TIMEOUT:?} after the reset"
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// How many connections are open now.
    pub fn open_connections(&self) -> usize {
        self.shared.open().len()
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    fn mqtt(&self) -> io::Result<&Mqtt> {
        self.shared.mqtt.as_ref().ok_or_else(|| {
            io::Error::new(
                ErrorKind::Unsupported,
                "not an MQTT proxy: start it with Proxy::start_mqtt5",
            )
        })
    }

    /// The CONNECT packet of the latest connection (it holds the device's
    /// credentials: never print it).
    ///
    /// # Errors
    /// When this is not an MQTT proxy, or no CONNECT has passed yet.
    pub fn connect_packet(&self) -> io::Result<Vec<u8>> {
        lock(&self.mqtt()?.last_connect)
            .clone()
            .ok_or_else(|| io::Error::new(ErrorKind::NotFound, "no CONNECT has passed yet"))
    }

    /// Open a connection of its own to the broker and send `packet` on it (a
    /// CONNECT from [`Proxy::connect_packet`]): a stale client with the device's
    /// identity. Nothing else is sent or read; dropping the stream closes it.
    ///
    /// # Errors
    /// When the broker cannot be reached.
    pub fn replay(&self, packet: &[u8]) -> io::Result<std::net::TcpStream> {
        let mut stream = std::net::TcpStream::connect(self.shared.upstream)?;
        stream.set_nodelay(true)?;
        stream.write_all(packet)?;
        Ok(stream)
    }

    /// From now on, refuse every `every`-th QoS 1 PUBLISH not refused before, with
    /// PUBACK reason `code` (0x80 or above); `every` 0 stops refusing.
    ///
    /// # Errors
    /// When this is not an MQTT proxy, or `code` is not a refusal.
    pub fn refuse_publishes(&self, every: u64, code: u8) -> io::Result<()> {
        if code < 0x80 {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!("PUBACK reason {code:#04x} is not a refusal (0x80 or above)"),
            ));
        }
        *lock(&self.mqtt()?.refuse) = (every > 0).then_some((every, code));
        Ok(())
    }

    /// The payloads of the PUBLISHes refused so far, in order.
    ///
    /// # Errors
    /// When this is not an MQTT proxy.
    pub fn refused_payloads(&self) -> io::Result<Vec<Vec<u8>>> {
        Ok(lock(&self.mqtt()?.refused).clone())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Not `drop(runtime)`: that panics inside an async test.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // EMFILE and the like: wait a little rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let id = next_id;
        next_id = next_id.wrapping_add(1);
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        let resets = {
            let mut open = shared.open();
            open.insert(id);
            shared.resets.subscribe()
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            serve(client, resets, &shared).await;
            shared.open().remove(&id);
        });
    }
}

/// Carry one connection until both ends have closed, one end fails, or a reset.
async fn serve(mut client: TcpStream, mut resets: watch::Receiver<u64>, shared: &Shared) {
    let mut upstream = tokio::select! {
        connected = TcpStream::connect(shared.upstream) => match connected {
            Ok(s) => s,
            Err(_) => {
                rst(&client);
                return;
            }
        },
        _ = resets.changed() => {
            rst(&client);
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let graceful = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        // PUBACKs the proxy makes up go to the device between the broker's packets.
        let (inject, injected) = mpsc::channel::<Vec<u8>>(64);
        let (up, down) = match &shared.mqtt {
            Some(mqtt) => (
                Packets::Up {
                    mqtt,
                    inject,
                    first: true,
                },
                Packets::Down { injected },
            ),
            None => (Packets::Raw, Packets::Raw),
        };
        let both = async {
            tokio::try_join!(
                pump(client_read, upstream_write, shared.faults.subscribe(), up),
                pump(upstream_read, client_write, shared.faults.subscribe(), down),
            )
        };
        tokio::select! {
            done = both => done.is_ok(),
            _ = resets.changed() => false,
        }
    };
    if !graceful {
        rst(&client);
        rst(&upstream);
    }
}

/// Make the coming close send a TCP RST instead of a FIN.
fn rst(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// How a pump treats what it carries.
enum Packets<'a> {
    /// Bytes as they come (any protocol, TLS included).
    Raw,
    /// Device to broker on an MQTT proxy: whole packets; the first (the CONNECT)
    /// is kept; PUBLISHes may be refused, their PUBACK going to `inject`.
    Up {
        mqtt: &'a Mqtt,
        inject: mpsc::Sender<Vec<u8>>,
        first: bool,
    },
    /// Broker to device on an MQTT proxy: whole packets, with the `injected` ones
    /// in between.
    Down { injected: mpsc::Receiver<Vec<u8>> },
}

/// The length of the whole MQTT packet at the start of `buf`, once it is all there
/// (fixed header byte, remaining length as a variable byte integer, the rest), and
/// the offset of its variable header.
fn packet_len(buf: &[u8]) -> Option<(usize, usize)> {
    let (remaining, used) = var_int(buf.get(1..)?)?;
    let header = used.saturating_add(1);
    let total = header.saturating_add(remaining);
    (buf.len() >= total).then_some((total, header))
}

/// An MQTT variable byte integer at the start of `bytes`: its value and its length.
fn var_int(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().take(4).enumerate() {
        let shift = u32::try_from(i.saturating_mul(7)).ok()?;
        value |= usize::from(byte & 0x7F).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some((value, i.saturating_add(1)));
        }
    }
    None
}

/// The packet id and payload of an MQTT 5 QoS 1 PUBLISH.
fn qos1_publish(packet: &[u8], header: usize) -> Option<(u16, &[u8])> {
    let first = *packet.first()?;
    if first >> 4 != 3 || (first >> 1) & 3 != 1 {
        return None;
    }
    let rest = packet.get(header..)?;
    let topic_len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let rest = rest.get(topic_len.saturating_add(2)..)?;
    let pkid = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
    // The properties: their length (a variable byte integer), then them.
    let props = rest.get(2..)?;
    let (len, used) = var_int(props)?;
    Some((pkid, props.get(used.saturating_add(len)..)?))
}

impl Packets<'_> {
    /// What to forward of one whole packet (nothing, when it is refused).
    async fn packet(&mut self, packet: Vec<u8>, header: usize) -> Option<Vec<u8>> {
        let Packets::Up {
            mqtt,
            inject,
            first,
        } = self
        else {
            return Some(packet);
        };
        if std::mem::take(first) && packet.first().is_some_and(|b| b >> 4 == 1) {
            *lock(&mqtt.last_connect) = Some(packet.clone());
        }
        let refuse = *lock(&mqtt.refuse);
        let (Some((every, code)), Some((pkid, payload))) = (refuse, qos1_publish(&packet, header))
        else {
            return Some(packet);
        };
        if lock(&mqtt.refused).iter().any(|p| p == payload) {
            return Some(packet); // refused once already: it passes now
        }
        let n = mqtt
            .candidates
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if n.checked_rem(every) != Some(0) {
            return Some(packet);
        }
        lock(&mqtt.refused).push(payload.to_vec());
        // PUBACK, remaining length 3: packet id and reason, no properties.
        let [hi, lo] = pkid.to_be_bytes();
        let _ = inject.send(vec![0x40, 0x03, hi, lo, code]).await;
        None
    }
}

/// Forward `from` to `to` under the faults in force until `from` ends; then pass the
/// end on (half-close). An I/O error on either side ends the pump with that error.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    faults: watch::Receiver<Faults>,
    mut packets: Packets<'_>,
) -> io::Result<()> {
    let (queue, mut queued) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    // On an MQTT proxy, what was read before an error still goes out first: a
    // broker's DISCONNECT must reach the device before the reset does.
    let drain_first = !matches!(packets, Packets::Raw);
    let mut read_faults = faults.clone();
    let mut write_faults = faults;
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        // Bytes of a packet not complete yet (MQTT proxies only).
        let mut partial: Vec<u8> = Vec::new();
        loop {
            if read_faults.wait_for(|f| !f.blackhole).await.is_err() {
                return Ok(()); // the proxy is gone
            }
            let read = match &mut packets {
                Packets::Down { injected, .. } => tokio::select! {
                    n = from.read(&mut buf) => n,
                    Some(p) = injected.recv() => {
                        if queue.send((Instant::now(), p)).await.is_err() {
                            return Ok(());
                        }
                        continue;
                    }
                },
                _ => from.read(&mut buf).await,
            };
            let chunk = match &read {
                Ok(n) => buf.get(..*n).filter(|c| !c.is_empty()),
                Err(_) => None,
            };
            let Some(chunk) = chunk else {
                // End of stream (dropping `queue` tells the writer) or an error.
                return read.map(|_| ());
            };
            let due = Instant::now()
                .checked_add(read_faults.borrow().latency)
                .unwrap_or_else(Instant::now);
            if matches!(packets, Packets::Raw) {
                if queue.send((due, chunk.to_vec())).await.is_err() {
                    return Ok(());
                }
                continue;
            }
            partial.extend_from_slice(chunk);
            while let Some((len, header)) = packet_len(&partial) {
                let packet: Vec<u8> = partial.drain(..len).collect();
                if let Some(out) = packets.packet(packet, header).await
                    && queue.send((due, out)).await.is_err()
                {
                    return Ok(());
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = queued.recv().await {
            tokio::time::sleep_until(due).await;
            if write_faults.wait_for(|f| !f.blackhole).await.is_err() {
                return Ok(());
            }
            to.write_all(&chunk).await?;
        }
        to.shutdown().await
    };
    if drain_first {
        let (read, written) = tokio::join!(reader, writer);
        return read.and(written);
    }
    tokio::try_join!(reader, writer).map(|_| ())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn packets_are_framed_by_their_remaining_length() {
        assert_eq!(packet_len(&[0x40]), None);
        assert_eq!(packet_len(&[0x40, 0x02, 0x00]), None, "one byte short");
        assert_eq!(packet_len(&[0x40, 0x02, 0x00, 0x01, 0xFF]), Some((4, 2)));
        // A two-byte remaining length: 200 = 0xC8 0x01.
        let mut long = vec![0x30, 0xC8, 0x01];
        long.resize(3 + 200, 0);
        assert_eq!(packet_len(&long), Some((203, 3)));
        assert_eq!(
            packet_len(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            None,
            "5-byte length"
        );
    }

    #[test]
    fn a_qos1_publish_gives_its_packet_id_and_payload() {
        // PUBLISH QoS 1, topic "t/1", packet id 0x0102, no properties, payload "42".
        let packet = [
            0x32, 0x0A, 0x00, 0x03, b't', b'/', b'1', 0x01, 0x02, 0x00, b'4', b'2',
        ];
        let (len, header) = packet_len(&packet).unwrap();
        assert_eq!(len, packet.len());
        assert_eq!(qos1_publish(&packet, header), Some((0x0102, &b"42"[..])));
        // QoS 0 has no packet id: never refused.
        let qos0 = [0x30, 0x06, 0x00, 0x03, b't', b'/', b'1', 0x00];
        assert_eq!(qos1_publish(&qos0, 2), None);
        // A PUBACK is not a PUBLISH.
        assert_eq!(qos1_publish(&[0x40, 0x02, 0x00, 0x01], 2), None);
    }
}
