"""Tune one seeded problem with a classical optimiser or an agent of the zoo, by name.

:data:`OPTIMISERS` maps a method name to a function ``optimiser(problem, rng)`` that
spends ``problem.evaluate`` calls (one simulation each) until the budget is used up;
:func:`register_optimiser` adds your own. Any agent of the zoo (see
:func:`rltutorial.list_agents`, aliases such as ``"reference"``) is a method too: its
deterministic episode on the same seed, one environment step per simulation.

Which point counts as the end ("final") differs, and is reported in
``TuningResult.final_rule``:

- ``"best"`` for optimisers: they return the best setting they measured, and setting
  the magnets there needs no further measurement (the simulation is deterministic);
- ``"last"`` for agents: an agent leaves the magnets where its last step put them, as
  in :func:`rltutorial.evaluation.evaluate_agent`. The best step an agent passed
  through is reported too (``best_*``), but the agent itself does not know it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rltutorial.evaluation.metrics import DEFAULT_THRESHOLD
from rltutorial.optimisers.bayesian import bayesian_optimisation
from rltutorial.optimisers.physics import PHYSICS_OPTIMISERS
from rltutorial.optimisers.problem import (
    PROBLEM_KEYS,
    BudgetExhausted,
    TuningProblem,
)
from rltutorial.optimisers.search import nelder_mead, random_search
from rltutorial.registry import unknown_name_error

if TYPE_CHECKING:
    from rltutorial.agents import Agent

__all__ = [
    "Optimiser",
    "OPTIMISERS",
    "TuningResult",
    "register_optimiser",
    "resolve_method",
    "tune",
    "tune_problem",
]

#: ``optimiser(problem, rng)``: measure settings with ``problem.evaluate`` until the
#: budget is used up (or :class:`BudgetExhausted` is raised); returns nothing.
Optimiser = Callable[[TuningProblem, np.random.Generator], None]

#: Classical optimisers and the physics-informed baselines by name.
OPTIMISERS: dict[str, Optimiser] = {
    "random": random_search,
    "nelder-mead": nelder_mead,
    "bo": bayesian_optimisation,
    **PHYSICS_OPTIMISERS,
}
#: Stream of the optimisers' random numbers, apart from the environment's own seed.
_RNG_STREAM = 1


def register_optimiser(
    name: str, optimiser: Optimiser, overwrite: bool = False
) -> None:
    """Make ``optimiser`` available to :func:`tune` and :func:`compare_methods` as ``name``.

    Parameters
    ----------
    name : str
        Method name; must not be taken unless ``overwrite``.
    optimiser : callable
        ``optimiser(problem, rng) -> None`` (see :data:`Optimiser`).
    overwrite : bool
        Replace an optimiser of the same name.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"An optimiser name must be a non-empty string, got {name!r}.")
    if not callable(optimiser):
        raise ValueError(f"optimiser must be callable, got {optimiser!r}.")
    if name in OPTIMISERS and not overwrite:
        raise ValueError(
            f"Optimiser {name!r} exists; pass overwrite=True to replace it. "
            f"Taken names: {', '.join(map(repr, sorted(OPTIMISERS)))}."
        )
    OPTIMISERS[name] = optimiser


def resolve_method(method: str | Agent) -> str | Agent:
    """An optimiser's name as given, or the agent a name refers to (loaded).

    Raises
    ------
    ValueError
        For an unknown name, listing optimisers, agents and aliases with close matches.
    """
    from rltutorial.agents.zoo import AGENT_ALIASES, Agent, list_agents, load_agent

    if isinstance(method, Agent) or (isinstance(method, str) and method in OPTIMISERS):
        return method
    agents = list_agents()
    known = {a.casefold() for a in agents} | set(AGENT_ALIASES)
    if isinstance(method, str) and method.casefold() in known:
        return load_agent(method)
    raise unknown_name_error(
        method, [*OPTIMISERS, *agents, *AGENT_ALIASES], "method (optimiser or agent)"
    )


@dataclass
class TuningResult:
    """How a method tuned one problem.

    Attributes
    ----------
    method : str
        Optimiser or agent name.
    seed, budget : int
        The problem's reset seed and the allowed simulations.
    final_rule : {"best", "last"}
        Which step is the end: the best measured (optimisers) or the last (agents).
    history : DataFrame
        One row per step (see :meth:`TuningProblem.history`): step 0 is the reset, then
        one row per simulation (``budget`` of them, fewer for an agent whose episode
        ends early).
    wall_time_s : float
        Wall time of the tuning in s (model fits and policy included; setting up the
        problem and loading an agent excluded).
    threshold : float
        Success threshold on each evaluated |error| in m.
    """

    method: str
    seed: int
    budget: int
    final_rule: Literal["best", "last"]
    history: pd.DataFrame
    wall_time_s: float
    threshold: float

    @property
    def final(self) -> pd.Series:
        """The row of the final step (by :attr:`final_rule`)."""
        if self.final_rule == "best":
            return self.history.iloc[int(self.history["best_step"].iloc[-1])]
        return self.history.iloc[-1]

    @property
    def simulations(self) -> int:
        """Simulations used."""
        return len(self.history) - 1

    @property
    def steps_to_threshold(self) -> float:
        """First step whose beam is within threshold (0: already at reset; NaN: never)."""
        hits = self.history.loc[self.history["success"], "step"]
        return float(hits.iloc[0]) if len(hits) else float("nan")

    def summary(self) -> dict[str, Any]:
        """Numbers of this run: initial, final and best objective and MAE (m), success,
        and the final beam's sigma_x, sigma_y (m)."""
        first, final, last = self.history.iloc[0], self.final, self.history.iloc[-1]
        return {
            "method": self.method,
            "seed": self.seed,
            "final_rule": self.final_rule,
            "simulations": self.simulations,
            "initial_objective": float(first["objective"]),
            "final_step": int(final["step"]),
            "final_objective": float(final["objective"]),
            "final_mae": float(final["mae"]),
            "final_success": bool(final["success"]),
            "final_sigma_x": float(final["sigma_x"]),
            "final_sigma_y": float(final["sigma_y"]),
            "best_objective": float(last["best_objective"]),
            "best_mae": float(last["best_mae"]),
            "best_success": bool(last["best_success"]),
            "steps_to_threshold": self.steps_to_threshold,
            "wall_time_s": self.wall_time_s,
        }


