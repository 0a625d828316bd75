//! The sandbox for custom retry-policy plugins (`wit/policy.wit`).
//!
//! A connection configured with `"policy": {"kind": "custom", "plugin": PATH, ...}`
//! asks its plugin for every backoff decision through the engine's
//! `policy-plugins.decide` import. This module answers that import: it loads the
//! plugin (refusing one that imports anything), runs each decision in the plugin's
//! own store under [`PluginLimits`], and says what happened. It decides nothing
//! itself: the engine checks the answer, falls back on the built-in policy,
//! reports faults and quarantines (`guest/core/src/connection/failures.rs`).
//!
//! - Plugins run on an engine of their own, with fuel metering, epoch interruption
//!   and a wasm stack cap; the engine that runs tether keeps none of that overhead.
//! - Each [`Instance`](crate::Instance) holds one store per plugin it uses (so a
//!   [`Device`](crate::Device) has its own): plugins of two devices share nothing.
//! - After a trap, running out of fuel or a deadline, the plugin's instance is
//!   thrown away and made afresh for the next decision: its memory may be
//!   half-written.
//! - Host copies of plugin data are bounded: the plugin file's size, its memory
//!   (so every string it could hand over), the fault descriptions (256 bytes). The
//!   plugin's answer itself is a fixed-size value.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, Trap};

use crate::bindings::tether::reconnect::policy_plugins as host_side;
use crate::bindings::types::{Classification, Level, PluginFaultReason, Verdict};
use crate::error::{Error, Result};

use crate::bindings::plugin::exports::tether::reconnect::policy as plugin_side;
use crate::bindings::plugin::{RetryPolicy, RetryPolicyPre};

/// The most bytes of a plugin fault's description (also the engine's bound).
pub const DETAIL_MAX: usize = 256;
/// The largest plugin file read, in bytes.
pub const FILE_MAX: u64 = 16 * 1024 * 1024;
/// The longest `params` text handed to a plugin, in bytes (the engine refuses
/// longer ones in the configuration already).
pub const PARAMS_MAX: usize = 4_096;

/// The sandbox of every plugin decision.
///
/// # Defaults
/// See [`PluginLimits::DEFAULT`]: fuel 2,000,000 per decision, 2 MiB of linear
/// memory, 1,000 table elements, a 256 KiB wasm stack, and a 200 ms wall-clock
/// deadline checked every 10 ms. `README.md` ("Custom policies") gives the
/// measurements behind them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PluginLimits {
    /// Fuel (about one unit per wasm instruction) for one decision, and for
    /// instantiating the plugin.
    pub fuel_per_decision: u64,
    /// The most linear memory a plugin instance may have, in bytes.
    pub memory_bytes: usize,
    /// The most elements a plugin's tables may have, together.
    pub table_elements: usize,
    /// The most native stack wasm frames may use, in bytes.
    pub wasm_stack_bytes: usize,
    /// How often the wall clock is checked (the epoch tick).
    pub tick: Duration,
    /// The wall-clock deadline of one decision, in ticks: a backstop for what
    /// fuel does not count.
    pub deadline_ticks: u64,
}

