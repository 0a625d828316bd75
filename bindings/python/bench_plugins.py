#!/usr/bin/env python3
"""Costs of custom-policy plugins in the Python host, through the real component and
the plugins ``cargo build`` makes.

    PYTHONPATH=bindings/python python3 bindings/python/bench_plugins.py [PLUGIN_DIR]

Prints the median wall-clock time of one ``failed`` input (a backoff decision,
including the import calls it causes) with a built-in policy, a pass-through plugin
and ``satellite-window``, and of one decision whose plugin loops until its fuel is
spent. Not a test: nothing is asserted.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import tether

DIR = Path(sys.argv[1] if len(sys.argv) > 1 else
           Path(__file__).resolve().parents[2] / "target" / "wasm" / "wasm32-wasip2" / "release")


class Transport:
    link = 0

    def open(self, link, *_args) -> None:
        self.link = link

    def send(self, *_args) -> None:
        pass

    def close(self, *_args) -> None:
        pass


def connection(policy: dict) -> tuple[tether.Connection, Transport, tether.VirtualClock]:
    t, clock = Transport(), tether.VirtualClock()
    conn = tether.Connection({"hub": "h", "seed": 1, "policy": policy}, transport=t, clock=clock)
    conn.start()
    return conn, t, clock


def per_decision(policy: dict, n: int = 2_000) -> float:
    conn, t, clock = connection(policy)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        conn.failed(t.link, tether.Failure.network("refused"))
        samples.append(time.perf_counter() - start)
        clock.set_ms(conn.next_wake() // 1_000_000)
        conn.wake()
    return statistics.median(samples) * 1e6


def main() -> None:
    hostile = str(DIR / "tether_plugin_hostile.wasm")
    satellite = str(DIR / "tether_plugin_satellite_window.wasm")
    print(f"built-in exponential:        {per_decision({'kind': 'exponential'}):8.1f} us")
    print(f"pass-through plugin:         "
          f"{per_decision({'kind': 'custom', 'plugin': hostile, 'params': {'mode': 'none'}}):8.1f} us")
    window = {"kind": "custom", "plugin": satellite, "max-delay-ms": 86_400_000,
              "params": {"period-ms": 600_000, "open-ms": 120_000, "offset-ms": 300_000}}
    print(f"satellite-window:            {per_decision(window):8.1f} us")
    loops = []
    for _ in range(21):
        conn, t, _clock = connection({"kind": "custom", "plugin": hostile,
                                      "params": {"mode": "loop"}})
        start = time.perf_counter()
        conn.failed(t.link, tether.Failure.network("refused"))
        loops.append(time.perf_counter() - start)
    print(f"endless loop, out of fuel:   {statistics.median(loops) * 1e3:8.2f} ms "
          f"(min {min(loops) * 1e3:.2f}, max {max(loops) * 1e3:.2f}, 21 decisions)")


if __name__ == "__main__":
    main()