def _run_agent(agent: Agent, problem: TuningProblem) -> None:
    """Record the agent's deterministic episode on the problem's seed, ``budget`` steps."""
    overrides = {key: problem.config[key] for key in PROBLEM_KEYS}
    episode = agent.run_episode(
        seed=problem.seed,
        max_steps=problem.budget,
        time_limit=problem.budget,
        backend=problem.backend,
        **overrides,
    )
    magnets = episode[["Q1", "Q2", "CV", "Q3", "CH"]].to_numpy()
    beams = episode[["mu_x", "sigma_x", "mu_y", "sigma_y"]].to_numpy()
    if not np.allclose(beams[0], problem.initial_beam, rtol=1e-9, atol=0.0):
        warnings.warn(
            f"Agent {agent.name!r} starts seed {problem.seed} from beam {beams[0]} m, "
            f"not the problem's {problem.initial_beam} m (its action mode "
            f"{agent.config['action_mode']!r} draws initial magnets differently).",
            stacklevel=3,
        )
    for row_magnets, beam in zip(magnets[1:], beams[1:], strict=True):
        problem.record(row_magnets, beam)


def tune_problem(method: str | Agent, problem: TuningProblem) -> TuningResult:
    """Let a method tune a prepared problem (pass a loaded Agent to avoid reloading it)."""
    from rltutorial.agents import Agent

    runner = resolve_method(method)
    is_agent = isinstance(runner, Agent)
    name = runner.name if is_agent else runner
    rng = np.random.default_rng([_RNG_STREAM, problem.seed])
    start = time.perf_counter()
    try:
        if is_agent:
            _run_agent(runner, problem)
        else:
            OPTIMISERS[runner](problem, rng)
    except BudgetExhausted:
        pass
    return TuningResult(
        method=name,
        seed=problem.seed,
        budget=problem.budget,
        final_rule="last" if is_agent else "best",
        history=problem.history(),
        wall_time_s=time.perf_counter() - start,
        threshold=problem.threshold,
    )


def tune(
    method: str | Agent,
    seed: int,
    budget: int = 50,
    config: Mapping[str, Any] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    include_position: bool | None = None,
) -> TuningResult:
    """Tune the magnets of one seeded ARES-EA problem within a budget of simulations.

    Parameters
    ----------
    method : str or Agent
        ``"random"``, ``"nelder-mead"``, ``"bo"``, the physics-informed baselines
        ``"always-a+"``, ``"probe-a"``, ``"probe-infer-set"``,
        ``"probe-infer-refine"`` (see :data:`OPTIMISERS`), the name or
        alias of an agent of the zoo, or an :class:`~rltutorial.agents.Agent`.
    seed : int
        The problem: that of ``make_env(config).reset(seed=seed)``.
    budget : int
        Simulations (environment steps) the method may use.
    config : dict, optional
        Task config (default the workshop's focusing task); see :class:`TuningProblem`.
    threshold : float
        Largest |error| in m of each evaluated beam parameter that counts as success
        (40 µm by default, as :func:`rltutorial.evaluation.metrics.summarize`).
    include_position : bool, optional
        Evaluate mu_x and mu_y as well as sigma_x and sigma_y; by default when the task
        asks for them (``objective: "full"``).

    Returns
    -------
    TuningResult
        ``.history`` (one row per step), ``.final`` (best step for optimisers, last
        for agents), ``.steps_to_threshold``, ``.wall_time_s``, ``.summary()``.

    Raises
    ------
    ValueError
        For an unknown method (listing the valid ones), a seed outside [0, 2**32 − 1],
        a budget below 1, a negative threshold or an invalid config.

    Examples
    --------
    >>> result = tune("nelder-mead", seed=0, budget=30)          # doctest: +SKIP
    >>> result.final["mae"]  # mean |error| of sigma_x, sigma_y in m  # doctest: +SKIP
    """
    runner = resolve_method(method)  # unknown names fail before any simulation
    problem = TuningProblem(seed, budget, config, threshold, include_position)
    return tune_problem(runner, problem)
