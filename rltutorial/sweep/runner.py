"""Run a sweep serially or on Dask and assemble the one-row-per-point table."""

from __future__ import annotations

import logging
import queue
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.sweep.backends import SWEEP_BACKENDS, SweepBackend, get_backend
from rltutorial.sweep.execution import describe_error, run_point

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RESERVED_COLUMNS", "STATUSES", "run_sweep"]

logger = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("ok", "failed", "timeout", "lost")
RESERVED_COLUMNS: tuple[str, ...] = (
    "status",
    "error",
    "duration_s",
    "worker",
    "attempts",
)
_RETRYABLE = frozenset({"failed", "timeout"})
_POLL_S = 0.5
_BACKEND_TIMEOUT_GRACE_S = 5.0
_INLINE_KWARGS_BYTES = 2**20
_FETCH_TIMEOUT_S = 10.0  # wait for a finished point's result before recomputing it
_MAX_RECOMPUTES = 3  # fresh submissions of a point whose result died with a worker


@dataclass(frozen=True)
class _Plan:
    """Everything a sweep needs, validated."""

    simulate: Callable[..., Any]
    points: list[dict[str, Any]]
    fixed: dict[str, Any]
    retries: int
    watchdog_s: float | None


def run_sweep(
    simulate: str | Callable[..., Mapping[str, Any]],
    points: Iterable[Mapping[str, Any]],
    client: Client | None = None,
    retries: int = 0,
    timeout: float | None = None,
    progress: bool = True,
    *,
    simulate_kwargs: Mapping[str, Any] | None = None,
    no_worker_timeout: float = 300.0,
) -> pd.DataFrame:
    """Run ``simulate(**simulate_kwargs, **point)`` for every point.

    Parameters
    ----------
    simulate : str or callable
        A backend name from :data:`SWEEP_BACKENDS` (``"cheetah"``, ``"tracewin"``,
        ``"training"``: one training run per point),
        a :class:`~rltutorial.sweep.backends.SweepBackend`, or any picklable function
        returning a dict of results.
    points : iterable of Mapping
        Parameter dicts, e.g. from :func:`grid`.
    client : distributed.Client or None
        Where to run (see :func:`make_client`); None runs serially in this process.
    retries : int
        Extra attempts for a point that failed or timed out.
    timeout : float or None
        Wall-time limit per attempt in s, counted from its start (module docstring
        says what happens to a stuck Python function).
    progress : bool
        Show a progress bar (notebook or terminal).
    simulate_kwargs : Mapping or None
        Arguments shared by every point, e.g. ``{"project": "my_tracewin_project"}``;
        shipped to each worker once when large.
    no_worker_timeout : float
        Seconds without any worker after which unfinished points are reported as
        ``lost`` instead of waiting for workers to come back.

    Returns
    -------
    pandas.DataFrame
        One row per point in input order: parameters, results (renamed
        ``<name>_result`` if they clash with a parameter or reserved column),
        ``status``, ``error``, ``duration_s`` (s), ``worker``, ``attempts``.

    Raises
    ------
    ValueError
        For an unknown backend name, a point that is not a dict, a negative
        ``retries``, a non-positive ``timeout``, or a name in both the points and
        ``simulate_kwargs``.
    """
    plan = _make_plan(simulate, points, retries, timeout, simulate_kwargs)
    if not no_worker_timeout > 0:
        raise ValueError(f"no_worker_timeout must be > 0 s, got {no_worker_timeout!r}")
    bar = _progress_bar(len(plan.points), progress)
    try:
        if client is None:
            records = _run_serial(plan, bar)
        else:
            records = _DistributedRun(client, plan, bar, no_worker_timeout).run()
    finally:
        bar.close()
    return _to_frame(plan.points, records)


def _make_plan(simulate, points, retries, timeout, simulate_kwargs) -> _Plan:
    """Validate the arguments of :func:`run_sweep` into a :class:`_Plan`."""
    backend = _as_backend(simulate)
    points = list(points)
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise ValueError(f"point {index} is {point!r}; points must be dicts")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 s or None, got {timeout!r}")
    fixed = dict(simulate_kwargs or {})
    clash = sorted(set(fixed).intersection(set().union(*points)))
    if clash:
        raise ValueError(f"{clash} given both in the points and in simulate_kwargs")
    if backend.prepare is not None:
        fixed = backend.prepare(fixed)
    watchdog = timeout
    if backend.accepts_timeout and timeout is not None:
        fixed["timeout"] = timeout
        watchdog = timeout + _BACKEND_TIMEOUT_GRACE_S
    points = [dict(point) for point in points]
    return _Plan(backend.simulate, points, fixed, retries, watchdog)


