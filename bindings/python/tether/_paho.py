"""tether's transport on paho-mqtt 2.x: one client per link, paho's reconnecting off.

The transport only carries out ``open`` / ``send`` / ``close`` / ``subscribe`` and
reports back what happened, mapped to the contract's failures by
:mod:`tether.mqtt_errors`. It decides nothing. Results are handed to ``post``
(the :class:`tether.Device` runner queues them and feeds them to the connection
after the current call), so nothing re-enters the component from inside paho.

Threads: every method here runs on the runner's thread except the blocking part of
``open`` (name lookup, TCP connect, TLS handshake, sending CONNECT), which runs on a
short-lived thread per link so that a blackholed address never stalls the runner.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from . import identity as ident
from . import mqtt_errors as errs
from ._types import Failure

log = logging.getLogger("tether")

__all__ = ["MqttOptions", "PahoTransport", "TlsOptions"]

#: What the transport reports: ("opened", link), ("failed", link, failure),
#: ("closed", link, failure), ("acked", message), ("refused", message, failure),
#: ("message", topic, payload).
Post = Callable[[tuple[Any, ...]], None]


@dataclass(frozen=True)
class TlsOptions:
    """TLS for the MQTT link. ``ca_file``: the CA certificates to trust (PEM);
    ``None`` trusts the system's. ``cert_file`` / ``key_file``: a client certificate
    (X.509 devices)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file is not None:
            # The key's bytes never reach a message: only the field's name.
            try:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            except (OSError, ssl.SSLError) as err:
                raise ValueError(f"tls.cert_file / tls.key_file: cannot be used "
                                 f"({type(err).__name__})") from None
        return ctx


@dataclass(frozen=True)
class MqttOptions:
    """How links are made. ``profile``: ``"mqtt"`` (any broker) or
    ``"azure-iot-hub"`` (client id and user name from the component's
    ``identity.hub-mqtt-settings`` for the hub of each link, MQTT 3.1.1 over TLS on
    8883, clean session off)."""

    version: int = 5  # 5 or 311
    tls: TlsOptions | None = None
    port: int | None = None  # when the hub has none: 8883 with TLS, else 1883
    client_id: str | None = None
    username: str | None = None
    keep_alive_s: int = 30
    #: TCP connect + TLS handshake + CONNACK: a link not open by then has failed
    #: with ``net:timeout``.
    connect_timeout_s: float = 10.0
    clean_session: bool = True
    profile: str = "mqtt"
    hub_identity: ident.HubIdentity | None = None
    model_id: str | None = None

    def __post_init__(self) -> None:
        if self.version not in (5, 311):
            raise ValueError(f"mqtt.version: {self.version!r} is not 5 or 311")
        if self.profile not in ("mqtt", "azure-iot-hub"):
            raise ValueError(f"mqtt.profile: {self.profile!r} is not mqtt or azure-iot-hub")
        if not isinstance(self.keep_alive_s, int) or not 1 <= self.keep_alive_s <= 65535:
            raise ValueError("mqtt.keep_alive_s: must be an int from 1 to 65535")
        if not self.connect_timeout_s > 0:
            raise ValueError("mqtt.connect_timeout_s: must be above 0")


class _Client(mqtt.Client):
    """paho's client, keeping what paho reads but does not pass on: the socket
    error that ended a read or write, and the raw CONNACK code."""

    socket_error: BaseException | None = None
    connack_rc: int | None = None

    def _sock_recv(self, bufsize: int) -> bytes:
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending() == 0:
            # The ssl module reports a TCP reset as a (ragged) end of stream, so
            # look at the TCP socket underneath first, without taking anything.
            try:
                socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass
            except OSError as err:
                self.socket_error = err
                raise
        try:
            return super()._sock_recv(bufsize)
        except BlockingIOError:
            raise
        except OSError as err:
            self.socket_error = err
            raise

    def _sock_send(self, buf: bytes | bytearray) -> int:
        try:
            return super()._sock_send(buf)
        except BlockingIOError:
            raise
        except OSError as err:
            self.socket_error = err
            raise

    def _handle_connack(self) -> MQTTErrorCode:
        packet = self._in_packet.get("packet", b"")
        if len(packet) >= 2:
            self.connack_rc = packet[1]
        return super()._handle_connack()


