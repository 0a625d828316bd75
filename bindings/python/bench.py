#!/usr/bin/env python3
"""Costs of the Python host, per operation, through the real component.

    PYTHONPATH=bindings/python python3 bindings/python/bench.py [TETHER.wasm]

Prints microseconds per operation (wall clock, best of 3 runs). An op is one call from
Python, including the value conversions and the delivery of the import calls it
caused to no-op callbacks. Not a test: nothing is asserted.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import tether


class NullTransport:
    def open(self, *a: object) -> None: ...
    def send(self, *a: object) -> None: ...
    def close(self, *a: object) -> None: ...


def best_of(runs: int, n: int, op: Callable[[int], object]) -> float:
    """Microseconds per call of op(i), best of `runs` runs of n calls."""
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        for i in range(n):
            op(i)
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else None
    t = time.perf_counter()
    rt = tether.Runtime(path)
    compile_ms = (time.perf_counter() - t) * 1e3
    config = {"hub": "hub-a", "seed": 7,
              "policy": {"kind": "exponential", "initial-ms": 1000, "max-ms": 60000}}
    noop = lambda *a: None  # noqa: E731

    def make(clock: tether.Clock | None = None) -> tether.Connection:
        return tether.Connection(config, transport=NullTransport(), on_status=noop,
                                 on_decision=noop, on_outcome=noop, on_wake_at=noop,
                                 clock=clock, runtime=rt)

    make().close()  # first instance (shared engine warm-up)
    inst_us = best_of(3, 50, lambda _i: make().close())

    # on-failed -> backoff decision: wake at the deadline (opens link k), then
    # report link k refused. Only the on-failed call is timed.
    clock = tether.VirtualClock()
    conn = make(clock)
    conn.start()
    conn.failed(1, tether.Failure.network("refused"))
    refused = tether.Failure.network("refused")
    link = [1]

    def fail_once(_i: int) -> None:
        deadline = conn.next_wake()
        assert deadline is not None
        clock._now = deadline  # noqa: SLF001 - the bench owns the clock
        conn.wake()
        link[0] += 1
        t0 = time.perf_counter()
        conn.failed(link[0], refused)
        timings.append(time.perf_counter() - t0)

    timings: list[float] = []
    for i in range(2000):
        fail_once(i)
    timings.sort()
    failed_us = timings[len(timings) // 2] * 1e6  # median

    f87 = tether.Failure.mqtt_reason(0x87)
    classify_us = best_of(3, 2000, lambda _i: tether.classify(f87, runtime=rt))
    version_us = best_of(3, 5000, lambda _i: tether.table_version(runtime=rt))
    schedule = tether.RetrySchedule({"kind": "exponential"}, 7, runtime=rt)
    next_us = best_of(3, 2000, lambda _i: schedule.next(refused))

    conn2 = make()
    conn2.start()
    conn2.opened(1)

    def publish_ack(_i: int) -> None:
        conn2.acked(conn2.publish("t", b"0123456789"))

    publish_us = best_of(3, 2000, publish_ack)

    print(f"python {sys.version.split()[0]}, wasmtime-py, component {rt.path.name}")
    print(f"compile (Component.from_file):              {compile_ms:9.1f} ms")
    print(f"new Connection (linker+store+instance+create): {inst_us:7.1f} us")
    print(f"on-failed -> backoff decision (median):     {failed_us:9.1f} us/op")
    print(f"classify (mqtt5 0x87):                      {classify_us:9.1f} us/op")
    print(f"retry-schedule.next:                        {next_us:9.1f} us/op")
    print(f"table-version (trivial call):               {version_us:9.1f} us/op")
    print(f"publish + on-acked (send, outcome):         {publish_us:9.1f} us/message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
