"""The paho transport against scripted MQTT servers on loopback: each way a link
can fail reaches the connection as the failure of the README's table, and a
PUBACK comes back as the component's message id.

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import unittest
from typing import Any, Callable

import tether
from tether._paho import PahoTransport


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def packet(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + varint(len(body)) + body


def server_reference(ref: str) -> bytes:
    data = ref.encode()
    prop = b"\x1c" + struct.pack("!H", len(data)) + data
    return varint(len(prop)) + prop


class Script:
    """A one-connection server on 127.0.0.1 running ``script(conn)``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self.thread.start()

    def _serve(self, script: Callable[[socket.socket], None]) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            try:
                script(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


def read_packets(conn: socket.socket, want: int, timeout: float = 5.0) -> list[bytes]:
    """Read ``want`` whole packets (type byte + body)."""
    conn.settimeout(timeout)
    buf = b""
    out: list[bytes] = []
    while len(out) < want:
        chunk = conn.recv(4096)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 2:
            n, mult, i = 0, 1, 1
            while True:
                if i >= len(buf):
                    break
                b = buf[i]
                n += (b & 0x7F) * mult
                mult *= 128
                i += 1
                if not b & 0x80:
                    break
            if len(buf) < i + n:
                break
            out.append(buf[:1] + buf[i:i + n])
            buf = buf[i + n:]
    return out


def drive(version: int, port: int, until: Callable[[list[tuple[Any, ...]]], bool],
          limit: float = 8.0, keep_alive_s: int = 30, connect_timeout_s: float = 3.0,
          after_open: Callable[[PahoTransport], None] | None = None,
          hub: str | None = None) -> list[tuple[Any, ...]]:
    events: list[tuple[Any, ...]] = []
    t = PahoTransport(tether.MqttOptions(version=version, keep_alive_s=keep_alive_s,
                                         connect_timeout_s=connect_timeout_s, port=port),
                      events.append, lambda: None)
    t.open(1, hub if hub is not None else f"127.0.0.1:{port}", "dev-1", None)
    end = time.monotonic() + limit
    opened = False
    import select
    while not until(events) and time.monotonic() < end:
        if not opened and any(e[0] == "opened" for e in events):
            opened = True
            if after_open is not None:
                after_open(t)
        links = t.sockets()
        socks = [s for _l, s, _w in links]
        r, w, _ = select.select(socks, [s for _l, s, wants in links if wants], [], 0.05)
        for st, s, _wants in links:
            t.service(st, s in r, s in w)
        t.check_timeouts()
    t.shutdown()
    return events


def failure_of(events: list[tuple[Any, ...]]) -> tuple[str, str]:
    for e in events:
        if e[0] in ("failed", "closed"):
            return e[0], str(e[2])
    raise AssertionError(f"no failure in {events}")


def ended(events: list[tuple[Any, ...]]) -> bool:
    return any(e[0] in ("failed", "closed") for e in events)


CONNACK_OK_5 = packet(0x20, b"\x00\x00\x00")
CONNACK_OK_311 = packet(0x20, b"\x00\x00")


class Transport(unittest.TestCase):
    def test_refused(self) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        self.assertEqual(failure_of(drive(5, port, ended)), ("failed", "net:refused"))

    def test_dns(self) -> None:
        events = drive(5, 1883, ended, hub="no-such-host.invalid")
        self.assertEqual(failure_of(events), ("failed", "net:dns"))

    def test_bad_address(self) -> None:
        events = drive(5, 1883, ended, hub="host:port")
        self.assertEqual(failure_of(events), ("failed", "app:bad-endpoint"))

    def test_reset_after_connack(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(CONNACK_OK_5)
            time.sleep(0.2)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        srv = Script(script)
        events = drive(5, srv.port, ended)
        srv.close()
        self.assertEqual(events[0], ("opened", 1))
        self.assertEqual(failure_of(events), ("closed", "net:reset"))

    def test_end_of_stream_after_connack(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(CONNACK_OK_311)
            time.sleep(0.2)
        srv = Script(script)
        events = drive(311, srv.port, ended)
        srv.close()
        self.assertEqual(failure_of(events), ("closed", "net:closed"))

    def test_connack_timeout(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            time.sleep(3)  # never answers
        srv = Script(script)
        events = drive(5, srv.port, ended, connect_timeout_s=0.5)
        srv.close()
        self.assertEqual(failure_of(events), ("failed", "net:timeout"))

    def test_connack_311_codes(self) -> None:
        for code in (1, 2, 3, 4, 5):
            with self.subTest(code=code):
                def script(c: socket.socket, code: int = code) -> None:
                    read_packets(c, 1)
                    c.sendall(packet(0x20, bytes([0, code])))
                    time.sleep(0.3)
                srv = Script(script)
                events = drive(311, srv.port, ended)
                srv.close()
                self.assertEqual(failure_of(events), ("failed", f"mqtt311:{code}"))

    def test_connack_5_with_server_reference(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(packet(0x20, b"\x00\x9c" + server_reference("127.0.0.1:18899")))
            time.sleep(0.3)
        srv = Script(script)
        events = drive(5, srv.port, ended)
        srv.close()
        kind, text = failure_of(events)
        self.assertEqual((kind, text), ("failed", "mqtt5:0x9C"))
        failure = next(e[2] for e in events if e[0] == "failed")
        self.assertEqual(failure.server_reference, "127.0.0.1:18899")

    def test_server_disconnect_reason(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(CONNACK_OK_5)
            time.sleep(0.1)
            c.sendall(packet(0xE0, b"\x8e\x00"))
            time.sleep(0.3)
        srv = Script(script)
        events = drive(5, srv.port, ended)
        srv.close()
        self.assertEqual(failure_of(events), ("closed", "mqtt5:0x8E"))

    def test_keep_alive_lost(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(CONNACK_OK_311)
            time.sleep(5)  # reads PINGREQ, never answers
        srv = Script(script)
        events = drive(311, srv.port, ended, keep_alive_s=1)
        srv.close()
        self.assertEqual(failure_of(events), ("closed", "keep-alive-lost"))

    def test_puback_maps_back_to_the_message_id(self) -> None:
        def script(c: socket.socket) -> None:
            read_packets(c, 1)
            c.sendall(CONNACK_OK_311)
            pubs = read_packets(c, 2)
            # Acknowledge in reverse order.
            for p in reversed(pubs):
                topic_len = struct.unpack("!H", p[1:3])[0]
                pkid = p[3 + topic_len:5 + topic_len]
                c.sendall(packet(0x40, pkid))
            time.sleep(0.5)

        def send(t: PahoTransport) -> None:
            t.send(1, 41, "t/a", b"a")
            t.send(1, 42, "t/a", b"b")

        srv = Script(script)
        events = drive(311, srv.port, lambda ev: sum(e[0] == "acked" for e in ev) == 2,
                       after_open=send)
        srv.close()
        self.assertEqual([e for e in events if e[0] == "acked"], [("acked", 42), ("acked", 41)])


if __name__ == "__main__":
    unittest.main()
