"""Compare tuning methods on the same seeded problems: one row of numbers per method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rltutorial.config import validate_config
from rltutorial.envs.backend import Backend
from rltutorial.evaluation.metrics import (
    DEFAULT_THRESHOLD,
    optimality_ratios,
    ratio_metrics,
)
from rltutorial.evaluation.optimum import optimum_frame
from rltutorial.optimisers.problem import TuningProblem, check_count, check_seed
from rltutorial.optimisers.tuning import TuningResult, resolve_method, tune_problem

if TYPE_CHECKING:
    from rltutorial.agents import Agent

__all__ = [
    "COMPARISON_COLUMNS",
    "compare_methods",
]

#: Columns of :func:`compare_methods` (lengths in m, times in s).
COMPARISON_COLUMNS = (
    "n",
    "budget",
    "final_rule",
    "success_rate",
    "median_final_mae",
    "mae_q25",
    "mae_q75",
    "median_best_mae",
    "reached_rate",
    "median_steps_to_threshold",
    "mean_simulations",
    "median_optimality_ratio",
    "near_optimal_rate",
    "median_resolution_ratio",
    "resolution_near_optimal_rate",
    "wall_time_per_problem_s",
)


def summarize_runs(
    problems: pd.DataFrame, optima: pd.Series | pd.DataFrame | None = None
) -> dict:
    """Numbers of one method from its per-problem rows (:meth:`TuningResult.summary`).

    Parameters
    ----------
    problems : DataFrame
        One row per problem of one method.
    optima : Series or DataFrame, optional
        The best achievable focus by seed (see
        :func:`rltutorial.evaluation.metrics.optimality_ratios`; a DataFrame from
        :func:`rltutorial.evaluation.optimum.optimum_frame` for the resolution-aware
        ratios too).

    Returns
    -------
    dict
        The :data:`COMPARISON_COLUMNS`: ``success_rate`` (final step within threshold),
        ``median_final_mae`` with its quartiles ``mae_q25``/``mae_q75`` and
        ``median_best_mae`` (m), ``reached_rate`` (any step within threshold),
        ``median_steps_to_threshold`` (over the problems that reached it),
        ``mean_simulations`` (simulations used), in simulation
        ``median_optimality_ratio`` and ``near_optimal_rate`` (final objective over the
        best achievable, share within 1.5×), at the screen's resolution
        ``median_resolution_ratio`` and ``resolution_near_optimal_rate`` (sizes floored
        at one binned pixel), all NaN without the optimum table, and
        ``wall_time_per_problem_s`` (mean, s).
    """
    mae = problems["final_mae"].to_numpy()
    steps = problems["steps_to_threshold"].to_numpy(dtype=float)
    reached = np.isfinite(steps)
    final = pd.DataFrame(
        {
            "focus_objective": problems["final_objective"].to_numpy(),
            "sigma_x": problems["final_sigma_x"].to_numpy(),
            "sigma_y": problems["final_sigma_y"].to_numpy(),
        },
        index=problems["seed"].to_numpy(),
    )
    ratios = ratio_metrics(*optimality_ratios(final, optima))
    return {
        "n": len(problems),
        "budget": int(problems["budget"].iloc[0]),
        "final_rule": problems["final_rule"].iloc[0],
        "success_rate": float(problems["final_success"].mean()),
        "median_final_mae": float(np.median(mae)),
        "mae_q25": float(np.quantile(mae, 0.25)),
        "mae_q75": float(np.quantile(mae, 0.75)),
        "median_best_mae": float(problems["best_mae"].median()),
        "reached_rate": float(reached.mean()),
        "median_steps_to_threshold": (
            float(np.median(steps[reached])) if reached.any() else float("nan")
        ),
        "mean_simulations": float(problems["simulations"].mean()),
        **ratios,
        "wall_time_per_problem_s": float(problems["wall_time_s"].mean()),
    }


def _progress(total: int, enabled: bool):
    """The comparison's progress bar (see :func:`rltutorial.progress.progress_bar`)."""
    from rltutorial.progress import progress_bar

    return progress_bar(total, "tuning", "problem", enabled)


def _runs_frame(results: list[TuningResult]) -> pd.DataFrame:
    frames = [
        result.history.assign(method=result.method, seed=result.seed)
        for result in results
    ]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["method", "seed", *frame.columns[:-2]]]


def compare_methods(
    methods: Sequence[str | Agent],
    n: int = 100,
    budget: int = 50,
    seed: int = 0,
    config: Mapping[str, Any] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    include_position: bool | None = None,
    progress: bool = True,
    backend: str | Backend = "cheetah",
) -> pd.DataFrame:
    """Tune the same ``n`` seeded problems with each method and compare the outcomes.

    Parameters
    ----------
    methods : sequence of str or Agent
        Optimiser names (``"random"``, ``"nelder-mead"``, ``"bo"``, the
        physics-informed baselines such as ``"probe-infer-set"``), agent names or
        aliases (``"reference"``), or agents.
    n : int
        Problems: seeds ``seed … seed + n − 1``, the same for every method.
    budget : int
        Simulations per problem.
    seed : int
        Seed of the first problem.
    config : dict, optional
        Task config (default the workshop's focusing task).
    threshold : float
        Success threshold on each evaluated |error| in m.
    include_position : bool, optional
        Evaluate mu_x and mu_y as well as sigma_x and sigma_y; by default when the task
        asks for them (``objective: "full"``).
    progress : bool
        Show a progress bar (see :func:`rltutorial.progress.progress_bar`).
    backend : str or Backend
        The machine every method tunes (see :class:`TuningProblem`): the simulation by
        default, or e.g. ``EpicsBackend(address, hidden_state="seeded")`` for the same
        problems on the virtual machine.

    Returns
    -------
    DataFrame
        One row per method (index ``method``), the :data:`COMPARISON_COLUMNS` (see
        :func:`summarize_runs`). ``frame.attrs["problems"]`` holds one row per method
        and problem (:meth:`TuningResult.summary`), ``frame.attrs["runs"]`` every step
        of every run (columns ``method``, ``seed`` and those of
        :meth:`TuningProblem.history`), e.g. to plot ``best_objective`` against
        ``step``.

    Raises
    ------
    ValueError
        For no or unknown methods, ``n`` or ``budget`` below 1, or a bad seed.
    """
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise ValueError(
            f"methods must be a non-empty list of method names, got {methods!r}."
        )
    n, seed = check_count("n", n), check_seed(seed)
    budget = check_count("budget", budget)
    config = validate_config(config)
    runners = [resolve_method(method) for method in methods]
    names = [getattr(runner, "name", runner) for runner in runners]
    if len(set(names)) != len(names):
        raise ValueError(f"methods name the same method twice: {names!r}.")
    results: list[TuningResult] = []
    with _progress(n * len(runners), progress) as bar:
        for runner in runners:
            for problem_seed in range(seed, seed + n):
                problem = TuningProblem(
                    problem_seed, budget, config, threshold, include_position, backend
                )
                results.append(tune_problem(runner, problem))
                bar.update()
    problems = pd.DataFrame([{**r.summary(), "budget": r.budget} for r in results])
    seeds = np.arange(seed, seed + n)
    optima = optimum_frame(config, seeds)
    rows = {
        name: summarize_runs(group, optima)
        for name, group in problems.groupby("method", sort=False)
    }
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")
    table = table[list(COMPARISON_COLUMNS)]
    table.attrs["problems"] = problems
    table.attrs["runs"] = _runs_frame(results)
    return table
