"""Run a training study: one agent per combination of config values, one CSV table.

Usage::

    # 3 reward modes x 2 action modes x 3 seeds on a local cluster of 2 workers
    python scripts/training_study.py --name rewards --base base.yaml \\
        --grid reward_mode=objective_improvement,log_improvement,negative_objective \\
        --grid action_mode=delta,direct --grid seed=0,1,2 --workers 2

    # on a running cluster (SSH, Kubernetes): the folder must be shared by the workers
    python scripts/training_study.py --scheduler tcp://10.0.0.5:8786 \\
        --folder /shared/studies/lr --grid learning_rate=1e-4,3e-4,1e-3

Each ``--grid KEY=V1,V2`` adds an axis; values are read as YAML (``0.1``, ``true``,
``null``, ``[64, 64]``; commas inside brackets do not split). The agents, training logs
and recordings go to ``--folder`` (default ``studies/<name>``), the table to ``--out``
(default ``<folder>/study.csv``). Without ``--workers`` or ``--scheduler`` the
trainings run one after another in this process. Rerun with ``--if-exists reuse`` to
train only the points that have no agent yet. The exit status is 1 if any point did
not end ``ok``.
"""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rltutorial.paths import studies_dir
from rltutorial.sweep import make_client, run_sweep
from rltutorial.sweep.studies import IF_EXISTS

SHOWN = (
    "median_mae",
    "success_rate",
    "near_optimal_rate",
    "median_optimality_ratio",
    "mean_steps",
    "train_time_s",
    "agent",
    "status",
    "error",
)


def split_values(text: str) -> list[str]:
    """Split at commas that are not inside brackets: ``"[1, 2],[3]"`` -> two items."""
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [*items, current]


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """``"seed=0,1,2"`` -> ``("seed", [0, 1, 2])`` (values read as YAML)."""
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not values.strip():
        raise argparse.ArgumentTypeError(
            f"--grid needs KEY=V1,V2,..., e.g. seed=0,1,2; got {text!r}"
        )
    try:
        parsed = [yaml.safe_load(value) for value in split_values(values)]
    except yaml.YAMLError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: {error}") from None
    return key.strip(), parsed


def study_points(axes: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every combination of the axes, the first varying slowest."""
    keys = [key for key, _ in axes]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise SystemExit(f"--grid given twice for {duplicates}")
    combos = itertools.product(*(values for _, values in axes))
    return [dict(zip(keys, combo, strict=True)) for combo in combos]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--grid",
        type=parse_axis,
        action="append",
        required=True,
        metavar="KEY=V1,V2",
        help="config key and its values (repeat for more axes)",
    )
    parser.add_argument(
        "--base", type=Path, help="base config YAML (default: defaults)"
    )
    parser.add_argument("--name", default="study", help="study name (in run names)")
    parser.add_argument("--folder", type=Path, help="default: studies/<name>")
    parser.add_argument(
        "--out", type=Path, help="CSV table (default: <folder>/study.csv)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="start a local cluster of N workers")
    where.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--evaluation-episodes", type=int, default=50)
    parser.add_argument("--recorded-episodes", type=int, default=0)
    parser.add_argument("--if-exists", choices=IF_EXISTS, default="fail")
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--timeout", type=float, help="s per training (default: none)")
    return parser.parse_args(argv)


def run_study(args: argparse.Namespace) -> pd.DataFrame:
    """Train every point of the study where asked and return the table."""
    folder = args.folder or studies_dir() / args.name
    kwargs = {
        "base_config": args.base,
        "folder": folder,
        "study": args.name,
        "evaluation_episodes": args.evaluation_episodes,
        "recorded_episodes": args.recorded_episodes,
        "if_exists": args.if_exists,
    }
    points = study_points(args.grid)
    client = None
    if args.workers is not None or args.scheduler is not None:
        client = make_client(address=args.scheduler, n_workers=args.workers)
    try:
        return run_sweep(
            "training",
            points,
            client,
            retries=args.retries,
            timeout=args.timeout,
            simulate_kwargs=kwargs,
        )
    finally:
        if client is not None:
            client.close()


def main(argv: list[str] | None = None) -> int:
    """Run the study, write the CSV, print the table; 1 if a point is not ok."""
    logging.basicConfig(level=logging.WARNING)
    args = parse_args(argv)
    frame = run_study(args)
    out = args.out or (args.folder or studies_dir() / args.name) / "study.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    params = [key for key, _ in args.grid]
    shown = [*params, *(column for column in SHOWN if column in frame)]
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(frame[shown].to_string(index=False))
    print(f"\n{(frame['status'] == 'ok').sum()}/{len(frame)} ok; table in {out}")
    return int((frame["status"] != "ok").any())


if __name__ == "__main__":
    raise SystemExit(main())
