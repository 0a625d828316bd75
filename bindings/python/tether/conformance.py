"""The Python conformance runner: replays every vector through the component and
prints one canonical line per vector (tests/conformance/FORMAT.md).

    python3 -m tether.conformance TETHER.wasm VECTORS_DIR [--check]
        [--plugin-fuel N] [--plugin-deadline-ticks N]

Lines are ``<name>: <line>``, in file-name order. With ``--check`` each line is also
compared with the vector's ``expected``; mismatches go to stderr and the exit code is
1. A malformed vector exits 2. The runner decides nothing: it drives
:class:`tether.Connection` at the given virtual times and renders what it was told.
The ``--plugin-*`` options change the plugin sandbox's limits
(:class:`tether.PluginLimits`) for flows whose policy is a custom plugin.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import tether as t
from tether import identity as ident

NS_PER_MS = 1_000_000
_FAILURE_KEYS = ("network", "mqtt-connack", "mqtt-reason", "amqp", "http", "protocol",
                 "application")


class VectorError(Exception):
    """A vector that does not follow FORMAT.md."""


def failure(obj: Any) -> t.Failure:
    """A failure object of the vector format."""
    if not isinstance(obj, dict):
        raise VectorError(f"a failure is an object, not {obj!r}")
    kinds = [k for k in _FAILURE_KEYS if k in obj]
    unknown = set(obj) - set(_FAILURE_KEYS) - {"retry-after-ms", "server-reference"}
    if len(kinds) != 1 or unknown:
        raise VectorError(f"a failure has exactly one of {_FAILURE_KEYS}: {obj!r}")
    key, val = kinds[0], obj[kinds[0]]
    hints = {"retry_after_ms": obj.get("retry-after-ms"),
             "server_reference": obj.get("server-reference")}
    if key == "network":
        return t.Failure.network(val, **hints)
    if key == "mqtt-connack":
        return t.Failure.mqtt_connack(val, **hints)
    if key == "mqtt-reason":
        return t.Failure.mqtt_reason(val, **hints)
    if key == "amqp":
        return t.Failure.amqp(val, **hints)
    if key == "http":
        return t.Failure.http(val["status"], hub_code=val.get("hub-code"), **hints)
    if key == "application":
        return t.Failure.application(val, **hints)
    protocol = {"keep-alive-lost": t.Failure.keep_alive_lost,
                "session-expired": t.Failure.session_expired,
                "link-detached": t.Failure.link_detached}
    if val not in protocol:
        raise VectorError(f"unknown protocol failure {val!r}")
    return protocol[val](**hints)


def credential(obj: dict[str, Any]) -> t.Credential:
    return t.Credential(obj["secret"], obj.get("lifetime-ms"))


def config_error(err: t.ConfigError) -> str:
    return f"error {err.field}: {err.message}"


def run_classify(rt: t.Runtime, v: dict[str, Any]) -> str:
    return str(t.classify(failure(v["failure"]), runtime=rt))


def run_validate(rt: t.Runtime, v: dict[str, Any]) -> str:
    try:
        t.validate_config(v["config"], runtime=rt)
    except t.ConfigError as err:
        return config_error(err)
    return "ok"


def run_schedule(rt: t.Runtime, v: dict[str, Any]) -> str:
    try:
        schedule = t.RetrySchedule(v["policy"], v["seed"], runtime=rt)
    except t.ConfigError as err:
        return config_error(err)
    steps = v["steps"]
    elapsed = v.get("elapsed-ms") or [None] * len(steps)
    if len(elapsed) != len(steps):
        raise VectorError("elapsed-ms and steps differ in length")
    out = []
    with schedule:
        for step, ms in zip(steps, elapsed):
            decision = schedule.next(None if step is None else failure(step), ms)
            if isinstance(decision, t.GiveUp):
                out.append(f"give-up:{decision.reason}")
                break
            out.append(str(decision.delay_ms))
    return " ".join(out)


class Recorder:
    """The transport, provisioning, credentials and observers of a flow: each call
    becomes one rendered item."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def open(self, link: int, hub: str, device_id: str | None, cred: str | None) -> None:
        dev = "-" if device_id is None else device_id
        self.items.append(f"open {link} {hub} {dev} {'-' if cred is None else cred}")

    def send(self, link: int, message: int, topic: str, payload: bytes) -> None:
        self.items.append(f"send {link} {message} {topic} {len(payload)}")

    def close(self, link: int) -> None:
        self.items.append(f"close {link}")

    def subscribe(self, link: int, filters: list[str]) -> None:
        self.items.append(f"subscribe {link} {','.join(filters)}")

    def register(self) -> None:
        self.items.append("register")

    def poll(self, operation_id: str) -> None:
        self.items.append(f"poll {operation_id}")

    def renew(self) -> None:
        self.items.append("renew")

    def status(self, change: t.StatusChange) -> None:
        self.items.append(f"status {change.status} {change.reason}")

    def decision(self, event: t.DecisionEvent) -> None:
        self.items.append(f"decide {event}")

    def outcome(self, message: int, outcome: t.Outcome) -> None:
        self.items.append(f"outcome {message} {outcome}")

    def wake_at(self, deadline_ns: int) -> None:
        self.items.append(f"wake-at {deadline_ns // NS_PER_MS}")

    def plugin_fault(self, fault: t.PluginFault) -> None:
        # The Rust runner's line (tether_host::names::plugin_fault_text).
        used = (f"backoff {fault.used.delay_ms}ms" if isinstance(fault.used, t.RetryAfter)
                else f"give-up {fault.used.reason}")
        text = (f"plugin-fault plugin={fault.plugin} reason={fault.reason} used={used} "
                f"consecutive={fault.consecutive}")
        if fault.quarantined:
            text += " quarantined"
        if fault.detail:
            text += f" detail={fault.detail}"
        self.items.append(text)

    def take(self) -> list[str]:
        items, self.items = self.items, []
        return items


