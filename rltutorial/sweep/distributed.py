"""Running a sweep's points on Dask: a bounded window of futures, results as they come.

At most a window of points (:func:`window_size`: a few per worker thread, at least
:data:`MIN_WINDOW`) is submitted at a time; each finished point's record goes straight
into the :class:`~rltutorial.sweep.table.ResultTable` and its future is released, and
the next points are submitted as the window empties. The scheduler (which lives in the
client process for a local cluster) and the client therefore hold a bounded number of
tasks and results however many points the sweep has. Failed or timed-out points are
resubmitted up to ``retries`` times; a point whose result died with its worker is
recomputed; points whose workers kept dying, or for which no worker was left, are
``lost``.

Short points travel in chunks: each task runs :func:`chunk_size` points one after
another (:func:`~rltutorial.sweep.execution.run_points`), sized from the median time of
the points finished so far so that a task takes about :data:`CHUNK_TARGET_S`; the
scheduler's cost per task (milliseconds) is then shared by many points. The first
points go one per task, one per worker thread (at least 8), to be measured. Every point keeps its own record, timeout and
retries; a chunk that fails as a whole (its worker died, its result was lost) is
resubmitted point by point, so a point that kills its worker still fails alone.
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from rltutorial.sweep.execution import describe_error, run_points
from rltutorial.sweep.table import ResultTable

__all__ = ["DistributedRun", "MIN_WINDOW", "window_size", "chunk_size", "split_chunks"]

logger = logging.getLogger(__name__)

RETRYABLE = frozenset({"failed", "timeout"})
#: Fewest points in flight at a time.
MIN_WINDOW = 64
#: Points in flight per worker thread.
WINDOW_PER_THREAD = 8
_POLL_S = 0.5
_RESIZE_S = 5.0  # how often the window follows the number of worker threads
_INLINE_KWARGS_BYTES = 2**20
_FETCH_TIMEOUT_S = 10.0  # wait for a finished point's result before recomputing it
_MAX_RECOMPUTES = 3  # fresh submissions of a point whose result died with a worker
#: Seconds of work a chunk of points should take (a task costs milliseconds).
CHUNK_TARGET_S = 0.5
#: Most points in one task.
MAX_CHUNK = 64
#: Points measured one per task before chunks are sized.
_MEASURED_POINTS = 8


def window_size(n_threads: int, chunk: int = 1) -> int:
    """Points in flight for ``n_threads`` worker threads: 8 each, at least 64, and at
    least 4 chunks of ``chunk`` points per thread."""
    return max(MIN_WINDOW, WINDOW_PER_THREAD * n_threads, 4 * n_threads * chunk)


def chunk_size(durations: list[float]) -> int:
    """Points per task for points of these durations (s): about CHUNK_TARGET_S of work,
    1 to MAX_CHUNK; 1 until :data:`_MEASURED_POINTS` points have been measured."""
    finite = [d for d in durations if np.isfinite(d) and d >= 0]
    if len(finite) < _MEASURED_POINTS:
        return 1
    median = float(np.median(finite))
    return int(np.clip(round(CHUNK_TARGET_S / max(median, 1e-6)), 1, MAX_CHUNK))


def split_chunks(indices: list[int], chunk: int, n_threads: int) -> list[list[int]]:
    """Split ``indices`` into tasks of at most ``chunk`` points, as evenly as possible,
    in a number of tasks that is a multiple of ``n_threads`` (so that the last round
    does not leave threads idle while one runs a full chunk)."""
    if not indices:
        return []
    n_tasks = -(-len(indices) // max(chunk, 1))
    if chunk > 1 and n_threads > 1:
        n_tasks = min(len(indices), -(-n_tasks // n_threads) * n_threads)
    return [
        part.tolist()
        for part in np.array_split(np.asarray(indices), n_tasks)
        if len(part)
    ]


class DistributedRun:
    """Submit points to Dask in a window, collect as they finish, watch for lost workers.

    Parameters
    ----------
    client : distributed.Client
        Where to run.
    plan : rltutorial.sweep.runner.Plan
        The validated sweep (simulate, points, fixed, retries, watchdog_s).
    table : ResultTable
        Receives each point's final record.
    on_record : callable
        Called with each final record (the progress bar).
    no_worker_timeout : float
        Seconds without any worker after which unfinished points are ``lost``.
    """

    def __init__(
        self,
        client,
        plan,
        table: ResultTable,
        on_record: Callable[[dict[str, Any]], None],
        no_worker_timeout: float,
    ) -> None:
        self.client, self.plan, self.table = client, plan, table
        self.on_record = on_record
        self.no_worker_timeout = no_worker_timeout
        n_points = len(plan.points)
        self.attempts = np.zeros(n_points, dtype=np.int32)
        self.recomputes = np.zeros(n_points, dtype=np.int8)
        self.pending: dict[Any, list[int]] = {}
        self.durations: list[float] = []
        self.chunk = 1
        self.finished: queue.SimpleQueue = queue.SimpleQueue()
        self.next_point = 0
        self.window = window_size(self._n_threads())
        self.resized = time.monotonic()
        self.tag = uuid.uuid4().hex[:10]
        self.tasks = 0

    def run(self) -> None:
        """Run all points; every point ends in the table (or the run raises)."""
        fixed = self._ship(self.plan.fixed)
        try:
            self._refill(fixed)
            self._collect(fixed)
        except BaseException:
            self.client.cancel(list(self.pending))
            raise

    def _ship(self, fixed: dict[str, Any]):
        """Scatter large shared arguments to all workers once; keep small ones."""
        from distributed.protocol import pickle

        if not fixed or len(pickle.dumps(fixed)) < _INLINE_KWARGS_BYTES:
            return fixed
        [future] = self.client.scatter([fixed], broadcast=True, hash=False)
        return future

    def _refill(self, fixed) -> None:
        """Submit new points until the window is full (or none are left)."""
        if time.monotonic() - self.resized > _RESIZE_S:
            self.window = window_size(self._n_threads(), self.chunk)
            self.resized = time.monotonic()
        window = self.window
        if len(self.durations) < _MEASURED_POINTS:  # measure before sizing chunks
            window = max(_MEASURED_POINTS, self._n_threads())
        free = window - self._in_flight()
        if free <= 0 or self.next_point >= len(self.plan.points):
            return
        stop = min(self.next_point + free, len(self.plan.points))
        self._submit(list(range(self.next_point, stop)), fixed, chunk=self.chunk)
        self.next_point = stop

    def _in_flight(self) -> int:
        """Points submitted and not yet collected."""
        return sum(len(indices) for indices in self.pending.values())

    def _submit(
        self, indices: list[int], fixed, recompute: bool = False, chunk: int = 1
    ) -> None:
        """Submit the next attempt of these points in tasks of ``chunk`` points.

        ``recompute=True`` re-runs the current attempt of a point whose finished
        result was lost with its worker; it does not count as a retry.
        """
        for index in indices:
            if recompute:
                self.recomputes[index] += 1
            else:
                self.attempts[index] += 1
        chunks = split_chunks(indices, chunk, self._n_threads())
        keys = []
        for part in chunks:
            self.tasks += 1
            first = part[0]
            keys.append(
                f"sweep-{self.tag}-{self.tasks}-{first}-{self.attempts[first]}-"
                f"{self.recomputes[first]}"
            )
        futures = self.client.map(
            run_points,
            [[self.plan.points[index] for index in part] for part in chunks],
            key=keys,
            simulate=self.plan.simulate,
            fixed=fixed,
            watchdog_s=self.plan.watchdog_s,
            check_finite=self.plan.check_finite,
        )
        for part, future in zip(chunks, futures, strict=True):
            self.pending[future] = part
            future.add_done_callback(self.finished.put)

    def _collect(self, fixed) -> None:
        """Take finished futures as they come; resubmit retries; refill the window."""
        idle_since = None
        while self.pending:
            try:
                future = self.finished.get(timeout=_POLL_S)
            except queue.Empty:
                idle_since = self._watch_workers(idle_since)
                continue
            indices = self.pending.pop(future, None)
            if indices is None:
                continue
            records = self._outcome(future, len(indices))
            future.release()
            del future
            if len(indices) > 1 and records[0].get("_whole_chunk"):
                logger.info("sweep: a chunk of %d points failed whole", len(indices))
                self._split(indices, fixed)
            else:
                for index, record in zip(indices, records, strict=True):
                    self._settle(index, record, fixed)
            self._resize_chunks()
            if self._in_flight() <= self.window // 2:
                self._refill(fixed)

    def _settle(self, index: int, record: dict[str, Any], fixed) -> None:
        """Store a point's record, or resubmit it (a retry or a recompute)."""
        record.pop("_whole_chunk", None)
        if record.pop("_recompute", False) and self._may_recompute(index):
            logger.info("sweep: point %d lost its result with a worker", index)
            self._submit([index], fixed, recompute=True)
        elif (
            record["status"] in RETRYABLE and self.attempts[index] <= self.plan.retries
        ):
            self._submit([index], fixed)
        else:
            if record["status"] == "ok":
                self.durations.append(float(record.get("duration_s", np.nan)))
            self._store(index, record)

    def _split(self, indices: list[int], fixed) -> None:
        """Resubmit the points of a chunk that failed as a whole, one per task; this
        attempt does not count as a retry."""
        for index in indices:
            self.attempts[index] -= 1
        self._submit(indices, fixed, chunk=1)

    def _resize_chunks(self) -> None:
        """Size new chunks from the points measured so far."""
        chunk = chunk_size(self.durations[-200:])
        if chunk != self.chunk:
            self.chunk = chunk
            self.window = window_size(self._n_threads(), chunk)

    def _may_recompute(self, index: int) -> bool:
        """Whether point ``index`` may run again after its result was lost."""
        return self.recomputes[index] < _MAX_RECOMPUTES and self._n_workers() > 0

    def _store(self, index: int, record: dict[str, Any]) -> None:
        """Keep the final record of point ``index``."""
        self.table.store(index, record, int(self.attempts[index]))
        self.on_record(record)

    def _outcome(self, future, n_points: int) -> list[dict[str, Any]]:
        """The records of a done future's points: its results, or why there are none
        (then one record for all, marked ``_whole_chunk``)."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        if future.status == "error":
            return self._whole(_task_error(future.exception()), n_points)
        wait_s = min(self.no_worker_timeout, _FETCH_TIMEOUT_S)
        try:  # a finished result that died with its worker may never arrive
            return future.result(timeout=wait_s)
        except CancelledError as error:
            reason = f"cancelled before it finished: {describe_error(error)}"
            return self._whole(_lost(reason), n_points)
        except TimeoutError:
            record = _lost(
                f"result lost with its worker (not fetched within {wait_s:g} s)"
            )
            return self._whole({**record, "_recompute": True}, n_points)
        except KilledWorker as error:
            return self._whole(_lost(describe_error(error)), n_points)
        except Exception as error:
            return self._whole(_task_error(error), n_points)

    @staticmethod
    def _whole(record: dict[str, Any], n_points: int) -> list[dict[str, Any]]:
        """The same record for each point of a chunk that failed as a whole."""
        return [{**record, "_whole_chunk": True} for _ in range(n_points)]

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
            unsubmitted = range(self.next_point, len(self.plan.points))
            logger.warning(
                "sweep: %s; %d points lost",
                reason,
                len(self.pending) + len(unsubmitted),
            )
            in_flight = [i for indices in self.pending.values() for i in indices]
            for index in [*in_flight, *unsubmitted]:
                self._store(index, _lost(reason))
            self.client.cancel(list(self.pending))
            self.pending.clear()
            self.next_point = len(self.plan.points)
        return idle_since

    def _n_workers(self) -> int:
        """Number of workers the scheduler knows, 0 if it cannot be asked."""
        return len(self._threads_per_worker())

    def _n_threads(self) -> int:
        """Number of worker threads the scheduler knows, 0 if it cannot be asked."""
        return sum(self._threads_per_worker().values())

    def _threads_per_worker(self) -> dict[str, int]:
        """Worker address -> threads, empty if the scheduler cannot be asked."""
        if self.client.status != "running":
            return {}
        try:
            return dict(self.client.nthreads())
        except (OSError, TimeoutError) as error:
            logger.debug("cannot count workers: %s", error)
            return {}


def _task_error(error: BaseException | None) -> dict[str, Any]:
    """Record of a Dask task that erred outside ``simulate`` (or killed workers)."""
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return _lost(describe_error(error))
    return {"status": "failed", "error": describe_error(error), "duration_s": np.nan}


def _lost(reason: str) -> dict[str, Any]:
    """Record of a point whose computation was lost."""
    return {"status": "lost", "error": reason, "worker": "", "duration_s": np.nan}
