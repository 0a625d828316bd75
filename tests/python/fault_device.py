"""The device of the Python fault matrix (tests/python_faults.rs): tether.Device
publishing a numbered QoS 1 stream (payload: the number) until told to stop.

    python3 tests/python/fault_device.py '{"config": {...}, "mqtt": {...}, "topic": T,
                                          "interval_ms": 200}'

With ``"outbox": FILE`` the device has a persistent outbox: the messages an earlier
run left are published again at the start (``resent SEQ key=K``), those without an
outcome at the stop are kept (``kept SEQ key=K``), and the stream's numbers start
after the largest resent one (or at ``"first"``). ``"count"``: publish that many
new messages, then wait for ``stop``.

Prints one line per event, which the test reads as they come:
``status S/R``, ``decision RULE ACTION``, ``accepted SEQ``, ``refused SEQ ERROR``,
``outcome SEQ delivered`` / ``outcome SEQ failed:REASON``, ``stopped``.
On the line ``stop`` on stdin it stops publishing, waits for the outcomes of
the accepted messages while connected, stops the device and prints ``stopped``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time

import tether

spec = json.loads(sys.argv[1])
if os.environ.get("TETHER_LOG"):
    logging.basicConfig(level=os.environ["TETHER_LOG"].upper(), stream=sys.stderr,
                        format="%(relativeCreated)7.0f %(levelname)s %(name)s %(message)s")
lock = threading.Lock()


def out(text: str) -> None:
    with lock:
        print(text, flush=True)


m = spec.get("mqtt", {})
tls = tether.TlsOptions(ca_file=m["ca_file"]) if m.get("ca_file") else None
options = tether.MqttOptions(version=m.get("version", 5), tls=tls, port=m.get("port"),
                             keep_alive_s=m.get("keep_alive_s", 5),
                             connect_timeout_s=m.get("connect_timeout_s", 3.0))
callbacks = dict(
    on_status=lambda s: out(f"status {s.status}/{s.reason}"),
    on_decision=lambda d: out(f"decision {d.cause.rule if d.cause else '-'} {d.action}"))
if "dps" in spec:  # provisioned by DPS with a group key: the component derives and signs
    d = spec["dps"]
    device = tether.Device.from_dps(
        d["id_scope"], d["registration_id"], endpoint=d["endpoint"], group_key=d["group_key"],
        ca_file=d["ca_file"], hub_ca_file=m.get("ca_file"), hub_port=m.get("port"),
        config=spec.get("config"), **callbacks)
elif "connection_string" in spec:  # the IoT Hub profile: the component does the identity
    device = tether.Device.from_connection_string(
        spec["connection_string"], ca_file=m.get("ca_file"), port=m.get("port"),
        cert_file=m.get("cert_file"), key_file=m.get("key_file"),
        config=spec.get("config"), **callbacks)
else:
    try:
        device = tether.Device(spec["config"], mqtt=options, outbox=spec.get("outbox"),
                               **callbacks)
    except tether.OutboxError as err:
        # Not a usage error (2): the store is damaged or in use.
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()



def report(n: int, d: tether.Delivery) -> None:
    if d.kept:
        out(f"kept {n} key={d.key}")
        return
    result = d.result()
    out(f"outcome {n} " + ("delivered" if result.delivered else f"failed:{result.failure}"))


pending: list[tether.Delivery] = []
with device:
    seq = spec.get("first", 1) - 1
    for d in device.resent:
        n = int(d.payload or b"0")
        seq = max(seq, n)
        if d.message_id == 0:
            out(f"refused-resend {n} key={d.key}")
            continue
        out(f"resent {n} key={d.key}")
        d.add_done_callback(lambda d, n=n: report(n, d))
        pending.append(d)
    count = spec.get("count")
    new = 0
    while not stop.is_set():
        if count is not None and new >= count:
            stop.wait()
            break
        seq += 1
        new += 1
        try:
            delivery = device.publish(str(seq), spec.get("topic"))
        except tether.PublishRefused as err:
            out(f"refused {seq} {err.error}")
        else:
            out(f"accepted {seq}")
            delivery.add_done_callback(lambda d, n=seq: report(n, d))
            pending.append(delivery)
        stop.wait(spec.get("interval_ms", 200) / 1000)
    if device.status.status is tether.Status.CONNECTED:
        for d in pending:
            try:
                d.result(timeout=30)
            except tether.MessageKept:
                pass
# The stop gave every message left its outcome (or, with an outbox, kept it).
assert all(d.done() for d in pending)
if spec.get("outbox"):
    kept = sum(1 for d in pending if d.kept)
    out(f"outbox: resent {len(device.resent)} kept {kept}")
out("stopped")
