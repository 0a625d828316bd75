"""Unit checks of the Python host library through the real component (no pytest).

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import unittest

import tether
from tether import Failure


class Recorder:
    """A transport and observers that log every call; `on_open` may react."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.on_open = None

    def open(self, link, hub, device_id, credential) -> None:
        self.log.append(f"open {link} {hub}")
        if self.on_open is not None:
            self.on_open(link)

    def send(self, link, message, topic, payload) -> None:
        self.log.append(f"send {link} {message} {topic} {payload!r}")

    def close(self, link) -> None:
        self.log.append(f"close {link}")

    def connection(self, config=None, **kw) -> tether.Connection:
        return tether.Connection(
            config or {"hub": "hub-a", "seed": 1,
                       "policy": {"kind": "fixed", "interval-ms": 1000}},
            transport=self, clock=kw.pop("clock", tether.VirtualClock()),
            on_status=lambda s: self.log.append(f"status {s}"),
            on_decision=lambda d: self.log.append(f"decide {d}"),
            on_outcome=lambda m, o: self.log.append(f"outcome {m} {o}"),
            on_wake_at=lambda ns: self.log.append(f"wake-at {ns // 1_000_000}"),
            **kw)


class Failures(unittest.TestCase):
    def test_constructors_render_the_cli_words(self) -> None:
        self.assertEqual(str(Failure.network("refused")), "net:refused")
        self.assertEqual(str(Failure.mqtt_connack(5)), "mqtt311:5")
        self.assertEqual(str(Failure.mqtt_reason(0x87)), "mqtt5:0x87")
        self.assertEqual(str(Failure.http(403, hub_code=403002)), "http:403:403002")
        self.assertEqual(str(Failure.application("throttled")), "app:throttled")
        for word in ("net:dns", "mqtt5:0x9C", "http:429", "keep-alive-lost", "amqp:amqp:not-found"):
            self.assertEqual(str(Failure.parse(word)), word)

    def test_bad_values_are_refused(self) -> None:
        with self.assertRaises(ValueError):
            Failure.network("bogus")
        with self.assertRaises(ValueError):
            Failure.mqtt_reason(256)

    def test_classify_comes_from_the_component(self) -> None:
        c = tether.classify(Failure.http(403, hub_code=403002))
        self.assertEqual((c.verdict, c.reason, c.rule),
                         (tether.Verdict.RETRY_THROTTLED, tether.Reason.QUOTA_EXCEEDED, "http/403002"))
        self.assertEqual(str(tether.classify(Failure.mqtt_reason(0x87))),
                         "protocol renew-credential bad-credential mqtt5/0x87")


class Documents(unittest.TestCase):
    def test_config_error_names_the_field(self) -> None:
        with self.assertRaises(tether.ConfigError) as caught:
            tether.validate_config({"hub": "h", "policy": {"initial-ms": "fast"}})
        self.assertEqual(caught.exception.field, "policy.initial-ms")
        with self.assertRaises(tether.ConfigError):
            Recorder().connection({"hub": "h", "bogus": 1})

    def test_retry_schedule(self) -> None:
        with tether.RetrySchedule({"kind": "fixed", "interval-ms": 500, "max-attempts": 2}, 1) as s:
            self.assertEqual(s.next(), tether.RetryAfter(500))
            self.assertEqual(s.next(), tether.RetryAfter(500))
            self.assertEqual(s.next(), tether.GiveUp(tether.GiveUpReason.MAX_ATTEMPTS))
            self.assertEqual(s.attempts, 3)


class Connections(unittest.TestCase):
    def test_imports_are_delivered_after_the_call_in_order(self) -> None:
        rec = Recorder()
        conn = rec.connection()
        # A transport that fails at once calls back into the connection from
        # inside `open`: that works only because the component call has returned.
        rec.on_open = lambda link: conn.failed(link, Failure.network("refused"))
        self.assertIsNone(conn.start())
        self.assertEqual(rec.log, [
            "decide connect 1 hub-a 0 cause=-",
            "open 1 hub-a",
            "status disconnected-retrying communication-error",
            "decide backoff 1000 1 normal reconnect cause=net/refused",
            "wake-at 1000",
        ])

    def test_messages_and_input_errors(self) -> None:
        rec = Recorder()
        clock = tether.VirtualClock()
        conn = rec.connection(clock=clock)
        conn.start()
        self.assertIsInstance(conn.opened(7), tether.InputError)  # no such link
        self.assertIsNone(conn.opened(1))
        msg = conn.publish("t", "hi")
        self.assertEqual(conn.pending_messages, 1)
        self.assertIsNone(conn.acked(msg))
        self.assertEqual(conn.acked(msg), tether.InputError.UNKNOWN_MESSAGE)
        with self.assertRaises(tether.PublishRefused) as caught:
            conn.publish("", b"x")
        self.assertEqual(caught.exception.error, tether.PublishError.EMPTY_TOPIC)
        conn.stop()
        self.assertEqual(rec.log[-4:], [f"send 1 {msg} t b'hi'", f"outcome {msg} delivered",
                                        "close 1", "status disabled client-close"])
        self.assertEqual(conn.status().status, tether.Status.DISABLED)


if __name__ == "__main__":
    unittest.main()