def provisioning_answer(ev: dict[str, Any]) -> t.ProvisioningAnswer:
    if "assigned" in ev:
        a = ev["assigned"]
        cred = a.get("credential")
        return t.Assignment(a["hub"], a["device-id"], None if cred is None else credential(cred))
    if "pending" in ev:
        p = ev["pending"]
        return t.Pending(p["operation-id"], p.get("retry-after-ms"))
    if "failed" in ev:
        return failure(ev["failed"])
    raise VectorError(f"a provisioned input has assigned, pending or failed: {ev!r}")


def run_flow(rt: t.Runtime, v: dict[str, Any]) -> str:
    clock = t.VirtualClock(0)
    rec = Recorder()
    try:
        conn = t.Connection(v["config"], transport=rec, provisioning=rec, credentials=rec,
                            on_status=rec.status, on_decision=rec.decision,
                            on_outcome=rec.outcome, on_wake_at=rec.wake_at,
                            on_plugin_fault=rec.plugin_fault, clock=clock,
                            entropy=lambda: 0, runtime=rt)
    except t.ConfigError as err:
        return config_error(err)
    out: list[str] = []
    try:
        for ev in v["events"]:
            clock.set_ms(ev["at"])
            out.append(f"t={ev['at']}")
            result = apply(conn, ev)
            if result is not None:
                out.append(result)
            out.extend(rec.take())
    finally:
        conn.close()
    return " ; ".join(out)


def apply(conn: t.Connection, ev: dict[str, Any]) -> str | None:
    """Make one input; the rendered result item, if it has one."""
    kind = ev["input"]
    err: t.InputError | None = None
    if kind == "start":
        err = conn.start()
    elif kind == "opened":
        err = conn.opened(ev["link"])
    elif kind == "failed":
        err = conn.failed(ev["link"], failure(ev["failure"]))
    elif kind == "closed":
        err = conn.closed(ev["link"], failure(ev["failure"]))
    elif kind == "acked":
        err = conn.acked(ev["message"])
    elif kind == "refused":
        err = conn.refused(ev["message"], failure(ev["failure"]))
    elif kind == "provisioned":
        err = conn.provisioned(provisioning_answer(ev))
    elif kind == "credential":
        if "ok" in ev:
            err = conn.credential(credential(ev["ok"]))
        elif "error" in ev:
            err = conn.credential(failure(ev["error"]))
        else:
            raise VectorError(f"a credential input has ok or error: {ev!r}")
    elif kind == "wake":
        conn.wake()
    elif kind == "publish":
        try:
            return f"published {conn.publish(ev['topic'], ev['payload'].encode())}"
        except t.PublishRefused as refused:
            return f"publish-error {refused.error}"
    elif kind == "subscribe":
        try:
            conn.subscribe(ev["topic"])
            return "subscribed"
        except t.SubscribeRefused as refused:
            return f"subscribe-error {refused.error}"
    elif kind == "stop":
        conn.stop()
    else:
        raise VectorError(f"unknown input {kind!r}")
    return None if err is None else f"input-error {err}"


def _dash(v: str | None) -> str:
    return "-" if v is None else v


