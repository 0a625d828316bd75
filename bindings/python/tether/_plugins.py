"""The sandbox for custom retry-policy plugins (``wit/policy.wit``), as the Rust host
has it (``host/embed/src/plugin.rs``): the same limits, the same answers.

A connection configured with ``"policy": {"kind": "custom", "plugin": PATH, ...}`` asks
its plugin for every backoff decision through the engine's ``policy-plugins.decide``
import. This module answers that import: it loads the plugin (refusing one that
imports anything), runs each decision in the plugin's own store, and says what
happened. It decides nothing itself: the engine checks the answer, falls back on the
built-in policy, reports faults and quarantines.

- Plugins run on an engine of their own with fuel metering, epoch interruption and a
  wasm stack cap; a daemon thread ticks its epoch.
- The memory cap is enforced by a memory creator of that engine (wasmtime's
  ``LinearMemory`` callbacks through the C API), not by ``Store.set_limits``: the
  store limiter refuses a growth silently, and a refused growth usually ends in an
  ``unreachable`` trap that looks like any other. The creator sees the size asked
  for, so a fault caused by the cap is reported as ``memory-limit`` with the same
  detail as the Rust host.
- After a trap, running out of fuel or a deadline the instance is thrown away and
  made afresh for the next decision: its memory may be half-written.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import re
import threading
import time
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime.component import Component, Linker, Record

from ._errors import TetherError

__all__ = ["DETAIL_MAX", "FILE_MAX", "PARAMS_MAX", "PluginLimits", "PluginLoadError",
           "PluginStats", "imports_of", "plugin_of"]

#: The most bytes of a plugin fault's description (also the engine's bound).
DETAIL_MAX = 256
#: The largest plugin file read, in bytes.
FILE_MAX = 16 * 1024 * 1024
#: The longest ``params`` text handed to a plugin, in bytes.
PARAMS_MAX = 4_096

_POLICY_EXPORT = "tether:reconnect/policy@"


class PluginLoadError(TetherError):
    """A plugin could not be loaded: missing, not a ``retry-policy`` component,
    importing something (the message names the imports), or unable to start. Raised
    by :class:`tether.Connection` when its configuration names the plugin."""


@dataclass(frozen=True)
class PluginLimits:
    """The sandbox of every plugin decision; the Rust host's ``PluginLimits``.

    # Defaults
    fuel 2,000,000 per decision (and for instantiating), 2 MiB of linear memory, 1,000
    table elements, a 256 KiB wasm stack, and a wall-clock deadline of 20 ticks of
    10 ms (200 ms).
    """

    fuel_per_decision: int = 2_000_000
    memory_bytes: int = 2 * 1024 * 1024
    table_elements: int = 1_000
    wasm_stack_bytes: int = 256 * 1024
    tick_s: float = 0.010
    deadline_ticks: int = 20

    def with_(self, **changes: Any) -> PluginLimits:
        """A copy with some limits changed."""
        return replace(self, **changes)


PluginLimits.DEFAULT = PluginLimits()  # type: ignore[attr-defined]


@dataclass
class PluginStats:
    """What a plugin has cost so far in one connection (the Rust host's
    ``PluginStats``)."""

    #: Decisions asked for.
    decisions: int = 0
    #: Decisions that produced no answer (trap, fuel, deadline, memory, unavailable).
    faults: int = 0
    #: Times the plugin was instantiated (the first time, and after every fault).
    instantiations: int = 0
    #: Fuel used by the last decision, answered or not (0 when it could not start).
    last_fuel: int = 0
    #: The most fuel any decision that answered used.
    max_fuel: int = 0
    #: The largest linear memory any instance of the plugin had, in bytes.
    peak_memory_bytes: int = 0


def plugin_of(config: Any) -> str | None:
    """The plugin a configuration (dict or JSON text) names, if its policy is
    ``custom``. A malformed document gives ``None`` here and the engine's error later."""
    try:
        doc = json.loads(config) if isinstance(config, str) else config
        policy = doc.get("policy")
        if policy.get("kind") != "custom":
            return None
        plugin = policy.get("plugin")
    except (AttributeError, TypeError, ValueError):
        return None
    if isinstance(plugin, str) and 0 < len(plugin.encode()) <= 1_024:
        return plugin
    return None


