"""Custom-policy plugins in the Python host's sandbox, through the real component and
the plugins ``cargo build`` makes (``target/wasm/wasm32-wasip2/release``, or
``$TETHER_PLUGIN_DIR``). A missing plugin fails the test: nothing is skipped.

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests

``tests/python_plugins.rs`` compares whole schedules with the Rust host's.
"""

from __future__ import annotations

import os
import unittest
from pathlib import Path

import tether
from tether import Failure

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = Path(os.environ.get("TETHER_PLUGIN_DIR")
               or ROOT / "target" / "wasm" / "wasm32-wasip2" / "release")


def plugin(name: str) -> str:
    path = PLUGINS / f"tether_plugin_{name}.wasm"
    if not path.is_file():
        raise AssertionError(f"{path} is missing: build it with `cargo build -p tether-host`")
    return str(path)


class Device:
    """A virtual-time device whose link drops at 1 s and whose next 4 opens are
    refused: 5 backoff decisions, then connected."""

    def __init__(self, params: dict, runtime: tether.Runtime | None = None) -> None:
        self.path = plugin("hostile")
        self.clock = tether.VirtualClock()
        self.faults: list[tether.PluginFault] = []
        self.backoffs: list[tether.Backoff] = []
        self.statuses: list[tether.Status] = []
        self.opens = 0
        self.conn = tether.Connection(
            {"hub": "hub-a", "seed": 7,
             "policy": {"kind": "custom", "plugin": self.path, "params": params}},
            transport=self, clock=self.clock, runtime=runtime,
            on_plugin_fault=self.faults.append,
            on_decision=lambda d: self.backoffs.append(d.action)
            if isinstance(d.action, tether.Backoff) else None,
            on_status=lambda s: self.statuses.append(s.status))

    def open(self, link, hub, device_id, credential) -> None:
        self.opens += 1
        self.link = link

    def send(self, *args) -> None:
        pass

    def close(self, link) -> None:
        pass

    def run(self) -> Device:
        self.conn.start()
        self.clock.set_ms(100)
        self.conn.opened(self.link)
        self.clock.set_ms(1_000)
        self.conn.closed(self.link, Failure.network("reset"))
        for n in range(5):
            deadline = self.conn.next_wake()
            self.clock.set_ms(deadline // 1_000_000)
            self.conn.wake()
            self.clock.advance_ms(30)
            if n < 4:
                self.conn.failed(self.link, Failure.network("refused"))
            else:
                self.conn.opened(self.link)
        return self

    def stats(self) -> tether.PluginStats:
        stats = self.conn.plugin_stats(self.path)
        assert stats is not None
        return stats


class Hostile(unittest.TestCase):
    def assert_contained(self, dev: Device, reason: str) -> None:
        self.assertEqual(len(dev.faults), 3, dev.faults)
        for i, f in enumerate(dev.faults):
            self.assertEqual(f.reason, reason, f)
            self.assertEqual(f.consecutive, i + 1)
            self.assertEqual(f.quarantined, i == 2)
            self.assertLessEqual(len(f.detail.encode()), 256)
            self.assertIsInstance(f.used, tether.RetryAfter)
        # The fallback decided every delay, and each fault's fallback was carried out.
        self.assertEqual(len(dev.backoffs), 5)
        self.assertTrue(all(b.curve == tether.Curve.NORMAL for b in dev.backoffs))
        for f, b in zip(dev.faults, dev.backoffs):
            self.assertEqual(f.used.delay_ms, b.delay_ms)
        self.assertEqual(dev.statuses[-1], tether.Status.CONNECTED)

    def test_an_endless_loop_runs_out_of_fuel(self) -> None:
        dev = Device({"mode": "loop"}).run()
        self.assert_contained(dev, tether.PluginFaultReason.OUT_OF_FUEL)
        # The last decision (the third) spent all of its fuel.
        self.assertEqual(dev.stats().last_fuel, 2_000_000)

    def test_a_memory_bomb_hits_the_cap_and_names_it(self) -> None:
        dev = Device({"mode": "memory-bomb"}).run()
        self.assert_contained(dev, tether.PluginFaultReason.MEMORY_LIMIT)
        self.assertIn("refused (cap 2097152)", dev.faults[0].detail)
        self.assertEqual(dev.stats().peak_memory_bytes, 2 * 1024 * 1024)

    def test_deep_recursion_exhausts_the_stack(self) -> None:
        dev = Device({"mode": "recursion"}).run()
        self.assert_contained(dev, tether.PluginFaultReason.TRAP)
        self.assertIn("call stack exhausted", dev.faults[0].detail)

    def test_a_trap_is_reported_and_the_instance_made_afresh(self) -> None:
        dev = Device({"mode": "trap"}).run()
        self.assert_contained(dev, tether.PluginFaultReason.TRAP)
        self.assertEqual(dev.faults[0].detail, "wasm trap: wasm `unreachable` instruction executed")
        s = dev.stats()
        # At load, then afresh after each of the first two faults; the third
        # quarantined it.
        self.assertEqual((s.decisions, s.faults, s.instantiations), (3, 3, 3))

    def test_a_delay_of_u64_max_is_the_engines_invalid_answer(self) -> None:
        dev = Device({"mode": "max-delay"}).run()
        self.assert_contained(dev, tether.PluginFaultReason.INVALID_ANSWER)
        self.assertIn("18446744073709551615", dev.faults[0].detail)
        s = dev.stats()
        self.assertEqual((s.faults, s.instantiations), (0, 1))
        self.assertGreater(s.max_fuel, 0)

    def test_the_wall_clock_deadline_stops_what_fuel_does_not(self) -> None:
        limits = tether.PluginLimits(fuel_per_decision=2**62, deadline_ticks=2)
        dev = Device({"mode": "loop"}, runtime=tether.Runtime(plugin_limits=limits)).run()
        self.assert_contained(dev, tether.PluginFaultReason.DEADLINE)

    def test_a_give_up_answer_is_used(self) -> None:
        dev = Device({"mode": "give-up"})
        dev.conn.start()
        dev.clock.set_ms(100)
        dev.conn.opened(dev.link)
        dev.clock.set_ms(1_000)
        dev.conn.closed(dev.link, Failure.network("reset"))
        self.assertEqual(dev.faults, [])
        self.assertEqual(dev.statuses[-1], tether.Status.DISCONNECTED)


class Loading(unittest.TestCase):
    def transport(self):
        class T:
            def open(self, *a): pass
            def send(self, *a): pass
            def close(self, *a): pass
        return T()

    def test_a_plugin_that_imports_wasi_is_refused_naming_the_import(self) -> None:
        path = plugin("hostile_wasi")
        self.assertEqual(tether.imports_of(path), ["wasi:random/random@0.2.12"])
        with self.assertRaises(tether.PluginLoadError) as caught:
            tether.Connection({"hub": "h", "seed": 1,
                               "policy": {"kind": "custom", "plugin": path}},
                              transport=self.transport())
        text = str(caught.exception)
        self.assertIn("wasi:random/random@0.2.12", text)
        self.assertIn("must import nothing", text)
        self.assertIn(path, text)

    def test_a_missing_file_is_an_error_naming_it(self) -> None:
        with self.assertRaises(tether.PluginLoadError) as caught:
            tether.Connection({"hub": "h", "seed": 1,
                               "policy": {"kind": "custom", "plugin": "/nonexistent/p.wasm"}},
                              transport=self.transport())
        self.assertIn("/nonexistent/p.wasm", str(caught.exception))

    def test_the_example_plugins_import_nothing(self) -> None:
        for name in ("satellite_window", "metered_cellular", "circuit_breaker", "hostile"):
            self.assertEqual(tether.imports_of(plugin(name)), [], name)


if __name__ == "__main__":
    unittest.main()
