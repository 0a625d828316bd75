#!/usr/bin/env python3
"""A device that publishes numbered telemetry over MQTT, with tether deciding every
reconnect.

    PYTHONPATH=bindings/python python3 examples/python/device.py HOST:PORT [COUNT] [INTERVAL_MS]
        [--device-id ID] [--timeout SECONDS]

paho-mqtt is the transport and nothing more: its own reconnecting is off, each link
tether opens is a fresh client, and every failure goes to tether, which says when to
try again. One thread runs everything: paho's ``loop()`` waits on the socket until the
next thing is due (a publish, or a deadline tether asked for with ``wake-at``).

It publishes COUNT messages (QoS 1, one every INTERVAL_MS), prints each status,
decision and outcome, and exits once every message has an outcome, with a summary:
``summary published=N accepted=N delivered=N failed=N refused=N``. Exit code 0 when
everything was delivered, 1 when something failed, 2 on --timeout.
"""

from __future__ import annotations

import argparse
import heapq
import json
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import tether

# paho reports an MQTT 3.1.1 CONNACK refusal as the MQTT 5 reason code of the same
# meaning; these are the 3.1.1 return codes those names stand for.
CONNACK_311 = {
    "Unsupported protocol version": 1,
    "Client identifier not valid": 2,
    "Server unavailable": 3,
    "Bad user name or password": 4,
    "Not authorized": 5,
}

START = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - START:7.3f}s] {text}", flush=True)


def network_failure(err: OSError) -> tether.Failure:
    """What a socket error from connecting is, in tether's terms."""
    if isinstance(err, ConnectionRefusedError):
        return tether.Failure.network("refused")
    if isinstance(err, ConnectionResetError):
        return tether.Failure.network("reset")
    if isinstance(err, (socket.timeout, TimeoutError)):
        return tether.Failure.network("timeout")
    if isinstance(err, socket.gaierror):
        return tether.Failure.network("dns")
    if err.errno in (101, 113):  # ENETUNREACH, EHOSTUNREACH
        return tether.Failure.network("unreachable")
    return tether.Failure.network("closed")


@dataclass
class Link:
    client: mqtt.Client
    open: bool = False  # CONNACK accepted
    done: bool = False  # reported as failed/closed, or closed by tether
    mids: dict[int, int] = field(default_factory=dict)  # paho mid -> tether message


