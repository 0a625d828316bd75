"""The paho adapter's error mapping, one case per row of the README's table: each
client error is fed in and what it becomes is checked, with the component's
classification of the result (so a change of either side shows here).

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import errno
import socket
import ssl
import unittest

from paho.mqtt._packet import convert_connack_rc_to_reason_code
from paho.mqtt.client import MQTTErrorCode, convert_disconnect_error_code_to_reason_code
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

import tether
from tether import mqtt_errors as m


def rule(failure: tether.Failure) -> str:
    return tether.classify(failure).rule


def props(packet: int, **fields: object) -> Properties:
    p = Properties(packet)
    for k, v in fields.items():
        setattr(p, k, v)
    return p


class SocketErrors(unittest.TestCase):
    CASES: list[tuple[BaseException, str]] = [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "net:dns"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "net:tls"),
        (ssl.SSLError(1, "wrong version number"), "net:tls"),
        (ssl.SSLEOFError(8, "EOF in violation of protocol"), "net:tls"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "net:refused"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "net:reset"),
        (ConnectionAbortedError(errno.ECONNABORTED, "aborted"), "net:reset"),
        (BrokenPipeError(errno.EPIPE, "broken pipe"), "net:reset"),
        (TimeoutError("timed out"), "net:timeout"),
        (socket.timeout("timed out"), "net:timeout"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "net:unreachable"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "net:unreachable"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "net:unreachable"),
        (OSError(errno.EIO, "I/O error"), "net:closed"),
    ]

    def test_each_socket_error(self) -> None:
        for err, want in self.CASES:
            with self.subTest(err=type(err).__name__):
                got = m.connect_error_failure(err)
                self.assertEqual(str(got), want)
                self.assertEqual(str(m.io_failure(err)), want)
                self.assertTrue(rule(got))

    def test_a_host_paho_refuses_is_a_bad_endpoint(self) -> None:
        got = m.connect_error_failure(ValueError("Invalid host."))
        self.assertEqual(str(got), "app:bad-endpoint")
        self.assertEqual(rule(got), "app/bad-endpoint")

    def test_classification_of_the_socket_kinds(self) -> None:
        self.assertEqual(tether.classify(m.io_failure(socket.gaierror())).reason, "no-network")
        self.assertEqual(rule(m.io_failure(ConnectionResetError())), "net/reset")


class Connack(unittest.TestCase):
    def test_311_codes_come_back_from_paho_reason_names(self) -> None:
        for code in range(1, 6):
            with self.subTest(code=code):
                reason = convert_connack_rc_to_reason_code(code)  # type: ignore[arg-type]
                got = m.connack_failure(False, reason)
                self.assertEqual(str(got), f"mqtt311:{code}")
                self.assertEqual(rule(got), f"mqtt311/{code}")

    def test_311_raw_code_wins(self) -> None:
        reason = ReasonCode(PacketTypes.CONNACK, "Not authorized")
        self.assertEqual(str(m.connack_failure(False, reason, None, 4)), "mqtt311:4")

    def test_mqtt5_reason_codes_keep_their_numbers(self) -> None:
        for code in (0x80, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x95, 0x97, 0x9F):
            with self.subTest(code=hex(code)):
                got = m.connack_failure(True, ReasonCode(PacketTypes.CONNACK, identifier=code))
                self.assertEqual(got, tether.Failure.mqtt_reason(code))
                self.assertEqual(rule(got), f"mqtt5/0x{code:02X}")

    def test_server_reference_of_a_connack(self) -> None:
        for code in (0x9C, 0x9D):
            reason = ReasonCode(PacketTypes.CONNACK, identifier=code)
            p = props(PacketTypes.CONNACK, ServerReference="127.0.0.1:18840")
            got = m.connack_failure(True, reason, p)
            self.assertEqual(got.server_reference, "127.0.0.1:18840")
            self.assertEqual(tether.classify(got).reason, "server-moved")


class Disconnect(unittest.TestCase):
    def reason(self, rc: MQTTErrorCode) -> ReasonCode:
        return convert_disconnect_error_code_to_reason_code(rc)

    def test_server_disconnect_reason_and_reference(self) -> None:
        rc = ReasonCode(PacketTypes.DISCONNECT, identifier=0x9C)
        p = props(PacketTypes.DISCONNECT, ServerReference="other:8883")
        got = m.disconnect_failure(mqtt5=True, connected=True, reason=rc, from_server=True,
                                   properties=p)
        self.assertEqual(got, tether.Failure.mqtt_reason(0x9C, server_reference="other:8883"))
        taken = ReasonCode(PacketTypes.DISCONNECT, identifier=0x8E)
        got = m.disconnect_failure(mqtt5=True, connected=True, reason=taken, from_server=True)
        self.assertEqual(rule(got), "mqtt5/0x8E")

    def test_keep_alive(self) -> None:
        rc = self.reason(MQTTErrorCode.MQTT_ERR_KEEPALIVE)
        got = m.disconnect_failure(mqtt5=False, connected=True, reason=rc, from_server=False)
        self.assertEqual(str(got), "keep-alive-lost")
        self.assertEqual(tether.classify(got).reason, "no-ping-response")
        # Before the CONNACK the same check means the CONNACK never came.
        got = m.disconnect_failure(mqtt5=False, connected=False, reason=rc, from_server=False)
        self.assertEqual(str(got), "net:timeout")

    def test_protocol_error(self) -> None:
        rc = self.reason(MQTTErrorCode.MQTT_ERR_PROTOCOL)
        self.assertEqual(str(m.disconnect_failure(mqtt5=True, connected=True, reason=rc,
                                                  from_server=False)), "mqtt5:0x82")
        self.assertEqual(str(m.disconnect_failure(mqtt5=False, connected=True, reason=rc,
                                                  from_server=False)), "net:closed")
        # 3.1.1 CONNACK 1, which paho ends as a protocol error with retrying off.
        self.assertEqual(str(m.disconnect_failure(mqtt5=False, connected=False, reason=rc,
                                                  from_server=False, raw_rc=1)), "mqtt311:1")

    def test_socket_error_that_ended_the_link(self) -> None:
        rc = self.reason(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        for err, want in SocketErrors.CASES:
            with self.subTest(err=type(err).__name__):
                got = m.disconnect_failure(mqtt5=True, connected=True, reason=rc,
                                           from_server=False, socket_error=err)
                self.assertEqual(str(got), want)

    def test_end_of_stream_is_closed(self) -> None:
        rc = self.reason(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        got = m.disconnect_failure(mqtt5=True, connected=True, reason=rc, from_server=False)
        self.assertEqual(str(got), "net:closed")


class Addresses(unittest.TestCase):
    def test_split(self) -> None:
        cases = {
            "127.0.0.1:1883": ("127.0.0.1", 1883),
            "hub.example:8883": ("hub.example", 8883),
            "my-hub.azure-devices.net": ("my-hub.azure-devices.net", 8883),
            "[::1]:1884": ("::1", 1884),
            "[::1]": ("::1", 8883),
            "::1": ("::1", 8883),
        }
        for text, want in cases.items():
            with self.subTest(text=text):
                self.assertEqual(m.split_address(text, 8883), want)
        for bad in ("", " ", "host:", ":1883", "host:port", "host:0", "host:70000",
                    "a/b:1", "a b", "[::1]x", "[]:1"):
            with self.subTest(bad=bad):
                self.assertIsNone(m.split_address(bad, 8883))


if __name__ == "__main__":
    unittest.main()
