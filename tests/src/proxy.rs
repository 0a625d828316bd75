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
//! The proxy runs on its own small tokio runtime (one worker thread), so plain
//! `#[test]` functions and async tests alike can use it; its methods never block on
//! that runtime. Dropping the proxy closes everything.

use std::collections::BTreeSet;
use std::io::{self, ErrorKind};
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
        let both = async {
            tokio::try_join!(
                pump(client_read, upstream_write, shared.faults.subscribe()),
                pump(upstream_read, client_write, shared.faults.subscribe()),
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

/// Forward `from` to `to` under the faults in force until `from` ends; then pass the
/// end on (half-close). An I/O error on either side ends the pump with that error.
async fn pump(
    mut from: ReadHalf<'_>,
    mut to: WriteHalf<'_>,
    faults: watch::Receiver<Faults>,
) -> io::Result<()> {
    let (queue, mut queued) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let mut read_faults = faults.clone();
    let mut write_faults = faults;
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if read_faults.wait_for(|f| !f.blackhole).await.is_err() {
                return Ok(()); // the proxy is gone
            }
            let n = from.read(&mut buf).await?;
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                return Ok(()); // end of stream; dropping `queue` tells the writer
            };
            let due = Instant::now()
                .checked_add(read_faults.borrow().latency)
                .unwrap_or_else(Instant::now);
            if queue.send((due, chunk.to_vec())).await.is_err() {
                return Ok(());
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
    tokio::try_join!(reader, writer).map(|_| ())
}
