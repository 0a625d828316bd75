"""The errors this package raises, in a module of their own so that every other module
can import them without importing each other."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ComponentMissing", "ComponentTrap", "ConfigError", "OutboxError", "TetherError"]


class TetherError(Exception):
    """Base class of the errors this package raises."""


class ComponentMissing(TetherError, FileNotFoundError):
    """No ``tether.wasm`` was found."""


class ConfigError(TetherError, ValueError):
    """An invalid configuration or policy document. ``field`` is the field's path
    (``policy.initial-ms``), ``message`` says what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ComponentTrap(TetherError):
    """The component trapped: a bug in tether or in a host function, never an expected
    failure. The instance is unusable afterwards."""


class OutboxError(TetherError):
    """The outbox cannot be used. ``kind``: ``"damaged"`` (the file is not an intact
    store; it is left as it was), ``"in-use"`` (another process has it open) or
    ``"storage"`` (reading or writing failed: permissions, a full disk). ``path``
    is the store file."""

    def __init__(self, kind: str, path: Path, detail: str) -> None:
        if kind == "damaged":
            text = (f"outbox {path}: the store is damaged ({detail}); it was left as it is. "
                    "Move it aside to start with an empty outbox (the messages it held "
                    "would not be sent)")
        elif kind == "in-use":
            text = f"outbox {path}: the store is open in another process (one outbox per device)"
        else:
            text = f"outbox {path}: {detail}"
        super().__init__(text)
        self.kind = kind
        self.path = path
        self.detail = detail
