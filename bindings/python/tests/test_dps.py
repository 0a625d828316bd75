"""DPS answers as the component gets them (tether._dps.dps_answer), one per shape
the Rust host's provisioning client handles.

    PYTHONPATH=bindings/python python3 -m unittest discover -s bindings/python/tests
"""

from __future__ import annotations

import unittest

import tether
from tether._dps import dps_answer


class Answers(unittest.TestCase):
    def test_pending_with_retry_after(self) -> None:
        got = dps_answer(202, {"operationId": "op-1", "status": "assigning"}, 3000)
        self.assertEqual(got, tether.Pending("op-1", 3000))

    def test_assigned(self) -> None:
        body = {"operationId": "op-1", "status": "assigned",
                "registrationState": {"assignedHub": "hub-a", "deviceId": "d1"}}
        self.assertEqual(dps_answer(200, body, None), tether.Assignment("hub-a", "d1"))

    def test_assigned_without_a_hub_is_a_server_error(self) -> None:
        got = dps_answer(200, {"status": "assigned", "registrationState": {}}, None)
        self.assertEqual(str(got), "http:500")

    def test_failed_registration_carries_its_code(self) -> None:
        body = {"status": "failed", "registrationState": {"errorCode": 400209}}
        got = dps_answer(200, body, None)
        self.assertEqual(str(got), "http:400:400209")

    def test_disabled_without_a_code(self) -> None:
        got = dps_answer(200, {"status": "disabled", "registrationState": {}}, None)
        self.assertEqual(str(got), "app:device-disabled")

    def test_error_status_with_code_retry_after_and_tracking_id(self) -> None:
        body = {"errorCode": 429001, "trackingId": "t-1", "message": "throttled"}
        got = dps_answer(429, body, 5000)
        assert isinstance(got, tether.Failure)
        self.assertEqual(str(got), "http:429:429001")
        self.assertEqual(got.retry_after_ms, 5000)
        self.assertEqual(got.server_reference, "t-1")
        self.assertEqual(tether.classify(got).verdict, tether.Verdict.RETRY_THROTTLED)

    def test_unauthorized(self) -> None:
        got = dps_answer(401, {"errorCode": 401002}, None)
        self.assertEqual(str(got), "http:401:401002")


if __name__ == "__main__":
    unittest.main()
