"""The persistent outbox (``tether.Outbox``, ``tether.Device(outbox=...)``): records
outlive the process, keys are never reused, a second process is refused, a cut or
foreign file is refused naming it and left as it was, a write cut by a kill
recovers to the last commit, and a device keeps at its stop what it resends at
its next start (against a real mosquitto for the deliveries).

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import tether
from tether._outbox import Outbox, OutboxError

from test_device import Mosquitto

WAIT = 20.0
PACKAGE = str(Path(__file__).resolve().parents[1])


def filled(path: Path) -> None:
    """A store of three records, the second one finished."""
    box, records = Outbox.open(path)
    assert records == []
    for n in range(1, 4):
        box.bind(box.store("t/x", f"{n} payload".encode()), n + 10)
    assert box.finish(12) == 2
    assert box.finish(99) is None
    box.close()


class StoreTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tether-outbox-"))
        self.path = self.dir / "outbox.db"

    def test_records_outlive_the_store_and_keys_are_not_reused(self) -> None:
        filled(self.path)
        box, records = Outbox.open(self.path)
        with box:
            self.assertEqual([r.key for r in records], [1, 3])
            self.assertEqual(records[1].payload, b"3 payload")
            self.assertEqual(records[1].topic, "t/x")
            self.assertEqual(box.store("t/x", b"4"), 4)
            self.assertEqual(len(box), 3)
            # Kept at a stop: the id is forgotten, the record stays.
            box.bind(4, 1)
            self.assertEqual(box.keep(1), 4)
            self.assertIsNone(box.finish(1))
            self.assertEqual(len(box), 3)
        # Closed cleanly: one file, no log beside it.
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["outbox.db"])

    def test_a_second_process_is_refused(self) -> None:
        box, _ = Outbox.open(self.path)
        with box:
            code = ("import sys; from tether._outbox import Outbox, OutboxError\n"
                    "try: Outbox.open(sys.argv[1])\n"
                    "except OutboxError as e: print(e.kind, e); sys.exit(3)\n")
            out = subprocess.run([sys.executable, "-c", code, str(self.path)],
                                 capture_output=True, text=True, timeout=WAIT,
                                 env={**os.environ, "PYTHONPATH": PACKAGE})
            self.assertEqual(out.returncode, 3, out.stdout + out.stderr)
            self.assertTrue(out.stdout.startswith("in-use "), out.stdout)
            self.assertIn("open in another process", out.stdout)
            self.assertIn(str(self.path), out.stdout)
            # Still usable here.
            box.store("t", b"x")

    def test_a_cut_foreign_or_empty_file_is_refused_and_left_as_it_was(self) -> None:
        filled(self.path)
        whole = self.path.read_bytes()
        foreign = self.dir / "other.db"
        with sqlite3.connect(foreign) as db:
            db.execute("CREATE TABLE messages (key INTEGER PRIMARY KEY, topic, payload)")
        cases = [(f"cut to {n}", whole[:n])
                 for n in (0, 1, 15, 99, 100, 511, 4095, 4096, len(whole) // 2, len(whole) - 1)]
        cases += [("not SQLite", b"hello, this is not a database " * 40),
                  ("another app's SQLite file", foreign.read_bytes()),
                  ("the header's first byte", b"X" + whole[1:])]
        for case, data in cases:
            with self.subTest(case):
                self.path.write_bytes(data)
                with self.assertRaises(OutboxError) as caught:
                    Outbox.open(self.path)
                err = caught.exception
                self.assertEqual(err.kind, "damaged", str(err))
                self.assertIn(str(self.path), str(err))
                self.assertIn("the store is damaged", str(err))
                self.assertEqual(self.path.read_bytes(), data, "left as it was")
                self.assertFalse(Path(str(self.path) + "-wal").exists())
        self.path.write_bytes(whole)
        box, records = Outbox.open(self.path)
        box.close()
        self.assertEqual([r.key for r in records], [1, 3])

    def test_a_write_cut_by_a_kill_recovers_to_the_last_commit(self) -> None:
        # A process commits five records and dies without closing: the newest
        # pages are only in the log (the -wal file) beside the store.
        code = ("import os, sys; from tether._outbox import Outbox\n"
                "box, _ = Outbox.open(sys.argv[1])\n"
                "for n in range(1, 6): box.store('t', str(n).encode() * 100)\n"
                "os._exit(9)\n")
        env = {**os.environ, "PYTHONPATH": PACKAGE}
        subprocess.run([sys.executable, "-c", code, str(self.path)], timeout=WAIT, env=env)
        wal = Path(str(self.path) + "-wal")
        self.assertGreater(wal.stat().st_size, 0)
        log = wal.read_bytes()
        # The log as a kill in the middle of the fifth commit leaves it: its
        # last frame cut short. The frame checksums find the end of the intact
        # log; the open recovers to the fourth commit.
        wal.write_bytes(log[:-100])
        box, records = Outbox.open(self.path)
        with box:
            self.assertEqual([r.key for r in records], [1, 2, 3, 4])
            self.assertEqual(records[3].payload, b"4" * 100)
        # The whole log: all five.
        self.path.unlink()
        subprocess.run([sys.executable, "-c", code, str(self.path)], timeout=WAIT, env=env)
        box, records = Outbox.open(self.path)
        box.close()
        self.assertEqual([r.key for r in records], [1, 2, 3, 4, 5])

    def test_a_log_without_its_store_is_refused(self) -> None:
        log = Path(str(self.path) + "-wal")
        log.write_bytes(b"a log of a store that was moved away")
        with self.assertRaises(OutboxError) as caught:
            Outbox.open(self.path)
        self.assertEqual(caught.exception.kind, "damaged")
        self.assertIn("move the log aside", str(caught.exception))
        self.assertFalse(self.path.exists())

    def test_a_path_in_a_missing_folder_is_a_storage_error(self) -> None:
        with self.assertRaises(OutboxError) as caught:
            Outbox.open(self.dir / "no-such-folder" / "outbox.db")
        self.assertEqual(caught.exception.kind, "storage")
        self.assertIn("no-such-folder", str(caught.exception))


class DeviceTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tether-outbox-device-"))
        self.path = self.dir / "outbox.db"

    def device(self, hub: str) -> tether.Device:
        return tether.Device({"hub": hub, "device-id": "py-outbox", "seed": 3,
                              "policy": {"kind": "fixed", "interval-ms": 100}},
                             version=311, telemetry_topic="tether/py-outbox",
                             outbox=self.path)

    def test_stop_keeps_what_the_next_start_resends_and_delivers(self) -> None:
        # Nobody listens at port 9: nothing can be delivered, only kept.
        first = self.device("127.0.0.1:9").start()
        deliveries = [first.publish(str(n)) for n in range(1, 4)]
        self.assertEqual([d.key for d in deliveries], [1, 2, 3])
        first.close()
        for d in deliveries:
            self.assertTrue(d.kept, d)
            with self.assertRaises(tether.MessageKept):
                d.result(timeout=WAIT)
        box, records = Outbox.open(self.path)
        box.close()
        self.assertEqual([r.payload for r in records], [b"1", b"2", b"3"])

        # A second run, still without a broker: resent, and kept again.
        second = self.device("127.0.0.1:9").start()
        self.assertEqual([d.payload for d in second.resent], [b"1", b"2", b"3"])
        self.assertEqual([d.key for d in second.resent], [1, 2, 3])
        second.close()
        self.assertTrue(all(d.kept for d in second.resent))

        # With a broker: resent and delivered, one outcome each; the store empties.
        broker = Mosquitto()
        try:
            third = self.device(broker.address).start()
            try:
                outcomes = [d.result(timeout=WAIT) for d in third.resent]
                self.assertTrue(all(o.delivered for o in outcomes), outcomes)
                box = third.outbox
                assert box is not None
                self.assertEqual(len(box), 0)
                fresh = third.publish("4")
                self.assertEqual(fresh.key, 4)
                self.assertTrue(fresh.result(timeout=WAIT).delivered)
            finally:
                third.close()
        finally:
            broker.close()
        box, records = Outbox.open(self.path)
        box.close()
        self.assertEqual(records, [])

    def test_a_damaged_store_stops_the_device_being_made(self) -> None:
        self.path.write_bytes(b"\x00" * 10)
        with self.assertRaises(tether.OutboxError) as caught:
            self.device("127.0.0.1:9")
        self.assertEqual(caught.exception.kind, "damaged")
        self.assertIn(str(self.path), str(caught.exception))

    def test_a_refused_message_is_not_kept(self) -> None:
        device = tether.Device({"hub": "127.0.0.1:9", "device-id": "py-outbox", "seed": 3,
                                "queue": {"max-payload-bytes": 8}},
                               version=311, telemetry_topic="t", outbox=self.path).start()
        try:
            with self.assertRaises(tether.PublishRefused):
                device.publish(b"x" * 9)
            box = device.outbox
            assert box is not None
            self.assertEqual(len(box), 0)
        finally:
            device.close()

    def test_the_outbox_must_be_a_path(self) -> None:
        with self.assertRaises(TypeError) as caught:
            tether.Device({"hub": "127.0.0.1:9", "device-id": "d"},
                          outbox=3)  # type: ignore[arg-type]
        self.assertIn("outbox", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
