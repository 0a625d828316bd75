//! What both benchmarks drive: a device whose every connection attempt fails,
//! in virtual time.

use std::time::{Duration, Instant as StdInstant};

use tether_host::{Command, Device, Entropy, Failure, Runtime, VirtualClock};

/// A device on a virtual clock with a link open, ready to be failed.
pub struct FailingDevice {
    pub device: Device,
    clock: VirtualClock,
    link: u64,
}

impl FailingDevice {
    /// A device configured by `config` (JSON), started, its first link open.
    pub fn new(runtime: &Runtime, config: &str) -> Self {
        let clock = VirtualClock::new();
        let mut device = Device::new(runtime, config, clock.clone(), Entropy::fixed(3)).unwrap();
        let link = opened_link(&device.start().unwrap().commands);
        Self {
            device,
            clock,
            link,
        }
    }

    /// Fail the open link with `failure`: the commands that made and how long
    /// the `on_failed` call took. Then the clock moves to the backoff's end and
    /// the wake-up opens the next link, outside the timing. An `Err` is the
    /// host's failure, and leaves the link as it was.
    pub fn fail(&mut self, failure: &Failure) -> anyhow::Result<(Vec<Command>, Duration)> {
        let started = StdInstant::now();
        let step = self.device.on_failed(self.link, failure)?;
        let took = started.elapsed();
        self.clock.set_ns(wake_deadline(&step.commands));
        self.link = opened_link(&self.device.on_wake()?.commands);
        Ok((step.commands, took))
    }
}

fn opened_link(commands: &[Command]) -> u64 {
    commands
        .iter()
        .find_map(|c| match c {
            Command::Open { link, .. } => Some(*link),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no open in {commands:?}"))
}

fn wake_deadline(commands: &[Command]) -> u64 {
    commands
        .iter()
        .find_map(|c| match c {
            Command::WakeAt(deadline) => Some(*deadline),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no wake-at in {commands:?}"))
}
