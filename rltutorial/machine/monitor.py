"""Watch a machine: every PV at one moment, a few PVs over time, and the stop button."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from rltutorial.machine.channels import Channels, use_address
from rltutorial.machine.names import MachinePVs

__all__ = ["snapshot", "watch", "operator_stop"]


def _shown(data: np.ndarray) -> object:
    """A scalar as itself, a short array as a list, text as text, an image by size."""
    if len(data) and isinstance(data[0], bytes):
        return data[0].decode(errors="replace")
    if len(data) == 1:
        return data[0].item()
    if len(data) > 16:
        return f"{len(data)} values"
    return np.asarray(data).tolist()


def snapshot(
    address: str | None = None, prefix: str = "", timeout: float = 2.0
) -> pd.DataFrame:
    """Read every PV of a machine once, without claiming it.

    Parameters
    ----------
    address : str, optional
        ``"host:port"`` of the server (see :func:`~rltutorial.machine.channels.use_address`).
    prefix : str
        PV name prefix.
    timeout : float
        Seconds for connecting and each read.

    Returns
    -------
    DataFrame
        Index ``pv``; columns ``value`` (scalars, short lists, text; images by size),
        ``unit`` and ``time`` (the machine's time stamp, UNIX s).
    """
    names = MachinePVs(prefix)
    where = use_address(address)
    try:
        channels = Channels(names.all, where, timeout)
    except Exception:  # noqa: BLE001 - a real machine has no SIM: PVs
        channels = Channels(names.machine, where, timeout)
    rows = []
    try:
        for name in channels.pvs:
            reading = channels.read(name, "time")
            meta = channels.control(name)
            unit = getattr(meta, "units", b"")
            unit = unit.decode() if isinstance(unit, bytes) else str(unit)
            value = (
                channels.read_text(name)
                if name == names.message
                else _shown(reading.data)
            )
            rows.append((name, value, unit, reading.stamp))
    finally:
        channels.close()
    return pd.DataFrame(rows, columns=["pv", "value", "unit", "time"]).set_index("pv")


def watch(
    names: list[str],
    address: str | None = None,
    duration: float = 1.0,
    interval: float = 0.1,
    timeout: float = 2.0,
) -> pd.DataFrame:
    """Read scalar PVs every ``interval`` s for ``duration`` s, without claiming.

    Parameters
    ----------
    names : list of str
        Scalar PVs, e.g. ``MachinePVs().beam_fields``.
    address : str, optional
        ``"host:port"`` of the server.
    duration, interval : float
        How long and how often to read, in s.
    timeout : float
        Seconds for connecting and each read.

    Returns
    -------
    DataFrame
        Index ``t`` (s since the first read); one column per PV.
    """
    channels = Channels(names, use_address(address), timeout)
    rows, start = [], time.monotonic()
    try:
        while time.monotonic() - start <= duration:
            rows.append([time.monotonic() - start, *channels.read_values(names)])
            time.sleep(interval)
    finally:
        channels.close()
    return pd.DataFrame(rows, columns=["t", *names]).set_index("t")


def operator_stop(
    stopped: bool = True, address: str | None = None, prefix: str = ""
) -> None:
    """The operator's stop button: ``ARESEA:STOP`` = 1 (or 0 to run again).

    Stopping freezes every magnet where it is and makes the machine refuse magnet
    writes; a running episode ends with :class:`~rltutorial.machine.MachineStopped`.
    """
    from rltutorial.machine.errors import MachineError

    names = MachinePVs(prefix)
    channels = Channels([names.stop], use_address(address), 2.0)

    def refused(name: str, value: object) -> MachineError:
        return MachineError(f"{name} = {value!r} was not confirmed by the machine.")

    try:
        channels.write(names.stop, int(bool(stopped)), refused)
    finally:
        channels.close()
