"""Client memory of a large ``cheetah`` sweep on a local Dask cluster.

Each sweep size runs in a fresh Python process (so that one run's peak cannot hide
another's) with a 2-worker ``LocalCluster``; the scheduler of a local cluster lives in
the client process, so its memory is counted too. For every size the script prints:

- ``points`` and the wall time in s,
- ``traced peak``: the largest amount of Python memory (``tracemalloc``) allocated
  during ``run_sweep`` and not yet freed, in MB,
- ``RSS peak``: the client process's resident memory during the sweep, sampled every
  20 ms with psutil, minus the resident memory just before it, in MB,
- ``table``: the result table's own size (``DataFrame.memory_usage(deep=True)``), MB,
- ``per point``: (traced peak − table) / points, in bytes: what the sweep keeps per
  point beyond its row; it must not grow with the number of points.

Dask's scheduler keeps logs of recent transitions, messages and events, each capped at
``distributed.admin.low-level-log-length`` entries (1,000 by default); they fill up
during the first few thousand points and then stay at their cap. ``--log-length``
sets that cap for the cluster the benchmark starts, which separates those logs from
what the sweep itself keeps.

    python benchmarks/sweep_memory.py                      # 1,000 and 10,000 points
    python benchmarks/sweep_memory.py --points 2000 --workers 1 --log-length 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np

MB = 2**20


class PeakRSS:
    """Sample this process's resident memory in a thread; remember the largest."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval_s = interval_s
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def points_for(n: int) -> list[dict[str, float]]:
    """``n`` magnet settings: a q1 x q2 grid, q1 varying slowest."""
    from rltutorial.sweep import grid

    n_q1 = int(np.sqrt(n))
    while n % n_q1:
        n_q1 -= 1
    return grid(q1=np.linspace(-30, 30, n_q1), q2=np.linspace(-30, 30, n // n_q1))


def measure(n: int, workers: int, log_length: int | None) -> dict[str, float]:
    """Run one ``n``-point cheetah sweep here and return the figures."""
    import logging

    import dask
    import distributed  # noqa: F401 - registers the distributed config

    from rltutorial.sweep import make_client, run_sweep

    if log_length is not None:
        dask.config.set({"distributed.admin.low-level-log-length": log_length})
    logging.getLogger("distributed").setLevel(logging.ERROR)
    points = points_for(n)
    with make_client(n_workers=workers) as client:
        run_sweep("cheetah", points[:workers], client, progress=False)  # warm up
        tracemalloc.start()
        with PeakRSS() as rss:
            before = rss.peak
            start = time.perf_counter()
            table = run_sweep("cheetah", points, client, progress=False)
            wall = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    table_bytes = int(table.memory_usage(deep=True).sum())
    in_order = bool(np.allclose(table["q1"], [p["q1"] for p in points]))
    return {
        "points": n,
        "rows": len(table),
        "ok": int((table["status"] == "ok").sum()),
        "in_order": in_order,
        "wall_s": wall,
        "traced_peak_mb": traced_peak / MB,
        "rss_peak_mb": (rss.peak - before) / MB,
        "table_mb": table_bytes / MB,
        "per_point_bytes": (traced_peak - table_bytes) / n,
    }


def main() -> None:
    """Run every size in its own process and print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--log-length", type=int, help="Dask's log cap (default 1000)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.workers, args.log_length)))
        return
    print(f"load average before: {os.getloadavg()}", flush=True)
    header = "points  rows     ok  order  wall s  traced peak MB  RSS peak MB  table MB  per point B"
    print(header, flush=True)
    for n in args.points:
        command = [sys.executable, __file__, "--child", str(n)]
        command += ["--workers", str(args.workers)]
        if args.log_length is not None:
            command += ["--log-length", str(args.log_length)]
        output = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(output.stdout.strip().splitlines()[-1])
        print(
            f"{row['points']:6d} {row['rows']:5d} {row['ok']:6d} {row['in_order']!s:>6}"
            f" {row['wall_s']:7.1f} {row['traced_peak_mb']:15.1f}"
            f" {row['rss_peak_mb']:12.1f} {row['table_mb']:9.2f}"
            f" {row['per_point_bytes']:12.0f}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