class MqttTransport:
    """tether's transport on paho-mqtt: one client per link."""

    def __init__(self, keepalive_s: int) -> None:
        self.conn: tether.Connection | None = None
        self.links: dict[int, Link] = {}
        self.keepalive_s = keepalive_s

    # ---- what tether asks for ----

    def open(self, link: int, hub: str, device_id: str | None, credential: str | None) -> None:
        host, _, port = hub.rpartition(":")
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device_id or "",
                             clean_session=True, protocol=mqtt.MQTTv311,
                             reconnect_on_failure=False)
        if credential is not None:
            client.username_pw_set(device_id, credential)
        client.on_connect = lambda _c, _u, _f, rc, _p: self._on_connect(link, rc)
        client.on_disconnect = lambda _c, _u, _f, rc, _p: self._lost(link)
        client.on_publish = lambda _c, _u, mid, _rc, _p: self._on_publish(link, mid)
        self.links[link] = Link(client)
        try:
            client.connect(host, int(port), keepalive=self.keepalive_s)
        except OSError as err:
            self._report_failed(link, network_failure(err))

    def send(self, link: int, message: int, topic: str, payload: bytes) -> None:
        st = self.links.get(link)
        if st is None or st.done:
            return
        info = st.client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self._lost(link)  # a send that fails means the link is gone
            return
        st.mids[info.mid] = message

    def close(self, link: int) -> None:
        st = self.links.pop(link, None)
        if st is None:
            return
        st.done = True
        try:
            st.client.disconnect()
            st.client.loop(timeout=0)
        except (OSError, ValueError):
            pass

    # ---- what paho reports ----

    def _on_connect(self, link: int, rc: Any) -> None:
        st = self.links.get(link)
        if st is None or st.done:
            return
        if rc.is_failure:
            self._report_failed(link, tether.Failure.mqtt_connack(CONNACK_311.get(rc.getName(), 0)))
            return
        st.open = True
        assert self.conn is not None
        self.conn.opened(link)

    def _on_publish(self, link: int, mid: int) -> None:
        st = self.links.get(link)
        message = None if st is None else st.mids.pop(mid, None)
        if message is not None and self.conn is not None:
            self.conn.acked(message)

    def _lost(self, link: int) -> None:
        st = self.links.get(link)
        if st is None or st.done:
            return
        st.done = True
        assert self.conn is not None
        if st.open:
            self.conn.closed(link, tether.Failure.network("closed"))
        else:
            self.conn.failed(link, tether.Failure.network("closed"))

    def _report_failed(self, link: int, failure: tether.Failure) -> None:
        st = self.links.get(link)
        if st is not None:
            st.done = True
        assert self.conn is not None
        self.conn.failed(link, failure)

    # ---- the event loop's view ----

    def live_client(self) -> mqtt.Client | None:
        """The client of the link in use, if it has a socket."""
        for st in self.links.values():
            if not st.done and st.client.socket() is not None:
                return st.client
        return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("broker", help="HOST:PORT of the MQTT broker")
    ap.add_argument("count", nargs="?", type=int, default=20, help="messages to publish")
    ap.add_argument("interval_ms", nargs="?", type=int, default=200, help="ms between messages")
    ap.add_argument("--device-id", default="tether-device-py")
    ap.add_argument("--timeout", type=float, default=60.0, help="give up after this many s")
    args = ap.parse_args(argv)

    config = {
        "hub": args.broker,
        "device-id": args.device_id,
        "policy": {"kind": "exponential", "initial-ms": 250, "max-ms": 2000, "jitter": "full"},
        "queue": {"capacity": max(64, args.count), "max-in-flight": 16},
    }
    clock = tether.MonotonicClock()
    wakes: list[int] = []  # deadlines tether asked for (ns), a heap
    outcomes: dict[int, tether.Outcome] = {}
    transport = MqttTransport(keepalive_s=5)

    def on_outcome(message: int, outcome: tether.Outcome) -> None:
        outcomes[message] = outcome
        say(f"outcome {message} {outcome}")

    conn = tether.Connection(
        config, transport=transport, clock=clock,
        on_status=lambda change: say(f"status {change.status} {change.reason}"),
        on_decision=lambda event: say(f"decision {event}"),
        on_outcome=on_outcome,
        on_wake_at=lambda deadline: heapq.heappush(wakes, deadline),
    )
    transport.conn = conn

    topic = f"devices/{args.device_id}/messages/events"
    interval_ns = args.interval_ms * 1_000_000
    started = clock.now_ns()
    give_up_at = started + int(args.timeout * 1e9)
    next_publish = started
    published = refused = 0
    accepted: list[int] = []
    timed_out = False

    conn.start()
    while True:
        now = clock.now_ns()
        if wakes and wakes[0] <= now:
            while wakes and wakes[0] <= now:
                heapq.heappop(wakes)
            conn.wake()
            continue
        if published < args.count and now >= next_publish:
            published += 1
            payload = json.dumps({"n": published, "device": args.device_id}).encode()
            try:
                accepted.append(conn.publish(topic, payload))
                say(f"published {published} id={accepted[-1]}")
            except tether.PublishRefused as err:
                refused += 1
                say(f"publish {published} refused: {err.error}")
            next_publish += interval_ns
            continue
        if published == args.count and all(m in outcomes for m in accepted):
            break
        if now >= give_up_at:
            say(f"timeout after {args.timeout:g} s: stopping")
            timed_out = True
            break
        due = [give_up_at] + wakes[:1] + ([next_publish] if published < args.count else [])
        wait_s = max(0.0, min(min(due) - now, 100_000_000) / 1e9)
        client = transport.live_client()
        if client is not None:
            client.loop(timeout=wait_s)  # runs the paho callbacks, which feed tether
        else:
            time.sleep(wait_s)

    conn.stop()
    delivered = sum(1 for m in accepted if m in outcomes and outcomes[m].delivered)
    failed = sum(1 for m in accepted if m in outcomes and not outcomes[m].delivered)
    say(f"summary published={published} accepted={len(accepted)} delivered={delivered} "
        f"failed={failed} refused={refused}")
    conn.close()
    if timed_out:
        return 2
    return 0 if failed == 0 and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
