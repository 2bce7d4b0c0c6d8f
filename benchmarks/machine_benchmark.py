"""The virtual ARES on EPICS against the simulation: step latency and the tuning comparison.

Latency: the same seeded sequence of ``delta`` actions (uniform within the action box)
is stepped in simulation and on the virtual machine (``AresEA`` on an ``EpicsBackend``),
once with the machine's realistic defaults (2 s full-range ramp, 10 frames/s, 1 %
reading noise, 2 % drift) and once fast and exact (0.2 s ramp, 50 frames/s, no noise
or drift). Comparison: ``compare_methods`` on the same seeded problems in simulation and
on the virtual machine (realistic settings, its incoming beam seeded per problem), with
Xopt's rows beside random search, SciPy Nelder-Mead, the BoTorch loop and an agent.
Results are written to ``benchmarks/results/machine_*.csv`` and printed as markdown.

    python benchmarks/machine_benchmark.py                      # latency + comparison
    python benchmarks/machine_benchmark.py --part latency
    python benchmarks/machine_benchmark.py --part compare -n 10 --budget 50
    python benchmarks/machine_benchmark.py --part compare --where virtual
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rltutorial.envs import AresEA, AresEACheetah
from rltutorial.machine import VirtualAres
from rltutorial.optimisers import compare_methods

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_METHODS = (
    "random",
    "nelder-mead",
    "bo",
    "xopt-nelder-mead",
    "xopt-rcds",
    "xopt-bo",
    "Sean Kelley",
)
#: The virtual machine's realistic defaults (as ``python -m rltutorial.machine serve``).
REALISTIC = {"noise": 0.01, "drift": 0.02, "ramp_time": 2.0, "frame_rate": 10.0}
EXACT = {"noise": 0.0, "drift": 0.0, "ramp_time": 0.2, "frame_rate": 50.0}


def _step_times(env: AresEA, steps: int, seed: int) -> np.ndarray:
    """Wall time (s) of each of ``steps`` seeded random steps after a reset."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    times = []
    for _ in range(steps):
        action = rng.uniform(env.action_space.low, env.action_space.high)
        start = time.perf_counter()
        env.step(action)
        times.append(time.perf_counter() - start)
    return np.array(times)


def latency(steps: int = 30, seed: int = 0) -> pd.DataFrame:
    """Step times in simulation and on the virtual machine (two settings)."""
    rows = {"simulation (Cheetah)": _step_times(AresEACheetah(), steps, seed)}
    for label, settings in (
        ("virtual machine, exact", EXACT),
        ("virtual machine, realistic", REALISTIC),
    ):
        with (
            VirtualAres(**settings) as machine,
            machine.backend(hidden_state="seeded") as backend,
        ):
            rows[label] = _step_times(AresEA(backend=backend), steps, seed)
    return pd.DataFrame(
        {
            label: {
                "median_step_s": float(np.median(t)),
                "mean_step_s": float(np.mean(t)),
                "max_step_s": float(np.max(t)),
                "steps": len(t),
            }
            for label, t in rows.items()
        }
    ).T.rename_axis("where")


def comparison(methods, n: int, budget: int, where: str) -> pd.DataFrame:
    """compare_methods in simulation or on the virtual machine (realistic settings)."""
    if where == "simulation":
        return compare_methods(methods, n=n, budget=budget)
    with (
        VirtualAres(**REALISTIC, seed=0) as machine,
        machine.backend(hidden_state="seeded") as backend,
    ):
        return compare_methods(methods, n=n, budget=budget, backend=backend)


def _latency_markdown(table: pd.DataFrame) -> str:
    rows = ["| where | median step (s) | mean step (s) | max step (s) | steps |"]
    rows.append("|---|---|---|---|---|")
    for where, row in table.iterrows():
        rows.append(
            f"| {where} | {row['median_step_s']:.4f} | {row['mean_step_s']:.4f} "
            f"| {row['max_step_s']:.4f} | {int(row['steps'])} |"
        )
    return "\n".join(rows)


def _markdown(table: pd.DataFrame) -> str:
    rows = [
        "| method | success | median MAE (µm) | MAE q25–q75 (µm) | s / problem |",
        "|---|---|---|---|---|",
    ]
    for method, row in table.iterrows():
        rows.append(
            f"| {method} | {row['success_rate']:.0%} "
            f"| {row['median_final_mae'] * 1e6:.1f} "
            f"| {row['mae_q25'] * 1e6:.1f}–{row['mae_q75'] * 1e6:.1f} "
            f"| {row['wall_time_per_problem_s']:.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["latency", "compare", "all"], default="all")
    parser.add_argument("-n", type=int, default=10, help="problems per method")
    parser.add_argument("--budget", type=int, default=50, help="steps per problem")
    parser.add_argument("--steps", type=int, default=30, help="steps for the latency")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument(
        "--where",
        nargs="+",
        choices=["simulation", "virtual"],
        default=["simulation", "virtual"],
        help="where the comparison runs (each table is written when it is done)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    start = time.perf_counter()
    if args.part in ("latency", "all"):
        table = latency(args.steps)
        table.to_csv(RESULTS / "machine_latency.csv")
        print(_latency_markdown(table), flush=True)
    if args.part in ("compare", "all"):
        for where in args.where:
            table = comparison(args.methods, args.n, args.budget, where)
            columns = [
                c for c in table.columns if not isinstance(table[c].iloc[0], dict)
            ]
            table[columns].to_csv(RESULTS / f"machine_compare_{where}.csv")
            print(f"\n{where} (n={args.n}, budget {args.budget}):\n{_markdown(table)}")
    print(f"\nwall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