impl PluginLimits {
    /// The limits every runtime starts with.
    pub const DEFAULT: Self = Self {
        fuel_per_decision: 2_000_000,
        memory_bytes: 2 * 1024 * 1024,
        table_elements: 1_000,
        wasm_stack_bytes: 256 * 1024,
        tick: Duration::from_millis(10),
        deadline_ticks: 20,
    };
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a plugin has cost so far in one instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PluginStats {
    /// Decisions asked for.
    pub decisions: u64,
    /// Decisions that did not produce an answer (trap, fuel, deadline, memory,
    /// unavailable).
    pub faults: u64,
    /// Times the plugin was instantiated (the first time, and after every fault).
    pub instantiations: u64,
    /// Fuel used by the last decision, answered or not (all of it when it ran
    /// out; 0 when the plugin could not even be instantiated).
    pub last_fuel: u64,
    /// The most fuel any decision that answered used.
    pub max_fuel: u64,
    /// The largest linear memory any instance of the plugin had, in bytes.
    pub peak_memory_bytes: usize,
}

/// Compiles plugins on an engine of their own and caches them by path; shared by
/// a [`Runtime`](crate::Runtime) and its instances.
pub(crate) struct PluginLoader {
    limits: PluginLimits,
    engine: OnceLock<Result<PluginEngine, String>>,
    cache: Mutex<HashMap<PathBuf, RetryPolicyPre<PluginData>>>,
}

struct PluginEngine {
    engine: Engine,
    linker: Linker<PluginData>,
}

impl PluginLoader {
    pub(crate) fn new(limits: PluginLimits) -> Self {
        Self {
            limits,
            engine: OnceLock::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn limits(&self) -> PluginLimits {
        self.limits
    }

    /// The plugin engine, made on first use (with the thread that ticks its epoch).
    fn engine(&self) -> Result<&PluginEngine> {
        self.engine
            .get_or_init(|| PluginEngine::new(&self.limits).map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| Error::Unavailable(format!("the plugin engine could not start: {e}")))
    }

    /// The compiled plugin at `name` (a path), checked: it must be a component
    /// of the `retry-policy` world that imports nothing.
    fn load(&self, name: &str) -> Result<(Engine, RetryPolicyPre<PluginData>)> {
        let pe = self.engine()?;
        let path = PathBuf::from(name);
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| Error::Unavailable("the plugin cache was poisoned by a panic".into()))?;
        if let Some(pre) = cache.get(&path) {
            return Ok((pe.engine.clone(), pre.clone()));
        }
        let pre = compile(pe, &path).map_err(|e| plugin_error(name, e))?;
        cache.insert(path, pre.clone());
        Ok((pe.engine.clone(), pre))
    }
}

fn plugin_error(name: &str, source: Error) -> Error {
    Error::Plugin {
        name: name.to_string(),
        source: Box::new(source),
    }
}

fn compile(pe: &PluginEngine, path: &Path) -> Result<RetryPolicyPre<PluginData>> {
    let component = read_component(&pe.engine, path)?;
    let imports = component_imports(&pe.engine, &component);
    if !imports.is_empty() {
        return Err(Error::Refused(format!(
            "the plugin imports {}: a retry-policy plugin must import nothing",
            imports.join(", ")
        )));
    }
    let pre = pe
        .linker
        .instantiate_pre(&component)
        .map_err(Error::wasm("linking the plugin"))?;
    RetryPolicyPre::new(pre).map_err(Error::wasm(
        "the plugin does not export the `retry-policy` world (tether:reconnect/policy)",
    ))
}

/// The component in the file at `path`, compiled on `engine`; files over
/// [`FILE_MAX`] are refused before they are read.
fn read_component(engine: &Engine, path: &Path) -> Result<Component> {
    let size = std::fs::metadata(path).map_err(Error::read(path))?.len();
    if size > FILE_MAX {
        return Err(Error::Refused(format!(
            "{} is {size} bytes; a plugin may be at most {FILE_MAX}",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(Error::read(path))?;
    compile_component(engine, &bytes, path)
}

#[cfg(feature = "compiler")]
fn compile_component(engine: &Engine, bytes: &[u8], path: &Path) -> Result<Component> {
    Component::new(engine, bytes).map_err(Error::wasm(format!(
        "compiling {} as a component",
        path.display()
    )))
}

#[cfg(not(feature = "compiler"))]
fn compile_component(_: &Engine, _: &[u8], path: &Path) -> Result<Component> {
    Err(Error::Unavailable(format!(
        "cannot compile the plugin {}: this build of tether-host has no compiler \
         (the `compiler` feature is off)",
        path.display()
    )))
}

/// The imports of the component in the file at `path`, as the plugin loader
/// sees them (compiled on a plain engine). A loadable plugin has none.
pub fn imports_of(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).map_err(Error::wasm("starting a wasmtime engine"))?;
    let component = read_component(&engine, path.as_ref())?;
    Ok(component_imports(&engine, &component))
}

/// The names of a component's imports.
fn component_imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// A component's exports: an exported interface as `interface#function` per
/// function, anything else by its name.
fn component_exports(engine: &Engine, component: &Component) -> Vec<String> {
    use wasmtime::component::types::ComponentItem;
    let mut names = Vec::new();
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentInstance(instance) => {
                let before = names.len();
                for (func, export) in instance.exports(engine) {
                    if matches!(export.ty, ComponentItem::ComponentFunc(_)) {
                        names.push(format!("{name}#{func}"));
                    }
                }
                if names.len() == before {
                    names.push(name.to_string());
                }
            }
            _ => names.push(name.to_string()),
        }
    }
    names
}

/// What a plugin file is, as the sandbox sees it ([`inspect`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// The file's size in bytes.
    pub bytes: u64,
    /// What the component imports (a loadable plugin: nothing).
    pub imports: Vec<String>,
    /// What it exports (a `retry-policy` plugin:
    /// `tether:reconnect/policy@0.1.0#decide`).
    pub exports: Vec<String>,
}

/// Compile the plugin at `path` on the sandbox's engine configuration (fuel,
/// epoch interruption, `limits`' stack cap) and list its imports and exports.
/// Nothing runs: [`preview`] does that.
///
/// # Errors
/// The file cannot be read, is too large, or is not a component.
pub fn inspect(path: &Path, limits: &PluginLimits) -> Result<Inspection> {
    let pe = PluginEngine::new(limits)?;
    let component = read_component(&pe.engine, path)?;
    Ok(Inspection {
        bytes: std::fs::metadata(path).map_err(Error::read(path))?.len(),
        imports: component_imports(&pe.engine, &component),
        exports: component_exports(&pe.engine, &component),
    })
}

impl PluginEngine {
    fn new(limits: &PluginLimits) -> Result<Self> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(limits.wasm_stack_bytes)
            // A trap's backtrace would copy the plugin's own function names into
            // the host; the fault description does without.
            .wasm_backtrace_max_frames(None);
        let engine = Engine::new(&config).map_err(Error::wasm("starting the plugin engine"))?;
        let weak = engine.weak();
        let tick = limits.tick;
        std::thread::Builder::new()
            .name("tether-plugin-epoch".into())
            .spawn(move || {
                // Ends with the engine: the thread holds only a weak handle.
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(tick);
                }
            })
            .map_err(|e| Error::Unavailable(format!("starting the plugin epoch thread: {e}")))?;
        let linker = Linker::new(&engine);
        Ok(Self { engine, linker })
    }
}

