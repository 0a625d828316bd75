"""``tether.Connection``: one device link driven by the tether component.

The component's imports are never delivered while the component runs. Each import
call it makes (``transport.open``, ``events.status-changed``, ...) is converted and
queued; when the component call has returned, the queue is drained in order into the
transport, provisioning, credentials and observer objects. A callback may call an
input of the same connection (``transport.open`` that fails at once calls
``conn.failed(...)``): that input runs the component immediately, its own calls join
the end of the queue, and the drain carries on in order.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from . import _component as c
from . import _plugins as plugins
from . import _types as t
from ._errors import TetherError

__all__ = [
    "Clock",
    "Connection",
    "Credentials",
    "MonotonicClock",
    "Provisioning",
    "PublishRefused",
    "SubscribeRefused",
    "Transport",
    "VirtualClock",
]


@runtime_checkable
class Transport(Protocol):
    """The link the connection opens, sends on and closes (MQTT, AMQP, a fake).

    Each call returns at once; results come back through the connection's inputs:
    ``opened(link)`` or ``failed(link, failure)`` after ``open``, ``closed(link,
    failure)`` when an open link drops, ``acked(message)`` when the hub acknowledges
    a message sent with ``send``."""

    def open(self, link: int, hub: str, device_id: str | None, credential: str | None) -> None: ...

    def send(self, link: int, message: int, topic: str, payload: bytes) -> None: ...

    def close(self, link: int) -> None: ...

    # A transport that carries inbound messages also has
    # ``subscribe(link, filters)``: subscribe at QoS 1 on an open link (the
    # connection calls it again on every new link). ``Connection.subscribe``
    # refuses to keep subscriptions for a transport without it.


@runtime_checkable
class Provisioning(Protocol):
    """The provisioning service client. Answer with ``Connection.provisioned``."""

    def register(self) -> None: ...

    def poll(self, operation_id: str) -> None: ...


@runtime_checkable
class Credentials(Protocol):
    """Where fresh credentials come from. Answer with ``Connection.credential``."""

    def renew(self) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in nanoseconds: what the component reads as ``now``.

    A clock may also have ``wall_ns()``, the time of day in nanoseconds since the
    Unix epoch, which the component reads only to set the expiry of a token it
    mints from a key; without it the system's time of day is used."""

    def now_ns(self) -> int: ...


#: Where a :class:`VirtualClock`'s time of day starts (seconds since the epoch,
#: 2023-11-14), as in every host, so minted tokens are the same bytes everywhere.
VIRTUAL_EPOCH_S = 1_700_000_000


class MonotonicClock:
    """The real clock: :func:`time.monotonic_ns`."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def wall_ns(self) -> int:
        return time.time_ns()


class VirtualClock:
    """A clock that moves only when told to (tests, simulations, the conformance
    runner)."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def wall_ns(self) -> int:
        """:data:`VIRTUAL_EPOCH_S` plus the virtual time."""
        return VIRTUAL_EPOCH_S * 1_000_000_000 + self._now

    def set_ms(self, ms: int) -> None:
        self._now = ms * 1_000_000

    def advance_ms(self, ms: int) -> None:
        self._now += ms * 1_000_000


class SubscribeRefused(TetherError):
    """``subscribe`` did not keep the filter. ``error`` says why."""

    def __init__(self, error: t.SubscribeError) -> None:
        super().__init__(f"subscribe refused: {error}")
        self.error = error


class PublishRefused(TetherError):
    """``publish`` did not accept the message (it gets no outcome). ``error`` says why."""

    def __init__(self, error: t.PublishError) -> None:
        super().__init__(f"publish refused: {error}")
        self.error = error


StatusCallback = Callable[[t.StatusChange], None]
DecisionCallback = Callable[[t.DecisionEvent], None]
OutcomeCallback = Callable[[int, t.Outcome], None]
WakeCallback = Callable[[int], None]
PluginFaultCallback = Callable[[t.PluginFault], None]


