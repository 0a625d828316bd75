"""tether: connection resilience for IoT devices, from Python.

The reconnection logic (classifying failures, retry policies, the reconnection flow)
lives in one WebAssembly component, ``tether.wasm``, shared with the Rust, C and Node
hosts. This package loads it with wasmtime and decides nothing itself: the host hands
every failure and event to the component and does what it says.

- :class:`Connection`: one device link. Give it a transport (``open``/``send``/
  ``close``), callbacks for statuses, decisions and message outcomes, and feed it
  what happens (``opened``, ``failed``, ``closed``, ``acked``, ``wake``...).
- :func:`classify`, :class:`RetrySchedule`, :func:`validate_config`: the stateless
  decisions, for apps that keep their own loop.
- :class:`Failure` and its constructors describe what went wrong.

The component is read from ``tether/tether.wasm`` inside this package, or from
``$TETHER_WASM``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

from . import _component as _c
from ._component import Runtime, component_path
from ._errors import ComponentMissing, ComponentTrap, ConfigError, OutboxError, TetherError
from ._connection import (
    Clock,
    Connection,
    Credentials,
    MonotonicClock,
    Provisioning,
    PublishRefused,
    SubscribeRefused,
    Transport,
    VirtualClock,
)
if TYPE_CHECKING:
    from ._outbox import Outbox
    from .device import (Delivery, Device, DeviceClosed, DpsOptions, MessageKept, MqttOptions,
                         TlsOptions)
from ._plugins import PluginLimits, PluginLoadError, PluginStats, imports_of
from ._types import (
    Action,
    ApplicationError,
    Assignment,
    Backoff,
    Classification,
    Connect,
    Credential,
    Curve,
    Decision,
    DecisionEvent,
    Failure,
    GiveUp,
    GiveUpReason,
    InputError,
    Level,
    MessageFailure,
    NetworkError,
    Outcome,
    Pending,
    PluginFault,
    PluginFaultReason,
    PollProvisioning,
    Provision,
    ProvisioningAnswer,
    PublishError,
    Reason,
    RenewCredential,
    RetryAfter,
    Status,
    StatusChange,
    SubscribeError,
    Verdict,
)

__version__ = "0.1.0"

# A library's logger: silent until the application configures logging.
logging.getLogger("tether").addHandler(logging.NullHandler())

__all__ = [
    "Action", "ApplicationError", "Assignment", "Backoff", "Classification", "Clock",
    "ComponentMissing", "ComponentTrap", "ConfigError", "Connect", "Connection",
    "Credential", "Credentials", "Delivery", "Device", "DeviceClosed", "DpsOptions", "MqttOptions",
    "TlsOptions", "Curve", "Decision", "DecisionEvent", "Failure", "GiveUp",
    "GiveUpReason", "InputError", "Level", "MessageFailure", "MessageKept", "MonotonicClock",
    "NetworkError", "Outbox", "OutboxError", "Outcome", "Pending", "PluginFault",
    "PluginFaultReason",
    "PluginLimits", "PluginLoadError", "PluginStats", "PollProvisioning", "Provision", "Provisioning",
    "ProvisioningAnswer", "PublishError", "PublishRefused", "Reason", "RenewCredential",
    "RetryAfter", "RetrySchedule", "Runtime", "Status", "StatusChange", "SubscribeError",
    "SubscribeRefused", "TetherError",
    "Transport", "Verdict", "VirtualClock", "classify", "component_path", "imports_of", "table_version",
    "validate_config",
]


def classify(failure: Failure, *, runtime: Runtime | None = None) -> Classification:
    """The component's classification of one failure: level, verdict, status reason and
    the table row that matched."""
    rt = runtime if runtime is not None else Runtime.default()
    with rt.lock:
        inst = rt.shared
        return _c.lift_classification(inst.call(inst.exports.classify, _c.lower_failure(failure)))


def table_version(*, runtime: Runtime | None = None) -> int:
    """The version of the component's classification table."""
    rt = runtime if runtime is not None else Runtime.default()
    with rt.lock:
        inst = rt.shared
        return int(inst.call(inst.exports.table_version))


def validate_config(config: Mapping[str, Any] | str, *, runtime: Runtime | None = None) -> None:
    """Check a connection configuration; raises :class:`ConfigError` naming the field."""
    rt = runtime if runtime is not None else Runtime.default()
    with rt.lock:
        inst = rt.shared
        result = inst.call(inst.exports.validate_config, _c.to_json(config))
    if result is not None:
        ok, payload = _c.unwrap_result(result, ())
        if not ok:
            _c.raise_config_error(payload)


class RetrySchedule:
    """A retry policy with its state, for apps that keep their own loop.

    ``policy`` is the ``policy`` object of a configuration (a dict or JSON text); an
    invalid one raises :class:`ConfigError`. Call :meth:`next` after each failed
    attempt; :meth:`connected` when one succeeds, :meth:`dropped` when that link is
    lost, :meth:`reset` to start over.
    """

    def __init__(self, policy: Mapping[str, Any] | str, seed: int, *,
                 runtime: Runtime | None = None) -> None:
        self._rt = runtime if runtime is not None else Runtime.default()
        self._handle: Any = None
        with self._rt.lock:
            inst = self._rt.shared
            created = inst.call(inst.exports.create_schedule, _c.to_json(policy), seed)
        if not _c.is_resource(created):
            _c.raise_config_error(_c.unwrap_result(created, ())[1])
        self._handle = created

    def _call(self, method: str, *args: Any) -> Any:
        with self._rt.lock:
            if self._handle is None:
                raise TetherError("the retry schedule was closed")
            inst = self._rt.shared
            return inst.call(inst.exports.schedule[method], self._handle, *args)

    def next(self, failure: Failure | None = None, elapsed_ms: int | None = None) -> Decision:
        """The decision after one more failed attempt: :class:`RetryAfter` or
        :class:`GiveUp`. ``failure`` selects the curve (``None``: a plain recoverable
        failure); ``elapsed_ms`` is the time since the outage began (``None``: the
        schedule adds up its own delays)."""
        lowered = None if failure is None else _c.lower_failure(failure)
        return _c.lift_decision(self._call("next", lowered, elapsed_ms))

    @property
    def attempts(self) -> int:
        """Failed attempts counted in this outage."""
        return int(self._call("attempts"))

    def connected(self) -> None:
        """An attempt succeeded."""
        self._call("connected")

    def dropped(self, held_ms: int) -> None:
        """The link was lost after holding ``held_ms``."""
        self._call("dropped", held_ms)

    def reset(self) -> None:
        """Start over: no failures counted."""
        self._call("reset")

    def close(self) -> None:
        """Release the component's schedule."""
        with self._rt.lock:
            if self._handle is not None:
                self._handle.drop(self._rt.shared.store)
                self._handle = None

    def __enter__(self) -> RetrySchedule:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


_DEVICE_NAMES = frozenset({"Delivery", "Device", "DeviceClosed", "DpsOptions", "MessageKept",
                           "MqttOptions", "TlsOptions"})


def __getattr__(name: str) -> Any:
    # The device client (paho-mqtt, asyncio, ssl) loads on first use: an app that
    # only drives a Connection, or asks for a decision, starts without it.
    if name in _DEVICE_NAMES:
        from . import device

        value = getattr(device, name)
        globals()[name] = value
        return value
    if name == "Outbox":  # sqlite3, also on first use
        from . import _outbox

        value = getattr(_outbox, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tether' has no attribute {name!r}")
