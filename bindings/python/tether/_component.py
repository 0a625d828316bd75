"""Loading the tether component with wasmtime-py, and converting values across the
component boundary.

Nothing here decides anything: it compiles the one ``tether.wasm``, instantiates it with
host functions, and turns wasmtime-py's lifted values (``Record`` objects whose
attribute names keep the WIT dashes, ``Variant``, plain ``str`` for enums) into the
dataclasses of :mod:`tether._types` and back.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import wasmtime
from wasmtime.component import Component, Linker, Record, ResourceAny, Variant

from . import _plugins
from . import _types as t
from ._errors import ComponentMissing, ComponentTrap, ConfigError, TetherError
from ._plugins import PluginLimits

__all__ = ["Runtime", "component_path"]

#: The environment variable that points at another ``tether.wasm``.
WASM_ENV = "TETHER_WASM"
_PACKAGED = Path(__file__).with_name("tether.wasm")
_PKG = "tether:reconnect/"


def component_path() -> Path:
    """Where the component is read from: ``$TETHER_WASM`` when set, else the copy
    inside this package (``tether/tether.wasm``, put there by the build)."""
    env = os.environ.get(WASM_ENV)
    if env:
        return Path(env)
    return _PACKAGED


def to_json(config: Mapping[str, Any] | str) -> str:
    if isinstance(config, str):
        return config
    import json

    return json.dumps(config)


# ---- lowering: Python values -> wasmtime-py values ----


def _record(**fields: Any) -> Record:
    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def datetime_of(ns: int) -> Record:
    """``wasi:clocks/wall-clock.datetime`` for ``ns`` nanoseconds since the epoch."""
    return _record(seconds=ns // 1_000_000_000, nanoseconds=ns % 1_000_000_000)


def lower_failure(f: t.Failure) -> Record:
    if f.level is t.Level.NETWORK:
        kind = Variant("network", f.code)
    elif f.level is t.Level.APPLICATION:
        kind = Variant("application", f.code)
    else:
        if f.code == "http":
            payload: Any = _record(status=f.value, hub_code=f.hub_code)
        elif f.code in ("mqtt-connack", "mqtt-reason", "amqp"):
            payload = f.value
        else:
            payload = None
        kind = Variant("protocol", Variant(f.code, payload))
    return _record(kind=kind, retry_after_ms=f.retry_after_ms,
                   server_reference=f.server_reference)


def lower_credential(c: t.Credential) -> Record:
    return _record(secret=c.secret, lifetime_ms=c.lifetime_ms)


def lower_provisioning(answer: t.ProvisioningAnswer) -> Variant:
    if isinstance(answer, t.Assignment):
        cred = None if answer.credential is None else lower_credential(answer.credential)
        return Variant("assigned", _record(hub=answer.hub, device_id=answer.device_id,
                                           credential=cred))
    if isinstance(answer, t.Pending):
        return Variant("pending", _record(operation_id=answer.operation_id,
                                          retry_after_ms=answer.retry_after_ms))
    if isinstance(answer, t.Failure):
        return Variant("failed", lower_failure(answer))
    raise TypeError(f"a provisioning answer is an Assignment, Pending or Failure, not {answer!r}")


def lower_credential_answer(answer: t.Credential | t.Failure) -> Variant:
    if isinstance(answer, t.Credential):
        return Variant("ok", lower_credential(answer))
    if isinstance(answer, t.Failure):
        return Variant("err", lower_failure(answer))
    raise TypeError(f"a credential answer is a Credential or a Failure, not {answer!r}")


# ---- lifting: wasmtime-py values -> Python values ----


def _get(rec: Any, name: str) -> Any:
    return getattr(rec, name)


def lift_classification(rec: Any) -> t.Classification:
    return t.Classification(t.Level(_get(rec, "level")), t.Verdict(_get(rec, "verdict")),
                            t.Reason(_get(rec, "reason")), _get(rec, "rule"))


def lift_status_change(rec: Any) -> t.StatusChange:
    return t.StatusChange(_get(rec, "at"), t.Status(_get(rec, "status")),
                          t.Reason(_get(rec, "reason")))


def lift_action(v: Variant) -> t.Action:
    tag, val = v.tag, v.payload
    if tag == "connect":
        return t.Connect(_get(val, "link"), _get(val, "hub"), _get(val, "attempt"))
    if tag == "backoff":
        return t.Backoff(_get(val, "delay-ms"), _get(val, "attempt"), t.Curve(_get(val, "curve")),
                         bool(_get(val, "then-provision")))
    if tag == "renew-credential":
        return t.RenewCredential(bool(val))
    if tag == "provision":
        return t.Provision()
    if tag == "poll-provisioning":
        return t.PollProvisioning(int(val or 0))
    if tag == "give-up":
        return t.GiveUp(t.GiveUpReason(str(val)))
    raise TetherError(f"the component returned an unknown action {tag!r}")


def lift_decision_event(rec: Any) -> t.DecisionEvent:
    cause = _get(rec, "cause")
    return t.DecisionEvent(_get(rec, "at"),
                           None if cause is None else lift_classification(cause),
                           lift_action(_get(rec, "action")))


def lift_outcome(v: Any) -> t.Outcome:
    # variant { delivered, failed(message-failure) } lifts untagged in wasmtime-py:
    # None for delivered, the enum name for failed.
    if isinstance(v, Variant):
        return t.Outcome(None if v.payload is None else t.MessageFailure(v.payload))
    return t.Outcome(None if v is None else t.MessageFailure(v))


def lift_decision(v: Any) -> t.Decision:
    # variant { retry-after(u64), give-up(enum) } lifts untagged: int or str.
    if isinstance(v, Variant):
        v = v.payload
    if isinstance(v, int):
        return t.RetryAfter(v)
    return t.GiveUp(t.GiveUpReason(v))


def lift_plugin_fault(rec: Any) -> t.PluginFault:
    return t.PluginFault(_get(rec, "at"), _get(rec, "plugin"),
                         t.PluginFaultReason(_get(rec, "reason")), _get(rec, "detail"),
                         lift_decision(_get(rec, "used")), _get(rec, "consecutive"),
                         bool(_get(rec, "quarantined")))


def unwrap_result(v: Any, ok_types: tuple[type, ...]) -> tuple[bool, Any]:
    """(is_ok, payload) of a lifted ``result``; wasmtime-py lifts results untagged when
    the two sides have different Python types, tagged otherwise."""
    if isinstance(v, Variant) and v.tag in ("ok", "err"):
        return v.tag == "ok", v.payload
    return isinstance(v, ok_types) or v is None, v


def raise_config_error(rec: Any) -> None:
    raise ConfigError(_get(rec, "field"), _get(rec, "message"))


# ---- the runtime ----


#: The host functions an instance needs: {interface without package or version:
#: {function: callable(store, *args)}}.
HostFuncs = Mapping[str, Mapping[str, Callable[..., Any]]]


class Exports:
    """The component's exported functions of one instance, looked up once."""

    CONNECTION_METHODS = ("start", "on-opened", "on-failed", "on-closed", "on-acked",
                          "on-refused", "on-provisioned", "on-credential", "on-wake", "publish",
                          "subscribe", "subscriptions", "stop", "current-status", "next-wake",
                          "pending-messages")
    SCHEDULE_METHODS = ("next", "attempts", "connected", "dropped", "reset")
    IDENTITY_FUNCTIONS = ("parse-connection-string", "connection-string-token", "sas-token",
                          "hub-resource-uri", "dps-token", "derive-device-key",
                          "hub-mqtt-settings", "telemetry-topic")

    def __init__(self, runtime: Runtime, store: wasmtime.Store, instance: Any) -> None:
        def lookup(iface: str, name: str) -> Any:
            idx = instance.get_export_index(store, runtime.export_names[iface])
            fidx = None if idx is None else instance.get_export_index(store, name, idx)
            func = None if fidx is None else instance.get_func(store, fidx)
            if func is None:
                raise TetherError(f"the component does not export {iface}.{name}")
            return func

        self.create_connection = lookup("connection", "[static]connection.create")
        self.connection = {m: lookup("connection", f"[method]connection.{m}")
                           for m in self.CONNECTION_METHODS}
        self.classify = lookup("decisions", "classify")
        self.table_version = lookup("decisions", "table-version")
        self.validate_config = lookup("decisions", "validate-config")
        self.create_schedule = lookup("decisions", "[static]retry-schedule.create")
        self.schedule = {m: lookup("decisions", f"[method]retry-schedule.{m}")
                         for m in self.SCHEDULE_METHODS}
        self.identity = {f: lookup("identity", f) for f in self.IDENTITY_FUNCTIONS}


