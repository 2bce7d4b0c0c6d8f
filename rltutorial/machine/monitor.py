"""Watch a machine: every PV's value at one moment, as a table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rltutorial.machine.channels import Channels, use_address
from rltutorial.machine.names import MachinePVs

__all__ = ["snapshot"]


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
