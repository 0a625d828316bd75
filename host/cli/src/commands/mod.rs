//! One module per subcommand, as `tether <name>`.

pub mod classify;
pub mod compile;
pub mod demo;
pub mod dps_emulator;
pub mod dst;
pub mod iothub_emulator;
pub mod plugin;
pub mod run;
pub mod schedule;
pub mod simulate;
