#!/usr/bin/env python3
"""Portability smoke test: load the tether component from Python and run one scripted
reconnection flow against a virtual clock.

Usage: python3 smoke.py path/to/tether_component.wasm

Uses the PyPI `wasmtime` package's native component API (pinned in requirements.txt).
Prints a canonical transcript to stdout, one line per input and per import call,
ending with `python smoke: ok`. tests/smoke/node/smoke.mjs runs the same script and
must print the same lines byte for byte. Timings go to stderr, never to stdout.
"""

import sys
import time

try:
    import wasmtime
    from wasmtime.component import Component, Linker, Record, ResourceAny, Variant
except ImportError as err:  # pragma: no cover - reported to the caller
    sys.stderr.write(f"python smoke: the wasmtime package is missing ({err}); run scripts/setup\n")
    sys.exit(3)

NS_PER_MS = 1_000_000
# The virtual clock starts well away from zero, so "relative to start" is really tested.
T0_NS = 1_000_000 * NS_PER_MS
HUB = "hub-a:8883"
CONFIG = (
    '{"hub":"hub-a:8883","seed":7,'
    '"policy":{"kind":"exponential","initial-ms":1000,"max-ms":8000,"jitter":"none"}}'
)
BAD_CONFIG = '{"hub":"h","policy":{"kind":"bogus"}}'
TOPIC = "devices/smoke/messages/events"
PAYLOAD = b"hello"
# A fixed answer to wasi:random, in case the component asks (the config has a seed).
RANDOM_U64 = 0x5EED_5EED_5EED_5EED

PKG = "tether:reconnect"
VER = "@0.1.0"


class SmokeFailure(Exception):
    """A step of the script did not go as the contract says."""


def check(cond, message):
    if not cond:
        raise SmokeFailure(message)


def field(rec, name):
    """A record field by its WIT name (wasmtime-py keeps the dashes)."""
    return getattr(rec, name)


def rel_ms(ns):
    """An instant as milliseconds since the start of the virtual clock."""
    return (ns - T0_NS) // NS_PER_MS if ns >= T0_NS else -((T0_NS - ns) // NS_PER_MS)


def opt(value):
    return "-" if value is None else str(value)


def fmt_classification(c):
    return f"{field(c, 'level')} {field(c, 'verdict')} {field(c, 'reason')} {field(c, 'rule')}"


def fmt_action(action):
    tag, val = action.tag, action.payload
    if tag == "connect":
        return f"connect {field(val, 'link')} {field(val, 'hub')} attempt {field(val, 'attempt')}"
    if tag == "backoff":
        then = "provision" if field(val, "then-provision") else "reconnect"
        return (
            f"backoff {field(val, 'delay-ms')} attempt {field(val, 'attempt')}"
            f" {field(val, 'curve')} then {then}"
        )
    if tag == "renew-credential":
        return "renew-credential " + ("routine" if val else "forced")
    if tag == "provision":
        return "provision"
    if tag == "poll-provisioning":
        return f"poll-provisioning {val}"
    if tag == "give-up":
        return f"give-up {val}"
    raise SmokeFailure(f"unknown action tag {tag!r}")


def fmt_outcome(outcome):
    # outcome is variant { delivered, failed(message-failure) }: wasmtime-py lifts
    # it untagged, `delivered` as None and `failed(x)` as the enum name.
    if isinstance(outcome, Variant):
        return outcome.tag if outcome.payload is None else f"{outcome.tag} {outcome.payload}"
    return "delivered" if outcome is None else f"failed {outcome}"


