"""Sweep scaling: serial vs a LocalCluster with 1, 2, ... worker processes.

The workload is CPU-bound pure Python/numpy (a chain of small 4x4 matrix products,
calibrated to about 50 ms per point), so it holds the GIL: only processes scale.
Prints wall times, speedups over serial, parallel efficiency and the per-task
overhead of going through Dask.

    python benchmarks/sweep_scaling.py            # 64 points of ~50 ms
    python benchmarks/sweep_scaling.py --quick    # 16 points, a few seconds
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from multiprocessing import get_context

import numpy as np

from rltutorial.sweep import grid, make_client, run_sweep


def matrix_chain(seed: int, n_products: int) -> dict[str, float]:
    """Multiply ``n_products`` random-ish 4x4 matrices; return the final trace."""
    rng = np.random.default_rng(seed)
    matrices = rng.normal(scale=0.5, size=(8, 4, 4))
    state = np.eye(4)
    for step in range(n_products):
        state = matrices[step % 8] @ state
        state /= np.abs(state).max()
    return {"trace": float(np.trace(state))}


def noop(seed: int) -> dict[str, float]:
    """A task that does nothing, to measure pure scheduling overhead."""
    return {"value": float(seed)}


def calibrate(target_s: float) -> int:
    """Number of products that take about ``target_s`` seconds here."""
    n_probe = 2000
    start = time.perf_counter()
    matrix_chain(0, n_probe)
    elapsed = time.perf_counter() - start
    return max(1, int(n_probe * target_s / elapsed))


def timed_sweep(points: list[dict], client, n_products: int) -> tuple[float, float]:
    """Wall time of one sweep and the mean in-task duration, in s."""
    start = time.perf_counter()
    frame = run_sweep(
        matrix_chain,
        points,
        client=client,
        progress=False,
        simulate_kwargs={"n_products": n_products},
    )
    wall = time.perf_counter() - start
    if set(frame["status"]) != {"ok"}:
        raise RuntimeError(f"benchmark points failed:\n{frame[frame.status != 'ok']}")
    return wall, float(frame["duration_s"].mean())


def best_sweep(points, client, n_products: int, repeat: int) -> tuple[float, float]:
    """Fastest of ``repeat`` sweeps: (wall s, mean in-task duration s)."""
    return min(timed_sweep(points, client, n_products) for _ in range(repeat))


def on_cluster(n_workers: int, points: list[dict], n_products: int, repeat: int):
    """(wall s, task s, no-op overhead per task s) on a fresh LocalCluster."""
    with make_client(n_workers=n_workers, dashboard_address=":0") as client:
        timed_sweep(points[: 2 * n_workers], client, n_products)  # warm-up imports
        wall, task_s = best_sweep(points, client, n_products, repeat)
        n_noop = 4 * len(points)
        start = time.perf_counter()
        run_sweep(noop, grid(seed=range(n_noop)), client=client, progress=False)
        overhead = (time.perf_counter() - start) / n_noop
    return wall, task_s, overhead


def pool_baseline(n_procs: int, n_points: int, n_products: int, repeat: int) -> float:
    """Best wall time of plain ``multiprocessing`` on the same work (no Dask), in s."""
    work = partial(matrix_chain, n_products=n_products)
    with get_context("spawn").Pool(n_procs) as pool:
        pool.map(work, range(2 * n_procs))  # start-up and imports
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            pool.map(work, range(n_points), chunksize=1)
            times.append(time.perf_counter() - start)
    return min(times)


ROW = "{:<12}{:>9}{:>9}{:>12}{:>10}{:>16}"


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=64)
    parser.add_argument("--ms-per-point", type=float, default=50.0)
    parser.add_argument("--max-workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="best of N sweeps")
    parser.add_argument("--quick", action="store_true", help="16 points, 1 repeat")
    args = parser.parse_args()
    n_points, repeat = (16, 1) if args.quick else (args.points, args.repeat)
    n_products = calibrate(args.ms_per_point / 1000)
    points = grid(seed=range(n_points))
    timed_sweep(points[:2], None, n_products)  # warm-up
    serial, serial_task = best_sweep(points, None, n_products, repeat)
    print(f"{n_points} points of {n_products} 4x4 products, best of {repeat}")
    print(
        ROW.format(
            "mode", "wall s", "speedup", "efficiency", "task ms", "overhead/task"
        )
    )
    print(
        ROW.format(
            "serial", f"{serial:.2f}", "1.00", "1.00", f"{serial_task * 1e3:.1f}", "-"
        )
    )
    for n_workers in range(1, args.max_workers + 1):
        wall, task_s, overhead = on_cluster(n_workers, points, n_products, repeat)
        speedup = serial / wall
        print(
            ROW.format(
                f"{n_workers} worker(s)", f"{wall:.2f}", f"{speedup:.2f}",
                f"{speedup / n_workers:.2f}", f"{task_s * 1e3:.1f}",
                f"{overhead * 1e3:.1f} ms",
            )
        )  # fmt: skip
    n_procs = args.max_workers
    pool = pool_baseline(n_procs, n_points, n_products, repeat)
    speedup = serial / pool
    print(
        ROW.format(
            f"{n_procs} procs (mp)", f"{pool:.2f}", f"{speedup:.2f}",
            f"{speedup / n_procs:.2f}", "-", "-",
        )
    )  # fmt: skip
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print("task ms: mean time inside one point (grows when CPUs are contended)")
    print("overhead/task: wall time per no-op point through run_sweep on that cluster")
    print("procs (mp): plain multiprocessing.Pool, the best this machine allows now")


if __name__ == "__main__":
    main()