/// The data of a plugin's store: its resource limiter.
pub(crate) struct PluginData {
    memory_cap: usize,
    table_cap: usize,
    /// A growth past a cap was refused during the current call.
    denied: Option<String>,
    /// The largest memory size granted.
    peak: usize,
}

impl PluginData {
    /// Whether a growth to `desired` stays within `cap`; a refusal is kept as the
    /// cause of the fault it will likely end in.
    fn grant(&mut self, what: &str, current: usize, desired: usize, cap: usize) -> bool {
        if desired > cap {
            let unit = if what == "memory" {
                "bytes"
            } else {
                "elements"
            };
            self.denied = Some(format!(
                "{what} growth from {current} to {desired} {unit} refused (cap {cap})"
            ));
            return false;
        }
        true
    }
}

impl wasmtime::ResourceLimiter for PluginData {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let granted = self.grant("memory", current, desired, self.memory_cap);
        if granted {
            self.peak = self.peak.max(desired);
        }
        Ok(granted)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grant("table", current, desired, self.table_cap))
    }
}

/// One live instance of a plugin, in its own store.
struct Live {
    store: Store<PluginData>,
    bindings: RetryPolicy,
}

/// A plugin loaded for one instance.
struct Loaded {
    engine: Engine,
    pre: RetryPolicyPre<PluginData>,
    limits: PluginLimits,
    live: Option<Live>,
    stats: PluginStats,
}