def _as_backend(simulate: Any) -> SweepBackend:
    """Turn a backend name, backend or function into a :class:`SweepBackend`."""
    if isinstance(simulate, SweepBackend):
        return simulate
    if isinstance(simulate, str):
        return get_backend(simulate)
    if callable(simulate):
        return SweepBackend(simulate)
    raise ValueError(
        f"simulate={simulate!r} is neither callable nor a backend name; "
        f"backends: {sorted(SWEEP_BACKENDS)}"
    )


def _progress_bar(total: int, enabled: bool):
    """The sweep's progress bar (see :func:`rltutorial.progress.progress_bar`)."""
    from rltutorial.progress import progress_bar

    return progress_bar(total, "sweep", "point", enabled)


def _advance(bar, record: Mapping[str, Any], counts: dict[str, int]) -> None:
    """Count ``record`` on the progress bar, showing non-ok statuses."""
    counts[record["status"]] = counts.get(record["status"], 0) + 1
    if record["status"] != "ok":
        bar.set_postfix({k: v for k, v in counts.items() if k != "ok"}, refresh=False)
    bar.update(1)


def _run_serial(plan: _Plan, bar) -> list[dict[str, Any]]:
    """Run all points one after another in this process."""
    records, counts = [], {}
    for point in plan.points:
        attempt = 0
        while True:
            attempt += 1
            record = run_point(point, plan.simulate, plan.fixed, plan.watchdog_s)
            if record["status"] not in _RETRYABLE or attempt > plan.retries:
                break
        record["attempts"] = attempt
        records.append(record)
        _advance(bar, record, counts)
    return records


