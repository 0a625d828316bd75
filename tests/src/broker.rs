//! A real MQTT broker for tests: mosquitto (Debian package `mosquitto`, installed by
//! `scripts/setup`) with a configuration of the test's own, on a free loopback port.
//!
//! ```no_run
//! use tether_tests::broker::Broker;
//!
//! let mut broker = Broker::start()?;          // listener on 127.0.0.1:<free port>
//! let address = broker.address();              // "127.0.0.1:<port>", for the device
//! broker.kill()?;                              // SIGKILL: the device sees its link drop
//! broker.restart()?;                           // the same port again, ready to accept
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The configuration is `listener <port> 127.0.0.1`, `allow_anonymous true`,
//! `persistence false`, plus any lines given to [`Broker::start_with`] (password
//! files, TLS, ...; a given `allow_anonymous` line replaces the default one). Files the
//! configuration names can live in [`Broker::dir`], which the broker removes when
//! dropped. The broker is killed when dropped. Its log (stdout and stderr, across
//! restarts) is [`Broker::log`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long a starting broker may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A mosquitto process on a loopback port, with its own configuration and folder.
#[derive(Debug)]
pub struct Broker {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Start a broker with the default configuration on a free loopback port, and
    /// wait until it accepts connections.
    ///
    /// # Errors
    /// When mosquitto is missing (run `scripts/setup`), cannot start, or does not
    /// accept connections within 10 s (the error carries its log).
    pub fn start() -> io::Result<Broker> {
        Self::start_with(&[])
    }

    /// Like [`Broker::start`], with `extra` configuration lines appended (they apply
    /// to the listener: `password_file`, `certfile`, `protocol`...). A line starting
    /// with `allow_anonymous` replaces the default `allow_anonymous true`.
    ///
    /// # Errors
    /// As [`Broker::start`].
    pub fn start_with(extra: &[&str]) -> io::Result<Broker> {
        let port = free_port()?;
        let dir = unique_dir()?;
        let mut config = format!("listener {port} 127.0.0.1\npersistence false\n");
        if !extra
            .iter()
            .any(|l| l.trim_start().starts_with("allow_anonymous"))
        {
            config.push_str("allow_anonymous true\n");
        }
        for line in extra {
            config.push_str(line);
            config.push('\n');
        }
        fs::write(dir.join("mosquitto.conf"), config)?;
        let mut broker = Broker {
            port,
            dir,
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// The loopback port the broker listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's folder: its configuration, its log, and any files a test adds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id while the broker runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the broker process is alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    /// Kill the broker (SIGKILL, as a crash would) and reap it. Clients see their
    /// connections close. Killing a stopped broker does nothing.
    ///
    /// # Errors
    /// When the process cannot be signalled or reaped.
    pub fn kill(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            match child.kill() {
                Ok(()) => {}
                // already exited
                Err(e) if e.kind() == ErrorKind::InvalidInput => {}
                Err(e) => return Err(e),
            }
            child.wait()?;
        }
        Ok(())
    }

    /// Kill the broker if it runs, then start it again on the same port with the
    /// same configuration, and wait until it accepts connections.
    ///
    /// # Errors
    /// As [`Broker::start`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill()?;
        self.spawn()
    }

    /// Send signal `name` (`STOP`, `CONT`, `HUP`, `TERM`...) to the broker with
    /// `kill -s`: SIGSTOP makes a half-open broker, SIGHUP reloads its password file.
    ///
    /// # Errors
    /// When the broker is not running or `kill` fails.
    pub fn signal(&self, name: &str) -> io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| io::Error::other("the broker is not running"))?;
        let status = Command::new("kill")
            .args(["-s", name, &pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -s {name} {pid}: {status}")))
        }
    }

    /// Everything the broker printed so far, across restarts.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("mosquitto.log")).unwrap_or_default()
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))?;
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run mosquitto ({e}); run scripts/setup to install it (Debian package mosquitto)"
                    ),
                )
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Poll the port until the broker accepts a connection.
    fn wait_ready(&mut self) -> io::Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        loop {
            if !self.is_running() {
                let _ = self.kill();
                return Err(io::Error::other(format!(
                    "mosquitto exited at start; its log:\n{}",
                    self.log()
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                let _ = self.kill();
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "mosquitto does not accept connections on {addr} after {READY_TIMEOUT:?}; its log:\n{}",
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.kill();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The mosquitto binary: on PATH, or where Debian puts it (`/usr/sbin` is not on
/// every user's PATH).
fn mosquitto() -> PathBuf {
    let debian = Path::new("/usr/sbin/mosquitto");
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("mosquitto").is_file()));
    if !on_path && debian.is_file() {
        debian.to_path_buf()
    } else {
        PathBuf::from("mosquitto")
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A new empty folder for one broker.
fn unique_dir() -> io::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tether-broker-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    // Keep the log file's creation in one place: the folder is the broker's.
    File::create(dir.join("mosquitto.log"))?;
    Ok(dir)
}
