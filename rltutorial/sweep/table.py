"""The sweep's result table, filled point by point in compact columns.

A sweep of 10,000 points must not keep 10,000 record dicts (or futures) alive on the
client: :class:`ResultTable` stores each finished point straight into columns — floats
in float64 arrays, statuses and worker names as small integer codes, errors only where
there is one — so the client holds little more than the final
:class:`pandas.DataFrame` itself. :meth:`ResultTable.frame` builds that table, with
unfinished points (an interrupted sweep) marked ``lost``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["RESERVED_COLUMNS", "STATUSES", "UNFINISHED", "ResultTable"]

#: Values of the ``status`` column.
STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "lost")
#: Columns every sweep table ends with; no parameter may take these names.
RESERVED_COLUMNS: tuple[str, ...] = (
    "status",
    "error",
    "duration_s",
    "worker",
    "attempts",
)
#: Error of a point that had not finished when the sweep was interrupted.
UNFINISHED = "not finished: the sweep was interrupted (KeyboardInterrupt) first"


class _Column:
    """One result column: float64 while every value is a float, else Python objects."""

    def __init__(self, size: int) -> None:
        self.values: np.ndarray = np.full(size, np.nan)

    def set(self, index: int, value: Any) -> None:
        if self.values.dtype == float and not _is_float(value):
            self.values = self.values.astype(object)
        self.values[index] = value

    def data(self) -> np.ndarray | list[Any]:
        """Floats as the array itself; objects as a list (pandas infers the type)."""
        return self.values if self.values.dtype == float else self.values.tolist()


def _is_float(value: Any) -> bool:
    """True for real numbers that a float64 column keeps exactly enough (not bools)."""
    return isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


class ResultTable:
    """Records of ``size`` points, stored as they finish, in any order.

    Parameters
    ----------
    size : int
        Number of points.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._done = np.zeros(size, dtype=bool)
        self._status = np.zeros(size, dtype=np.int8)
        self._duration = np.full(size, np.nan)
        self._attempts = np.zeros(size, dtype=np.int32)
        self._worker = np.zeros(size, dtype=np.int32)
        self._workers: dict[str, int] = {"": 0}
        self._errors: dict[int, str] = {}
        self._results: dict[str, _Column] = {}

    @property
    def n_done(self) -> int:
        """Number of points stored so far."""
        return int(self._done.sum())

    def store(self, index: int, record: Mapping[str, Any], attempts: int) -> None:
        """Keep the final ``record`` of point ``index`` (see ``execution.run_point``)."""
        self._done[index] = True
        self._status[index] = STATUSES.index(record["status"])
        self._duration[index] = _float_or_nan(record.get("duration_s"))
        self._attempts[index] = attempts
        worker = str(record.get("worker") or "")
        self._worker[index] = self._workers.setdefault(worker, len(self._workers))
        if record.get("error"):
            self._errors[index] = str(record["error"])
        for name, value in (record.get("result") or {}).items():
            column = self._results.get(name)
            if column is None:
                column = self._results[name] = _Column(self.size)
            column.set(index, value)

    def mark_unfinished(self, attempts: list[int] | np.ndarray) -> None:
        """Store every point not stored yet as ``lost``, :data:`UNFINISHED`."""
        for index in np.flatnonzero(~self._done):
            record = {"status": "lost", "error": UNFINISHED}
            self.store(int(index), record, int(attempts[index]))

    def frame(
        self, points: list[Mapping[str, Any]], results: tuple[str, ...] = ()
    ) -> pd.DataFrame:
        """One row per point: parameters, results, then :data:`RESERVED_COLUMNS`.

        ``results`` (a backend's declared names) come first among the results and
        exist even if no point returned them (all NaN). Results named like a
        parameter or a reserved column become ``<name>_result`` (with a warning).
        """
        for name in reversed(results):
            if name not in self._results:
                self._results = {name: _Column(self.size), **self._results}
        params = list(dict.fromkeys(key for point in points for key in point))
        taken = set(params) | set(RESERVED_COLUMNS)
        columns: dict[str, Any] = {
            name: [point.get(name, np.nan) for point in points] for name in params
        }
        renamed = []
        for name, column in self._results.items():
            label = f"{name}_result" if name in taken else name
            if label != name:
                renamed.append(label)
            columns[label] = column.data()
        if renamed:
            warnings.warn(
                f"result columns renamed to avoid clashes: {sorted(renamed)}",
                stacklevel=3,
            )
        workers = np.array(list(self._workers), dtype=object)
        columns.update(
            status=np.array(STATUSES, dtype=object)[self._status],
            error=[self._errors.get(i, "") for i in range(self.size)],
            duration_s=self._duration,
            worker=workers[self._worker],
            attempts=self._attempts.astype(np.int64),
        )
        return pd.DataFrame(columns, columns=list(columns), index=range(self.size))


def _float_or_nan(value: Any) -> float:
    """``float(value)``, NaN for None or anything that is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