impl Loaded {
    fn instantiate(&mut self) -> Result<Live, (PluginFaultReason, String)> {
        self.stats.instantiations = self.stats.instantiations.saturating_add(1);
        let mut store = Store::new(
            &self.engine,
            PluginData {
                memory_cap: self.limits.memory_bytes,
                table_cap: self.limits.table_elements,
                denied: None,
                peak: 0,
            },
        );
        store.limiter(|data| data as &mut dyn wasmtime::ResourceLimiter);
        let prepared = store
            .set_fuel(self.limits.fuel_per_decision)
            .map(|()| store.set_epoch_deadline(self.limits.deadline_ticks));
        if let Err(e) = prepared {
            return Err((PluginFaultReason::Unavailable, format!("{e}")));
        }
        match self.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(e) => Err(fault_of(&e, store.data())),
        }
    }

    fn decide(&mut self, input: &host_side::PluginInput) -> host_side::PluginAnswer {
        self.stats.decisions = self.stats.decisions.saturating_add(1);
        let answer = self.run(input);
        if let Some(live) = &self.live {
            self.stats.peak_memory_bytes = self.stats.peak_memory_bytes.max(live.store.data().peak);
        }
        if let host_side::PluginAnswer::Failed(_) = answer {
            self.stats.faults = self.stats.faults.saturating_add(1);
        }
        answer
    }

    fn run(&mut self, input: &host_side::PluginInput) -> host_side::PluginAnswer {
        self.stats.last_fuel = 0;
        if input.params.len() > PARAMS_MAX {
            return failed(
                PluginFaultReason::Unavailable,
                format!(
                    "params are {} bytes; at most {PARAMS_MAX} are passed",
                    input.params.len()
                ),
            );
        }
        let mut live = match self.live.take() {
            Some(live) => live,
            None => match self.instantiate() {
                Ok(live) => live,
                Err((reason, detail)) => {
                    return failed(reason, format!("instantiating the plugin: {detail}"));
                }
            },
        };
        let fuel = self.limits.fuel_per_decision;
        if let Err(e) = live.store.set_fuel(fuel) {
            return failed(PluginFaultReason::Unavailable, format!("{e}"));
        }
        live.store.set_epoch_deadline(self.limits.deadline_ticks);
        live.store.data_mut().denied = None;
        let plugin_input = plugin_input(input);
        let result = live
            .bindings
            .tether_reconnect_policy()
            .call_decide(&mut live.store, &plugin_input);
        let used = fuel.saturating_sub(live.store.get_fuel().unwrap_or(0));
        self.stats.last_fuel = used;
        match result {
            Ok(decision) => {
                self.stats.max_fuel = self.stats.max_fuel.max(used);
                self.live = Some(live);
                match decision {
                    plugin_side::Decision::RetryAfter(ms) => {
                        host_side::PluginAnswer::RetryAfter(ms)
                    }
                    plugin_side::Decision::GiveUp => host_side::PluginAnswer::GiveUp,
                }
            }
            // The instance is dropped here: after a trap its memory may be
            // half-written, so the next decision gets a fresh one.
            Err(e) => {
                let data = live.store.data();
                self.stats.peak_memory_bytes = self.stats.peak_memory_bytes.max(data.peak);
                let (reason, detail) = fault_of(&e, data);
                failed(reason, detail)
            }
        }
    }
}

/// What stopped a plugin call.
fn fault_of(e: &wasmtime::Error, data: &PluginData) -> (PluginFaultReason, String) {
    let trap = e.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::OutOfFuel) => (
            PluginFaultReason::OutOfFuel,
            "the decision used up its fuel".into(),
        ),
        Some(Trap::Interrupt) => (
            PluginFaultReason::Deadline,
            "the decision ran past its wall-clock deadline".into(),
        ),
        _ => match &data.denied {
            // A refused growth usually ends in an abort: the cap is the cause.
            Some(denied) => (PluginFaultReason::MemoryLimit, denied.clone()),
            None => (
                PluginFaultReason::Trap,
                match trap {
                    Some(t) => format!("{t}"),
                    None => format!("{e}"),
                },
            ),
        },
    }
}