class Host:
    """The imports: a virtual clock and recorders for every call the component makes."""

    def __init__(self):
        self.now_ns = T0_NS
        self.lines = []  # the canonical transcript
        self.calls = []  # (kind, data) since the last take()
        self.recording = True

    def say(self, line):
        if self.recording:
            self.lines.append(line)

    def record(self, kind, line, **data):
        if self.recording:
            self.calls.append((kind, data))
            self.lines.append(line)

    def take(self):
        calls, self.calls = self.calls, []
        return calls

    def advance_to(self, ns):
        self.now_ns = ns
        self.say(f"clock {rel_ms(ns)}")

    # ---- import implementations (every one gets the store first) ----

    def now(self, _store):
        return self.now_ns

    def get_random_u64(self, _store):
        self.record("random", "random")
        return RANDOM_U64

    def open(self, _store, link, hub, device_id, credential):
        self.record(
            "open", f"open {link} {hub} {opt(device_id)} {opt(credential)}",
            link=link, hub=hub,
        )

    def send(self, _store, link, message, topic, payload):
        payload = bytes(payload)
        self.record(
            "send", f"send {link} {message} {topic} {payload.hex()}",
            link=link, message=message, topic=topic, payload=payload,
        )

    def close(self, _store, link):
        self.record("close", f"close {link}", link=link)

    def subscribe(self, _store, link, filters):
        self.record("subscribe", f"subscribe {link} {','.join(filters)}", link=link)

    def wall_now(self, _store):
        # Read only when a token is minted from a key; this flow has none.
        self.record("wall-clock", "wall-clock")
        t = Record()
        t.seconds = 1_700_000_000
        t.nanoseconds = 0
        return t

    def register(self, _store):
        self.record("register", "register")

    def poll(self, _store, operation_id):
        self.record("poll", f"poll {operation_id}", operation_id=operation_id)

    def renew(self, _store):
        self.record("renew", "renew")

    def status_changed(self, _store, change):
        status, reason = field(change, "status"), field(change, "reason")
        self.record(
            "status", f"status {status} {reason} at {rel_ms(field(change, 'at'))}",
            status=status, reason=reason, at=field(change, "at"),
        )

    def decided(self, _store, event):
        cause = field(event, "cause")
        action = field(event, "action")
        line = f"decide {fmt_action(action)} at {rel_ms(field(event, 'at'))}"
        if cause is not None:
            line += f" cause {fmt_classification(cause)}"
        self.record("decide", line, action=action.tag, payload=action.payload, cause=cause)

    def message_outcome(self, _store, message, outcome):
        text = fmt_outcome(outcome)
        self.record("outcome", f"outcome {message} {text}", message=message, outcome=text)

    def wake_at(self, _store, deadline):
        self.record("wake-at", f"wake-at {rel_ms(deadline)}", deadline=deadline)

    def plugin_fault(self, _store, fault):
        self.record("plugin-fault", f"plugin-fault {field(fault, 'reason')}")

    def decide_plugin(self, _store, _plugin, _input):
        # This smoke host runs no plugins: the engine falls back. `plugin-answer`
        # lowers untagged here (an int, nothing, a record): `failed` is the record.
        failed = Record()
        setattr(failed, "reason", "unavailable")
        setattr(failed, "detail", "the smoke host runs no plugins")
        return failed


def import_names(engine, component):
    """The component's import names by interface, without version: {base: full name}.

    The WASI versions follow the contract (wit/worlds.wit), so they are read from
    the component rather than written here."""
    names = {}
    for name in component.type.imports(engine):
        names[name.split("@", 1)[0]] = name
    return names


def define_imports(linker, host, names):
    funcs = {
        "wasi:clocks/monotonic-clock": {"now": host.now},
        "wasi:clocks/wall-clock": {"now": host.wall_now},
        "wasi:random/random": {"get-random-u64": host.get_random_u64},
        f"{PKG}/types": {},
        f"{PKG}/transport": {"open": host.open, "send": host.send, "close": host.close,
                             "subscribe": host.subscribe},
        f"{PKG}/provisioning": {"register": host.register, "poll": host.poll},
        f"{PKG}/credentials": {"renew": host.renew},
        f"{PKG}/events": {
            "status-changed": host.status_changed,
            "decided": host.decided,
            "message-outcome": host.message_outcome,
            "wake-at": host.wake_at,
            "plugin-fault": host.plugin_fault,
        },
        f"{PKG}/policy-plugins": {"decide": host.decide_plugin},
    }
    unknown = sorted(set(names) - set(funcs))
    check(not unknown, f"the component imports interfaces this host does not supply: {unknown}")
    root = linker.root()
    with root:
        for base, full in names.items():
            with root.add_instance(full) as inst:
                for fname, fn in funcs[base].items():
                    inst.add_func(fname, fn)


class Exports:
    """The component's exports, looked up once."""

    def __init__(self, store, instance):
        self.store = store

        def lookup(iface, name):
            idx = instance.get_export_index(store, f"{PKG}/{iface}{VER}")
            check(idx is not None, f"the component does not export {PKG}/{iface}{VER}")
            fidx = instance.get_export_index(store, name, idx)
            check(fidx is not None, f"{iface} has no export {name}")
            func = instance.get_func(store, fidx)
            check(func is not None, f"{iface}.{name} is not a function")
            return func

        self.classify = lookup("decisions", "classify")
        self.table_version = lookup("decisions", "table-version")
        self.create = lookup("connection", "[static]connection.create")
        self.methods = {
            m: lookup("connection", f"[method]connection.{m}")
            for m in (
                "start", "on-opened", "on-failed", "on-closed", "on-acked", "on-refused",
                "on-wake",
                "publish", "stop", "current-status", "next-wake", "pending-messages",
            )
        }

    def call(self, func, *args):
        return func(self.store, *args)


def instantiate(engine, component, host):
    linker = Linker(engine)
    define_imports(linker, host, import_names(engine, component))
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, component)
    return store, instance