class Instance:
    """One instance of the component, with its own store."""

    def __init__(self, runtime: Runtime, funcs: HostFuncs) -> None:
        linker = Linker(runtime.engine)
        with linker.root() as root:
            for base, full in runtime.import_names.items():
                iface = funcs.get(base.removeprefix(_PKG))
                if iface is None:
                    if base.startswith(_PKG):
                        iface = {}
                    else:
                        raise TetherError(f"the component imports {full}, which tether's "
                                          "Python host does not supply")
                with root.add_instance(full) as inst:
                    for name, fn in iface.items():
                        inst.add_func(name, fn)
        self.store = wasmtime.Store(runtime.engine)
        self.instance = linker.instantiate(self.store, runtime.component)
        self.exports = Exports(runtime, self.store, self.instance)

    def call(self, func: Any, *args: Any) -> Any:
        try:
            return func(self.store, *args)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as err:
            raise ComponentTrap(f"the tether component trapped: {err}") from err


def _inert(name: str) -> Callable[..., Any]:
    def call(_store: Any, *_args: Any) -> None:
        raise TetherError(f"the stateless decisions called the import {name}")

    return call


CACHE_ENV = "TETHER_COMPILE_CACHE"


def _causes(err: BaseException) -> str:
    """wasmtime's message and its causes on one line (``a: b: c``)."""
    parts = []
    for line in str(err).splitlines():
        line = line.strip()
        if not line or line == "Caused by:" or line.startswith("Stack backtrace"):
            continue
        head, sep, rest = line.partition(": ")
        parts.append(rest if sep and head.isdigit() else line)
    return ": ".join(parts) if parts else type(err).__name__


