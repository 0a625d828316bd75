"""Precompiled components: a file written by ``Runtime.precompile`` loads without
compiling and decides as the compiled one does; a file that is not one, is cut
short, or was made for another engine configuration is refused with a message
naming the file and the cause.

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

import wasmtime
from wasmtime.component import Component

import tether
from tether import Failure, Runtime, TetherError


class PrecompiledTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.TemporaryDirectory()
        cls.compiled = Runtime(cache=False)
        cls.file = cls.compiled.precompile(Path(cls.dir.name) / "tether.pycwasm")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.dir.cleanup()

    def test_a_precompiled_file_decides_like_the_compiled_component(self) -> None:
        loaded = Runtime(precompiled=self.file)
        for failure in (Failure.network("refused"), Failure.mqtt_reason(0x87),
                        Failure.http(429, retry_after_ms=5000), Failure.mqtt_connack(5)):
            self.assertEqual(tether.classify(failure, runtime=loaded),
                             tether.classify(failure, runtime=self.compiled))
        # A whole connection runs on it too.
        transport = _Silent()
        conn = tether.Connection({"hub": "127.0.0.1:1883", "device-id": "d"},
                                 transport=transport, runtime=loaded)
        self.assertIsNone(conn.start())
        self.assertEqual(transport.opened, ["127.0.0.1:1883"])

    def _refused(self, path: Path, *causes: str) -> str:
        with self.assertRaises(TetherError) as caught:
            Runtime(precompiled=path)
        text = str(caught.exception)
        self.assertIn(str(path), text)
        for cause in causes:
            self.assertIn(cause, text)
        return text

    def test_garbage_a_cut_file_and_a_plain_wasm_are_refused(self) -> None:
        d = Path(self.dir.name)
        garbage = d / "garbage.pycwasm"
        garbage.write_bytes(b"not machine code")
        self._refused(garbage, "ELF")
        cut = d / "cut.pycwasm"
        data = self.file.read_bytes()
        cut.write_bytes(data[: len(data) // 2])
        self._refused(cut, "cannot be loaded")
        self._refused(tether.component_path(), "ELF")
        self._refused(d / "missing.pycwasm", "cannot be loaded")

    def test_a_file_for_another_engine_configuration_is_refused(self) -> None:
        config = wasmtime.Config()
        config.consume_fuel = True
        other = Component.from_file(wasmtime.Engine(config), str(tether.component_path()))
        path = Path(self.dir.name) / "fuel.pycwasm"
        path.write_bytes(other.serialize())
        self._refused(path, "fuel")

    def test_path_and_precompiled_together_is_a_type_error(self) -> None:
        with self.assertRaises(TypeError):
            Runtime(tether.component_path(), precompiled=self.file)


class _Silent:
    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, link, hub, device_id, credential) -> None:
        self.opened.append(hub)

    def send(self, link, message, topic, payload) -> None:
        pass

    def close(self, link) -> None:
        pass

    def subscribe(self, link, filter) -> None:
        pass


if __name__ == "__main__":
    unittest.main()