@dataclass
class _Link:
    link: int
    client: _Client
    started: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    ready: bool = False  # the socket is up and CONNECT went out
    open: bool = False  # CONNACK accepted
    done: bool = False  # reported, or closed by tether: nothing more is reported
    mids: dict[int, int] = field(default_factory=dict)  # paho mid -> message id


class PahoTransport:
    """The component's ``transport`` on paho-mqtt."""

    def __init__(self, options: MqttOptions, post: Post, wake: Callable[[], None]) -> None:
        self.options = options
        self._post = post
        self._wake = wake
        self._links: dict[int, _Link] = {}
        self._tls = options.tls.context() if options.tls is not None else None

    # ---- what the component asks for ----

    def open(self, link: int, hub: str, device_id: str | None, credential: str | None) -> None:
        o = self.options
        default_port = o.port if o.port is not None else (8883 if self._tls else 1883)
        address = errs.split_address(hub, default_port)
        if address is None:
            log.debug("link %d: hub address %r does not parse", link, hub)
            self._post(("failed", link, Failure.application("bad-endpoint")))
            return
        host, port = address
        device = device_id or "tether-device"
        session = self._session(host, device, credential)
        if session is None:
            self._post(("failed", link, Failure.application("bad-endpoint")))
            return
        client_id, user, password, keep_alive, clean = session
        mqtt5 = o.version == 5
        client = _Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=None if mqtt5 else clean,
                         protocol=mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311,
                         reconnect_on_failure=False)
        client.suppress_exceptions = True
        client.max_inflight_messages_set(0)  # the component keeps the window
        client.connect_timeout = o.connect_timeout_s
        if user is not None:
            client.username_pw_set(user, password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        st = _Link(link, client, time.monotonic())
        client.on_connect = lambda _c, _u, _f, rc, props: self._on_connect(st, rc, props)
        client.on_disconnect = lambda _c, _u, flags, rc, props: self._on_disconnect(
            st, bool(flags.is_disconnect_packet_from_server), rc, props)
        client.on_publish = lambda _c, _u, mid, rc, _p: self._on_publish(st, mid, rc)
        client.on_message = lambda _c, _u, msg: self._post(("message", msg.topic,
                                                            bytes(msg.payload)))
        self._links[link] = st
        log.debug("link %d: connecting to %s:%d as %s (MQTT %s%s)", link, host, port,
                  client_id, "5" if mqtt5 else "3.1.1", ", TLS" if self._tls else "")
        properties = None
        if mqtt5:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = 0 if clean else 0xFFFFFFFF
        threading.Thread(target=self._connect, args=(st, host, port, keep_alive, clean,
                                                     properties),
                         name=f"tether-connect-{link}", daemon=True).start()

    def send(self, link: int, message: int, topic: str, payload: bytes) -> None:
        st = self._links.get(link)
        if st is None or st.done:
            return
        info = st.client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            # A publish that paho cannot queue means the link is gone.
            self._end(st, Failure.network("closed"), f"publish refused by paho ({info.rc})")
            return
        st.mids[info.mid] = message

    def subscribe(self, link: int, filters: list[str]) -> None:
        st = self._links.get(link)
        if st is None or st.done:
            return
        for topic_filter in filters:
            rc, _mid = st.client.subscribe(topic_filter, qos=1)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self._end(st, Failure.network("closed"), f"subscribe refused by paho ({rc})")
                return

    def close(self, link: int) -> None:
        st = self._links.pop(link, None)
        if st is None:
            return
        with st.lock:
            st.done = True
            ready = st.ready
        if ready:
            try:
                st.client.disconnect()
                st.client.loop_write()
            except (OSError, ValueError):
                pass
            st.client._sock_close()
        log.debug("link %d: closed", link)

    # ---- the runner's view ----

    def sockets(self) -> list[tuple[_Link, Any, bool]]:
        """The links with a socket: (link, socket, wants to write)."""
        out = []
        for st in self._links.values():
            if st.ready and not st.done:
                sock = st.client.socket()
                if sock is not None:
                    out.append((st, sock, st.client.want_write()))
        return out

    def service(self, st: _Link, readable: bool, writable: bool) -> None:
        """Let paho read, write and keep its keep-alive for one link."""
        if st.done:
            return
        c = st.client
        if readable:
            c.loop_read()
        if writable and not st.done:
            c.loop_write()
        if not st.done:
            c.loop_misc()

    def check_timeouts(self) -> float | None:
        """Fail the links whose CONNACK is overdue; the seconds until the next such
        deadline, if any."""
        now = time.monotonic()
        nearest: float | None = None
        for st in list(self._links.values()):
            if st.open or st.done:
                continue
            due = st.started + self.options.connect_timeout_s
            if now >= due:
                self._end(st, Failure.network("timeout"), "no CONNACK in time")
            else:
                nearest = due - now if nearest is None else min(nearest, due - now)
        return nearest

    def shutdown(self) -> None:
        for link in list(self._links):
            self.close(link)

    # ---- the blocking part of open ----

    def _connect(self, st: _Link, host: str, port: int, keep_alive: int, clean: bool,
                 properties: Any) -> None:
        try:
            st.client.connect(host, port, keepalive=keep_alive, clean_start=clean
                              if self.options.version == 5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                              properties=properties)
        except Exception as err:  # noqa: BLE001 - every error is a failure to report
            failure = errs.connect_error_failure(err)
            with st.lock:
                if st.done:
                    return
                st.done = True
            log.debug("link %d: connect failed: %s -> %s", st.link, type(err).__name__, failure)
            self._post(("failed", st.link, failure))
            self._wake()
            return
        with st.lock:
            if st.done:
                st.client._sock_close()  # closed or timed out meanwhile
                return
            st.ready = True
        self._wake()

    # ---- what paho reports (runner thread) ----

    def _on_connect(self, st: _Link, rc: Any, props: Any) -> None:
        if st.done:
            return
        if rc.is_failure:
            failure = errs.connack_failure(self.options.version == 5, rc, props,
                                           st.client.connack_rc)
            self._end(st, failure, f"CONNACK {rc}")
            return
        st.open = True
        log.debug("link %d: open", st.link)
        self._post(("opened", st.link))

    def _on_disconnect(self, st: _Link, from_server: bool, rc: Any, props: Any) -> None:
        if st.done:
            return
        failure = errs.disconnect_failure(
            mqtt5=self.options.version == 5, connected=st.open, reason=rc,
            from_server=from_server, properties=props,
            socket_error=st.client.socket_error,
            raw_rc=None if st.open else st.client.connack_rc)
        self._end(st, failure, f"disconnect {rc}"
                  + (f" after {type(st.client.socket_error).__name__}"
                     if st.client.socket_error else ""))

    def _on_publish(self, st: _Link, mid: int, rc: Any) -> None:
        message = st.mids.pop(mid, None)
        if message is None:
            return
        # A PUBACK refusing the message (MQTT 5, 0x80 and up): the component's
        # refusal table decides whether it is sent again or ends failed.
        if getattr(rc, "is_failure", False):
            log.debug("link %d: PUBACK %s for message %d", st.link, rc, message)
            self._post(("refused", message, Failure.mqtt_reason(int(rc.value))))
            return
        self._post(("acked", message))

    def _end(self, st: _Link, failure: Failure, why: str) -> None:
        with st.lock:
            if st.done:
                return
            st.done = True
            ready = st.ready
        if ready:
            st.client._sock_close()
        log.debug("link %d: %s -> %s", st.link, why, failure)
        self._post(("closed" if st.open else "failed", st.link, failure))

    # ---- sessions ----

    def _session(self, host: str, device: str, credential: str | None
                 ) -> tuple[str, str | None, str | None, int, bool] | None:
        o = self.options
        if o.profile == "azure-iot-hub":
            base = o.hub_identity
            identity = ident.HubIdentity(
                host_name=host, device_id=device,
                auth=base.auth if base else "shared-access-key",
                module_id=base.module_id if base else None,
                gateway_host_name=base.gateway_host_name if base else None,
                key_name=base.key_name if base else None)
            try:
                s = ident.hub_mqtt_settings(identity, model_id=o.model_id,
                                            keep_alive_s=o.keep_alive_s)
            except ValueError as err:
                log.warning("link for %s: the component refuses this identity: %s",
                            device, err)
                return None
            password = None if identity.auth == "x509" else credential
            return s.client_id, s.user_name, password, s.keep_alive_s, s.clean_session
        client_id = o.client_id or device
        if credential is None:
            return client_id, o.username, None, o.keep_alive_s, o.clean_session
        return client_id, o.username or device, credential, o.keep_alive_s, o.clean_session
