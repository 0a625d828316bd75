"""tether.Device against a real mosquitto (started here on a free loopback port),
and hostile use of its API: wrong types, None, payloads over the limit, calls
after stop and after close, calls from other threads and from callbacks,
callbacks that raise. Each gets a clear error or works; none crashes, hangs or
loses an outcome.

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Any

import tether

WAIT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    def __init__(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            raise RuntimeError("mosquitto is missing: run scripts/setup")
        self.dir = tempfile.mkdtemp(prefix="tether-py-")
        self.port = free_port()
        conf = Path(self.dir) / "mosquitto.conf"
        conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                if time.monotonic() > end:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.02)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


BROKER: Mosquitto | None = None


def setUpModule() -> None:
    global BROKER
    BROKER = Mosquitto()


def tearDownModule() -> None:
    if BROKER is not None:
        BROKER.close()


def config(**extra: Any) -> dict[str, Any]:
    assert BROKER is not None
    doc: dict[str, Any] = {"hub": BROKER.address, "device-id": "py-unit",
                           "policy": {"kind": "fixed", "interval-ms": 100}}
    doc.update(extra)
    return doc


def connected(**kw: Any) -> tether.Device:
    device = tether.Device(kw.pop("cfg", None) or config(), **kw).start()
    assert device.wait_for("connected", WAIT), device.status
    return device


class Basics(unittest.TestCase):
    def test_publish_resolves_to_the_outcome(self) -> None:
        with connected() as device:
            outcome = device.publish(b"1").result(WAIT)
        self.assertTrue(outcome.delivered)
        self.assertEqual(str(device.status.reason), "client-close")

    def test_logs_statuses_and_decisions_without_secrets(self) -> None:
        with self.assertLogs("tether", logging.DEBUG) as logs:
            cfg = config(credential={"secret": "s3cret-password"})
            with connected(cfg=cfg) as device:
                device.publish("x").result(WAIT)
        text = "\n".join(logs.output)
        self.assertIn("INFO:tether:status connected connection-ok", text)
        self.assertIn("decision connect", text)
        self.assertNotIn("s3cret-password", text)

    def test_messages_queued_while_disconnected_fail_at_stop(self) -> None:
        cfg = config(hub=f"127.0.0.1:{free_port()}")  # nothing listens
        device = tether.Device(cfg).start()
        deliveries = [device.publish(str(n)) for n in range(3)]
        device.close()
        for d in deliveries:
            self.assertEqual(str(d.result(WAIT)), "failed client-close")


class Hostile(unittest.TestCase):
    def test_wrong_types_are_named(self) -> None:
        cases: list[tuple[Any, dict[str, Any], str]] = [
            (None, {}, "config"), (42, {}, "config"), ("{not json", {}, "config"),
            (config(), {"mqtt": "x"}, "mqtt"), (config(), {"tls": 3}, "tls"),
            (config(), {"on_status": 5}, "on_status"),
        ]
        for cfg, kw, field in cases:
            with self.subTest(field=field, cfg=cfg):
                with self.assertRaises(TypeError) as err:
                    tether.Device(cfg, **kw)
                self.assertIn(field, str(err.exception))

    def test_what_the_runner_cannot_serve_is_refused_naming_the_field(self) -> None:
        with self.assertRaises(tether.TetherError) as err:
            tether.Device(config(provisioning={}))
        self.assertIn("config.provisioning", str(err.exception))
        with self.assertRaises(TypeError):
            tether.Device(config(), dps="x")  # type: ignore[arg-type]
        with self.assertRaises(tether.TetherError) as err:
            tether.Device(config(credential={"renewable": True}))
        self.assertIn("config.credential.renewable", str(err.exception))

    def test_bad_config_is_a_config_error_naming_the_field(self) -> None:
        with self.assertRaises(tether.ConfigError) as err:
            tether.Device(config(policy={"kind": "exponential", "initial-ms": "fast"}))
        self.assertEqual(err.exception.field, "policy.initial-ms")
        with self.assertRaises(ValueError) as verr:
            tether.MqttOptions(version=4)
        self.assertIn("mqtt.version", str(verr.exception))

    def test_bad_payloads_and_topics(self) -> None:
        with connected() as device:
            for bad in (None, 42, 1.5, ["x"], {"n": 1}):
                with self.subTest(payload=bad):
                    with self.assertRaises(TypeError) as err:
                        device.publish(bad)  # type: ignore[arg-type]
                    self.assertIn("payload", str(err.exception))
            with self.assertRaises(TypeError) as err:
                device.publish(b"x", 7)  # type: ignore[arg-type]
            self.assertIn("topic", str(err.exception))
            with self.assertRaises(tether.PublishRefused) as refused:
                device.publish(b"x" * (256 * 1024 + 1))
            self.assertEqual(refused.exception.error, tether.PublishError.PAYLOAD_TOO_LARGE)
            with self.assertRaises(tether.PublishRefused) as refused:
                device.publish(b"x", "")
            self.assertEqual(refused.exception.error, tether.PublishError.EMPTY_TOPIC)
            # Still fine after all that.
            self.assertTrue(device.publish(b"ok").result(WAIT).delivered)

    def test_calls_before_start_after_stop_and_after_close(self) -> None:
        device = tether.Device(config())
        with self.assertRaises(tether.DeviceClosed) as err:
            device.publish(b"x")
        self.assertIn("start()", str(err.exception))
        device.start()
        with self.assertRaises(tether.DeviceClosed):
            device.start()
        device.stop()
        device.stop()  # a second stop does nothing
        with self.assertRaises(tether.DeviceClosed):
            device.publish(b"x")
        with self.assertRaises(tether.DeviceClosed):
            device.subscribe("a/b")
        device.close()
        device.close()
        with self.assertRaises(tether.DeviceClosed) as err:
            device.publish(b"x")
        self.assertIn("closed", str(err.exception))
        self.assertFalse(device.wait_for("connected", 0.1))

    def test_publish_from_many_threads(self) -> None:
        with connected(cfg=config(queue={"capacity": 1000, "max-in-flight": 16})) as device:
            deliveries: list[tether.Delivery] = []
            lock = threading.Lock()

            def burst() -> None:
                for n in range(25):
                    d = device.publish(str(n))
                    with lock:
                        deliveries.append(d)

            threads = [threading.Thread(target=burst) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(WAIT)
            outcomes = [d.result(WAIT) for d in deliveries]
        self.assertEqual(len({d.message_id for d in deliveries}), 100)
        self.assertTrue(all(o.delivered for o in outcomes))

    def test_stop_while_other_threads_publish(self) -> None:
        # Each publish either gets a Delivery that resolves or DeviceClosed; none
        # waits for a runner that is gone.
        device = connected()
        results: list[object] = []
        lock = threading.Lock()

        def publisher() -> None:
            for n in range(200):
                try:
                    d = device.publish(str(n))
                except tether.DeviceClosed as err:
                    with lock:
                        results.append(err)
                    return
                with lock:
                    results.append(d)

        threads = [threading.Thread(target=publisher) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        device.close()
        for t in threads:
            t.join(WAIT)
            self.assertFalse(t.is_alive())
        for r in results:
            if isinstance(r, tether.Delivery):
                r.result(WAIT)  # resolved: delivered, or failed client-close
        self.assertTrue(any(isinstance(r, tether.DeviceClosed) for r in results)
                        or len(results) == 600)

    def test_callbacks_that_raise_are_logged_and_ignored(self) -> None:
        def boom(*_a: Any) -> None:
            raise RuntimeError("callback bug")

        with self.assertLogs("tether", logging.ERROR) as logs:
            with connected(on_status=boom, on_decision=boom) as device:
                self.assertTrue(device.publish(b"1").result(WAIT).delivered)
        self.assertTrue(any("on_status callback raised" in line for line in logs.output))

    def test_calls_from_the_runner_callbacks(self) -> None:
        # A status callback publishes (it runs on the runner's thread) and a
        # delivery callback stops the device: neither deadlocks.
        got: list[tether.Delivery] = []
        done = threading.Event()

        def on_status(change: tether.StatusChange) -> None:
            if change.status is tether.Status.CONNECTED and not got:
                got.append(device.publish(b"from-callback"))
                got[0].add_done_callback(lambda _d: (device.stop(), done.set()))

        device = tether.Device(config(), on_status=on_status)
        device.start()  # after the assignment: the callback uses `device`
        self.assertTrue(done.wait(WAIT))
        self.assertTrue(got[0].result(WAIT).delivered)
        device.close()
        self.assertEqual(str(device.status.reason), "client-close")

    def test_asyncio(self) -> None:
        async def main() -> tuple[list[str], list[tether.Outcome]]:
            seen: list[str] = []
            async with tether.Device(config()) as device:
                async def watch() -> None:
                    async for change in device.statuses():
                        seen.append(str(change.status))
                task = asyncio.create_task(watch())
                while device.status.status is not tether.Status.CONNECTED:
                    await asyncio.sleep(0.01)
                outcomes = await asyncio.gather(*(device.publish(str(n)) for n in range(3)))
            await asyncio.wait_for(task, WAIT)
            return seen, list(outcomes)

        seen, outcomes = asyncio.run(main())
        self.assertTrue(all(o.delivered for o in outcomes))
        self.assertIn("connected", seen)


class ConnectionString(unittest.TestCase):
    def test_from_connection_string_uses_the_component(self) -> None:
        cs = ("HostName=my-hub.azure-devices.net;DeviceId=sensor-1;"
              "SharedAccessKey=c2VjcmV0LWtleS0xMjM0NTY3ODkwMTIzNDU2")
        device = tether.Device.from_connection_string(cs)
        self.assertEqual(device.telemetry_topic, "devices/sensor-1/messages/events/")
        device.close()
        with self.assertRaises(tether.ConfigError) as err:
            tether.Device.from_connection_string("HostName=h;DeviceId=d")
        self.assertNotIn("SharedAccessKey=", str(err.exception))
        with self.assertRaises(TypeError):
            tether.Device.from_connection_string(None)  # type: ignore[arg-type]


if __name__ == "__main__":
    unittest.main()
