//! Loading the component: compile once, instantiate cheaply many times.

use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Precompiled};

use crate::bindings::{Engine as EngineBindings, EnginePre};
use crate::error::{Error, Result};
use crate::plugin::{PluginLimits, PluginLoader, SharedLoader};
use crate::state::HostState;

/// The tether component this crate was built with (`guest/`, compiled for
/// `wasm32-wasip2` in release by the build script).
pub const COMPONENT: &[u8] = include_bytes!(env!("TETHER_COMPONENT"));

/// The WASI interface the component reads time from, and its one function used.
pub const CLOCK_IMPORT: (&str, &str) = ("wasi:clocks/monotonic-clock@0.2.12", "now");

/// The function of `wasi:clocks/wall-clock` the component imports: read only to
/// set the expiry of a token minted from a key.
pub const WALL_CLOCK_IMPORT: (&str, &str) = ("wasi:clocks/wall-clock@0.2.12", "now");

/// `wasi:clocks/wall-clock.datetime`.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lower, Clone, Copy)]
#[component(record)]
struct Datetime {
    seconds: u64,
    nanoseconds: u32,
}

/// The WASI interface the component reads a default seed from, and its one
/// function used.
pub const RANDOM_IMPORT: (&str, &str) = ("wasi:random/random@0.2.12", "get-random-u64");

/// A compiled tether component, linked against this host's imports and
/// pre-instantiated.
///
/// Compiling is the expensive part (tens of milliseconds): do it once per process
/// and share the `Runtime` (it is `Send + Sync`), or use [`Runtime::shared`].
/// [`Runtime::instantiate`] then only allocates a store and runs the component's
/// initialisation, a few microseconds.
pub struct Runtime {
    engine: Engine,
    component: Component,
    pre: EnginePre<HostState>,
    plugins: SharedLoader,
}

impl Runtime {
    /// The component embedded in this crate ([`COMPONENT`]).
    #[cfg(feature = "compiler")]
    pub fn new() -> Result<Self> {
        Self::from_bytes(COMPONENT)
    }

