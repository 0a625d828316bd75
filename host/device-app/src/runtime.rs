//! Loading the precompiled component (nothing to fall back to: no compiler).

use std::path::Path;

use tether_host::Runtime;

/// The runtime from the precompiled file: there is no compiler to fall back to.
pub fn load(precompiled: Option<&Path>) -> anyhow::Result<Runtime> {
    let path = precompiled.ok_or_else(|| {
        crate::bad_input(
            "no precompiled component: give --precompiled FILE or set TETHER_PRECOMPILED \
             (make one with `tether compile -o FILE`)",
        )
    })?;
    Runtime::from_precompiled_file(path).map_err(|e| crate::bad_input(format!("{e:#}")))
}
