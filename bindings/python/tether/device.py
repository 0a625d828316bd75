"""``tether.Device``: a ready device client on paho-mqtt, with tether deciding.

One background thread (the runner) owns the :class:`tether.Connection` and the
paho clients: it waits on the sockets until the next thing is due (a packet, a
deadline the component asked for, a command from another thread), and feeds every
result to the component. Other threads and asyncio talk to it through a command
queue, so every call is safe from any thread and from the runner's own callbacks.

Synchronous use::

    with tether.Device({"hub": "127.0.0.1:1883", "device-id": "sensor-1"}) as device:
        outcome = device.publish(b"21.5").result(timeout=30)

asyncio::

    async with tether.Device(config) as device:
        outcome = await device.publish(b"21.5")
        async for change in device.statuses(): ...
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generator, Mapping

from . import identity as ident
from ._component import Runtime
from ._connection import Connection, PublishRefused
from ._errors import OutboxError, TetherError
from ._dps import DpsClient
from ._paho import MqttOptions, PahoTransport, TlsOptions
from ._types import DecisionEvent, MessageFailure, Outcome, Status, StatusChange

if TYPE_CHECKING:
    from ._outbox import Outbox, Record

log = logging.getLogger("tether")

__all__ = ["Delivery", "Device", "DeviceClosed", "DpsOptions", "MessageKept", "MqttOptions",
           "TlsOptions"]

#: How long a call waits for the runner to take a command (it never blocks on the
#: network, so only a callback that blocks the runner makes this run out).
COMMAND_TIMEOUT_S = 30.0

Payload = bytes | bytearray | memoryview | str


@dataclass(frozen=True)
class DpsOptions:
    """Azure DPS registration over HTTPS with a symmetric key (base64; for a group
    enrollment the device's key, derived by the component). ``ca_file`` trusts a
    CA other than the system's for the DPS endpoint."""

    endpoint: str
    id_scope: str
    registration_id: str
    key: str = field(repr=False)
    ca_file: str | None = None


class DeviceClosed(TetherError):
    """The device was stopped or closed: it takes no more calls of this kind."""


class MessageKept(TetherError):
    """What :meth:`Delivery.result` raises for a message the device stopped before
    its outcome, with an outbox: it stays in the store and the next run sends it
    and reports its outcome. It is not an outcome."""

    def __init__(self, path: Path, key: int) -> None:
        super().__init__(f"kept in the outbox {path} (key {key}) at the stop: the next "
                         "run sends it and reports its outcome")
        self.path = path
        self.key = key


class Delivery:
    """The outcome of one published message, to come: ``result(timeout)`` from
    threads, ``await delivery`` from asyncio. It always resolves to an
    :class:`~tether.Outcome` (delivered, or failed with the reason), exactly once.

    With an outbox, ``key`` is the message's durable key in the store, and a
    message the device stops before its outcome is kept for the next run instead:
    ``kept`` is true and ``result`` raises :class:`MessageKept`. The messages an
    earlier run left are in :attr:`Device.resent` (``topic`` and ``payload`` say
    which); one the component no longer accepts raises
    :class:`tether.PublishRefused` (``message_id`` 0; its record is removed)."""

    def __init__(self, message_id: int, key: int | None = None, topic: str | None = None,
                 payload: bytes | None = None) -> None:
        self.message_id = message_id
        self.key = key
        self.topic = topic
        self.payload = payload
        self.kept = False
        self._future: concurrent.futures.Future[Outcome] = concurrent.futures.Future()

    def result(self, timeout: float | None = None) -> Outcome:
        """The outcome; waits up to ``timeout`` seconds (raises ``TimeoutError``)."""
        return self._future.result(timeout)

    def done(self) -> bool:
        return self._future.done()

    def add_done_callback(self, fn: Callable[[Delivery], None]) -> None:
        self._future.add_done_callback(lambda _f: fn(self))

    def __await__(self) -> Generator[Any, None, Outcome]:
        return asyncio.wrap_future(self._future).__await__()

    def _resolve(self, outcome: Outcome) -> None:
        if not self._future.done():
            self._future.set_result(outcome)

    def _raise(self, error: TetherError) -> None:
        if not self._future.done():
            self.kept = isinstance(error, MessageKept)
            self._future.set_exception(error)

    def __repr__(self) -> str:
        if not self._future.done():
            state = "pending"
        elif self._future.exception() is not None:
            state = "kept" if self.kept else f"refused: {self._future.exception()}"
        else:
            state = str(self._future.result())
        return f"Delivery(message_id={self.message_id}, {state})"


def _level_of(change: StatusChange) -> int:
    if change.status is Status.CONNECTED:
        return logging.INFO
    if change.status is Status.DISCONNECTED_RETRYING:
        return logging.WARNING
    if change.reason.value == "client-close":
        return logging.INFO
    return logging.ERROR


class Device:
    """A device link run on a background thread: statuses, decisions and outcomes
    come from the tether component, the MQTT link from paho-mqtt.

    ``config`` is the connection configuration (a dict or JSON text, as for
    :class:`tether.Connection`); ``mqtt`` how links are made (:class:`MqttOptions`;
    ``tls=`` and ``version=`` are shortcuts for its fields). ``telemetry_topic`` is
    where :meth:`publish` sends without a topic (default
    ``devices/{device-id}/messages/events/``).

    ``outbox`` is the file of a persistent outbox (SQLite; made when missing):
    every accepted message is committed there before :meth:`publish` returns and
    removed when its outcome arrives; :meth:`start` publishes again what an earlier
    run left (:attr:`resent`), and :meth:`stop` keeps what has no outcome yet for
    the next run. A store that is damaged or open in another process raises
    :class:`tether.OutboxError` naming the file, here.

    Callbacks run on the runner's thread; one that raises is logged and ignored.
    """

    def __init__(self, config: Mapping[str, Any] | str, *, mqtt: MqttOptions | None = None,
                 tls: TlsOptions | bool | None = None, version: int | None = None,
                 telemetry_topic: str | None = None,
                 on_status: Callable[[StatusChange], None] | None = None,
                 on_decision: Callable[[DecisionEvent], None] | None = None,
                 on_message: Callable[[str, bytes], None] | None = None,
                 dps: DpsOptions | None = None,
                 runtime: Runtime | None = None,
                 outbox: str | os.PathLike[str] | None = None) -> None:
        if outbox is not None and not isinstance(outbox, (str, os.PathLike)):
            raise TypeError(f"outbox: expected a file path, not {type(outbox).__name__}")
        if isinstance(config, str):
            try:
                parsed = json.loads(config)
            except json.JSONDecodeError as err:
                raise TypeError(f"config: not JSON ({err.msg})") from None
        elif isinstance(config, Mapping):
            parsed = dict(config)
        else:
            raise TypeError(f"config: expected a dict or JSON text, not {type(config).__name__}")
        if not isinstance(parsed, dict):
            raise TypeError("config: expected a JSON object")
        # What the component would ask of a host this runner does not have yet:
        # refused here, naming the field, rather than failing on the runner later.
        if dps is not None and not isinstance(dps, DpsOptions):
            raise TypeError(f"dps: expected tether.DpsOptions, not {type(dps).__name__}")
        if "provisioning" in parsed and dps is None:
            raise TetherError("config.provisioning: give dps=tether.DpsOptions(...) "
                              "(or use Device.from_dps)")
        credential = parsed.get("credential")
        if isinstance(credential, Mapping) and credential.get("renewable") is True:
            raise TetherError("config.credential.renewable: tether.Device has no "
                              "credential source; use a key (credential.sas or a "
                              "connection string), which the component signs itself")
        options = mqtt if mqtt is not None else MqttOptions()
        if not isinstance(options, MqttOptions):
            raise TypeError(f"mqtt: expected tether.MqttOptions, not {type(options).__name__}")
        if tls is not None:
            if tls is True:
                tls = TlsOptions()
            if tls is False:
                tls = None
            elif not isinstance(tls, TlsOptions):
                raise TypeError(f"tls: expected tether.TlsOptions or a bool, not "
                                f"{type(tls).__name__}")
            options = _replace(options, tls=tls)
        if version is not None:
            options = _replace(options, version=version)
        for name, cb in (("on_status", on_status), ("on_decision", on_decision),
                         ("on_message", on_message)):
            if cb is not None and not callable(cb):
                raise TypeError(f"{name}: expected a callable, not {type(cb).__name__}")
        device_id = parsed.get("device-id")
        self.telemetry_topic = telemetry_topic or (
            f"devices/{device_id}/messages/events/" if isinstance(device_id, str)
            else "devices/tether-device/messages/events/")
        self._on_status = on_status
        self._on_decision = on_decision
        self._on_message = on_message
        self._events: deque[tuple[Any, ...]] = deque()
        self._commands: deque[tuple[Any, ...]] = deque()
        self._deliveries: dict[int, Delivery] = {}
        self._early: dict[int, Outcome] = {}
        self._cmd_lock = threading.Lock()
        self._watchers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = []
        self._watch_lock = threading.Lock()
        self._status_cond = threading.Condition()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        self._state = "new"  # new, running, stopped, closed
        self._transport = PahoTransport(options, self._events.append, self._poke)
        provisioning = None if dps is None else DpsClient(
            dps.endpoint, dps.id_scope, dps.registration_id, dps.key, ca_file=dps.ca_file,
            post=self._events.append, wake=self._poke)
        self._conn = Connection(parsed, transport=self._transport, runtime=runtime,
                                provisioning=provisioning,
                                on_status=self._status, on_decision=self._decision,
                                on_outcome=self._outcome)
        self._status_now: StatusChange = self._conn.status()
        #: The messages an earlier run left in the outbox, published again by
        #: :meth:`start` in the order they were accepted (empty without an outbox).
        self.resent: list[Delivery] = []
        self._outbox: Outbox | None = None
        self._recovered: list[Record] = []
        if outbox is not None:
            # Last, so that nothing else can fail with the store's lock held.
            from ._outbox import Outbox  # sqlite3, only for a device with an outbox

            try:
                self._outbox, self._recovered = Outbox.open(outbox)
            except OutboxError:
                self._conn.close()
                for s in (self._wake_r, self._wake_w):
                    s.close()
                raise

    @property
    def outbox(self) -> Outbox | None:
        """The open outbox, if any (closed when the device stops)."""
        return self._outbox

    # ---- identities ----

    @classmethod
    def from_connection_string(cls, connection_string: str, *,
                               token_lifetime_s: int = 3600,
                               ca_file: str | None = None, port: int | None = None,
                               cert_file: str | None = None, key_file: str | None = None,
                               model_id: str | None = None,
                               config: Mapping[str, Any] | None = None,
                               **kwargs: Any) -> Device:
        """An Azure IoT Hub device from its connection string. The component parses
        it, mints the SAS tokens (renewed at 80% of ``token_lifetime_s``) and gives
        the client id, user name and topic; MQTT 3.1.1 over TLS on 8883 (``port``
        to override, ``ca_file`` to trust a CA other than the system's). An X.509
        device (``x509=true`` in the string) sends no password: give its
        certificate and key as ``cert_file`` and ``key_file`` (PEM)."""
        if not isinstance(connection_string, str):
            raise TypeError("connection_string: expected a str")
        hub = ident.parse_connection_string(connection_string)
        doc: dict[str, Any] = {"connection-string": connection_string,
                               "credential": {"token-lifetime-s": token_lifetime_s}}
        if config:
            doc.update(config)
        if hub.auth == "x509" and cert_file is None:
            raise TypeError("the connection string says x509=true: give cert_file= and "
                            "key_file= (the device's certificate and key, PEM)")
        tls = TlsOptions(ca_file=ca_file, cert_file=cert_file, key_file=key_file)
        options = MqttOptions(version=311, tls=tls, port=port,
                              clean_session=False, profile="azure-iot-hub",
                              hub_identity=hub, model_id=model_id, keep_alive_s=60)
        topic = ident.telemetry_topic(hub.device_id, hub.module_id)
        return cls(doc, mqtt=options, telemetry_topic=topic, **kwargs)

    @classmethod
    def from_dps(cls, id_scope: str, registration_id: str, *, endpoint: str,
                 key: str | None = None, group_key: str | None = None,
                 ca_file: str | None = None, hub_ca_file: str | None = None,
                 hub_port: int | None = None, model_id: str | None = None,
                 config: Mapping[str, Any] | None = None, **kwargs: Any) -> Device:
        """An Azure IoT Hub device provisioned by DPS with a symmetric key: its own
        (``key``) or its group enrollment's (``group_key``, from which the component
        derives the device's). The component mints the DPS token and then the hub
        tokens for whichever hub DPS assigns (MQTT 3.1.1 over TLS, on 8883 unless
        ``hub_port``); the telemetry topic is the registration id's."""
        for name, value in (("id_scope", id_scope), ("registration_id", registration_id),
                            ("endpoint", endpoint)):
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name}: expected a non-empty str")
        if (key is None) == (group_key is None):
            raise TypeError("give exactly one of key= and group_key=")
        device_key = key if key is not None else ident.derive_device_key(
            str(group_key), registration_id)
        doc: dict[str, Any] = {"provisioning": {}, "credential": {"sas": {"key": device_key}}}
        if config:
            doc.update(config)
        options = MqttOptions(version=311, tls=TlsOptions(ca_file=hub_ca_file), port=hub_port,
                              clean_session=False, profile="azure-iot-hub",
                              model_id=model_id, keep_alive_s=60)
        return cls(doc, mqtt=options, telemetry_topic=ident.telemetry_topic(registration_id),
                   dps=DpsOptions(endpoint, id_scope, registration_id, device_key, ca_file),
                   **kwargs)

    # ---- the calls ----

    def start(self) -> Device:
        """Start the runner: it connects, and reconnects whenever tether says."""
        if self._state != "new":
            raise DeviceClosed(f"start: the device is {self._state}; make a new Device")
        self._state = "running"
        self._thread = threading.Thread(target=self._run, name="tether-device", daemon=True)
        self._thread.start()
        self._command("start")
        return self

    def publish(self, payload: Payload, topic: str | None = None) -> Delivery:
        """Queue one QoS 1 message (to :attr:`telemetry_topic` without ``topic``).
        Raises :class:`tether.PublishRefused` when tether does not accept it (queue
        full, payload too large), :class:`tether.OutboxError` when the outbox cannot
        store it (then it is not published), :class:`DeviceClosed` after :meth:`stop`."""
        if isinstance(payload, str):
            data = payload.encode()
        elif isinstance(payload, (bytes, bytearray, memoryview)):
            data = bytes(payload)
        else:
            raise TypeError(f"payload: expected bytes or str, not {type(payload).__name__}")
        if topic is None:
            topic = self.telemetry_topic
        elif not isinstance(topic, str):
            raise TypeError(f"topic: expected a str, not {type(topic).__name__}")
        result = self._command("publish", topic, data)
        assert isinstance(result, Delivery)
        return result

    def subscribe(self, topic_filter: str) -> None:
        """Keep ``topic_filter`` subscribed at QoS 1 on every link; messages reach
        ``on_message``."""
        if not isinstance(topic_filter, str):
            raise TypeError(f"topic_filter: expected a str, not {type(topic_filter).__name__}")
        self._command("subscribe", topic_filter)

    @property
    def status(self) -> StatusChange:
        """The latest status."""
        return self._status_now

    def wait_for(self, status: Status | str, timeout: float | None = None) -> bool:
        """Wait until the status is ``status``; ``False`` when ``timeout`` passes."""
        want = Status(status)
        with self._status_cond:
            return self._status_cond.wait_for(
                lambda: self._status_now.status is want or self._state == "closed", timeout
            ) and self._status_now.status is want

    def stop(self, timeout: float = 10.0) -> None:
        """Close the link and stop the runner. Messages without an outcome fail with
        ``client-close`` (with an outbox they are kept for the next run instead).
        A second call does nothing."""
        if self._state == "new":
            self._state = "stopped"
            self._conn.stop()
            self._fail_leftovers()
            self._end_watchers()
            self._close_outbox()
            return
        if self._state != "running":
            return
        if threading.current_thread() is self._thread:
            self._commands.append(("stop", (), None))
            self._poke()
            return
        try:
            self._command("stop")
        except DeviceClosed:
            pass  # stopped meanwhile (from a callback)
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        """Stop, then release the component's connection and the sockets."""
        if self._state == "closed":
            return
        self.stop()
        if threading.current_thread() is self._thread:
            return  # the runner closes on its way out
        self._close_now()

    def __enter__(self) -> Device:
        return self.start() if self._state == "new" else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Device:
        if self._state == "new":
            await asyncio.get_running_loop().run_in_executor(None, self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    async def statuses(self) -> AsyncIterator[StatusChange]:
        """Each status change from now on (the current one first), until the
        device stops."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        with self._watch_lock:
            if self._state in ("stopped", "closed"):
                return
            queue.put_nowait(self._status_now)
            entry = (loop, queue)
            self._watchers.append(entry)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                yield item
        finally:
            with self._watch_lock:
                if entry in self._watchers:
                    self._watchers.remove(entry)

    # ---- the command queue ----

    def _command(self, kind: str, *args: Any) -> Any:
        if self._state == "closed":
            raise DeviceClosed(f"{kind}: the device was closed")
        if self._state == "stopped" or (self._state == "new" and kind != "start"):
            raise DeviceClosed(f"{kind}: the device is {self._state}"
                               + ("; call start() first" if self._state == "new" else ""))
        if threading.current_thread() is self._thread:
            return self._execute(kind, args)  # from a callback on the runner
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._cmd_lock:
            # Checked again under the lock the runner takes to stop: a command
            # is either taken by a running runner or refused here, never left.
            if self._state != "running":
                raise DeviceClosed(f"{kind}: the device is {self._state}")
            self._commands.append((kind, args, done))
        self._poke()
        try:
            return done.result(COMMAND_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            raise TetherError(f"{kind}: the runner did not answer within "
                              f"{COMMAND_TIMEOUT_S:g} s (a callback blocks it?)") from None

    def _execute(self, kind: str, args: tuple[Any, ...]) -> Any:
        if kind == "start":
            self._conn.start()
            self._resend()
            return None
        if kind == "publish":
            topic, data = args
            key = None
            if self._outbox is not None:
                # Committed before the component sees it: accepted means on disk.
                key = self._outbox.store(topic, data)  # OutboxError goes to the caller
            try:
                message = self._conn.publish(topic, data)  # PublishRefused goes to the caller
            except PublishRefused:
                self._unstore(key)
                raise
            return self._accepted(Delivery(message, key, topic, data))
        if kind == "subscribe":
            self._conn.subscribe(args[0])
            return None
        if kind == "stop":
            self._stop_now()
            return None
        raise TetherError(f"unknown command {kind}")

    def _accepted(self, delivery: Delivery) -> Delivery:
        """Register an accepted message; its outcome may have come during the call."""
        message = delivery.message_id
        if self._outbox is not None and delivery.key is not None:
            self._outbox.bind(delivery.key, message)
        self._deliveries[message] = delivery
        early = self._early.pop(message, None)
        if early is not None:
            self._outcome(message, early)
        return delivery

    def _unstore(self, key: int | None) -> None:
        """Remove the record of a message the component refused."""
        if self._outbox is None or key is None:
            return
        try:
            self._outbox.remove(key)
        except OutboxError as err:
            log.error("%s; the refused message (key %d) is sent again after a restart",
                      err, key)

    def _resend(self) -> None:
        """Publish what an earlier run left in the outbox, in key order."""
        records, self._recovered = self._recovered, []
        for r in records:
            try:
                message = self._conn.publish(r.topic, r.payload)
            except PublishRefused as err:
                # It can never be sent (a payload over a new, lower limit, say):
                # reported, and not kept to be refused at every start.
                log.error("outbox: the message of key %d (topic %s) is refused by this "
                          "configuration (%s): removed", r.key, r.topic, err.error)
                refused = Delivery(0, r.key, r.topic, r.payload)
                refused._raise(err)
                self.resent.append(refused)
                self._unstore(r.key)
                continue
            log.debug("outbox: resent key %d as message %d", r.key, message)
            self.resent.append(self._accepted(Delivery(message, r.key, r.topic, r.payload)))

    def _close_outbox(self) -> None:
        if self._outbox is not None:
            self._outbox.close()

    def _poke(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already poked, or closed

    # ---- the runner ----

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            while self._state == "running":
                self._step(sel)
        except Exception:  # noqa: BLE001 - never lose outcomes to a bug
            log.exception("tether device runner failed; stopping")
            try:
                self._stop_now()
            except Exception:  # noqa: BLE001
                log.exception("tether device: stop after failure")
        finally:
            sel.close()
            self._refuse_commands()
            self._fail_leftovers()
            self._end_watchers()
            self._close_outbox()
            with self._status_cond:
                self._status_cond.notify_all()

    def _step(self, sel: selectors.BaseSelector) -> None:
        self._pump()
        if self._state != "running":
            return
        links = self._transport.sockets()
        for key in list(sel.get_map().values()):
            sel.unregister(key.fileobj)
        sel.register(self._wake_r, selectors.EVENT_READ, None)
        for st, sock, wants_write in links:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if wants_write else 0)
            sel.register(sock, events, st)
        timeout = 1.0  # paho's keep-alive is checked at least this often
        connack = self._transport.check_timeouts()
        if connack is not None:
            timeout = min(timeout, connack)
        wake = self._conn.next_wake()
        if wake is not None:
            timeout = min(timeout, max(0.0, (wake - time.monotonic_ns()) / 1e9))
        if self._events or self._commands:
            timeout = 0.0
        ready = sel.select(timeout)
        seen: set[int] = set()
        for key, mask in ready:
            if key.data is None:
                try:
                    while self._wake_r.recv(4096):
                        pass
                except (BlockingIOError, OSError):
                    pass
                continue
            st = key.data
            seen.add(id(st))
            self._transport.service(st, bool(mask & selectors.EVENT_READ),
                                    bool(mask & selectors.EVENT_WRITE))
        for st, _sock, _w in links:
            if id(st) not in seen:
                self._transport.service(st, False, False)  # keep-alive
        self._transport.check_timeouts()
        wake = self._conn.next_wake()
        if wake is not None and wake <= time.monotonic_ns():
            self._conn.wake()

    def _pump(self) -> None:
        """Feed the transport's reports to the component, then run the commands."""
        while self._events or self._commands:
            while self._events:
                self._report(self._events.popleft())
            if self._commands:
                kind, args, done = self._commands.popleft()
                if done is None:  # stop from a callback
                    self._stop_now()
                    continue
                try:
                    done.set_result(self._execute(kind, args))
                except BaseException as err:  # noqa: BLE001 - handed to the caller
                    done.set_exception(err)
            if self._state != "running":
                return

    def _report(self, event: tuple[Any, ...]) -> None:
        kind = event[0]
        c = self._conn
        if kind == "opened":
            c.opened(event[1])
        elif kind == "failed":
            c.failed(event[1], event[2])
        elif kind == "closed":
            c.closed(event[1], event[2])
        elif kind == "acked":
            c.acked(event[1])
        elif kind == "refused":
            c.refused(event[1], event[2])
        elif kind == "provisioned":
            c.provisioned(event[1])
        elif kind == "message":
            self._callback("on_message", self._on_message, event[1], event[2])

    def _stop_now(self) -> None:
        if self._state != "running":
            return
        self._conn.stop()
        self._transport.shutdown()
        self._refuse_commands()

    def _refuse_commands(self) -> None:
        """Mark the device stopped and answer the commands that came too late."""
        with self._cmd_lock:
            if self._state == "running":
                self._state = "stopped"
            late = list(self._commands)
            self._commands.clear()
        for kind, _args, done in late:
            if done is not None:
                done.set_exception(DeviceClosed(f"{kind}: the device is stopped"))

    def _close_now(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(COMMAND_TIMEOUT_S)
        self._state = "closed"
        self._conn.close()
        self._close_outbox()
        for s in (self._wake_r, self._wake_w):
            s.close()
        with self._status_cond:
            self._status_cond.notify_all()

    def _fail_leftovers(self) -> None:
        # The component gives every accepted message an outcome at stop; this only
        # guards against a bug leaving a caller waiting forever.
        for message, delivery in list(self._deliveries.items()):
            if not delivery.done():
                log.error("message %d had no outcome at stop: failing it", message)
                # As the stop's own client-close: kept when there is an outbox.
                self._outcome(message, Outcome(MessageFailure.CLIENT_CLOSE))
        self._deliveries.clear()

    def _end_watchers(self) -> None:
        with self._watch_lock:
            watchers, self._watchers = self._watchers, []
        for loop, queue in watchers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:
                pass  # its loop is closed

    # ---- the component's events ----

    def _status(self, change: StatusChange) -> None:
        log.log(_level_of(change), "status %s %s", change.status, change.reason)
        with self._status_cond:
            self._status_now = change
            self._status_cond.notify_all()
        with self._watch_lock:
            watchers = list(self._watchers)
        for loop, queue in watchers:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, change)
            except RuntimeError:
                with self._watch_lock:
                    if (loop, queue) in self._watchers:
                        self._watchers.remove((loop, queue))
        self._callback("on_status", self._on_status, change)

    def _decision(self, event: DecisionEvent) -> None:
        rule = event.cause.rule if event.cause is not None else "-"
        level = logging.INFO if event.cause is not None else logging.DEBUG
        log.log(level, "decision %s (rule %s)", event.action, rule)
        self._callback("on_decision", self._on_decision, event)

    def _outcome(self, message: int, outcome: Outcome) -> None:
        delivery = self._deliveries.pop(message, None)
        if delivery is None:  # during the publish call itself, before its Delivery exists
            self._early[message] = outcome
            return
        log.debug("outcome %d %s", message, outcome)
        box = self._outbox
        if box is not None and delivery.key is not None:
            if outcome.failure is MessageFailure.CLIENT_CLOSE:
                # The stop: kept for the next run, which reports its outcome.
                box.keep(message)
                log.debug("outbox: message %d kept (key %d)", message, delivery.key)
                delivery._raise(MessageKept(box.path, delivery.key))
                return
            # Removed first, reported after: a restart never reports it again.
            try:
                box.finish(message)
            except OutboxError as err:
                log.error("%s; message %d stays in the outbox and is sent again after a "
                          "restart", err, message)
        delivery._resolve(outcome)

    @staticmethod
    def _callback(name: str, fn: Callable[..., None] | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a callback's bug must not stop the device
            log.exception("%s callback raised; ignored", name)


def _replace(options: MqttOptions, **changes: Any) -> MqttOptions:
    import dataclasses
    return dataclasses.replace(options, **changes)
