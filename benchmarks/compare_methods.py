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

    python benchmarks/compare_methods.py                  # n=100, budget 50
    python benchmarks/compare_methods.py --quick          # n=10
    python benchmarks/compare_methods.py --methods nelder-mead "Sean Kelley" -n 20
    python benchmarks/compare_methods.py --methods always-a+ probe-a probe-infer-set

``--task-of NAME`` poses the task of the zoo agent NAME instead (its config, e.g. the
full task: all five magnets, positions and sizes, random misalignments, reachable
targets); success and errors then count mu_x and mu_y too when that task asks for them.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from rltutorial.agents import load_agent
from rltutorial.optimisers import compare_methods
from rltutorial.threads import torch_threads

DEFAULT_METHODS = (
    "random",
    "nelder-mead",
    "bo",
    "reference",
    "always-a+",
    "probe-a",
    "probe-infer-set",
    "probe-infer-refine",
)


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
            f"| {row['median_steps_to_threshold']:.0f} "
            f"| {row['mean_simulations']:.1f} "
            f"| {row['median_optimality_ratio']:.2f} "
            f"| {row['near_optimal_rate']:.0%} "
            f"| {row['median_resolution_ratio']:.2f} "
            f"| {row['resolution_near_optimal_rate']:.0%} "
            f"| {row['wall_time_per_problem_s']:.2f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
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
    args = parser.parse_args()
    n = 10 if args.quick else args.n
    config = load_agent(args.task_of).config if args.task_of else None
    start = time.perf_counter()
    with torch_threads(1):
        table = compare_methods(
            args.methods,
            n=n,
            budget=args.budget,
            seed=args.seed,
            config=config,
            progress=not args.no_progress,
        )
    wall = time.perf_counter() - start
    task = f"the task of {args.task_of}" if args.task_of else "the focusing task"
    print(
        f"{n} problems of {task} (seeds {args.seed}–{args.seed + n - 1}), "
        f"budget {args.budget}:"
    )
    print()
    print(_markdown(table))
    print()
    print(f"wall time: {wall:.0f} s")
    if args.out:
        table.to_csv(args.out)
        print(f"table written to {args.out}")


if __name__ == "__main__":
    main()