    /// A component read from a file (a `.wasm` component of the `device` world).
    #[cfg(feature = "compiler")]
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(Error::read(path))?;
        Self::from_bytes(&bytes).map_err(|e| Error::Load {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// A component from its bytes (binary, or the text format).
    #[cfg(feature = "compiler")]
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let engine = engine()?;
        let component = Component::new(&engine, bytes)
            .map_err(Error::wasm("compiling the tether component"))?;
        Self::link(engine, component)
    }

    /// Compile a component (binary or text) ahead of time into the form
    /// [`Runtime::from_precompiled`] loads: machine code for this host's
    /// architecture, this wasmtime version and this crate's engine settings.
    #[cfg(feature = "compiler")]
    pub fn precompile(bytes: &[u8]) -> Result<Vec<u8>> {
        Self::precompile_for(bytes, None)
    }

    /// [`Runtime::precompile`] for the target `triple` (for example
    /// `aarch64-unknown-linux-gnu`), or for this host with `None`. The same engine
    /// settings as [`Runtime::from_precompiled`] uses; a target this build's
    /// compiler has no backend for is an error that names it.
    ///
    /// 32-bit ARM (`armv7-unknown-linux-gnueabihf`, any `arm*` or `thumb*` triple)
    /// has no Cranelift backend: wasmtime runs Pulley bytecode there, so the file is
    /// made for [`pulley_target`]'s `pulley32` (what wasmtime on such a device
    /// expects). `pulley32` / `pulley64` may also be given as they are.
    #[cfg(feature = "compiler")]
    pub fn precompile_for(bytes: &[u8], triple: Option<&str>) -> Result<Vec<u8>> {
        let mut config = config();
        if let Some(triple) = triple {
            let target = pulley_target(triple).unwrap_or(triple);
            config
                .target(target)
                .map_err(Error::wasm(format!("the target `{triple}`")))?;
        }
        let target = triple.unwrap_or("this host");
        let engine = Engine::new(&config).map_err(Error::wasm(format!(
            "starting the wasmtime engine for {target} (is its backend in this build?)"
        )))?;
        engine
            .precompile_component(bytes)
            .map_err(Error::wasm("precompiling the tether component"))
    }

    /// A component precompiled by [`Runtime::precompile`]: no compiler runs, so a
    /// build without the `compiler` feature (no Cranelift) can load it.
    ///
    /// wasmtime refuses bytes made by another wasmtime version, for another
    /// target or with other engine settings (it compares the file's compatibility
    /// header with this engine's), and bytes that are not a precompiled component.
    /// It cannot check the machine code itself: whoever can write the file can
    /// run code in this process. Load only files you (or your build) made with
    /// [`Runtime::precompile`] or `tether compile`, from a place only they can write.
    pub fn from_precompiled(bytes: &[u8]) -> Result<Self> {
        let engine = engine()?;
        match Engine::detect_precompiled(bytes) {
            Some(Precompiled::Component) => {}
            Some(Precompiled::Module) => {
                return Err(Error::Refused(
                    "loading the precompiled tether component: this is a precompiled core \
                     module, not a component"
                        .into(),
                ));
            }
            None => {
                return Err(Error::Refused(
                    "loading the precompiled tether component: this is not a precompiled \
                     wasmtime file (a plain .wasm component? make one with `tether compile`)"
                        .into(),
                ));
            }
        }
        // SAFETY: wasmtime checks the header, version and engine settings of
        // `bytes`; the caller vouches that the code came from `precompile`, as
        // the documentation above requires.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(&engine, bytes) }.map_err(Error::wasm(
            "loading the precompiled tether component: its compatibility header does not \
             match this engine (made by another wasmtime version, for another target or \
             engine configuration, or damaged; remake it with `tether compile`)",
        ))?;
        Self::link(engine, component)
    }

    /// [`Runtime::from_precompiled`] on the contents of a file; errors name it.
    pub fn from_precompiled_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(Error::read(path))?;
        Self::from_precompiled(&bytes).map_err(|e| Error::Load {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    }

    /// Link a compiled component against this host's imports and pre-instantiate it.
    fn link(engine: Engine, component: Component) -> Result<Self> {
        let mut linker = Linker::<HostState>::new(&engine);
        EngineBindings::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(Error::wasm("linking the host imports"))?;
        // The `device` world adds three WASI functions to the `engine` world. They
        // are linked by hand: the rest of those WASI interfaces is not imported.
        linker
            .instance(CLOCK_IMPORT.0)
            .map_err(Error::wasm("linking the host imports"))?
            .func_wrap(CLOCK_IMPORT.1, |store, (): ()| {
                Ok((HostState::now_ns(store.data()),))
            })
            .map_err(Error::wasm("linking the host imports"))?;
        linker
            .instance(WALL_CLOCK_IMPORT.0)
            .map_err(Error::wasm("linking the host imports"))?
            .func_wrap(WALL_CLOCK_IMPORT.1, |store, (): ()| {
                let ns = HostState::wall_ns(store.data());
                let seconds = ns / 1_000_000_000;
                let nanoseconds = u32::try_from(ns % 1_000_000_000).unwrap_or(0);
                Ok((Datetime {
                    seconds,
                    nanoseconds,
                },))
            })
            .map_err(Error::wasm("linking the host imports"))?;
        linker
            .instance(RANDOM_IMPORT.0)
            .map_err(Error::wasm("linking the host imports"))?
            .func_wrap(RANDOM_IMPORT.1, |mut store, (): ()| {
                Ok((HostState::random_u64(store.data_mut()),))
            })
            .map_err(Error::wasm("linking the host imports"))?;
        // Fails here, once, if the component imports anything this host does not
        // supply or lacks an export of the `device` world.
        let pre = linker
            .instantiate_pre(&component)
            .map_err(Error::wasm("linking the tether component"))?;
        let pre = EnginePre::new(pre).map_err(Error::wasm(
            "the component does not export the `engine` world",
        ))?;
        Ok(Self {
            engine,
            component,
            pre,
            plugins: Arc::new(PluginLoader::new(PluginLimits::DEFAULT)),
        })
    }

    /// Run custom-policy plugins under `limits` from now on (instances made
    /// before keep theirs). See [`PluginLimits`] for the defaults.
    pub fn with_plugin_limits(mut self, limits: PluginLimits) -> Self {
        self.plugins = Arc::new(PluginLoader::new(limits));
        self
    }

    /// The limits plugins run under.
    pub fn plugin_limits(&self) -> PluginLimits {
        self.plugins.limits()
    }

    /// One process-wide runtime for the embedded component, compiled on first use.
    /// Tests and benchmarks share it so that only the first pays for compiling.
    #[cfg(feature = "compiler")]
    pub fn shared() -> Result<&'static Runtime> {
        static SHARED: std::sync::OnceLock<Result<Runtime, String>> = std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| Runtime::new().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Error::Unavailable(format!("the shared tether runtime: {e}")))
    }

    /// The names of the component's imports, as the component declares them (for
    /// example `wasi:clocks/monotonic-clock@0.2.4`), in declaration order.
    pub fn component_imports(&self) -> Vec<String> {
        self.component
            .component_type()
            .imports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// The functions the component imports, as `interface#function` (for example
    /// `wasi:clocks/monotonic-clock@0.2.12#now`), sorted. Types and resources are
    /// left out.
    pub fn component_import_functions(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (import, item) in self.component.component_type().imports(&self.engine) {
            match item.ty {
                ComponentItem::ComponentInstance(instance) => {
                    for (name, export) in instance.exports(&self.engine) {
                        if matches!(export.ty, ComponentItem::ComponentFunc(_)) {
                            names.push(format!("{import}#{name}"));
                        }
                    }
                }
                ComponentItem::ComponentFunc(_) => names.push(import.to_string()),
                _ => {}
            }
        }
        names.sort();
        names
    }

    /// The names of the component's exports, in declaration order.
    pub fn component_exports(&self) -> Vec<String> {
        self.component
            .component_type()
            .exports(&self.engine)
            .map(|(name, _)| name.to_string())
            .collect()
    }

    /// What [`Runtime::instantiate`] needs.
    pub(crate) fn parts(&self) -> (&Engine, &EnginePre<HostState>, &SharedLoader) {
        (&self.engine, &self.pre, &self.plugins)
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        &self.component
    }
}

