"""What can go wrong between the task and a machine, as named exceptions."""

from __future__ import annotations

__all__ = [
    "MachineError",
    "MachineConnectionError",
    "MachineMismatch",
    "WriteRefused",
    "MachineStopped",
    "ReadbackTimeout",
]


class MachineError(RuntimeError):
    """Something between the environment and the machine failed."""


class MachineConnectionError(MachineError, ConnectionError):
    """The machine's PVs cannot be reached (not found, or the connection was lost)."""


class MachineMismatch(MachineError):
    """The machine's PV names, limits or units differ from what the task expects."""


class WriteRefused(MachineError):
    """The machine refused a write (beyond limits, stopped, or leased to another client)."""


class MachineStopped(WriteRefused):
    """The operator stopped the machine."""


class ReadbackTimeout(MachineError, TimeoutError):
    """A magnet's read-back did not reach its set-point (or no fresh frame came) in time."""
