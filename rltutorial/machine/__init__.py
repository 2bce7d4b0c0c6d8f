"""The ARES Experimental Area on EPICS: a virtual machine, and the backend that drives it.

- :class:`VirtualAres`: the virtual ARES-EA (``python -m rltutorial.machine serve``) as
  a subprocess on 127.0.0.1, with :meth:`~VirtualAres.snapshot` and its write log.
- :class:`EpicsBackend`: the task's :class:`~rltutorial.envs.Backend` on any Channel
  Access machine with the PVs of :mod:`rltutorial.machine.names`;
  ``rltutorial.make_env(config, backend="epics", address="127.0.0.1:5064")`` uses it.
- :func:`snapshot`, :func:`watch`, :func:`operator_stop`, :func:`read_write_log`: look at
  a machine's PVs, follow some over time, press its stop button, read its write log.
- :class:`MachineModel`, :class:`MachineSettings`: the machine without a network.
- Errors: :class:`MachineError` and its kinds.

caproto (Channel Access in pure Python) is needed to serve or connect:
``pip install "rltutorial[machine]"``.
"""

from __future__ import annotations

from rltutorial.machine.backend import EpicsBackend
from rltutorial.machine.errors import (
    MachineConnectionError,
    MachineError,
    MachineMismatch,
    MachineStopped,
    ReadbackTimeout,
    WriteRefused,
)
from rltutorial.machine.model import MachineModel, MachineSettings
from rltutorial.machine.monitor import operator_stop, snapshot, watch
from rltutorial.machine.names import MachinePVs
from rltutorial.machine.process import VirtualAres
from rltutorial.machine.writelog import read_write_log

__all__ = [
    "EpicsBackend",
    "MachineConnectionError",
    "MachineError",
    "MachineMismatch",
    "MachineModel",
    "MachinePVs",
    "MachineSettings",
    "MachineStopped",
    "ReadbackTimeout",
    "VirtualAres",
    "WriteRefused",
    "operator_stop",
    "read_write_log",
    "snapshot",
    "watch",
]
