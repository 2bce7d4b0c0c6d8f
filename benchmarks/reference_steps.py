"""Step by step: how close agents get to the optimum, and which focal settings they visit.

For each agent, on the seeded problems 0 … n − 1 of the focusing task (the episodes of
``evaluate_agent``), prints

- per step, the share of problems within 1.5× of the optimum (raw ``sigma_x +
  sigma_y``, the optimum table of :mod:`rltutorial.evaluation.optimum`) and the median
  ratio, and the first step at which the share reaches 0.95 with a median ≤ 1.05;
- the settings after each of the first three steps, named by the focal-plane setting
  they are at (A+, A−, B+, B−; within 0.5 1/m² in each quadrupole) or "other", as
  paths (e.g. ``A+ → A− → A−``) with their counts, and how often the final setting's
  branch is the optimum's.

    python benchmarks/reference_steps.py                      # reference, n=200
    python benchmarks/reference_steps.py "Staci Lanphear" reference -n 50
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from rltutorial.agents import load_agent
from rltutorial.envs.focal import focal_settings
from rltutorial.evaluation.evaluate import evaluate_agent
from rltutorial.evaluation.optimum import optimum_table

NEAR_OPTIMAL = 1.5
#: Largest distance (1/m², each quadrupole) at which a setting counts as a focal one.
TOLERANCE = 0.5


def focal_name(quadrupoles: np.ndarray) -> str:
    """A+, A−, B+, B− if Q1, Q2, Q3 (1/m²) lie within TOLERANCE of it, else "other"."""
    for name, setting in focal_settings().items():
        if np.all(np.abs(np.asarray(quadrupoles) - setting) <= TOLERANCE):
            return name
    return "other"


def step_table(episodes: pd.DataFrame, optima: pd.Series) -> pd.DataFrame:
    """Per step: share within 1.5× of the optimum and median ratio."""
    ratio = episodes["focus_objective"] / optima.reindex(episodes["episode"]).to_numpy()
    grouped = ratio.groupby(episodes["step"])
    return pd.DataFrame(
        {
            "within 1.5×": grouped.apply(lambda r: (r <= NEAR_OPTIMAL).mean()),
            "median ratio": grouped.median(),
        }
    )


def first_step(table: pd.DataFrame, share: float = 0.95, median: float = 1.05):
    """First step with at least ``share`` within 1.5× and a median ratio ≤ ``median``."""
    reached = table[(table["within 1.5×"] >= share) & (table["median ratio"] <= median)]
    return int(reached.index[0]) if len(reached) else None


def paths(episodes: pd.DataFrame, steps: int = 3) -> pd.Series:
    """Counts of the focal settings visited after steps 1 … ``steps``."""
    names = episodes[episodes["step"].between(1, steps)].sort_values("step")
    labels = names.apply(lambda row: focal_name(row[["Q1", "Q2", "Q3"]]), axis=1)
    per_episode = labels.groupby(names["episode"]).agg(" → ".join)
    return per_episode.value_counts()


def optimum_branch(table: pd.DataFrame) -> pd.Series:
    """The focal setting each optimum lies next to (by the signs of Q1 and Q2)."""
    branch = np.where(np.sign(table["q2"]) == np.sign(table["q1"]), "B", "A")
    sign = np.where(table["q1"] > 0, "+", "-")
    return pd.Series(
        [b + s for b, s in zip(branch, sign, strict=True)], index=table.index
    )


def report(name: str, n: int) -> str:
    """The markdown report of one agent."""
    agent = load_agent(name)
    episodes = evaluate_agent(agent, n=n, seed=0).episodes
    table = optimum_table().reindex(range(n))
    steps = step_table(episodes, table["objective"])
    last = episodes.sort_values("step").groupby("episode").tail(1).set_index("episode")
    final = last.apply(lambda row: focal_name(row[["Q1", "Q2", "Q3"]]), axis=1)
    same = (final == optimum_branch(table).reindex(final.index)).mean()
    shown = steps.loc[[s for s in (0, 1, 2, 3, 5, 10, 25) if s in steps.index]]
    lines = [
        f"### {agent.name} ({agent.config['action_mode']}), {n} problems",
        "",
        "| step | " + " | ".join(str(s) for s in shown.index) + " |",
        "|---" * (len(shown) + 1) + "|",
        "| within 1.5× | "
        + " | ".join(f"{v:.1%}" for v in shown["within 1.5×"])
        + " |",
        "| median ratio | "
        + " | ".join(f"{v:.3f}" for v in shown["median ratio"])
        + " |",
        "",
        f"First step with ≥ 95 % within 1.5× and median ≤ 1.05: {first_step(steps)}.",
        f"Final setting at the optimum's focal setting: {same:.1%}; final settings: "
        + ", ".join(f"{k} {v}" for k, v in final.value_counts().items())
        + ".",
        "",
        "Settings after steps 1, 2, 3: "
        + "; ".join(f"{path}: {count}" for path, count in paths(episodes).items())
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    """Print the report of each agent named."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agents", nargs="*", default=["reference"])
    parser.add_argument("-n", type=int, default=200, help="problems (seeds 0..n-1)")
    args = parser.parse_args()
    load, start = os.getloadavg(), time.perf_counter()
    for name in args.agents:
        print(report(name, args.n), end="\n\n")
    print(
        f"wall time {time.perf_counter() - start:.0f} s; load average before "
        f"{', '.join(f'{v:.2f}' for v in load)} (shared machine)"
    )


if __name__ == "__main__":
    main()