fn failed(reason: PluginFaultReason, detail: String) -> host_side::PluginAnswer {
    host_side::PluginAnswer::Failed(host_side::PluginError {
        reason,
        detail: bounded(detail),
    })
}

/// `text` cut to [`DETAIL_MAX`] bytes at a character boundary.
fn bounded(mut text: String) -> String {
    if text.len() > DETAIL_MAX {
        let mut end = DETAIL_MAX;
        while !text.is_char_boundary(end) {
            end = end.saturating_sub(1);
        }
        text.truncate(end);
    }
    text
}

fn plugin_input(input: &host_side::PluginInput) -> plugin_side::DecisionInput {
    plugin_side::DecisionInput {
        attempt: input.attempt,
        consecutive_failures: input.consecutive_failures,
        elapsed_ms: input.elapsed_ms,
        connected_ms: input.connected_ms,
        failure: failure_summary(&input.failure),
        retry_after_ms: input.retry_after_ms,
        server_reference: input.server_reference,
        random: input.random,
        now_ms: input.now_ms,
        max_delay_ms: input.max_delay_ms,
        fallback: match input.fallback {
            host_side::PluginDecision::RetryAfter(ms) => plugin_side::Decision::RetryAfter(ms),
            host_side::PluginDecision::GiveUp => plugin_side::Decision::GiveUp,
        },
        params: input.params.clone(),
    }
}

fn failure_summary(c: &Classification) -> plugin_side::FailureSummary {
    plugin_side::FailureSummary {
        level: match c.level {
            Level::Network => plugin_side::Level::Network,
            Level::Protocol => plugin_side::Level::Protocol,
            Level::Application => plugin_side::Level::Application,
        },
        verdict: match c.verdict {
            Verdict::Retry => plugin_side::Verdict::Retry,
            Verdict::RetryThrottled => plugin_side::Verdict::RetryThrottled,
            Verdict::RenewCredential => plugin_side::Verdict::RenewCredential,
            Verdict::Reprovision => plugin_side::Verdict::Reprovision,
            Verdict::Fatal => plugin_side::Verdict::Fatal,
        },
        reason: crate::names::reason_name(c.reason).to_string(),
        rule: c.rule.clone(),
    }
}

/// The plugins loaded in one instance, by the name the configuration gives.
#[derive(Default)]
pub(crate) struct PluginSet {
    plugins: HashMap<String, Loaded>,
}

impl PluginSet {
    /// Load `name` for this instance unless it is loaded already.
    pub(crate) fn load(&mut self, loader: &PluginLoader, name: &str) -> Result<()> {
        if self.plugins.contains_key(name) {
            return Ok(());
        }
        let (engine, pre) = loader.load(name)?;
        let mut loaded = Loaded {
            engine,
            pre,
            limits: loader.limits(),
            live: None,
            stats: PluginStats::default(),
        };
        // Instantiate now, so a plugin that cannot even start is an error at load
        // time rather than a fault on the first decision.
        let live = loaded.instantiate().map_err(|(reason, detail)| {
            let why = Error::Refused(format!(
                "instantiating it failed ({}): {detail}",
                crate::names::plugin_fault_reason_name(reason)
            ));
            plugin_error(name, why)
        })?;
        loaded.live = Some(live);
        self.plugins.insert(name.to_string(), loaded);
        Ok(())
    }

    /// Run one decision of `name`.
    pub(crate) fn decide(
        &mut self,
        name: &str,
        input: &host_side::PluginInput,
    ) -> host_side::PluginAnswer {
        match self.plugins.get_mut(name) {
            Some(plugin) => plugin.decide(input),
            None => failed(
                PluginFaultReason::Unavailable,
                format!("plugin {name} is not loaded in this instance"),
            ),
        }
    }

    /// What `name` has cost so far.
    pub(crate) fn stats(&self, name: &str) -> Option<PluginStats> {
        self.plugins.get(name).map(|p| p.stats)
    }
}

impl std::fmt::Debug for PluginSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

