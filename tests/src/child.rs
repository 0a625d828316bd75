//! A device program run as a child process whose stdout lines arrive as they are
//! printed: wait for what it says, send it a line, signal it (SIGKILL for the
//! power-loss tests), collect its exit status and stderr.
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//! use tether_tests::child::Lines;
//!
//! let mut device = Lines::spawn(Command::new("python3").arg("device.py"))?;
//! device.wait_until("connected", Duration::from_secs(60), |seen| {
//!     seen.iter().any(|l| l.starts_with("status connected"))
//! })?;
//! device.signal("KILL")?;
//! let (status, lines, stderr) = device.finish(Duration::from_secs(60))?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running program; see the [module docs](self).
#[derive(Debug)]
pub struct Lines {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    reader: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<String>>,
}

impl Lines {
    /// Start `cmd` with its stdin, stdout and stderr piped.
    ///
    /// # Errors
    /// When the program cannot be started.
    pub fn spawn(cmd: &mut Command) -> io::Result<Lines> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout pipe"))?;
        let mut err = child
            .stderr
            .take()
            .ok_or_else(|| io::Error::other("no stderr pipe"))?;
        let (tx, lines) = channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Ok(Lines {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            reader: Some(reader),
            stderr: Some(stderr),
        })
    }

    /// Every line read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Read lines until `done` holds for all lines read so far.
    ///
    /// # Errors
    /// `TimedOut` after `wait`, `UnexpectedEof` when the program ends first; each
    /// with what it printed.
    pub fn wait_until(
        &mut self,
        what: &str,
        wait: Duration,
        done: impl Fn(&[String]) -> bool,
    ) -> io::Result<()> {
        let start = Instant::now();
        while !done(&self.seen) {
            let left = wait.saturating_sub(start.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        format!(
                            "waited {wait:?} for {what}; output:\n{}",
                            self.seen.join("\n")
                        ),
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        format!(
                            "the program ended before {what}; output:\n{}",
                            self.seen.join("\n")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Write `line` and a newline to its stdin.
    ///
    /// # Errors
    /// When stdin is closed.
    pub fn send_line(&mut self, line: &str) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("stdin is closed"))?;
        writeln!(stdin, "{line}")?;
        stdin.flush()
    }

    /// Send the signal `name` (`KILL`, `TERM`, ...).
    ///
    /// # Errors
    /// When `kill` cannot be run or fails.
    pub fn signal(&self, name: &str) -> io::Result<()> {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -{name} failed: {status}")))
        }
    }

    /// Wait for the exit: the status, every stdout line, and stderr.
    ///
    /// # Errors
    /// `TimedOut` (and the program killed) when it does not exit within `wait`.
    pub fn finish(mut self, wait: Duration) -> io::Result<(ExitStatus, Vec<String>, String)> {
        drop(self.stdin.take());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if start.elapsed() >= wait {
                let _ = self.child.kill();
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!(
                        "the program did not exit within {wait:?}; output:\n{}",
                        self.seen.join("\n")
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.seen.extend(self.lines.try_iter());
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        Ok((status, std::mem::take(&mut self.seen), stderr))
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        // A test that fails half way leaves no device running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The messages a device reported failed in its `outcome N failed REASON` lines
/// (timestamped as [`Lines`] keeps them).
pub fn failed_outcomes(lines: &[(std::time::Instant, String)]) -> std::collections::BTreeSet<u64> {
    lines
        .iter()
        .filter(|(_, l)| l.starts_with("outcome ") && l.contains(" failed"))
        .filter_map(|(_, l)| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}
