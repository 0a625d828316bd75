"""What paho-mqtt and the socket layer report, in the contract's terms.

These functions only translate: every decision about a failure (retry, renew, stop)
is the component's. The mapping follows the Rust transport (host/device/src/mqtt.rs,
``v4_failure`` / ``v5_failure`` / ``io_failure``); the package README has it as a
table. They are pure, so the tests feed each error in directly.
"""

from __future__ import annotations

import errno
import socket
import ssl
from typing import Any

from ._types import Failure

__all__ = [
    "CONNACK_311_OF_REASON",
    "connack_failure",
    "connect_error_failure",
    "disconnect_failure",
    "io_failure",
    "server_reference_of",
    "split_address",
]

#: paho reports a 3.1.1 CONNACK return code as the MQTT 5 reason code of the same
#: meaning; this maps it back to the 3.1.1 number the classifier's table knows.
CONNACK_311_OF_REASON = {0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}

_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL}


def io_failure(err: BaseException) -> Failure:
    """A socket error (while connecting, in the TLS handshake, reading or writing)."""
    if isinstance(err, socket.gaierror):
        return Failure.network("dns")
    if isinstance(err, ssl.SSLError) or isinstance(err, ssl.CertificateError):
        # SSLError subclasses OSError: check it before the socket kinds. A clean EOF
        # in the handshake is the peer refusing TLS.
        return Failure.network("tls")
    if isinstance(err, ConnectionRefusedError):
        return Failure.network("refused")
    if isinstance(err, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return Failure.network("reset")
    if isinstance(err, (TimeoutError, socket.timeout, BlockingIOError)):
        return Failure.network("timeout")
    if isinstance(err, OSError) and err.errno in _UNREACHABLE:
        return Failure.network("unreachable")
    return Failure.network("closed")


def connect_error_failure(err: BaseException) -> Failure:
    """What ``Client.connect`` raised (name lookup, TCP connect, TLS handshake)."""
    if isinstance(err, (OSError, ssl.CertificateError)):
        return io_failure(err)
    if isinstance(err, ValueError):
        # paho refuses a host or port that cannot be used: no hub answers there.
        return Failure.application("bad-endpoint")
    return Failure.network("closed")


def server_reference_of(properties: Any) -> str | None:
    """An MQTT 5 Server Reference property (CONNACK or DISCONNECT), if present."""
    ref = getattr(properties, "ServerReference", None)
    return ref if isinstance(ref, str) and ref else None


def _code(reason: Any) -> int:
    value = getattr(reason, "value", reason)
    return int(value) if isinstance(value, int) else 0x80


def connack_failure(mqtt5: bool, reason: Any, properties: Any = None,
                    raw_rc: int | None = None) -> Failure:
    """A refused CONNACK: the 3.1.1 return code or the MQTT 5 reason code, with the
    server reference of an MQTT 5 CONNACK (0x9C use another server, 0x9D moved)."""
    if mqtt5:
        return Failure.mqtt_reason(_code(reason),
                                   server_reference=server_reference_of(properties))
    if raw_rc is not None and 1 <= raw_rc <= 255:
        return Failure.mqtt_connack(raw_rc)
    return Failure.mqtt_connack(CONNACK_311_OF_REASON.get(_code(reason), 3))


def disconnect_failure(*, mqtt5: bool, connected: bool, reason: Any,
                       from_server: bool, properties: Any = None,
                       socket_error: BaseException | None = None,
                       raw_rc: int | None = None) -> Failure:
    """paho's ``on_disconnect`` (or a refused CONNACK that paho turns into one).

    - a DISCONNECT from an MQTT 5 server: its reason code and server reference;
    - no PINGRESP within the keep-alive: ``keep-alive-lost``; before the CONNACK the
      same check means the CONNACK never came: ``net:timeout``;
    - a protocol error before the CONNACK with a CONNACK read (3.1.1 code 1 or 2,
      which paho ends with a protocol error when its own retrying is off): that
      CONNACK code; otherwise MQTT 5 0x82, or ``closed`` on 3.1.1;
    - the socket error that ended the read or write, mapped as by :func:`io_failure`;
    - anything else (end of stream): ``closed``.
    """
    name = str(getattr(reason, "getName", lambda: reason)())
    if from_server and mqtt5:
        return Failure.mqtt_reason(_code(reason),
                                   server_reference=server_reference_of(properties))
    if name == "Keep alive timeout":
        return Failure.keep_alive_lost() if connected else Failure.network("timeout")
    if name == "Protocol error":
        if not connected and raw_rc:
            return Failure.mqtt_connack(raw_rc) if not mqtt5 else Failure.mqtt_reason(raw_rc)
        return Failure.mqtt_reason(0x82) if mqtt5 else Failure.network("closed")
    if socket_error is not None:
        return io_failure(socket_error)
    return Failure.network("closed")


def split_address(address: str, default_port: int) -> tuple[str, int] | None:
    """``host:port``, ``[v6]:port`` or a bare host (DPS assigns bare host names:
    ``default_port``, 8883 with TLS). ``None`` when no hub can answer there."""
    address = address.strip()
    if not address or "/" in address or any(ch.isspace() for ch in address):
        return None
    if address.startswith("["):
        host, sep, after = address[1:].partition("]")
        if not sep or not host:
            return None
        if not after:
            return host, default_port
        if not after.startswith(":"):
            return None
        port_text = after[1:]
    elif address.count(":") > 1:
        return address, default_port  # a bare IPv6 address
    else:
        host, sep, port_text = address.rpartition(":")
        if not sep:
            return address, default_port
        if not host:
            return None
    if not port_text.isdigit():
        return None
    port = int(port_text)
    if not 0 < port <= 0xFFFF:
        return None
    return (host, port)
