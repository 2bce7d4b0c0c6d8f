"""The machine's log of every write: who wrote what to which PV, accepted or refused."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

__all__ = ["WriteLog", "read_write_log"]

_LOG = logging.getLogger("rltutorial.machine")
#: Longest message in ``ARESEA:MESSAGE`` (a char waveform: a long string).
MESSAGE_LENGTH = 300


def _plain(value: Any) -> Any:
    """A written value as JSON can hold it (one-element arrays as scalars)."""
    if isinstance(value, (bytes, str)):
        return value.decode(errors="replace") if isinstance(value, bytes) else value
    try:
        values = [_plain(v) if isinstance(v, bytes) else v for v in value]
    except TypeError:
        return np.asarray(value).item()
    values = np.asarray(values).tolist()
    return values[0] if len(values) == 1 else values


class WriteLog:
    """Every write to the machine, as JSON lines in a file (flushed) and in memory.

    Parameters
    ----------
    path : Path, optional
        File to append to; None keeps the log in memory only.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.file: TextIO | None = None if path is None else Path(path).open("a")
        self.accepted = 0
        self.refused = 0
        self.message = ""

    def record(
        self, client: str, pv: str, value: Any, error: BaseException | None
    ) -> None:
        """Note one write: who, which PV, what value, accepted or why refused."""
        entry = {
            "time": time.time(),
            "client": client,
            "pv": pv,
            "value": _plain(value),
            "accepted": error is None,
            "reason": "" if error is None else str(error),
        }
        if error is None:
            self.accepted += 1
        else:
            self.refused += 1
            self.message = f"{pv}: {error}"[:MESSAGE_LENGTH]
        _LOG.info("write %s", entry)
        if self.file is not None:
            self.file.write(json.dumps(entry) + "\n")
            self.file.flush()


def read_write_log(path: str | Path) -> pd.DataFrame:
    """The machine's write log as a table.

    Returns
    -------
    DataFrame
        One row per write: ``time`` (UNIX s), ``client`` (user@host:port), ``pv``,
        ``value``, ``accepted`` (bool) and ``reason`` (why it was refused).
    """
    path = Path(path)
    columns = ["time", "client", "pv", "value", "accepted", "reason"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=columns)
