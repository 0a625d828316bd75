//! `tether compile`: the component precompiled ahead of time, so a device loads it
//! without a compiler (`tether-device --precompiled FILE`, the C and Python hosts).

use std::path::Path;

use tether_host::{COMPONENT, Runtime, pulley_target};

use crate::input::bad_input;

/// Precompile `component` (the embedded one if none) for `target` (this host if
/// none) into `out`.
pub fn compile(component: Option<&Path>, out: &Path, target: Option<&str>) -> anyhow::Result<()> {
    let bytes = match component {
        Some(path) => std::fs::read(path)
            .map_err(|e| bad_input(format!("reading {}: {e}", path.display())))?,
        None => COMPONENT.to_vec(),
    };
    let code = Runtime::precompile_for(&bytes, target).map_err(|e| match component {
        Some(path) => bad_input(format!("{}: {e:#}", path.display())),
        None => bad_input(format!("{e:#}")),
    })?;
    std::fs::write(out, &code).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
    // 32-bit ARM gets Pulley bytecode (Cranelift emits no 32-bit ARM): say so.
    let target = match target {
        None => "this host".to_string(),
        Some(t) => match pulley_target(t) {
            Some(pulley) if pulley != t => format!("{t} (Pulley bytecode, {pulley})"),
            _ => t.to_string(),
        },
    };
    println!(
        "{}: {} bytes, precompiled for {target}",
        out.display(),
        code.len(),
    );
    Ok(())
}