/// The plugin a connection configuration names, if its policy is `custom`.
///
/// The host reads the configuration only to know what to load; the engine
/// validates it (a malformed document gives `None` here and the engine's error
/// later).
pub fn plugin_of(config: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(config).ok()?;
    let policy = doc.get("policy")?;
    if policy.get("kind")?.as_str()? != "custom" {
        return None;
    }
    let plugin = policy.get("plugin")?.as_str()?;
    (!plugin.is_empty() && plugin.len() <= 1_024).then(|| plugin.to_string())
}

/// A connection configuration (JSON text) whose relative `policy.plugin` path
/// is made relative to `base` instead of the working directory.
///
/// How plugin paths resolve: the host opens `plugin` as a path. In a
/// configuration handed over as text ([`Instance::create_connection`](crate::Instance::create_connection),
/// the other hosts) a relative path is relative to the process's working
/// directory. A configuration read from a file (`tether run --config`,
/// `tether schedule --config`) is passed through this function with the file's
/// folder as `base`, so a plugin next to the file is found wherever the command
/// runs. Absolute paths, other policies and malformed documents come back
/// unchanged (the engine reports what is wrong with them).
pub fn resolve_plugin_path(config: &str, base: &Path) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(config) else {
        return config.to_string();
    };
    let changed = doc
        .get_mut("policy")
        .is_some_and(|policy| resolve_in_policy(policy, base));
    if changed {
        doc.to_string()
    } else {
        config.to_string()
    }
}

/// [`resolve_plugin_path`] on a policy object: `true` if it changed it.
pub fn resolve_in_policy(policy: &mut serde_json::Value, base: &Path) -> bool {
    if policy.get("kind").and_then(serde_json::Value::as_str) != Some("custom") {
        return false;
    }
    let Some(slot) = policy.get_mut("plugin") else {
        return false;
    };
    let Some(path) = slot.as_str().map(Path::new) else {
        return false;
    };
    if path.as_os_str().is_empty() || path.is_absolute() {
        return false;
    }
    let joined = base.join(path);
    // A path that is not UTF-8 cannot be written back into JSON: leave it.
    let Some(text) = joined.to_str() else {
        return false;
    };
    *slot = serde_json::Value::String(text.to_string());
    true
}

/// Shared handle to a runtime's loader.
pub(crate) type SharedLoader = Arc<PluginLoader>;

/// Where the plugins built with this crate are: `target/wasm/wasm32-wasip2/release/`,
/// made by `host/embed/build.rs` with the engine component.
pub mod examples {
    /// `examples/plugins/satellite-window`: retries only inside scheduled pass
    /// windows.
    pub const SATELLITE_WINDOW: &str = env!("TETHER_PLUGIN_SATELLITE_WINDOW");
    /// `examples/plugins/metered-cellular`: a daily budget of connection attempts.
    pub const METERED_CELLULAR: &str = env!("TETHER_PLUGIN_METERED_CELLULAR");
    /// `examples/plugins/circuit-breaker`: stop hammering a hub that keeps
    /// refusing, probe it now and then, close again when it answers.
    pub const CIRCUIT_BREAKER: &str = env!("TETHER_PLUGIN_CIRCUIT_BREAKER");
    /// `tests/plugins/hostile`: misbehaves as its `params.mode` says (tests).
    pub const HOSTILE: &str = env!("TETHER_PLUGIN_HOSTILE");
    /// `tests/plugins/hostile-wasi`: imports `wasi:random`, so loading it fails.
    pub const HOSTILE_WASI: &str = env!("TETHER_PLUGIN_HOSTILE_WASI");

    /// Every plugin above, by a short name (`satellite-window`...), for the
    /// command line.
    pub const ALL: [(&str, &str); 5] = [
        ("satellite-window", SATELLITE_WINDOW),
        ("metered-cellular", METERED_CELLULAR),
        ("circuit-breaker", CIRCUIT_BREAKER),
        ("hostile", HOSTILE),
        ("hostile-wasi", HOSTILE_WASI),
    ];
}
