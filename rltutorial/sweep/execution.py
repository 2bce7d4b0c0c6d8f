"""Running one sweep point where it lands: never raises, always returns a record.

These functions run inside Dask workers (or in this process for serial sweeps), so
they stay small and import only what they need.
"""

from __future__ import annotations

import cmath
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["PointTimeoutError", "describe_error", "run_point", "run_points"]

_SHOWN_BAD = 5  # non-finite results named in an error


class PointTimeoutError(TimeoutError):
    """A simulation did not return within the sweep's timeout."""


def run_points(
    points: list[Mapping[str, Any]],
    simulate: Callable[..., Any],
    fixed: Mapping[str, Any],
    watchdog_s: float | None,
    check_finite: bool = True,
) -> list[dict[str, Any]]:
    """Run several points one after another in one task; one record each, never raises.

    Each point keeps its own status, error, duration and timeout, exactly as
    :func:`run_point` gives them: sending points in chunks only saves the per-task cost
    of the scheduler.
    """
    return [
        run_point(point, simulate, fixed, watchdog_s, check_finite) for point in points
    ]


def run_point(
    point: Mapping[str, Any],
    simulate: Callable[..., Any],
    fixed: Mapping[str, Any],
    watchdog_s: float | None,
    check_finite: bool = True,
) -> dict[str, Any]:
    """Run one point where it lands (this process or a Dask worker); never raises.

    With ``check_finite`` a result that is a NaN or infinite number (or a numeric
    array holding one) makes the point ``failed``.
    """
    worker = _worker_address()
    start = time.perf_counter()
    try:
        result = _call(simulate, {**fixed, **point}, watchdog_s)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"simulate must return a dict of results, got {type(result).__name__}"
            )
        if check_finite:
            _check_finite(result)
        record = {"status": "ok", "error": "", "result": dict(result)}
    except TimeoutError as error:
        record = {"status": "timeout", "error": describe_error(error)}
    except Exception as error:
        record = {"status": "failed", "error": describe_error(error)}
    record.update(duration_s=time.perf_counter() - start, worker=worker)
    return record


def _check_finite(result: Mapping[str, Any]) -> None:
    """Raise ValueError naming the results that are NaN or infinite numbers.

    Checked are real numbers (Python or numpy scalars) and numeric numpy arrays; other
    values (text, paths, lists) pass unchecked.
    """
    bad = [
        f"{name}={repr(value)[:80]}"
        for name, value in result.items()
        if _not_finite(value)
    ]
    if bad:
        shown = ", ".join(bad[:_SHOWN_BAD]) + (" ..." if len(bad) > _SHOWN_BAD else "")
        raise ValueError(
            f"simulate returned non-finite results: {shown}; a point is 'ok' only "
            "when every numeric result is a finite number"
        )


def _not_finite(value: Any) -> bool:
    """True for a NaN or infinite number, or a numeric array holding one."""
    if isinstance(value, (int, str, bytes)):
        return False
    if isinstance(value, (float, complex)):
        return not cmath.isfinite(value)
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    if isinstance(value, (numpy.floating, numpy.complexfloating, numpy.ndarray)):
        array = numpy.asarray(value)
        if array.dtype.kind in "fc":
            return not bool(numpy.isfinite(array).all())
    return False


def _call(func: Callable[..., Any], kwargs: dict, watchdog_s: float | None) -> Any:
    """Call ``func(**kwargs)``; give up after ``watchdog_s`` s (thread left running)."""
    if watchdog_s is None:
        return func(**kwargs)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(**kwargs)
        except BaseException as error:  # handed to the caller below
            box["error"] = error

    thread = threading.Thread(target=target, name="rltutorial-sweep-point", daemon=True)
    thread.start()
    thread.join(watchdog_s)
    if thread.is_alive():
        raise PointTimeoutError(
            f"simulate did not return within {watchdog_s:g} s; it was abandoned "
            "(a Python thread cannot be killed: it may keep running in the background)"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def _worker_address() -> str:
    """Address of the Dask worker running this task, or ``"local"``."""
    distributed = sys.modules.get("distributed")  # never imported outside Dask
    if distributed is None:
        return "local"
    try:
        return str(distributed.get_worker().address)
    except ValueError:
        return "local"


def describe_error(error: BaseException) -> str:
    """``Type: message`` of an exception, on one line if short."""
    return f"{type(error).__name__}: {error}".strip()
