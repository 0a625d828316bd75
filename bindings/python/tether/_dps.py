"""The component's ``provisioning`` on Azure DPS's REST API (HTTPS, API version
2021-06-01), as the Rust host's (host/device/src/provisioning.rs) does it:

- ``register``: ``PUT {endpoint}/{idScope}/registrations/{registrationId}/register``
  with ``{"registrationId": ...}``; 202 ``{operationId, status: "assigning"}`` with
  ``Retry-After`` (seconds), or 200 when already decided;
- ``poll``: ``GET .../operations/{operationId}``: 202 again, or 200 ``{status:
  "assigned", registrationState: {assignedHub, deviceId}}``, or ``failed`` /
  ``disabled`` with the registration's six-digit error code;
- any other status is a failure with the status, the body's ``errorCode`` and the
  ``Retry-After``; a socket or TLS error is mapped as the MQTT transport maps it.

The ``Authorization`` token is minted by the component (``identity.dps-token``).
Each request runs on a short thread of its own; the answer is posted to the runner,
which gives it to the connection. What to do about it is the component's business.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable
from urllib.parse import quote

from . import identity as ident
from . import mqtt_errors as errs
from ._types import Assignment, Failure, Pending, ProvisioningAnswer

log = logging.getLogger("tether")

__all__ = ["DpsClient", "dps_answer"]

API_VERSION = "2021-06-01"
TOKEN_LIFETIME_S = 3600


def _retry_after_ms(headers: Any) -> int | None:
    value = headers.get("Retry-After") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0, int(float(value) * 1000))
    except ValueError:
        return None


def http_failure(status: int, body: Any, retry_after_ms: int | None) -> Failure:
    """An HTTP answer as the contract's failure: the status, the six-digit
    ``errorCode`` when the body has one, the retry-after, the tracking id."""
    code = body.get("errorCode") if isinstance(body, dict) else None
    hub_code = code if isinstance(code, int) and 100_000 <= code < 1_000_000 else None
    tracking = body.get("trackingId") if isinstance(body, dict) else None
    return Failure.http(status, hub_code=hub_code, retry_after_ms=retry_after_ms,
                        server_reference=tracking if isinstance(tracking, str) else None)


def dps_answer(status: int, body: Any, retry_after_ms: int | None) -> ProvisioningAnswer:
    """What one DPS answer is, for the component."""
    state = body.get("status") if isinstance(body, dict) else None
    op = body.get("operationId") if isinstance(body, dict) else None
    if status == 200 and state == "assigned":
        reg = body.get("registrationState") or {}
        hub, device = reg.get("assignedHub"), reg.get("deviceId")
        if isinstance(hub, str) and isinstance(device, str):
            return Assignment(hub=hub, device_id=device)
        return http_failure(500, body, retry_after_ms)
    if status in (200, 202) and state in ("assigning", "unassigned", None) \
            and isinstance(op, str):
        return Pending(operation_id=op, retry_after_ms=retry_after_ms)
    if status == 200 and isinstance(state, str):
        reg = body.get("registrationState") or {}
        code = reg.get("errorCode") if isinstance(reg, dict) else None
        if code is None and state == "disabled":
            return Failure.application("device-disabled", retry_after_ms=retry_after_ms)
        code = code if isinstance(code, int) else 500_000
        return http_failure(code // 1000, {"errorCode": code}, retry_after_ms)
    return http_failure(status, body, retry_after_ms)


class DpsClient:
    """The provisioning client over HTTPS. ``key`` is the device's symmetric key
    (base64; for a group enrollment, the key derived by the component)."""

    def __init__(self, endpoint: str, id_scope: str, registration_id: str, key: str, *,
                 ca_file: str | None, post: Callable[[tuple[Any, ...]], None],
                 wake: Callable[[], None], timeout_s: float = 10.0) -> None:
        self._base = (f"{endpoint.rstrip('/')}/{quote(id_scope, safe='')}/registrations/"
                      f"{quote(registration_id, safe='')}")
        self._id_scope = id_scope
        self._registration_id = registration_id
        self._key = key
        self._ctx = ssl.create_default_context(cafile=ca_file)
        self._post = post
        self._wake = wake
        self._timeout_s = timeout_s

    def __repr__(self) -> str:  # never the key
        return f"DpsClient({self._base})"

    def register(self) -> None:
        body = json.dumps({"registrationId": self._registration_id}).encode()
        self._start("PUT", f"{self._base}/register?api-version={API_VERSION}", body)

    def poll(self, operation_id: str) -> None:
        if not operation_id or not all(c.isascii() and (c.isalnum() or c in "-._~")
                                       for c in operation_id):
            self._post(("provisioned", Failure.application("bad-endpoint")))
            self._wake()
            return
        self._start("GET", f"{self._base}/operations/{operation_id}?api-version={API_VERSION}",
                    None)

    def _start(self, method: str, url: str, body: bytes | None) -> None:
        try:
            token = ident.dps_token(self._id_scope, self._registration_id, self._key,
                                    int(time.time()) + TOKEN_LIFETIME_S)
        except ValueError:
            self._post(("provisioned", Failure.application("unauthorized")))
            self._wake()
            return
        threading.Thread(target=self._exchange, args=(method, url, body, token),
                         name="tether-dps", daemon=True).start()

    def _exchange(self, method: str, url: str, body: bytes | None, token: str) -> None:
        headers = {"Authorization": token, "Accept": "application/json",
                   "Content-Type": "application/json; charset=utf-8"}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        answer: ProvisioningAnswer
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s,
                                        context=self._ctx) as response:
                answer = dps_answer(response.status, _json(response.read()),
                                    _retry_after_ms(response.headers))
        except urllib.error.HTTPError as err:
            answer = dps_answer(err.code, _json(err.read()), _retry_after_ms(err.headers))
        except urllib.error.URLError as err:
            reason = err.reason
            answer = errs.io_failure(reason) if isinstance(reason, BaseException) \
                else Failure.network("closed")
        except (OSError, ValueError) as err:
            answer = errs.connect_error_failure(err)
        log.debug("dps %s %s -> %s", method, url.split("?")[0], _describe(answer))
        self._post(("provisioned", answer))
        self._wake()


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"{}")
    except ValueError:
        return {}


def _describe(answer: ProvisioningAnswer) -> str:
    if isinstance(answer, Assignment):
        return f"assigned {answer.hub} {answer.device_id}"
    if isinstance(answer, Pending):
        return f"pending {answer.operation_id}"
    return str(answer)