def _identity_call(rt: t.Runtime, call: str, a: dict[str, Any]) -> str:
    if call == "parse-connection-string":
        i = ident.parse_connection_string(a["text"], runtime=rt)
        return (f"{i.host_name} {i.device_id} {_dash(i.module_id)} "
                f"{_dash(i.gateway_host_name)} {_dash(i.key_name)} {i.auth}")
    if call == "connection-string-token":
        return ident.connection_string_token(a["text"], a["expiry"], runtime=rt)
    if call == "sas-token":
        return ident.sas_token(a["resource-uri"], a["key"], a.get("key-name"), a["expiry"],
                               runtime=rt)
    if call == "hub-resource-uri":
        return ident.hub_resource_uri(a["host-name"], a["device-id"], a.get("module-id"),
                                      runtime=rt)
    if call == "dps-token":
        return ident.dps_token(a["id-scope"], a["registration-id"], a["key"], a["expiry"],
                               runtime=rt)
    if call == "derive-device-key":
        return ident.derive_device_key(a["group-key"], a["registration-id"], runtime=rt)
    if call == "hub-mqtt-settings":
        i, o = a["identity"], a.get("options", {})
        hub = ident.HubIdentity(host_name=i["host-name"], device_id=i["device-id"],
                                auth=i["auth"], module_id=i.get("module-id"),
                                gateway_host_name=i.get("gateway-host-name"),
                                key_name=i.get("key-name"))
        s = ident.hub_mqtt_settings(hub, api_version=o.get("api-version"),
                                    user_agent=o.get("user-agent"),
                                    model_id=o.get("model-id"),
                                    keep_alive_s=o.get("keep-alive-s"), runtime=rt)
        return (f"{s.host} {s.port} {s.client_id} {s.user_name} {s.telemetry_topic} "
                f"{_dash(s.cloud_to_device_filter)} {s.keep_alive_s} "
                f"{'true' if s.clean_session else 'false'}")
    if call == "telemetry-topic":
        return ident.telemetry_topic(a["device-id"], a.get("module-id"),
                                     [(k, v) for k, v in a["properties"]], runtime=rt)
    raise VectorError(f"unknown identity call {call!r}")


def run_identity(rt: t.Runtime, v: dict[str, Any]) -> str:
    try:
        return "ok " + _identity_call(rt, v["call"], v["args"])
    except t.ConfigError as err:
        return config_error(err)


RUNNERS = {"classify": run_classify, "validate": run_validate, "schedule": run_schedule,
           "flow": run_flow, "identity": run_identity}


def run_vector(rt: t.Runtime, v: dict[str, Any]) -> str:
    kind = v.get("kind")
    if kind not in RUNNERS:
        raise VectorError(f"unknown kind {kind!r}")
    return RUNNERS[kind](rt, v)


def vector_files(directory: Path) -> list[Path]:
    # file-name order, by bytes (the same order in every runner)
    return sorted(directory.glob("*.json"), key=lambda p: p.name.encode())


def main(argv: list[str]) -> int:
    usage = ("usage: python3 -m tether.conformance TETHER.wasm VECTORS_DIR [--check] "
             "[--plugin-fuel N] [--plugin-deadline-ticks N]\n")
    args: list[str] = []
    check = False
    limits = t.PluginLimits()
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--check":
            check = True
        elif arg in ("--plugin-fuel", "--plugin-deadline-ticks"):
            value = rest.pop(0) if rest else ""
            if not value.isdigit():
                sys.stderr.write(f"conformance: {arg} needs a whole number, got {value!r}\n")
                return 2
            field = "fuel_per_decision" if arg == "--plugin-fuel" else "deadline_ticks"
            limits = limits.with_(**{field: int(value)})
        elif arg.startswith("--"):
            sys.stderr.write(f"conformance: unknown option {arg}\n{usage}")
            return 2
        else:
            args.append(arg)
    if len(args) != 2:
        sys.stderr.write(usage)
        return 2
    rt = t.Runtime(args[0], plugin_limits=limits)
    files = vector_files(Path(args[1]))
    if not files:
        sys.stderr.write(f"conformance: no *.json vectors in {args[1]}\n")
        return 2
    mismatches = 0
    for path in files:
        try:
            v = json.loads(path.read_text(encoding="utf-8"))
            line = run_vector(rt, v)
        except (VectorError, KeyError, TypeError, ValueError) as err:
            sys.stdout.flush()
            sys.stderr.write(f"conformance: {path.name}: malformed vector: {err!r}\n")
            return 2
        sys.stdout.write(f"{v['name']}: {line}\n")
        if check and line != v.get("expected"):
            mismatches += 1
            sys.stderr.write(f"MISMATCH {v['name']}\n  expected: {v.get('expected')}\n"
                             f"  actual:   {line}\n")
    sys.stdout.flush()
    if check:
        sys.stderr.write(f"conformance (python): {len(files) - mismatches} passed, "
                         f"{mismatches} failed\n")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
