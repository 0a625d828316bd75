"""The contract's vocabulary as Python values: enums, failures, decisions, outcomes.

Every enum is a :class:`enum.StrEnum` whose values are the WIT's kebab-case names, so
``str(Status.DISCONNECTED_RETRYING) == "disconnected-retrying"`` and a value compares
equal to its name. The ``__str__`` of the composite values is the one-line rendering
the conformance vectors use (tests/conformance/FORMAT.md), which device apps can print
as is.
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from typing import Union

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # Python 3.10: the same behaviour, spelled out
    class StrEnum(str, enum.Enum):
        def __str__(self) -> str:
            return str(self.value)

__all__ = [
    "Action",
    "ApplicationError",
    "Assignment",
    "Backoff",
    "Classification",
    "Connect",
    "Credential",
    "Curve",
    "Decision",
    "DecisionEvent",
    "Failure",
    "GiveUp",
    "GiveUpReason",
    "InputError",
    "Level",
    "MessageFailure",
    "NetworkError",
    "Outcome",
    "Pending",
    "PollProvisioning",
    "Provision",
    "ProvisioningAnswer",
    "PublishError",
    "Reason",
    "RenewCredential",
    "RetryAfter",
    "Status",
    "StatusChange",
    "Verdict",
]


class Status(StrEnum):
    """The connection status reported to the application."""

    CONNECTED = "connected"
    DISCONNECTED_RETRYING = "disconnected-retrying"
    DISCONNECTED = "disconnected"
    DISABLED = "disabled"


class Reason(StrEnum):
    """Why the status is what it is."""

    CONNECTION_OK = "connection-ok"
    CREDENTIAL_RENEWAL = "credential-renewal"
    EXPIRED_CREDENTIAL = "expired-credential"
    BAD_CREDENTIAL = "bad-credential"
    DEVICE_DISABLED = "device-disabled"
    DEVICE_NOT_FOUND = "device-not-found"
    RETRY_EXPIRED = "retry-expired"
    NO_NETWORK = "no-network"
    COMMUNICATION_ERROR = "communication-error"
    NO_PING_RESPONSE = "no-ping-response"
    QUOTA_EXCEEDED = "quota-exceeded"
    THROTTLED = "throttled"
    SERVER_BUSY = "server-busy"
    SERVER_MOVED = "server-moved"
    PROVISIONING = "provisioning"
    PROTOCOL_ERROR = "protocol-error"
    BAD_ENDPOINT = "bad-endpoint"
    SESSION_TAKEN_OVER = "session-taken-over"
    CLIENT_CLOSE = "client-close"


class Level(StrEnum):
    """The level a failure belongs to."""

    NETWORK = "network"
    PROTOCOL = "protocol"
    APPLICATION = "application"


class Verdict(StrEnum):
    """What to do about a failure."""

    RETRY = "retry"
    RETRY_THROTTLED = "retry-throttled"
    RENEW_CREDENTIAL = "renew-credential"
    REPROVISION = "reprovision"
    FATAL = "fatal"


class NetworkError(StrEnum):
    """A failure below the protocol: the socket, the name lookup or TLS."""

    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    CLOSED = "closed"


class ApplicationError(StrEnum):
    """A failure the application or the service states in its own terms."""

    UNAUTHORIZED = "unauthorized"
    CREDENTIAL_EXPIRED = "credential-expired"
    FORBIDDEN = "forbidden"
    DEVICE_NOT_FOUND = "device-not-found"
    DEVICE_DISABLED = "device-disabled"
    QUOTA_EXCEEDED = "quota-exceeded"
    THROTTLED = "throttled"
    BAD_ENDPOINT = "bad-endpoint"


class Curve(StrEnum):
    """The curve a backoff delay came from."""

    NORMAL = "normal"
    THROTTLED = "throttled"
    SERVER_HINT = "server-hint"
    PLUGIN = "plugin"


class GiveUpReason(StrEnum):
    """Why a policy stopped."""

    NO_RETRY = "no-retry"
    MAX_ATTEMPTS = "max-attempts"
    RETRY_TIMEOUT = "retry-timeout"
    UNRECOVERABLE = "unrecoverable"
    PLUGIN = "plugin"


class MessageFailure(StrEnum):
    """Why an accepted message failed."""

    OPERATION_TIMEOUT = "operation-timeout"
    NO_RETRY = "no-retry"
    QUEUE_FULL = "queue-full"
    UNRECOVERABLE = "unrecoverable"
    RETRY_EXPIRED = "retry-expired"
    CLIENT_CLOSE = "client-close"
    NOT_AUTHORIZED = "not-authorized"
    TOPIC_INVALID = "topic-invalid"
    PAYLOAD_INVALID = "payload-invalid"
    QUOTA_EXCEEDED = "quota-exceeded"
    REFUSED = "refused"


class InputError(StrEnum):
    """Why an input was not taken (nothing changed). Returned, not raised: a late
    report about an old link is part of normal operation."""

    STALE_LINK = "stale-link"
    UNEXPECTED = "unexpected"
    UNKNOWN_MESSAGE = "unknown-message"
    STOPPED = "stopped"


class PublishError(StrEnum):
    """Why ``publish`` refused a message (raised as :class:`tether.PublishRefused`)."""

    QUEUE_FULL = "queue-full"
    PAYLOAD_TOO_LARGE = "payload-too-large"
    EMPTY_TOPIC = "empty-topic"
    STOPPED = "stopped"


class SubscribeError(StrEnum):
    """Why ``subscribe`` refused a filter (raised as :class:`tether.SubscribeRefused`)."""

    EMPTY_FILTER = "empty-filter"
    TOO_MANY = "too-many"
    STOPPED = "stopped"


_PROTOCOL_CODES = ("mqtt-connack", "mqtt-reason", "amqp", "http", "keep-alive-lost",
                   "session-expired", "link-detached")


@dataclass(frozen=True)
class Failure:
    """One failure as the host saw it, with any hints the server gave.

    Build one with a constructor named after its kind::

        Failure.network("refused")
        Failure.mqtt_connack(5)                 # MQTT 3.1.1 CONNACK return code
        Failure.mqtt_reason(0x87)               # MQTT 5 reason code
        Failure.amqp("amqp:unauthorized-access")
        Failure.http(403, hub_code=403002, retry_after_ms=5000)
        Failure.keep_alive_lost()
        Failure.application("quota-exceeded")

    ``str(failure)`` is the word the ``tether`` command reads (``net:refused``,
    ``mqtt5:0x87``, ``http:403:403002``); :meth:`parse` reads it back.
    """

    level: Level
    #: network: the NetworkError; protocol: ``mqtt-connack``, ``mqtt-reason``,
    #: ``amqp``, ``http``, ``keep-alive-lost``, ``session-expired``,
    #: ``link-detached``; application: the ApplicationError.
    code: str
    #: The CONNACK or reason code, the AMQP condition or the HTTP status.
    value: int | str | None = None
    #: The IoT-hub six-digit error code of an HTTP failure.
    hub_code: int | None = None
    #: The server's retry-after, in milliseconds.
    retry_after_ms: int | None = None
    #: Another server to use (MQTT 5 server reference).
    server_reference: str | None = None

    # ---- constructors ----

    @classmethod
    def network(cls, error: NetworkError | str, *, retry_after_ms: int | None = None,
                server_reference: str | None = None) -> Failure:
        """A socket, name-lookup or TLS failure: ``dns``, ``refused``, ``reset``,
        ``unreachable``, ``timeout``, ``tls`` or ``closed``."""
        return cls(Level.NETWORK, str(NetworkError(error)), None, None, retry_after_ms,
                   server_reference)

    @classmethod
    def mqtt_connack(cls, code: int, *, retry_after_ms: int | None = None,
                     server_reference: str | None = None) -> Failure:
        """An MQTT 3.1.1 CONNACK return code (1 to 5)."""
        return cls(Level.PROTOCOL, "mqtt-connack", _u8(code), None, retry_after_ms,
                   server_reference)

    @classmethod
    def mqtt_reason(cls, code: int, *, retry_after_ms: int | None = None,
                    server_reference: str | None = None) -> Failure:
        """An MQTT 5 reason code from a CONNACK or a DISCONNECT (0x80 to 0xA2)."""
        return cls(Level.PROTOCOL, "mqtt-reason", _u8(code), None, retry_after_ms,
                   server_reference)

    @classmethod
    def amqp(cls, condition: str, *, retry_after_ms: int | None = None,
             server_reference: str | None = None) -> Failure:
        """An AMQP error condition, for example ``amqp:unauthorized-access``."""
        return cls(Level.PROTOCOL, "amqp", str(condition), None, retry_after_ms,
                   server_reference)

    @classmethod
    def http(cls, status: int, *, hub_code: int | None = None,
             retry_after_ms: int | None = None, server_reference: str | None = None) -> Failure:
        """An HTTP status, with the IoT-hub six-digit error code when there is one."""
        if not 0 <= int(status) <= 0xFFFF:
            raise ValueError(f"HTTP status {status} is not a u16")
        if hub_code is not None and not 0 <= int(hub_code) <= 0xFFFF_FFFF:
            raise ValueError(f"hub code {hub_code} is not a u32")
        return cls(Level.PROTOCOL, "http", int(status), hub_code, retry_after_ms,
                   server_reference)

    @classmethod
    def keep_alive_lost(cls, *, retry_after_ms: int | None = None,
                        server_reference: str | None = None) -> Failure:
        """No answer to a keep-alive ping in time: the link is half open."""
        return cls(Level.PROTOCOL, "keep-alive-lost", None, None, retry_after_ms,
                   server_reference)

    @classmethod
    def session_expired(cls, *, retry_after_ms: int | None = None,
                        server_reference: str | None = None) -> Failure:
        """The server ended the session."""
        return cls(Level.PROTOCOL, "session-expired", None, None, retry_after_ms,
                   server_reference)

    @classmethod
    def link_detached(cls, *, retry_after_ms: int | None = None,
                      server_reference: str | None = None) -> Failure:
        """The server detached a link of the connection."""
        return cls(Level.PROTOCOL, "link-detached", None, None, retry_after_ms,
                   server_reference)

    @classmethod
    def application(cls, error: ApplicationError | str, *, retry_after_ms: int | None = None,
                    server_reference: str | None = None) -> Failure:
        """A failure in the service's own terms: ``unauthorized``, ``quota-exceeded``..."""
        return cls(Level.APPLICATION, str(ApplicationError(error)), None, None,
                   retry_after_ms, server_reference)

    @classmethod
    def parse(cls, text: str) -> Failure:
        """Read the word syntax of the ``tether`` command (``net:refused``,
        ``mqtt311:5``, ``mqtt5:0x87``, ``amqp:...``, ``http:403:403002``, ``hub:401003``,
        ``keep-alive-lost``, ``app:throttled``)."""
        text = text.strip()
        simple = {"keep-alive-lost": cls.keep_alive_lost, "session-expired": cls.session_expired,
                  "link-detached": cls.link_detached}
        if text in simple:
            return simple[text]()
        family, sep, rest = text.partition(":")
        if not sep or not rest:
            raise ValueError(f"unknown failure {text!r}")
        if family == "net":
            return cls.network(rest)
        if family == "app":
            return cls.application(rest)
        if family == "mqtt311":
            return cls.mqtt_connack(int(rest, 0))
        if family == "mqtt5":
            return cls.mqtt_reason(int(rest, 0))
        if family == "amqp":
            return cls.amqp(rest)
        if family == "http":
            status, _, hub = rest.partition(":")
            return cls.http(int(status), hub_code=int(hub) if hub else None)
        if family == "hub":
            code = int(rest)
            return cls.http(code // 1000, hub_code=code)
        raise ValueError(f"unknown failure family {family!r} in {text!r}")

    def with_hints(self, *, retry_after_ms: int | None = None,
                   server_reference: str | None = None) -> Failure:
        """A copy with these server hints."""
        return Failure(self.level, self.code, self.value, self.hub_code, retry_after_ms,
                       server_reference)

    def __str__(self) -> str:
        if self.level is Level.NETWORK:
            return f"net:{self.code}"
        if self.level is Level.APPLICATION:
            return f"app:{self.code}"
        if self.code == "mqtt-connack":
            return f"mqtt311:{self.value}"
        if self.code == "mqtt-reason":
            return f"mqtt5:0x{self.value:02X}"
        if self.code == "amqp":
            return f"amqp:{self.value}"
        if self.code == "http":
            return f"http:{self.value}" + ("" if self.hub_code is None else f":{self.hub_code}")
        return self.code

    def __post_init__(self) -> None:
        if self.level is Level.PROTOCOL and self.code not in _PROTOCOL_CODES:
            raise ValueError(f"unknown protocol failure {self.code!r}")


def _u8(code: int) -> int:
    code = int(code)
    if not 0 <= code <= 0xFF:
        raise ValueError(f"code {code} is not a u8")
    return code


@dataclass(frozen=True)
class Classification:
    """The classifier's answer for one failure."""

    level: Level
    verdict: Verdict
    reason: Reason
    #: The table row that matched, for example ``mqtt5/0x87``.
    rule: str

    def __str__(self) -> str:
        return f"{self.level} {self.verdict} {self.reason} {self.rule}"


@dataclass(frozen=True)
class StatusChange:
    """A status change, at a reading of the connection's clock (nanoseconds)."""

    at_ns: int
    status: Status
    reason: Reason

    def __str__(self) -> str:
        return f"{self.status} {self.reason}"


# ---- actions (what the connection decided to do) ----


@dataclass(frozen=True)
class Connect:
    """Open link ``link`` to ``hub``; ``attempt`` 0 is the first connect."""

    link: int
    hub: str
    attempt: int

    def __str__(self) -> str:
        return f"connect {self.link} {self.hub} {self.attempt}"


@dataclass(frozen=True)
class Backoff:
    """Wait ``delay_ms``, then reconnect (or register, when ``then_provision``)."""

    delay_ms: int
    attempt: int
    curve: Curve
    then_provision: bool

    def __str__(self) -> str:
        then = "provision" if self.then_provision else "reconnect"
        return f"backoff {self.delay_ms} {self.attempt} {self.curve} {then}"


@dataclass(frozen=True)
class RenewCredential:
    """Ask for a new credential; ``routine`` is true ahead of expiry."""

    routine: bool

    def __str__(self) -> str:
        return "renew-credential " + ("routine" if self.routine else "after-failure")


@dataclass(frozen=True)
class Provision:
    """Register with the provisioning service."""

    def __str__(self) -> str:
        return "provision"


@dataclass(frozen=True)
class PollProvisioning:
    """Poll a pending registration after ``delay_ms``."""

    delay_ms: int

    def __str__(self) -> str:
        return f"poll-provisioning {self.delay_ms}"


@dataclass(frozen=True)
class GiveUp:
    """Stop trying (also a :data:`Decision` of a :class:`tether.RetrySchedule`)."""

    reason: GiveUpReason

    def __str__(self) -> str:
        return f"give-up {self.reason}"


Action = Union[Connect, Backoff, RenewCredential, Provision, PollProvisioning, GiveUp]


@dataclass(frozen=True)
class DecisionEvent:
    """A step the connection decided to take, with the classified failure behind it."""

    at_ns: int
    cause: Classification | None
    action: Action

    def __str__(self) -> str:
        return f"{self.action} cause={self.cause.rule if self.cause else '-'}"


@dataclass(frozen=True)
class RetryAfter:
    """A retry schedule's answer: reconnect after ``delay_ms``."""

    delay_ms: int

    def __str__(self) -> str:
        return str(self.delay_ms)


Decision = Union[RetryAfter, GiveUp]


@dataclass(frozen=True)
class Outcome:
    """The one outcome of an accepted message: delivered, or failed with a reason."""

    failure: MessageFailure | None = None

    @property
    def delivered(self) -> bool:
        return self.failure is None

    def __str__(self) -> str:
        return "delivered" if self.failure is None else f"failed {self.failure}"


# ---- answers the host gives back ----


@dataclass(frozen=True)
class Credential:
    """A credential: an opaque secret and how long it lasts from now, when known."""

    secret: str
    lifetime_ms: int | None = None


@dataclass(frozen=True)
class Assignment:
    """What the provisioning service assigned."""

    hub: str
    device_id: str
    credential: Credential | None = None


@dataclass(frozen=True)
class Pending:
    """A registration still in progress (HTTP 202): poll ``operation_id`` later."""

    operation_id: str
    retry_after_ms: int | None = None


#: The answer to ``provisioning.register`` / ``poll``: assigned, pending, or failed.
ProvisioningAnswer = Union[Assignment, Pending, Failure]


class PluginFaultReason(StrEnum):
    """Why a custom policy plugin's answer was not used."""

    TRAP = "trap"
    OUT_OF_FUEL = "out-of-fuel"
    DEADLINE = "deadline"
    MEMORY_LIMIT = "memory-limit"
    UNAVAILABLE = "unavailable"
    INVALID_ANSWER = "invalid-answer"


@dataclass(frozen=True)
class PluginFault:
    """A custom policy plugin failed one decision and the fallback decided: it
    trapped, ran out of fuel, memory or time, or answered out of bounds."""

    at_ns: int
    plugin: str
    reason: PluginFaultReason
    detail: str
    used: Decision
    consecutive: int
    quarantined: bool