def imports_of(path: str | Path) -> list[str]:
    """The imports of the component at ``path`` (a loadable plugin has none)."""
    engine = wasmtime.Engine()
    component = Component.from_file(engine, str(path))
    return list(component.type.imports(engine))


def bounded(text: str) -> str:
    """``text`` cut to :data:`DETAIL_MAX` UTF-8 bytes at a character boundary."""
    data = text.encode()
    if len(data) <= DETAIL_MAX:
        return text
    return data[:DETAIL_MAX].decode(errors="ignore")


# ---- memory: the cap, and seeing it hit ----


class _Call(threading.local):
    """The plugin call running on this thread: what its memory did."""

    denied: str | None = None
    peak: int = 0


_CALL = _Call()

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.mprotect.restype = ctypes.c_int
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_MAP_FAILED = ctypes.c_void_p(-1).value
_RW = mmap.PROT_READ | mmap.PROT_WRITE
_PROT_NONE = 0  # POSIX; the mmap module does not name it


def _error(message: str) -> int:
    """A new ``wasmtime_error_t`` as an address (wasmtime takes ownership)."""
    err = ffi.wasmtime_error_new(ctypes.create_string_buffer(message.encode()))
    return ctypes.cast(err, ctypes.c_void_p).value or 0


class _Memory:
    """One plugin linear memory: ``reserved`` bytes (the cap) plus the guard are mapped
    inaccessible, the first ``size`` bytes readable and writable. It never moves."""

    def __init__(self, size: int, reserved: int, guard: int) -> None:
        self.total = reserved + guard
        self.reserved = reserved
        addr = _libc.mmap(None, self.total, _PROT_NONE,
                          mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if addr is None or addr == _MAP_FAILED:
            raise OSError(ctypes.get_errno(), "mmap of a plugin memory failed")
        self.base: int = addr
        self.size = 0
        self.grow(size)

    def grow(self, new_size: int) -> None:
        if new_size > self.size:
            if _libc.mprotect(self.base, new_size, _RW) != 0:
                raise OSError(ctypes.get_errno(), "mprotect of a plugin memory failed")
        self.size = new_size

    def free(self) -> None:
        if self.base:
            _libc.munmap(self.base, self.total)
            self.base = 0


class _MemoryCreator:
    """Makes every linear memory of the plugin engine, at most ``cap`` bytes. A
    growth or initial size past the cap is refused and recorded in the running call
    (the Rust host's ``ResourceLimiter`` does the same)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.memories: dict[int, _Memory] = {}
        self.next_id = 1
        self.lock = threading.Lock()
        # The callbacks must outlive the engine: they are kept on this object, which
        # the loader keeps.
        self.c_new = ffi.wasmtime_new_memory_callback_t(self._new)
        self.c_get = ffi.wasmtime_memory_get_callback_t(self._get)
        self.c_grow = ffi.wasmtime_memory_grow_callback_t(self._grow)
        self.c_free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self._free)
        self.c_creator_free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _env: None)

    def install(self, config: wasmtime.Config) -> None:
        creator = ffi.wasmtime_memory_creator_t(None, self.c_new, self.c_creator_free)
        ffi.wasmtime_config_host_memory_creator_set(config.ptr(), ctypes.byref(creator))

    @staticmethod
    def _deny(current: int, desired: int, cap: int) -> None:
        _CALL.denied = f"memory growth from {current} to {desired} bytes refused (cap {cap})"

    def _new(self, _env: Any, _ty: Any, minimum: int, _maximum: int, reserved: int,
             guard: int, out: Any) -> int:
        try:
            if minimum > self.cap:
                self._deny(0, minimum, self.cap)
                return _error(f"a memory of {minimum} bytes is over the cap of {self.cap}")
            memory = _Memory(minimum, max(reserved, self.cap), guard)
            with self.lock:
                key = self.next_id
                self.next_id += 1
                self.memories[key] = memory
            _CALL.peak = max(_CALL.peak, minimum)
            out.contents.env = key
            out.contents.get_memory = self.c_get
            out.contents.grow_memory = self.c_grow
            out.contents.finalizer = self.c_free
            return 0
        except BaseException as err:  # never unwind into wasmtime
            return _error(f"the plugin memory could not be made: {err}")

    def _get(self, env: int, size: Any, capacity: Any) -> int:
        memory = self.memories.get(env or 0)
        if memory is None:
            size[0] = 0
            capacity[0] = 0
            return 0
        size[0] = memory.size
        capacity[0] = min(memory.reserved, self.cap)
        return memory.base

    def _grow(self, env: int, new_size: int) -> int:
        try:
            memory = self.memories[env or 0]
            if new_size > self.cap:
                self._deny(memory.size, new_size, self.cap)
                return _error("memory growth refused")
            memory.grow(new_size)
            _CALL.peak = max(_CALL.peak, new_size)
            return 0
        except BaseException as err:
            return _error(f"memory growth failed: {err}")

    def _free(self, env: int) -> None:
        with self.lock:
            memory = self.memories.pop(env or 0, None)
        if memory is not None:
            memory.free()


# ---- the engine, loading ----


def _tick(engine_ref: weakref.ref[wasmtime.Engine], tick_s: float) -> None:
    # Ends with the engine: the thread holds only a weak reference.
    while True:
        engine = engine_ref()
        if engine is None:
            return
        engine.increment_epoch()
        del engine
        time.sleep(tick_s)


class PluginLoader:
    """Compiles plugins on an engine of their own and caches them by path; one per
    :class:`tether.Runtime`."""

    def __init__(self, limits: PluginLimits) -> None:
        self.limits = limits
        self._engine: wasmtime.Engine | None = None
        self._creator: _MemoryCreator | None = None
        self._cache: dict[str, tuple[Component, str]] = {}
        self._lock = threading.Lock()

    @property
    def engine(self) -> wasmtime.Engine:
        """The plugin engine, made on first use (with the thread that ticks its epoch)."""
        with self._lock:
            if self._engine is None:
                cfg = wasmtime.Config()
                cfg.wasm_component_model = True
                cfg.consume_fuel = True
                cfg.epoch_interruption = True
                cfg.max_wasm_stack = self.limits.wasm_stack_bytes
                # Memories are made by the creator, reserved at the cap and never
                # moved; no guard region is needed with bounds checks in the code.
                cfg.memory_reservation = self.limits.memory_bytes
                cfg.memory_guard_size = 0
                cfg.memory_reservation_for_growth = 0
                cfg.memory_init_cow = False
                creator = _MemoryCreator(self.limits.memory_bytes)
                creator.install(cfg)
                engine = wasmtime.Engine(cfg)
                threading.Thread(target=_tick, args=(weakref.ref(engine), self.limits.tick_s),
                                 name="tether-plugin-epoch", daemon=True).start()
                self._creator = creator
                self._engine = engine
            return self._engine

    def load(self, name: str) -> tuple[Component, str]:
        """The compiled plugin at ``name`` (a path) and the name of its ``policy``
        export, checked: a component of the ``retry-policy`` world that imports nothing."""
        engine = self.engine
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None:
                return cached
        try:
            loaded = self._compile(engine, Path(name))
        except PluginLoadError as err:
            raise PluginLoadError(f"loading plugin {name}: {err}") from err
        with self._lock:
            self._cache[name] = loaded
        return loaded

    @staticmethod
    def _compile(engine: wasmtime.Engine, path: Path) -> tuple[Component, str]:
        try:
            size = path.stat().st_size
        except OSError as err:
            raise PluginLoadError(f"reading {path}: {err.strerror or err}") from err
        if size > FILE_MAX:
            raise PluginLoadError(f"{path} is {size} bytes; a plugin may be at most {FILE_MAX}")
        try:
            component = Component(engine, path.read_bytes())
        except (OSError, wasmtime.WasmtimeError) as err:
            raise PluginLoadError(f"compiling the plugin component: {err}") from err
        imports = list(component.type.imports(engine))
        if imports:
            raise PluginLoadError(f"the plugin imports {', '.join(imports)}: a retry-policy "
                                  "plugin must import nothing")
        export = next((n for n in component.type.exports(engine)
                       if n.startswith(_POLICY_EXPORT)), None)
        if export is None:
            raise PluginLoadError("the plugin does not export the `retry-policy` world "
                                  "(tether:reconnect/policy)")
        return component, export


# ---- running decisions ----

#: wasmtime-py raises a component call's trap as a ``WasmtimeError`` whose text ends
#: in ``wasm trap: <what>`` (no trap code to read), the words of the Rust host's
#: ``Trap`` display.
_TRAP = re.compile(r"wasm trap: ([^\n]+)")
_OUT_OF_FUEL = "all fuel consumed by WebAssembly"
_INTERRUPT = "interrupt"


def _record(**fields: Any) -> Record:
    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def failed(reason: str, detail: str) -> Record:
    """The ``failed`` case of ``plugin-answer`` (lowered untagged: the bare record)."""
    return _record(reason=reason, detail=bounded(detail))


def fault_of(err: Exception) -> tuple[str, str]:
    """What stopped a plugin call: (reason, detail), as the Rust host's ``fault_of``."""
    text = str(err)
    match = _TRAP.search(text)
    trap = match.group(1).strip() if match else None
    if isinstance(err, wasmtime.Trap) and trap is None:
        trap = err.message
    if trap == _OUT_OF_FUEL:
        return "out-of-fuel", "the decision used up its fuel"
    if trap == _INTERRUPT:
        return "deadline", "the decision ran past its wall-clock deadline"
    if _CALL.denied is not None:
        # A refused growth usually ends in an abort: the cap is the cause.
        return "memory-limit", _CALL.denied
    if trap is not None:
        # wasmtime's Trap display, as the Rust host prints it.
        return "trap", f"wasm trap: {trap}"
    return "trap", text.strip().splitlines()[0] if text.strip() else type(err).__name__


class _Live:
    def __init__(self, store: wasmtime.Store, decide: Any) -> None:
        self.store = store
        self.decide = decide


class _Loaded:
    """A plugin loaded for one connection."""

    def __init__(self, loader: PluginLoader, component: Component, export: str) -> None:
        self.engine = loader.engine
        self.limits = loader.limits
        self.component = component
        self.export = export
        self.linker = Linker(self.engine)
        self.live: _Live | None = None
        self.stats = PluginStats()

    def _begin(self) -> None:
        _CALL.denied = None
        _CALL.peak = 0

    def _end(self) -> None:
        self.stats.peak_memory_bytes = max(self.stats.peak_memory_bytes, _CALL.peak)

    def instantiate(self) -> _Live:
        """A fresh instance in a fresh store; raises ``(reason, detail)`` as a
        :class:`_Fault`."""
        self.stats.instantiations += 1
        store = wasmtime.Store(self.engine)
        store.set_limits(table_elements=self.limits.table_elements)
        store.set_fuel(self.limits.fuel_per_decision)
        store.set_epoch_deadline(self.limits.deadline_ticks)
        self._begin()
        try:
            instance = self.linker.instantiate(store, self.component)
            iface = instance.get_export_index(store, self.export)
            idx = None if iface is None else instance.get_export_index(store, "decide", iface)
            func = None if idx is None else instance.get_func(store, idx)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
            raise _Fault(*fault_of(err)) from err
        finally:
            self._end()
        if func is None:
            raise _Fault("unavailable", "the plugin does not export policy.decide")
        return _Live(store, func)

    def decide(self, inp: Any) -> Any:
        self.stats.decisions += 1
        answer = self._run(inp)
        if isinstance(answer, Record):
            self.stats.faults += 1
        return answer

    @staticmethod
    def _used(live: _Live, fuel: int) -> int:
        try:
            return max(0, fuel - live.store.get_fuel())
        except wasmtime.WasmtimeError:
            return fuel

    def _run(self, inp: Any) -> Any:
        self.stats.last_fuel = 0
        params = getattr(inp, "params")
        size = len(params.encode())
        if size > PARAMS_MAX:
            return failed("unavailable",
                          f"params are {size} bytes; at most {PARAMS_MAX} are passed")
        live = self.live
        self.live = None
        if live is None:
            try:
                live = self.instantiate()
            except _Fault as fault:
                return failed(fault.reason, f"instantiating the plugin: {fault.detail}")
        fuel = self.limits.fuel_per_decision
        live.store.set_fuel(fuel)
        live.store.set_epoch_deadline(self.limits.deadline_ticks)
        self._begin()
        try:
            decision = live.decide(live.store, plugin_input(inp))
        except (wasmtime.WasmtimeError, wasmtime.Trap) as err:
            self.stats.last_fuel = self._used(live, fuel)
            # The instance is dropped: after a trap its memory may be half-written.
            return failed(*fault_of(err))
        finally:
            self._end()
        used = self._used(live, fuel)
        self.stats.last_fuel = used
        self.stats.max_fuel = max(self.stats.max_fuel, used)
        self.live = live
        # `decision` lifts untagged: an int (retry-after) or None (give-up); the
        # flat `plugin-answer` lowers the same way.
        if decision is None or isinstance(decision, int):
            return decision
        return failed("trap", f"the plugin answered {decision!r}")


class _Fault(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def plugin_input(inp: Any) -> Record:
    """``policy-plugins.plugin-input`` to ``policy.decision-input``: the same fields,
    the failure's classification as a ``failure-summary``."""
    c = getattr(inp, "failure")
    summary = _record(level=getattr(c, "level"), verdict=getattr(c, "verdict"),
                      reason=getattr(c, "reason"), rule=getattr(c, "rule"))
    out = Record()
    for name in ("attempt", "consecutive-failures", "elapsed-ms", "connected-ms",
                 "retry-after-ms", "server-reference", "random", "now-ms", "max-delay-ms",
                 "fallback", "params"):
        setattr(out, name, getattr(inp, name))
    setattr(out, "failure", summary)
    return out


class PluginSet:
    """The plugins loaded for one connection, by the name the configuration gives."""

    def __init__(self) -> None:
        self.plugins: dict[str, _Loaded] = {}

    def load(self, loader: PluginLoader, name: str) -> None:
        """Load ``name`` unless it is loaded already, and instantiate it now, so a
        plugin that cannot even start is an error at load time."""
        if name in self.plugins:
            return
        component, export = loader.load(name)
        loaded = _Loaded(loader, component, export)
        try:
            loaded.live = loaded.instantiate()
        except _Fault as fault:
            raise PluginLoadError(f"loading plugin {name}: instantiating it failed "
                                  f"({fault.reason}): {fault.detail}") from fault
        self.plugins[name] = loaded

    def decide(self, _store: Any, name: str, inp: Any) -> Any:
        """``policy-plugins.decide``. Never raises: a raise would trap the engine."""
        plugin = self.plugins.get(name)
        if plugin is None:
            return failed("unavailable", f"plugin {name} is not loaded in this instance")
        try:
            return plugin.decide(inp)
        except Exception as err:  # a host bug must not take the device down
            plugin.stats.faults += 1
            plugin.live = None
            return failed("unavailable", f"the Python host failed: {err!r}")

    def stats(self, name: str) -> PluginStats | None:
        plugin = self.plugins.get(name)
        return None if plugin is None else replace(plugin.stats)
