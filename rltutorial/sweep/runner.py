"""Run a sweep serially, isolated or on Dask and assemble the one-row-per-point table."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.sweep.backends import SWEEP_BACKENDS, SweepBackend, get_backend
from rltutorial.sweep.distributed import RETRYABLE, DistributedRun
from rltutorial.sweep.execution import run_point
from rltutorial.sweep.table import RESERVED_COLUMNS, STATUSES, ResultTable

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RESERVED_COLUMNS", "STATUSES", "SweepInterrupted", "run_sweep"]

_BACKEND_TIMEOUT_GRACE_S = 5.0


class SweepInterrupted(KeyboardInterrupt):
    """A sweep was interrupted (Ctrl-C); :attr:`table` holds what it had finished.

    It is a ``KeyboardInterrupt``, so code that does not know it still stops as
    before.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per point, as :func:`run_sweep` returns it: the finished points with
        their results, the others ``lost`` with the error
        :data:`~rltutorial.sweep.table.UNFINISHED`.
    n_finished : int
        Number of points that had finished.
    """

    def __init__(self, table: pd.DataFrame, n_finished: int) -> None:
        super().__init__(
            f"sweep interrupted: {n_finished} of {len(table)} points finished"
        )
        self.table = table
        self.n_finished = n_finished


@dataclass(frozen=True)
class Plan:
    """Everything a sweep needs, validated."""

    simulate: Callable[..., Any]
    points: list[dict[str, Any]]
    fixed: dict[str, Any]
    retries: int
    watchdog_s: float | None
    check_finite: bool = True
    results: tuple[str, ...] = ()


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
    isolate: bool = False,
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
        Parameter dicts, e.g. from :func:`grid` (not copied: leave them unchanged
        while the sweep runs). Their names must not be
        :data:`RESERVED_COLUMNS` or results the backend declares (for ``"cheetah"``:
        mu_x, sigma_x, mu_y, sigma_y).
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
    isolate : bool
        Serial sweeps only: run the points one at a time in a child process
        (:mod:`rltutorial.sweep.isolation`), so that a point that ends its process
        (``os._exit``, a crash) is reported ``lost`` and a timed-out one is killed.
        **Without a client or isolation a point that kills the process takes the
        whole sweep, finished points included, with it.**

    Returns
    -------
    pandas.DataFrame
        One row per point in input order: parameters, results (renamed
        ``<name>_result`` if they clash with a parameter or reserved column),
        ``status``, ``error``, ``duration_s`` (s), ``worker``, ``attempts``. A point is
        ``ok`` only if every numeric result is finite (NaN or inf make it ``failed``),
        unless the backend reports missing numbers as NaN (``allow_nan``, the
        ``training`` backend).

    Raises
    ------
    ValueError
        Before anything runs: for an unknown backend name, a point that is not a
        dict, a parameter named like a reserved column or a backend result, a
        negative ``retries``, a non-positive ``timeout``, a name in both the points
        and ``simulate_kwargs``, or ``isolate`` with a client.
    SweepInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``), carrying the table of what finished.
    """
    plan = _make_plan(simulate, points, retries, timeout, simulate_kwargs)
    if not no_worker_timeout > 0:
        raise ValueError(f"no_worker_timeout must be > 0 s, got {no_worker_timeout!r}")
    if isolate and client is not None:
        raise ValueError(
            "isolate=True is for serial sweeps (client=None); with a Dask client the "
            "points already run in worker processes"
        )
    table = ResultTable(len(plan.points))
    bar = _progress_bar(len(plan.points), progress)
    counts: dict[str, int] = {}

    def on_record(record: Mapping[str, Any]) -> None:
        _advance(bar, record, counts)

    attempts: Any = np.zeros(len(plan.points), dtype=np.int32)
    try:
        if client is None:
            _run_serial(plan, table, on_record, attempts, isolate)
        else:
            run = DistributedRun(client, plan, table, on_record, no_worker_timeout)
            attempts = run.attempts
            run.run()
    except KeyboardInterrupt:
        n_finished = table.n_done
        table.mark_unfinished(attempts)
        frame = table.frame(plan.points, plan.results)
        raise SweepInterrupted(frame, n_finished) from None
    finally:
        bar.close()
    return table.frame(plan.points, plan.results)


def _make_plan(simulate, points, retries, timeout, simulate_kwargs) -> Plan:
    """Validate the arguments of :func:`run_sweep` into a :class:`Plan`."""
    backend = _as_backend(simulate)
    points = list(points)
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise ValueError(f"point {index} is {point!r}; points must be dicts")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 s or None, got {timeout!r}")
    names = set().union(*points)
    _check_names(names, backend)
    fixed = dict(simulate_kwargs or {})
    clash = sorted(set(fixed).intersection(names), key=str)
    if clash:
        raise ValueError(f"{clash} given both in the points and in simulate_kwargs")
    if backend.prepare is not None:
        fixed = backend.prepare(fixed)
    watchdog = timeout
    if backend.accepts_timeout and timeout is not None:
        fixed["timeout"] = timeout
        watchdog = timeout + _BACKEND_TIMEOUT_GRACE_S
    points = [point if type(point) is dict else dict(point) for point in points]
    return Plan(
        backend.simulate,
        points,
        fixed,
        retries,
        watchdog,
        not backend.allow_nan,
        tuple(backend.results),
    )


def _check_names(names: set, backend: SweepBackend) -> None:
    """Refuse parameter names that are result columns: reserved or the backend's."""
    taken = set(RESERVED_COLUMNS) | set(backend.results)
    clash = sorted(names & taken, key=str)
    if not clash:
        return
    hint = "".join(
        f"; {backend.hints[name]}" for name in clash if name in backend.hints
    )
    results = f", results {list(backend.results)}" if backend.results else ""
    raise ValueError(
        f"parameter name(s) {clash} are columns of the result table (reserved "
        f"{list(RESERVED_COLUMNS)}{results}); rename the parameter{hint}"
    )


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


def _run_serial(
    plan: Plan,
    table: ResultTable,
    on_record: Callable[[Mapping[str, Any]], None],
    attempts: np.ndarray,
    isolate: bool,
) -> None:
    """Run all points one after another, here or in an isolated child process."""
    from contextlib import nullcontext

    from rltutorial.sweep.isolation import IsolatedPoints

    runner = (
        IsolatedPoints(plan.simulate, plan.fixed, plan.watchdog_s, plan.check_finite)
        if isolate
        else nullcontext()
    )
    with runner:
        for index, point in enumerate(plan.points):
            while True:
                attempts[index] += 1
                if isolate:
                    record = runner.run(point)
                else:
                    record = run_point(
                        point,
                        plan.simulate,
                        plan.fixed,
                        plan.watchdog_s,
                        plan.check_finite,
                    )
                if record["status"] not in RETRYABLE or attempts[index] > plan.retries:
                    break
            table.store(index, record, int(attempts[index]))
            on_record(record)