def failure(kind_tag, kind_payload):
    """A `failure` record: kind plus no server hints."""
    f = Record()
    setattr(f, "kind", Variant(kind_tag, kind_payload))
    setattr(f, "retry-after-ms", None)
    setattr(f, "server-reference", None)
    return f


def expect_ok(result, what):
    # result<_, input-error> lifts untagged: None for ok, the enum name for err.
    if isinstance(result, Variant):
        check(result.tag == "ok", f"{what}: expected ok, got err {result.payload}")
        return result.payload
    check(result is None, f"{what}: expected ok, got err {result!r}")
    return None


def kinds(calls, kind):
    return [data for k, data in calls if k == kind]


def one(calls, kind, step):
    found = kinds(calls, kind)
    check(len(found) == 1, f"{step}: expected exactly one {kind}, got {len(found)}: {calls}")
    return found[0]


def run_script(ex, host):
    conn_methods = ex.methods

    def method(name, *args):
        return ex.call(conn_methods[name], conn, *args)

    # create
    host.say("> create")
    created = ex.call(ex.create, CONFIG)
    check(isinstance(created, ResourceAny), f"create: expected a connection, got {created!r}")
    conn = created
    host.take()

    # start -> open link 1
    host.say("> start")
    expect_ok(method("start"), "start")
    calls = host.take()
    opened = one(calls, "open", "start")
    check(opened["link"] == 1, f"start: expected transport.open for link 1, got link {opened['link']}")
    check(opened["hub"] == HUB, f"start: expected transport.open to {HUB}, got {opened['hub']}")

    # on-failed(1, network refused) -> disconnected-retrying, backoff 1000, wake-at +1000 ms
    host.say("> on-failed 1 network refused")
    failed_at = host.now_ns
    expect_ok(method("on-failed", 1, failure("network", "refused")), "on-failed")
    calls = host.take()
    check(not kinds(calls, "open"), f"on-failed: no transport.open expected yet, got {calls}")
    status = one(calls, "status", "on-failed")
    check(
        (status["status"], status["reason"]) == ("disconnected-retrying", "communication-error"),
        f"on-failed: expected status disconnected-retrying / communication-error, "
        f"got {status['status']} / {status['reason']}",
    )
    backoffs = [d for d in kinds(calls, "decide") if d["action"] == "backoff"]
    check(len(backoffs) == 1, f"on-failed: expected one backoff decision, got {calls}")
    delay = field(backoffs[0]["payload"], "delay-ms")
    check(delay == 1000, f"on-failed: expected a backoff of 1000 ms, got {delay} ms")
    wake = one(calls, "wake-at", "on-failed")
    deadline = wake["deadline"]
    check(
        deadline == failed_at + 1000 * NS_PER_MS,
        f"on-failed: expected wake-at {rel_ms(failed_at) + 1000} ms, got {rel_ms(deadline)} ms",
    )

    # one millisecond early: nothing opens
    host.advance_to(deadline - NS_PER_MS)
    host.say("> on-wake")
    method("on-wake")
    calls = host.take()
    check(not kinds(calls, "open"), f"on-wake 1 ms before the deadline must not open, got {calls}")

    # at the deadline: link 2 opens
    host.advance_to(deadline)
    host.say("> on-wake")
    method("on-wake")
    calls = host.take()
    opened = one(calls, "open", "on-wake at the deadline")
    check(opened["link"] == 2, f"on-wake: expected transport.open for link 2, got link {opened['link']}")
    check(opened["hub"] == HUB, f"on-wake: expected transport.open to {HUB}, got {opened['hub']}")

    # on-opened(2) -> connected / connection-ok
    host.say("> on-opened 2")
    expect_ok(method("on-opened", 2), "on-opened")
    calls = host.take()
    status = one(calls, "status", "on-opened")
    check(
        (status["status"], status["reason"]) == ("connected", "connection-ok"),
        f"on-opened: expected status connected / connection-ok, "
        f"got {status['status']} / {status['reason']}",
    )

    # publish -> transport.send on link 2
    host.say(f"> publish {TOPIC} {PAYLOAD.hex()}")
    published = method("publish", TOPIC, PAYLOAD)
    if isinstance(published, Variant):
        check(published.tag == "ok", f"publish: expected ok, got err {published.payload}")
        published = published.payload
    check(isinstance(published, int), f"publish: expected a message id, got {published!r}")
    message = published
    host.say(f"= message {message}")
    calls = host.take()
    sent = one(calls, "send", "publish")
    check(
        (sent["link"], sent["message"], sent["topic"], sent["payload"]) == (2, message, TOPIC, PAYLOAD),
        f"publish: expected send(2, {message}, {TOPIC}, {PAYLOAD!r}), got {sent}",
    )

    # on-acked -> message-outcome delivered
    host.say(f"> on-acked {message}")
    expect_ok(method("on-acked", message), "on-acked")
    calls = host.take()
    outcome = one(calls, "outcome", "on-acked")
    check(
        (outcome["message"], outcome["outcome"]) == (message, "delivered"),
        f"on-acked: expected message-outcome {message} delivered, got {outcome}",
    )

    # publish, on-refused 0x87 -> message-outcome failed not-authorized, link kept
    host.say(f"> publish {TOPIC} {PAYLOAD.hex()}")
    published = method("publish", TOPIC, PAYLOAD)
    if isinstance(published, Variant):
        check(published.tag == "ok", f"publish: expected ok, got err {published.payload}")
        published = published.payload
    refused = published
    host.say(f"= message {refused}")
    host.take()
    host.say(f"> on-refused {refused} protocol mqtt-reason 0x87")
    expect_ok(method("on-refused", refused, failure("protocol", Variant("mqtt-reason", 0x87))),
              "on-refused")
    calls = host.take()
    outcome = one(calls, "outcome", "on-refused")
    check(
        (outcome["message"], outcome["outcome"]) == (refused, "failed not-authorized"),
        f"on-refused: expected message-outcome {refused} failed not-authorized, got {outcome}",
    )
    check(not any(c[0] == "status" for c in calls), f"on-refused: the status changed: {calls}")

    # stop -> disabled / client-close
    host.say("> stop")
    method("stop")
    calls = host.take()
    status = one(calls, "status", "stop")
    check(
        (status["status"], status["reason"]) == ("disabled", "client-close"),
        f"stop: expected status disabled / client-close, got {status['status']} / {status['reason']}",
    )
    conn.drop(ex.store)

    # classify mqtt5 0x87 -> renew-credential
    host.say("> classify protocol mqtt-reason 0x87")
    c = ex.call(ex.classify, failure("protocol", Variant("mqtt-reason", 0x87)))
    host.say(f"= classification {fmt_classification(c)}")
    check(
        field(c, "verdict") == "renew-credential",
        f"classify mqtt5 0x87: expected verdict renew-credential, got {field(c, 'verdict')}",
    )

    # a bad config names its field
    host.say(f"> create {BAD_CONFIG}")
    bad = ex.call(ex.create, BAD_CONFIG)
    if isinstance(bad, ResourceAny):
        bad.drop(ex.store)
        raise SmokeFailure("create with a bogus policy kind: expected a config-error, got a connection")
    host.say(f"= config-error {field(bad, 'field')}: {field(bad, 'message')}")
    check(
        field(bad, "field") == "policy.kind",
        f"create with a bogus policy kind: expected config-error field policy.kind, got {field(bad, 'field')!r}",
    )
    check(not host.take(), "create with a bad config must call no import")