class Connection:
    """One device link to its hub, as the tether component runs it.

    ``config`` is the configuration document (a dict or its JSON text); an invalid one
    raises :class:`tether.ConfigError` naming the field. The host objects carry out
    what the component asks for; the callbacks observe it. Call order: ``start()``,
    then the inputs as things happen, ``stop()`` at the end. Wake the connection with
    ``wake()`` at or after the deadlines it asks for (``on_wake_at``, or
    :meth:`next_wake`); early or extra wakes do nothing.

    Inputs return ``None`` when taken, or an :class:`~tether.InputError` when not (a
    late report about an old link is normal and changes nothing). The connection is
    safe to call from several threads (a lock serializes the inputs); callbacks run
    on the thread that made the input, so they must not wait for another thread that
    is calling into the same connection.

    # Defaults
    clock: :class:`MonotonicClock`; entropy (only read when the config has no
    ``seed``): :func:`secrets.randbits`; runtime: :meth:`tether.Runtime.default`.
    """

    def __init__(
        self,
        config: Mapping[str, Any] | str,
        *,
        transport: Transport,
        on_status: StatusCallback | None = None,
        on_decision: DecisionCallback | None = None,
        on_outcome: OutcomeCallback | None = None,
        on_wake_at: WakeCallback | None = None,
        on_plugin_fault: PluginFaultCallback | None = None,
        clock: Clock | None = None,
        provisioning: Provisioning | None = None,
        credentials: Credentials | None = None,
        entropy: Callable[[], int] | None = None,
        runtime: c.Runtime | None = None,
    ) -> None:
        self.transport = transport
        self.provisioning = provisioning
        self.credentials = credentials
        self.on_status = on_status
        self.on_decision = on_decision
        self.on_outcome = on_outcome
        self.on_wake_at = on_wake_at
        self.on_plugin_fault = on_plugin_fault
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._entropy = entropy if entropy is not None else (lambda: secrets.randbits(64))
        wall = getattr(self.clock, "wall_ns", None)
        self._wall_ns: Callable[[], int] = wall if callable(wall) else time.time_ns
        self._queue: deque[tuple[str, tuple[Any, ...]]] = deque()
        self._draining = False
        self._lock = threading.RLock()
        q = self._queue
        self._runtime = runtime if runtime is not None else c.Runtime.default()
        # A custom policy's plugin is loaded (and instantiated) before the connection
        # exists, so a plugin that is missing, imports anything or cannot start is an
        # error here, naming it.
        self._plugins = plugins.PluginSet()
        plugin = plugins.plugin_of(config)
        if plugin is not None:
            self._plugins.load(self._runtime.plugins, plugin)
        self._inst = self._runtime.instantiate({
            "wasi:clocks/monotonic-clock": {"now": lambda _s: self.clock.now_ns()},
            "wasi:clocks/wall-clock": {"now": lambda _s: c.datetime_of(self._wall_ns())},
            "wasi:random/random": {"get-random-u64": lambda _s: self._entropy()},
            "transport": {
                "open": lambda _s, link, hub, dev, cred: q.append(("open", (link, hub, dev, cred))),
                "send": lambda _s, link, msg, topic, payload: q.append(
                    ("send", (link, msg, topic, bytes(payload)))),
                "close": lambda _s, link: q.append(("close", (link,))),
                "subscribe": lambda _s, link, filters: q.append(
                    ("subscribe", (link, list(filters)))),
            },
            "provisioning": {
                "register": lambda _s: q.append(("register", ())),
                "poll": lambda _s, op: q.append(("poll", (op,))),
            },
            "credentials": {"renew": lambda _s: q.append(("renew", ()))},
            "events": {
                "status-changed": lambda _s, ch: q.append(
                    ("status", (c.lift_status_change(ch),))),
                "decided": lambda _s, ev: q.append(("decision", (c.lift_decision_event(ev),))),
                "message-outcome": lambda _s, msg, out: q.append(
                    ("outcome", (msg, c.lift_outcome(out)))),
                "wake-at": lambda _s, deadline: q.append(("wake-at", (deadline,))),
                "plugin-fault": lambda _s, fault: q.append(
                    ("plugin-fault", (c.lift_plugin_fault(fault),))),
            },
            "policy-plugins": {"decide": self._plugins.decide},
        })
        ex = self._inst.exports
        self._m = ex.connection
        created = self._inst.call(ex.create_connection, c.to_json(config))
        if not c.is_resource(created):
            ok, payload = c.unwrap_result(created, ())
            c.raise_config_error(payload)
        self._handle = created
        # create calls no import (the config is only read); anything queued is kept
        # for the first drain.

    # ---- inputs ----

    def start(self) -> t.InputError | None:
        """Begin: provision, renew a credential or connect, as configured."""
        return self._input("start")

    def opened(self, link: int) -> t.InputError | None:
        """Link ``link`` is open."""
        return self._input("on-opened", link)

    def failed(self, link: int, failure: t.Failure) -> t.InputError | None:
        """Opening link ``link`` failed."""
        return self._input("on-failed", link, c.lower_failure(failure))

    def closed(self, link: int, failure: t.Failure) -> t.InputError | None:
        """Open link ``link`` was lost or closed by the server."""
        return self._input("on-closed", link, c.lower_failure(failure))

    def acked(self, message: int) -> t.InputError | None:
        """The hub acknowledged message ``message``."""
        return self._input("on-acked", message)

    def refused(self, message: int, failure: t.Failure) -> t.InputError | None:
        """The hub refused message ``message`` (an MQTT 5 PUBACK reason of 0x80 or
        above, as ``Failure.mqtt_reason(code)``); the component resends it later or ends
        it, by its refusal table."""
        return self._input("on-refused", message, c.lower_failure(failure))

    def provisioned(self, answer: t.ProvisioningAnswer) -> t.InputError | None:
        """The answer to ``register`` / ``poll``: an :class:`~tether.Assignment`, a
        :class:`~tether.Pending` or a :class:`~tether.Failure`."""
        return self._input("on-provisioned", c.lower_provisioning(answer))

    def credential(self, answer: t.Credential | t.Failure) -> t.InputError | None:
        """The answer to ``renew``: a :class:`~tether.Credential` or a
        :class:`~tether.Failure`."""
        return self._input("on-credential", c.lower_credential_answer(answer))

    def wake(self) -> None:
        """A deadline asked for may have passed. Early or extra calls do nothing."""
        self._call("on-wake")

    def publish(self, topic: str, payload: bytes | bytearray | str) -> int:
        """Queue a message; returns its id. It ends as exactly one outcome
        (``on_outcome``). Raises :class:`PublishRefused` when not accepted."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        result = self._call("publish", topic, data)
        ok, value = c.unwrap_result(result, (int,))
        if not ok:
            raise PublishRefused(t.PublishError(value))
        return int(value)

    def subscribe(self, topic_filter: str) -> None:
        """Keep ``topic_filter`` subscribed (QoS 1) on every link: at once when a
        link is up, and again on each new link. Raises :class:`SubscribeRefused`
        when not kept, and :class:`TetherError` when the transport has no
        ``subscribe``."""
        if not callable(getattr(self.transport, "subscribe", None)):
            raise TetherError("the transport has no subscribe(link, filters): "
                              "it cannot carry subscriptions")
        ok, value = c.unwrap_result(self._call("subscribe", topic_filter), ())
        if not ok:
            raise SubscribeRefused(t.SubscribeError(value))

    def subscriptions(self) -> list[str]:
        """The filters kept, in the order first subscribed."""
        return list(self._call("subscriptions"))

    def stop(self) -> None:
        """Close the link and stop. Queued messages fail with ``client-close``."""
        self._call("stop")

    # ---- queries ----

    def next_wake(self) -> int | None:
        """The deadline (on this connection's clock, in ns) at which the connection
        wants ``wake()``, if any."""
        return self._call("next-wake")  # type: ignore[no-any-return]

    def status(self) -> t.StatusChange:
        """The current status."""
        return c.lift_status_change(self._call("current-status"))

    def plugin_stats(self, plugin: str) -> plugins.PluginStats | None:
        """What ``plugin`` (the configuration's ``plugin`` value) has cost so far in
        this connection; ``None`` when it is not loaded here."""
        return self._plugins.stats(plugin)

    @property
    def pending_messages(self) -> int:
        """Messages accepted and not yet given an outcome."""
        return int(self._call("pending-messages"))

    def close(self) -> None:
        """Release the component's connection (after ``stop()``)."""
        with self._lock:
            if self._handle is not None:
                self._handle.drop(self._inst.store)
                self._handle = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self.stop()
        self.close()

    # ---- the machinery ----

    def _input(self, method: str, *args: Any) -> t.InputError | None:
        result = self._call(method, *args)
        ok, value = c.unwrap_result(result, ())
        return None if ok else t.InputError(value)

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            if self._handle is None:
                raise TetherError("the connection was closed")
            result = self._inst.call(self._m[method], self._handle, *args)
            if not self._draining:
                self._drain()
            return result

    def _drain(self) -> None:
        """Deliver the queued import calls, in order. Inputs made by the callbacks
        append to the same queue and are delivered by this loop."""
        self._draining = True
        try:
            q = self._queue
            while q:
                kind, args = q.popleft()
                self._deliver(kind, args)
        finally:
            self._draining = False

    def _deliver(self, kind: str, args: tuple[Any, ...]) -> None:
        if kind == "open":
            self.transport.open(*args)
        elif kind == "send":
            self.transport.send(*args)
        elif kind == "close":
            self.transport.close(*args)
        elif kind == "subscribe":
            getattr(self.transport, "subscribe")(*args)
        elif kind == "status":
            if self.on_status is not None:
                self.on_status(*args)
        elif kind == "decision":
            if self.on_decision is not None:
                self.on_decision(*args)
        elif kind == "outcome":
            if self.on_outcome is not None:
                self.on_outcome(*args)
        elif kind == "wake-at":
            if self.on_wake_at is not None:
                self.on_wake_at(*args)
        elif kind == "plugin-fault":
            if self.on_plugin_fault is not None:
                self.on_plugin_fault(*args)
        elif kind in ("register", "poll"):
            if self.provisioning is None:
                raise TetherError("the configuration uses provisioning, but the "
                                    "Connection has no provisioning client")
            if kind == "register":
                self.provisioning.register()
            else:
                self.provisioning.poll(*args)
        elif kind == "renew":
            if self.credentials is None:
                raise TetherError("the component asked for a credential, but the "
                                    "Connection has no credentials source")
            self.credentials.renew()