class Runtime:
    """The compiled component. Compile once, then instantiate cheaply: every
    :class:`tether.Connection` gets its own instance; the stateless decisions
    (:func:`tether.classify`, :class:`tether.RetrySchedule`) share one.

    ``Runtime()`` reads :func:`component_path`; :meth:`default` is the process-wide one.
    Compiling takes about 0.3-0.5 s, so by default the machine code goes to
    wasmtime's own compilation cache (in the user's cache folder; ``cache=False`` or
    ``TETHER_COMPILE_CACHE=0`` turns it off) and later starts load it (about 20 ms).
    ``Runtime(precompiled=FILE)`` loads a file made by :meth:`precompile` with no
    compiling at all, for devices with a read-only file system. A precompiled file
    is machine code the process runs: only your own build may write it (wasmtime
    refuses one made by another wasmtime version or for another machine, but cannot
    check what the code does).

    Custom-policy plugins run on an engine of their own under ``plugin_limits``
    (:class:`tether.PluginLimits`, the Rust host's defaults), compiled once per path.
    """

    _default: Runtime | None = None
    _default_lock = threading.Lock()

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 precompiled: str | os.PathLike[str] | None = None,
                 cache: bool | None = None,
                 plugin_limits: PluginLimits | None = None) -> None:
        self.plugins = _plugins.PluginLoader(plugin_limits if plugin_limits is not None
                                             else PluginLimits())
        if precompiled is not None:
            if path is not None:
                raise TypeError("give path= (a .wasm) or precompiled= (a file from "
                                "Runtime.precompile), not both")
            self.path = Path(precompiled)
            self.engine = wasmtime.Engine()
            try:
                self.component = Component.deserialize_file(self.engine, str(self.path))
            except (wasmtime.WasmtimeError, OSError) as err:
                raise TetherError(f"the precompiled component {self.path} cannot be "
                                  f"loaded: {_causes(err)}") from None
        else:
            self.path = Path(path) if path is not None else component_path()
            if not self.path.is_file():
                raise ComponentMissing(
                    f"the tether component {self.path} is missing: build it with "
                    "`cargo build -p tether-host` and copy target/wasm/wasm32-wasip2/"
                    f"release/tether_component.wasm to {_PACKAGED} (or set {WASM_ENV})")
            if cache is None:
                cache = os.environ.get(CACHE_ENV, "1") != "0"
            config = wasmtime.Config()
            if cache:
                config.cache = True
            self.engine = wasmtime.Engine(config)
            try:
                self.component = Component.from_file(self.engine, str(self.path))
            except wasmtime.WasmtimeError as err:
                raise TetherError(f"the tether component {self.path} cannot be "
                                  f"compiled: {_causes(err)}") from None
        ty = self.component.type
        # {name without version: full name}; the versions come from the component.
        self.import_names = {n.split("@", 1)[0]: n for n in ty.imports(self.engine)}
        self.export_names = {n.split("@", 1)[0].removeprefix(_PKG): n
                             for n in ty.exports(self.engine)}
        self._shared: Instance | None = None
        self.lock = threading.RLock()

    def precompile(self, out: str | os.PathLike[str]) -> Path:
        """Write the component compiled for this machine and this wasmtime to ``out``
        (for ``Runtime(precompiled=out)``); returns the path."""
        target = Path(out)
        data = self.component.serialize()
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
        return target

    @classmethod
    def default(cls) -> Runtime:
        """The process-wide runtime for :func:`component_path`, compiled on first use."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    def instantiate(self, funcs: HostFuncs) -> Instance:
        """A new instance whose imports call ``funcs``."""
        return Instance(self, funcs)

    @property
    def shared(self) -> Instance:
        """The instance of the stateless decisions (its imports are never called,
        except the clock and entropy, which are harmless)."""
        with self.lock:
            if self._shared is None:
                self._shared = self.instantiate({
                    "wasi:clocks/monotonic-clock": {"now": lambda _s: time.monotonic_ns()},
                    "wasi:clocks/wall-clock": {"now": lambda _s: datetime_of(time.time_ns())},
                    "wasi:random/random": {"get-random-u64": lambda _s: secrets.randbits(64)},
                    "transport": {n: _inert(f"transport.{n}") for n in
                                  ("open", "send", "subscribe", "close")},
                    "provisioning": {n: _inert(f"provisioning.{n}") for n in ("register", "poll")},
                    "credentials": {"renew": _inert("credentials.renew")},
                    "events": {n: _inert(f"events.{n}") for n in
                               ("status-changed", "decided", "message-outcome", "wake-at",
                                "plugin-fault")},
                    "policy-plugins": {"decide": _inert("policy-plugins.decide")},
                })
            return self._shared


def is_resource(v: Any) -> bool:
    return isinstance(v, ResourceAny)
