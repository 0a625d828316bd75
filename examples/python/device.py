"""A telemetry device: numbered QoS 1 messages, tether deciding every reconnect.
    python3 examples/python/device.py HOST:PORT [COUNT] [INTERVAL_MS]"""
import sys
import time

import tether

hub, count, gap_ms = (sys.argv[1:] + ["20", "200"][len(sys.argv) - 2:])[:3]
def say(text: str) -> None: print(f"[{time.monotonic():10.3f}] {text}", flush=True)
with tether.Device({"hub": hub, "device-id": "tether-device-py"},
                   on_status=lambda s: say(f"status {s}")) as device:
    sent = []
    for n in range(1, int(count) + 1):
        sent.append(device.publish(f'{{"n": {n}}}'))
        sent[-1].add_done_callback(lambda d: say(f"outcome {d.message_id} {d.result()}"))
        time.sleep(int(gap_ms) / 1000)
    delivered = sum(d.result().delivered for d in sent)
say(f"summary published={count} accepted={len(sent)} delivered={delivered} "
    f"failed={len(sent) - delivered} refused=0")
sys.exit(0 if delivered == len(sent) else 1)
