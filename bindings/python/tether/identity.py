"""Device identities on IoT Hub and DPS: connection strings, SAS tokens, derived
keys and IoT Hub MQTT settings.

Every answer comes from the component's ``identity`` interface, so Python gives the
same bytes as the Rust, Node and C hosts. Errors raise :class:`ConfigError` naming
the field or connection-string key that is wrong, never its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from . import _component as _c
from ._component import Runtime

__all__ = ["HubIdentity", "MqttSettings", "parse_connection_string",
           "connection_string_token", "sas_token", "hub_resource_uri", "dps_token",
           "derive_device_key", "hub_mqtt_settings", "telemetry_topic"]


@dataclass(frozen=True)
class HubIdentity:
    """What a connection string says about a device, without its secret."""

    host_name: str
    device_id: str
    auth: str  # "shared-access-key", "shared-access-signature" or "x509"
    module_id: str | None = None
    gateway_host_name: str | None = None
    key_name: str | None = None


@dataclass(frozen=True)
class MqttSettings:
    """The MQTT CONNECT fields and topics IoT Hub expects of one identity."""

    host: str
    port: int
    client_id: str
    user_name: str
    telemetry_topic: str
    cloud_to_device_filter: str | None
    keep_alive_s: int
    clean_session: bool


def _call(name: str, *args: Any, runtime: Runtime | None) -> Any:
    rt = runtime if runtime is not None else Runtime.default()
    with rt.lock:
        inst = rt.shared
        return inst.call(inst.exports.identity[name], *args)


def _ok(result: Any, ok_types: tuple[type, ...]) -> Any:
    ok, payload = _c.unwrap_result(result, ok_types)
    if not ok:
        _c.raise_config_error(payload)
    return payload


def parse_connection_string(text: str, *, runtime: Runtime | None = None) -> HubIdentity:
    """Parse an IoT Hub device or module connection string."""
    rec = _ok(_call("parse-connection-string", text, runtime=runtime), ())
    return HubIdentity(host_name=_c._get(rec, "host-name"), device_id=_c._get(rec, "device-id"),
                       auth=_c._get(rec, "auth"), module_id=_c._get(rec, "module-id"),
                       gateway_host_name=_c._get(rec, "gateway-host-name"),
                       key_name=_c._get(rec, "key-name"))


def connection_string_token(text: str, expiry: int, *,
                            runtime: Runtime | None = None) -> str:
    """The token of a connection string valid until ``expiry`` (Unix seconds)."""
    return str(_ok(_call("connection-string-token", text, expiry, runtime=runtime), (str,)))


def sas_token(resource_uri: str, key: str, key_name: str | None, expiry: int, *,
              runtime: Runtime | None = None) -> str:
    """A SAS token for ``resource_uri`` signed with ``key`` (base64)."""
    return str(_ok(_call("sas-token", resource_uri, key, key_name, expiry, runtime=runtime),
               (str,)))


def hub_resource_uri(host_name: str, device_id: str, module_id: str | None = None, *,
                     runtime: Runtime | None = None) -> str:
    """The resource of a device or module token."""
    return str(_call("hub-resource-uri", host_name, device_id, module_id, runtime=runtime))


def dps_token(id_scope: str, registration_id: str, key: str, expiry: int, *,
              runtime: Runtime | None = None) -> str:
    """A DPS registration token (``skn=registration``)."""
    return str(_ok(_call("dps-token", id_scope, registration_id, key, expiry, runtime=runtime),
               (str,)))


def derive_device_key(group_key: str, registration_id: str, *,
                      runtime: Runtime | None = None) -> str:
    """A group enrollment's device key for ``registration_id``."""
    return str(_ok(_call("derive-device-key", group_key, registration_id, runtime=runtime),
               (str,)))


def hub_mqtt_settings(identity: HubIdentity, *, api_version: str | None = None,
                      user_agent: str | None = None, model_id: str | None = None,
                      keep_alive_s: int | None = None,
                      runtime: Runtime | None = None) -> MqttSettings:
    """The MQTT CONNECT fields and topics IoT Hub expects of ``identity``."""
    ident = _c._record(host_name=identity.host_name, device_id=identity.device_id,
                    module_id=identity.module_id,
                    gateway_host_name=identity.gateway_host_name,
                    key_name=identity.key_name, auth=identity.auth)
    options = _c._record(api_version=api_version, user_agent=user_agent, model_id=model_id,
                      keep_alive_s=keep_alive_s)
    rec = _ok(_call("hub-mqtt-settings", ident, options, runtime=runtime), ())
    return MqttSettings(host=_c._get(rec, "host"), port=_c._get(rec, "port"),
                        client_id=_c._get(rec, "client-id"), user_name=_c._get(rec, "user-name"),
                        telemetry_topic=_c._get(rec, "telemetry-topic"),
                        cloud_to_device_filter=_c._get(rec, "cloud-to-device-filter"),
                        keep_alive_s=_c._get(rec, "keep-alive-s"),
                        clean_session=_c._get(rec, "clean-session"))


def telemetry_topic(device_id: str, module_id: str | None = None,
                    properties: Sequence[tuple[str, str]] = (), *,
                    runtime: Runtime | None = None) -> str:
    """The telemetry topic with a percent-encoded property bag."""
    return str(_ok(_call("telemetry-topic", device_id, module_id,
                     [(k, v) for k, v in properties], runtime=runtime), (str,)))