/// The Pulley target wasmtime uses on a device whose architecture Cranelift does not
/// emit code for, when `triple` is such a device's: 32-bit ARM (`arm*`, `thumb*`),
/// `pulley32be` for its big-endian variants (`armeb*`, `thumbeb*`). `None` for
/// every other triple (their own backend compiles for them, or none does).
pub fn pulley_target(triple: &str) -> Option<&'static str> {
    let arch = triple.split('-').next().unwrap_or(triple);
    // `arm64` (Apple's spelling) is aarch64, which has its own backend.
    if arch.starts_with("arm64") || !(arch.starts_with("arm") || arch.starts_with("thumb")) {
        return None;
    }
    if arch.starts_with("armeb") || arch.starts_with("thumbeb") {
        Some("pulley32be")
    } else {
        Some("pulley32")
    }
}

/// The engine every tether component runs on. `precompile` and `from_precompiled`
/// must agree on these settings, so both come from here.
fn engine() -> Result<Engine> {
    Engine::new(&config()).map_err(Error::wasm("starting the wasmtime engine"))
}

/// The engine settings, the target aside.
fn config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("imports", &self.component_imports())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_32_bit_arm_triples_map_to_pulley() {
        assert_eq!(
            pulley_target("armv7-unknown-linux-gnueabihf"),
            Some("pulley32")
        );
        assert_eq!(
            pulley_target("thumbv7neon-unknown-linux-gnueabihf"),
            Some("pulley32")
        );
        assert_eq!(pulley_target("armebv7r-none-eabi"), Some("pulley32be"));
        for other in [
            "aarch64-unknown-linux-gnu",
            "arm64-apple-darwin",
            "x86_64-unknown-linux-gnu",
            "riscv32imac-unknown-none-elf",
            "pulley32",
        ] {
            assert_eq!(pulley_target(other), None, "{other}");
        }
    }

    #[test]
    fn the_component_imports_only_what_the_contract_names() {
        let runtime = Runtime::shared().unwrap();
        let mut imports = runtime.component_imports();
        imports.sort();
        assert_eq!(
            imports,
            vec![
                "tether:reconnect/credentials@0.1.0",
                "tether:reconnect/events@0.1.0",
                "tether:reconnect/policy-plugins@0.1.0",
                "tether:reconnect/provisioning@0.1.0",
                "tether:reconnect/transport@0.1.0",
                "tether:reconnect/types@0.1.0",
                "wasi:clocks/monotonic-clock@0.2.12",
                "wasi:clocks/wall-clock@0.2.12",
                "wasi:random/random@0.2.12",
            ]
        );
        let wasi: Vec<String> = runtime
            .component_import_functions()
            .into_iter()
            .filter(|f| f.starts_with("wasi:"))
            .collect();
        assert_eq!(
            wasi,
            vec![
                "wasi:clocks/monotonic-clock@0.2.12#now",
                "wasi:clocks/wall-clock@0.2.12#now",
                "wasi:random/random@0.2.12#get-random-u64",
            ]
        );
    }

    #[test]
    fn a_file_that_is_not_a_component_is_refused_with_a_reason() {
        let e = Runtime::from_bytes(b"not wasm").unwrap_err();
        assert!(
            format!("{e:#}").contains("compiling the tether component"),
            "{e:#}"
        );
        let e = Runtime::from_file("/nonexistent/tether.wasm").unwrap_err();
        assert!(
            format!("{e:#}").contains("/nonexistent/tether.wasm"),
            "{e:#}"
        );
    }
}
