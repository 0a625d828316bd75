"""The errors this package raises, in a module of their own so that every other module
can import them without importing each other."""

from __future__ import annotations

__all__ = ["ComponentMissing", "ComponentTrap", "ConfigError", "TetherError"]


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
