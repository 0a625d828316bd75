//! A real MQTT broker for tests: mosquitto (Debian package `mosquitto`, installed by
//! `scripts/setup`) with a configuration of the test's own, on a free loopback port.
//!
//! ```no_run
//! use tether_tests::broker::Broker;
//! use tether_tests::tls::Certificates;
//!
//! let mut broker = Broker::start()?;          // listener on 127.0.0.1:<free port>
//! let address = broker.address();              // "127.0.0.1:<port>", for the device
//! broker.kill()?;                              // SIGKILL: the device sees its link drop
//! broker.restart()?;                           // the same port again, ready to accept
//!
//! // Password authentication and TLS with a generated CA; MQTT 3.1.1 and 5 alike.
//! let certs = Certificates::generate()?;
//! let mut secure = Broker::options()
//!     .with_user("device-1", "secret")
//!     .with_tls(&certs)
//!     .start()?;
//! secure.set_users(&[("device-1", "rotated")])?; // rewrite the password file, SIGHUP
//! secure.pause()?;                              // SIGSTOP: half-open, no ping response
//! secure.resume()?;                             // SIGCONT
//! secure.stop()?;                               // SIGTERM: a graceful shutdown
//! secure.restart()?;                            // up again on the same port
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The configuration is `listener <port> 127.0.0.1`, `allow_anonymous true`,
//! `persistence false` (see [`Options::durable`]), plus any lines given to [`Broker::start_with`] or
//! [`Options::with_line`] (a given `allow_anonymous` line replaces the default one).
//! [`Options::with_user`] adds a hashed `password_file` and `allow_anonymous false`;
//! [`Options::with_tls`] makes the one listener a TLS listener (`cafile`, `certfile`,
//! `keyfile`). mosquitto's default `protocol mqtt` accepts MQTT 3.1, 3.1.1 and 5 on the
//! same listener. Files the configuration names live in [`Broker::dir`], which the
//! broker removes when dropped. The broker is killed when dropped. Its log (stdout
//! and stderr, across restarts) is [`Broker::log`].
//!
//! What mosquitto 2.0.11 does, as `tests/lab.rs` checks it:
//! - a refused login gets CONNACK return code 5 (not authorized) on MQTT 3.1.1 and
//!   reason code 0x87 (not authorized) on MQTT 5; an unknown user and a wrong
//!   password look the same;
//! - SIGHUP rereads the password file (the log says `Reloading config.`); see
//!   [`Broker::set_users`] for what happens to clients already connected;
//! - SIGTERM closes every client connection and exits 0 (log: `terminating`); SIGKILL
//!   leaves the kernel to close the sockets. A client cannot tell them apart: no
//!   MQTT 5 DISCONNECT is sent at SIGTERM, and rumqttc reports
//!   `StateError::ConnectionAborted` both times;
//! - SIGSTOP leaves connections open with nobody answering: a client sees its
//!   keep-alive ping go unanswered.

use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::tls::Certificates;

/// How long a starting broker may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a reload (SIGHUP) or a graceful stop (SIGTERM) may take.
const SIGNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The log line mosquitto prints when SIGHUP makes it reread its configuration.
const RELOAD_LINE: &str = "Reloading config.";

/// A mosquitto process on a loopback port, with its own configuration and folder.
#[derive(Debug)]
pub struct Broker {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    passwords: bool,
    tls: bool,
    durable: bool,
}

/// What a broker is started with; see [`Broker::options`].
///
/// # Defaults
/// Anonymous access, plain TCP, no persistence, no extra configuration lines.
#[derive(Debug, Clone, Default)]
pub struct Options {
    users: Vec<(String, String)>,
    tls: Option<Certificates>,
    lines: Vec<String>,
    durable: bool,
}