def bench(engine, component, ex, host):
    """Per-call and instantiation costs, to stderr. Not assertions."""
    host.recording = False
    f = failure("protocol", Variant("mqtt-reason", 0x87))
    for _ in range(200):
        ex.call(ex.classify, f)
    n = 5000
    t = time.perf_counter()
    for _ in range(n):
        ex.call(ex.classify, f)
    per_call = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        ex.call(ex.table_version)
    per_trivial = (time.perf_counter() - t) / n
    m = 50
    t = time.perf_counter()
    for _ in range(m):
        instantiate(engine, component, host)
    per_inst = (time.perf_counter() - t) / m
    sys.stderr.write(
        f"python bench: table-version {per_trivial * 1e6:.1f} us/call, "
        f"classify {per_call * 1e6:.1f} us/call ({n} calls each); "
        f"instantiate {per_inst * 1e3:.2f} ms (linker + store + instance, {m} runs)\n"
    )


def wasmtime_version():
    try:
        from importlib.metadata import version

        return version("wasmtime")
    except Exception:  # noqa: BLE001 - informational only
        return "?"


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: smoke.py TETHER_COMPONENT.wasm [--bench]\n")
        return 2
    path = sys.argv[1]
    engine = wasmtime.Engine()
    t = time.perf_counter()
    component = Component.from_file(engine, path)
    compile_s = time.perf_counter() - t
    host = Host()
    t = time.perf_counter()
    store, instance = instantiate(engine, component, host)
    inst_s = time.perf_counter() - t
    sys.stderr.write(
        f"python: wasmtime {wasmtime_version()}; "
        f"compile {compile_s * 1e3:.1f} ms, first instantiate {inst_s * 1e3:.2f} ms\n"
    )
    ex = Exports(store, instance)
    try:
        run_script(ex, host)
    except SmokeFailure as err:
        sys.stdout.write("\n".join(host.lines) + "\n")
        sys.stdout.flush()
        sys.stderr.write(f"python smoke: FAILED: {err}\n")
        return 1
    sys.stdout.write("\n".join(host.lines) + "\n")
    if "--bench" in sys.argv[2:]:
        bench(engine, component, ex, host)
    sys.stdout.write("python smoke: ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
