"""Classical optimisers and agents on the same seeded focusing problems, side by side.

Every method gets the same ``n`` problems (seeds ``seed … seed + n − 1`` of the
workshop's focusing task) and the same budget of simulations. Prints one markdown row
per method: success rate (final beam within 40 µm in sigma_x and sigma_y), median final
mean |error| with quartiles, median steps to the threshold, simulations used, the median
ratio of the final beam to the best achievable one and the share within 1.5× of it, in
simulation and at the screen's resolution (each plane floored at one binned pixel), and
wall time per problem; then the total wall time. Optimisers end at their best measured
setting, agents at their last step. The physics-informed baselines (``always-a+``,
``probe-a``, ``probe-infer-set``, ``probe-infer-refine``) stop after their few steps.

By default every kind of method takes part: random search, Nelder-Mead, BoTorch's BO,
Xopt's BO, Nelder-Mead and RCDS (when ``xopt`` is installed), the focusing agents of the
zoo (Bertha Sparkman, Betty Gordon, Sean Kelley, Veronica Mosley and the reference agent;
Gary Buchwald and David Archibald leave the screen and can be named with ``--methods``)
and the four physics-informed baselines. The two BO methods take about 10–20 s per
problem; ``--skip bo xopt-bo`` leaves them out of a large run.

    python benchmarks/compare_methods.py                  # n=100, budget 50
    python benchmarks/compare_methods.py --quick          # n=10
    python benchmarks/compare_methods.py --methods nelder-mead "Sean Kelley" -n 20
    python benchmarks/compare_methods.py --methods always-a+ probe-a probe-infer-set
    python benchmarks/compare_methods.py -n 100 --skip bo xopt-bo \\
        --out benchmarks/results/compare_methods.csv \\
        --report benchmarks/results/compare_methods.md

``--task-of NAME`` poses the task of the zoo agent NAME instead (its config, e.g. the
full task: all five magnets, positions and sizes, random misalignments, reachable
targets); success and errors then count mu_x and mu_y too when that task asks for them.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time

import numpy as np
import pandas as pd

from rltutorial.agents import load_agent
from rltutorial.optimisers import compare_methods
from rltutorial.threads import torch_threads

#: Xopt's methods (run only when the ``xopt`` package is installed).
XOPT_METHODS = ("xopt-bo", "xopt-nelder-mead", "xopt-rcds")
DEFAULT_METHODS = (
    "random",
    "nelder-mead",
    "bo",
    *XOPT_METHODS,
    "Bertha Sparkman",
    "Betty Gordon",
    "Sean Kelley",
    "Veronica Mosley",
    "reference",
    "always-a+",
    "probe-a",
    "probe-infer-set",
    "probe-infer-refine",
)


def default_methods(skip: list[str]) -> list[str]:
    """:data:`DEFAULT_METHODS` without ``skip`` (and without Xopt's when it is missing)."""
    missing_xopt = importlib.util.find_spec("xopt") is None
    return [
        method
        for method in DEFAULT_METHODS
        if method not in skip and not (missing_xopt and method in XOPT_METHODS)
    ]


def _steps(steps: float) -> str:
    """Median steps to the threshold, "–" when no problem reached it."""
    return "–" if np.isnan(steps) else f"{steps:g}"


def _markdown(table: pd.DataFrame) -> str:
    """The comparison as a markdown table, lengths in µm."""
    rows = [
        "| method | final | success | median MAE (µm) | MAE q25–q75 (µm) "
        "| best MAE (µm) | reached | steps to threshold | simulations "
        "| × optimum (simulation) | ≤ 1.5× (simulation) "
        "| × optimum (screen resolution) | ≤ 1.5× (screen resolution) | s / problem |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, row in table.iterrows():
        rows.append(
            f"| {method} | {row['final_rule']} | {row['success_rate']:.0%} "
            f"| {row['median_final_mae'] * 1e6:.1f} "
            f"| {row['mae_q25'] * 1e6:.1f}–{row['mae_q75'] * 1e6:.1f} "
            f"| {row['median_best_mae'] * 1e6:.1f} | {row['reached_rate']:.0%} "
            f"| {_steps(row['median_steps_to_threshold'])} "
            f"| {row['mean_simulations']:.1f} "
            f"| {row['median_optimality_ratio']:.2f} "
            f"| {row['near_optimal_rate']:.0%} "
            f"| {row['median_resolution_ratio']:.2f} "
            f"| {row['resolution_near_optimal_rate']:.0%} "
            f"| {row['wall_time_per_problem_s']:.2f} |"
        )
    return "\n".join(rows)


def _load(load: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


def main(argv: list[str] | None = None) -> None:
    """Run the comparison with the command-line arguments ``argv`` (default sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--methods", nargs="+", help="method names (default: every kind, see above)"
    )
    parser.add_argument(
        "--skip", nargs="+", default=[], help="leave these default methods out"
    )
    parser.add_argument("-n", type=int, default=100, help="problems (seeds)")
    parser.add_argument("--budget", type=int, default=50, help="simulations each")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--quick", action="store_true", help="n=10")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--task-of", metavar="AGENT", help="pose the task of this zoo agent instead"
    )
    parser.add_argument(
        "--out", help="also write the table (one row per method) to this CSV file"
    )
    parser.add_argument(
        "--report", help="also write what is printed (markdown) to this file"
    )
    args = parser.parse_args(argv)
    n = 10 if args.quick else args.n
    unknown = sorted(set(args.skip) - set(DEFAULT_METHODS))
    if unknown:
        parser.error(
            f"--skip names no default method: {unknown}; defaults: {DEFAULT_METHODS}"
        )
    methods = args.methods or default_methods(args.skip)
    config = load_agent(args.task_of).config if args.task_of else None
    load_before = os.getloadavg()
    start = time.perf_counter()
    with torch_threads(1):
        table = compare_methods(
            methods,
            n=n,
            budget=args.budget,
            seed=args.seed,
            config=config,
            progress=not args.no_progress,
        )
    wall = time.perf_counter() - start
    task = f"the task of {args.task_of}" if args.task_of else "the focusing task"
    words = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "benchmarks/compare_methods.py", *words])
    lines = [
        f"{n} problems of {task} (seeds {args.seed}–{args.seed + n - 1}), "
        f"budget {args.budget}:",
        "",
        _markdown(table),
        "",
        f"wall time: {wall:.0f} s; load average (1, 5, 15 min) before "
        f"{_load(load_before)}, after {_load(os.getloadavg())}",
        f"command: {command}",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        table.to_csv(args.out)
        print(f"table written to {args.out}")
    if args.report:
        with open(args.report, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        print(f"report written to {args.report}")


if __name__ == "__main__":
    main()