class _DistributedRun:
    """Submit every point to Dask, collect as they finish, watch for lost workers."""

    def __init__(self, client, plan: _Plan, bar, no_worker_timeout: float) -> None:
        self.client, self.plan, self.bar = client, plan, bar
        self.no_worker_timeout = no_worker_timeout
        n_points = len(plan.points)
        self.records: list[dict[str, Any] | None] = [None] * n_points
        self.attempts = [0] * n_points
        self.recomputes = [0] * n_points
        self.pending: dict[Any, int] = {}
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.counts: dict[str, int] = {}
        self.tag = uuid.uuid4().hex[:10]

    def run(self) -> list[dict[str, Any]]:
        """Run all points; return one record per point in input order."""
        fixed = self._ship(self.plan.fixed)
        try:
            self._submit(list(range(len(self.plan.points))), fixed)
            self._collect(fixed)
        except BaseException:
            self.client.cancel(list(self.pending))
            raise
        return self.records

    def _ship(self, fixed: dict[str, Any]):
        """Scatter large shared arguments to all workers once; keep small ones."""
        from distributed.protocol import pickle

        if not fixed or len(pickle.dumps(fixed)) < _INLINE_KWARGS_BYTES:
            return fixed
        [future] = self.client.scatter([fixed], broadcast=True, hash=False)
        return future

    def _submit(self, indices: list[int], fixed, recompute: bool = False) -> None:
        """Submit the next attempt of these points, as one batch (one task group).

        ``recompute=True`` re-runs the current attempt of a point whose finished
        result was lost with its worker; it does not count as a retry.
        """
        for index in indices:
            if recompute:
                self.recomputes[index] += 1
            else:
                self.attempts[index] += 1
        futures = self.client.map(
            run_point,
            [self.plan.points[index] for index in indices],
            key=[
                f"sweep-{self.tag}-{i}-{self.attempts[i]}-{self.recomputes[i]}"
                for i in indices
            ],
            simulate=self.plan.simulate,
            fixed=fixed,
            watchdog_s=self.plan.watchdog_s,
        )
        for index, future in zip(indices, futures, strict=True):
            self.pending[future] = index
            future.add_done_callback(self.finished.put)

    def _collect(self, fixed) -> None:
        """Take finished futures as they come; resubmit retries; stop when done."""
        idle_since = None
        while self.pending:
            try:
                future = self.finished.get(timeout=_POLL_S)
            except queue.Empty:
                idle_since = self._watch_workers(idle_since)
                continue
            index = self.pending.pop(future, None)
            if index is None:
                continue
            record = self._outcome(future)
            if record.pop("_recompute", False) and self._may_recompute(index):
                logger.info("sweep: point %d lost its result with a worker", index)
                self.client.cancel([future])
                self._submit([index], fixed, recompute=True)
                continue
            if (
                record["status"] in _RETRYABLE
                and self.attempts[index] <= self.plan.retries
            ):
                self._submit([index], fixed)
                continue
            self._store(index, record)

    def _may_recompute(self, index: int) -> bool:
        """Whether point ``index`` may run again after its result was lost."""
        return self.recomputes[index] < _MAX_RECOMPUTES and self._n_workers() > 0

    def _store(self, index: int, record: dict[str, Any]) -> None:
        """Keep the final record of point ``index`` and advance the bar."""
        record["attempts"] = self.attempts[index]
        self.records[index] = record
        _advance(self.bar, record, self.counts)

    def _outcome(self, future) -> dict[str, Any]:
        """The record of a done future: its result, or why there is none."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        if future.status == "error":
            return _task_error(future.exception())
        wait_s = min(self.no_worker_timeout, _FETCH_TIMEOUT_S)
        try:  # a finished result that died with its worker may never arrive
            return future.result(timeout=wait_s)
        except CancelledError as error:
            return _lost(f"cancelled before it finished: {describe_error(error)}")
        except TimeoutError:
            record = _lost(
                f"result lost with its worker (not fetched within {wait_s:g} s)"
            )
            return {**record, "_recompute": True}
        except KilledWorker as error:
            return _lost(describe_error(error))
        except Exception as error:
            return _task_error(error)

    def _watch_workers(self, idle_since: float | None) -> float | None:
        """Track how long no worker has existed; give up on points after too long."""
        if self._n_workers() > 0:
            return None
        now = time.monotonic()
        idle_since = now if idle_since is None else idle_since
        if now - idle_since > self.no_worker_timeout:
            reason = (
                f"no Dask worker for {self.no_worker_timeout:g} s (all died or none "
                "started); point not finished"
            )
            logger.warning("sweep: %s; %d points lost", reason, len(self.pending))
            for index in self.pending.values():
                self._store(index, _lost(reason))
            self.client.cancel(list(self.pending))
            self.pending.clear()
        return idle_since

    def _n_workers(self) -> int:
        """Number of workers the scheduler knows, 0 if it cannot be asked."""
        if self.client.status != "running":
            return 0
        try:
            return len(self.client.nthreads())
        except (OSError, TimeoutError) as error:
            logger.debug("cannot count workers: %s", error)
            return 0


def _task_error(error: BaseException | None) -> dict[str, Any]:
    """Record of a Dask task that erred outside ``simulate`` (or killed workers)."""
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return _lost(describe_error(error))
    return {"status": "failed", "error": describe_error(error), "duration_s": np.nan}


def _lost(reason: str) -> dict[str, Any]:
    """Record of a point whose computation was lost."""
    return {"status": "lost", "error": reason, "worker": "", "duration_s": np.nan}


def _to_frame(
    points: list[dict[str, Any]], records: list[dict[str, Any]]
) -> pd.DataFrame:
    """One row per point: parameters, results, then the reserved columns."""
    params = list(dict.fromkeys(key for point in points for key in point))
    taken = set(params) | set(RESERVED_COLUMNS)
    rows, results = [], {}
    for point, record in zip(points, records, strict=True):
        row = dict(point)
        for key, value in record.get("result", {}).items():
            column = f"{key}_result" if key in taken else key
            results.setdefault(column, key)
            row[column] = value
        row.update({name: record.get(name) for name in RESERVED_COLUMNS})
        rows.append(row)
    renamed = sorted(c for c, k in results.items() if c != k)
    if renamed:
        warnings.warn(
            f"result columns renamed to avoid clashes: {renamed}", stacklevel=3
        )
    columns = [*params, *results, *RESERVED_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    frame["duration_s"] = frame["duration_s"].astype(float)
    return frame