impl Options {
    /// Require a user name and password, and accept `name` with `password` (call
    /// again for more users). The password file is hashed with `mosquitto_passwd`.
    pub fn with_user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_string(), password.to_string()));
        self
    }

    /// Serve TLS on the listener with the server certificate of `certs`.
    pub fn with_tls(mut self, certs: &Certificates) -> Self {
        self.tls = Some(certs.clone());
        self
    }

    /// Keep sessions and messages across a kill: mosquitto saves its database in
    /// [`Broker::dir`] after every change and loads it when it starts again. A hub
    /// acknowledges a message once it is stored; without this a SIGKILL loses what
    /// the broker had acknowledged but not yet passed on to subscribers.
    pub fn durable(mut self) -> Self {
        self.durable = true;
        self
    }

    /// Append a raw mosquitto configuration line.
    pub fn with_line(mut self, line: &str) -> Self {
        self.lines.push(line.to_string());
        self
    }

    /// Start the broker and wait until it accepts connections.
    ///
    /// # Errors
    /// As [`Broker::start`]; also when a user name holds `:` or a line break, or the
    /// password file or certificates cannot be written.
    pub fn start(self) -> io::Result<Broker> {
        let port = free_port()?;
        let dir = unique_dir()?;
        let mut lines = Vec::new();
        if !self.users.is_empty() {
            let users: Vec<(&str, &str)> = self
                .users
                .iter()
                .map(|(u, p)| (u.as_str(), p.as_str()))
                .collect();
            write_password_file(&dir, &users)?;
            lines.push(format!("password_file {}", dir.join("passwords").display()));
            lines.push("allow_anonymous false".to_string());
        }
        if let Some(certs) = &self.tls {
            let files = certs.write_to(&dir)?;
            lines.push(format!("cafile {}", files.ca.display()));
            lines.push(format!("certfile {}", files.cert.display()));
            lines.push(format!("keyfile {}", files.key.display()));
        }
        lines.extend(self.lines);
        let mut broker = Broker {
            port,
            dir,
            child: None,
            passwords: !self.users.is_empty(),
            tls: self.tls.is_some(),
            durable: self.durable,
        };
        broker.write_config(&lines)?;
        broker.spawn()?;
        Ok(broker)
    }
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
        extra
            .iter()
            .fold(Options::default(), |o, l| o.with_line(l))
            .start()
    }

    /// A builder for a broker with users, TLS or extra lines.
    pub fn options() -> Options {
        Options::default()
    }

    /// The loopback port the broker listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Whether the listener speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The broker's folder: its configuration, its log, and any files a test adds.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id while the broker runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the broker process is alive (a paused broker is alive).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(_)) | Err(_)) | None => false,
        }
    }

    /// Kill the broker (SIGKILL, as a crash would) and reap it. Clients see their
    /// connections close. Killing a stopped broker does nothing; a paused one dies.
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

    /// Stop the broker gracefully: SIGTERM (and SIGCONT, in case it is paused), then
    /// wait for it to exit. mosquitto closes every client connection on the way out.
    /// Returns its exit status (`None` when it was not running).
    ///
    /// # Errors
    /// When it cannot be signalled, or has not exited after 10 s (it is then killed).
    pub fn stop(&mut self) -> io::Result<Option<ExitStatus>> {
        if !self.is_running() {
            self.child = None;
            return Ok(None);
        }
        self.signal("TERM")?;
        self.signal("CONT")?;
        let started = Instant::now();
        loop {
            let Some(child) = self.child.as_mut() else {
                return Ok(None);
            };
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(Some(status));
            }
            if started.elapsed() > SIGNAL_TIMEOUT {
                self.kill()?;
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "mosquitto did not exit within {SIGNAL_TIMEOUT:?} of SIGTERM (killed it); its log:\n{}",
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Pause the broker (SIGSTOP): its sockets stay open and nothing answers, as with
    /// a half-open connection. Undo with [`Broker::resume`].
    ///
    /// # Errors
    /// When the broker is not running or cannot be signalled.
    pub fn pause(&self) -> io::Result<()> {
        self.signal("STOP")
    }

    /// Resume a paused broker (SIGCONT).
    ///
    /// # Errors
    /// When the broker is not running or cannot be signalled.
    pub fn resume(&self) -> io::Result<()> {
        self.signal("CONT")
    }

    /// Start the broker again on the same port with the same configuration (killing
    /// it first if it runs), and wait until it accepts connections. Sessions and
    /// queued messages are gone, unless the broker is [`Options::durable`].
    ///
    /// # Errors
    /// As [`Broker::start`].
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill()?;
        self.spawn()
    }

    /// Replace the password file with exactly `users` (name, password) and make the
    /// running broker reread it (SIGHUP); returns once the broker has logged the
    /// reload. New logins are checked against the new file. mosquitto 2.0.11 also
    /// rechecks clients already connected: one whose user was removed or whose
    /// password changed is disconnected at the reload (`tests/lab.rs` shows it).
    ///
    /// # Errors
    /// When the broker was started without users, is not running, a name holds `:`
    /// or a line break, or the reload is not logged within 10 s.
    pub fn set_users(&mut self, users: &[(&str, &str)]) -> io::Result<()> {
        if !self.passwords {
            return Err(io::Error::other(
                "this broker has no password file: start it with Broker::options().with_user(..)",
            ));
        }
        write_password_file(&self.dir, users)?;
        self.reload()
    }

    /// Make the running broker reread its configuration and password file (SIGHUP),
    /// and wait until it logs the reload.
    ///
    /// # Errors
    /// When the broker is not running or the reload is not logged within 10 s.
    pub fn reload(&mut self) -> io::Result<()> {
        let before = self.log().matches(RELOAD_LINE).count();
        self.signal("HUP")?;
        let started = Instant::now();
        while self.log().matches(RELOAD_LINE).count() <= before {
            if !self.is_running() || started.elapsed() > SIGNAL_TIMEOUT {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "mosquitto did not log a reload after SIGHUP; its log:\n{}",
                        self.log()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
        Ok(())
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

    fn write_config(&self, extra: &[String]) -> io::Result<()> {
        let mut config = format!("listener {} 127.0.0.1\n", self.port);
        if self.durable {
            // Save after every change, so a SIGKILL loses nothing acknowledged.
            // Started as root, mosquitto would switch to the `mosquitto` user, who
            // cannot write in this folder; `user root` keeps it as it started (the
            // line does nothing for a broker started by another user).
            config.push_str(&format!(
                "persistence true\npersistence_location {}/\nautosave_on_changes true\nautosave_interval 1\nuser root\n",
                self.dir.display()
            ));
        } else {
            config.push_str("persistence false\n");
        }
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
        fs::write(self.dir.join("mosquitto.conf"), config)
    }

    fn spawn(&mut self) -> io::Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mosquitto.log"))?;
        let child = Command::new(sbin("mosquitto"))
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

/// Write `dir/passwords` with `users` and hash it in place (`mosquitto_passwd -U`):
/// mosquitto 2 refuses plain-text password files.
fn write_password_file(dir: &Path, users: &[(&str, &str)]) -> io::Result<()> {
    let mut text = String::new();
    for (name, password) in users {
        if name.is_empty() || name.contains([':', '\n', '\r']) || password.contains(['\n', '\r']) {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "user {name:?}: a user name must be non-empty without ':' or line breaks, a password without line breaks"
                ),
            ));
        }
        text.push_str(&format!("{name}:{password}\n"));
    }
    // Write beside and rename, so a reload never reads a half-written file.
    let staging = dir.join("passwords.new");
    fs::write(&staging, text)?;
    let output = Command::new(sbin("mosquitto_passwd"))
        .arg("-U")
        .arg(&staging)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run mosquitto_passwd ({e}); run scripts/setup (Debian package mosquitto)"),
            )
        })?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "mosquitto_passwd -U failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    fs::rename(staging, dir.join("passwords"))
}

/// A mosquitto program: on PATH, or where Debian puts it (`/usr/sbin` is not on
/// every user's PATH).
fn sbin(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()));
    let debian = Path::new("/usr/sbin").join(name);
    if !on_path && debian.is_file() {
        debian
    } else {
        PathBuf::from(name)
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
